import { Object as DataType, Property } from 'fabric-contract-api';
import { Issuance } from '../certificates/issuance';
import { CertificateLot } from '../certificates/lot';
import { Exchange, Redemption } from '../redemption/redemption';
import { TradeAttestation } from '../trades/trade';
import { Voucher } from '../vouchers/voucher';

/** One committed version of a lot. */
@DataType()
export class LotHistoryEntry {
  @Property()
  txId!: string;

  /** Timestamp of the transaction that wrote this version, RFC 3339 UTC. */
  @Property()
  timestamp!: string;

  @Property()
  isDelete!: boolean;

  @Property('lot', 'CertificateLot')
  lot!: CertificateLot;

  /** The organisation (MSP id) that submitted the transaction; '' when read from a lot's key history. */
  @Property()
  mspId!: string;
}

/** Every committed version of a lot, oldest first. */
@DataType()
export class LotHistory {
  @Property()
  lotId!: string;

  @Property('entries', 'LotHistoryEntry[]')
  entries!: LotHistoryEntry[];
}

/** One lot on a serial's path: the versions of it that held the serial. */
@DataType()
export class ProvenanceStep {
  @Property()
  lotId!: string;

  @Property()
  parentLotId!: string;

  @Property()
  createdTxId!: string;

  @Property()
  createdAt!: string;

  /**
   * The moves of the lot that held the serial, oldest first (each with its transaction): its creation and every
   * later change other than a split taking other serials away.
   */
  @Property('entries', 'LotHistoryEntry[]')
  entries!: LotHistoryEntry[];

  /**
   * `moves`: read from the lot's move index (`gec.lot~move`); `history`: the lot predates that index, its moves
   * are taken from the key history of the lot (every version read, splits of other serials left out).
   */
  @Property()
  source!: string;
}

/** Where a certificate has been: from the lot its issuance created to the lot that holds it now. */
@DataType()
export class SerialProvenance {
  @Property()
  serial!: string;

  /** The lot holding the serial now. */
  @Property()
  lotId!: string;

  @Property()
  status!: string;

  @Property()
  owner!: string;

  /** From the issued lot (first) to the current lot (last), following parentLotId. */
  @Property('steps', 'ProvenanceStep[]')
  steps!: ProvenanceStep[];

  /** The issuance that created the serial (unit, meters and their attested totals, month): one. */
  @Property('issuances', 'Issuance[]')
  issuances!: Issuance[];

  /** Vouchers (绿电凭证) holding a lot on the path, oldest first. */
  @Property('vouchers', 'Voucher[]')
  vouchers!: Voucher[];

  /** The trade attestations behind those vouchers. */
  @Property('trades', 'TradeAttestation[]')
  trades!: TradeAttestation[];

  /** The redemption that used the serial up, if any. */
  @Property('redemptions', 'Redemption[]')
  redemptions!: Redemption[];

  /** The exchange (绿电兑换) that used the serial up, if any. */
  @Property('exchanges', 'Exchange[]')
  exchanges!: Exchange[];
}

/** Provenance of every lot a voucher holds. */
@DataType()
export class VoucherProvenance {
  @Property('voucher', 'Voucher')
  voucher!: Voucher;

  /** One per source lot of the voucher, in the voucher's order. */
  @Property('lots', 'SerialProvenance[]')
  lots!: SerialProvenance[];
}

/** One world-state object as stored: its key's attributes and its JSON exactly as written. */
@DataType()
export class StateObject {
  /** The attributes of its composite key, e.g. `[lotId]` or `[meterId, period]`. */
  @Property('key', 'string[]')
  key!: string[];

  /** The stored value, the canonical JSON text the contract wrote. */
  @Property()
  value!: string;
}

/** One page of stored objects of one type, in key order, with the bookmark of the next page ('' after the last). */
@DataType()
export class StateObjectPage {
  @Property()
  type!: string;

  @Property('items', 'StateObject[]')
  items!: StateObject[];

  @Property()
  bookmark!: string;

  @Property()
  fetchedCount!: number;
}
