import { Object as DataType, Property } from 'fabric-contract-api';
import { CertificateLot } from '../certificates/lot';

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

  /** Versions of the lot whose range held the serial, oldest first (each with its transaction). */
  @Property('entries', 'LotHistoryEntry[]')
  entries!: LotHistoryEntry[];
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
