import { Object as DataType, Property } from 'fabric-contract-api';
import { CertificateLot } from '../certificates/lot';
import { Voucher } from '../vouchers/voucher';

/** GREEN_POWER: electricity with its certificates (电证合一). CERTIFICATE_ONLY: certificates alone. */
export const TRADE_KINDS = ['GREEN_POWER', 'CERTIFICATE_ONLY'] as const;
export type TradeKind = (typeof TRADE_KINDS)[number];

/** A lot the trade moved to the buyer, with its serial range. */
@DataType()
export class TradeLot {
  @Property()
  lotId!: string;

  @Property()
  serialStart!: string;

  @Property()
  serialEnd!: string;

  /** Certificates (MWh). */
  @Property()
  volume!: number;

  @Property()
  unitId!: string;

  /** `YYYY-MM`. */
  @Property()
  productionMonth!: string;
}

/** The green kWh a trade attests for one month of its delivery period. */
@DataType()
export class TradeMonth {
  /** `YYYY-MM`. */
  @Property()
  month!: string;

  @Property()
  volumeKwh!: number;
}

/** A trade attested on chain after the gateway's verification (存证校验). A trade id is attested once, ever. */
@DataType()
export class TradeAttestation {
  @Property()
  tradeId!: string;

  @Property()
  kind!: TradeKind;

  /** Participant id of the seller (a GENERATOR). */
  @Property()
  seller!: string;

  /** Participant id of the buyer (a CONSUMER). */
  @Property()
  buyer!: string;

  @Property()
  volumeKwh!: number;

  /** Total price in fen. */
  @Property()
  priceFen!: number;

  @Property()
  currency!: string;

  /** Delivery period [deliveryStart, deliveryEnd): whole Asia/Shanghai months, RFC 3339 UTC. */
  @Property()
  deliveryStart!: string;

  @Property()
  deliveryEnd!: string;

  /** The green kWh per delivery month, counted against the buyer's attested consumption. */
  @Property('months', 'TradeMonth[]')
  months!: TradeMonth[];

  @Property('sellerUnitIds', 'string[]')
  sellerUnitIds!: string[];

  @Property('buyerMeterIds', 'string[]')
  buyerMeterIds!: string[];

  @Property('lots', 'TradeLot[]')
  lots!: TradeLot[];

  /** SHA-256 (hex) of the RFC 8785 canonical trade data. */
  @Property()
  tradeDataHash!: string;

  /** SHA-256 (hex) of the RFC 8785 canonical check data. */
  @Property()
  checkDataHash!: string;

  /** Digest (hex) of the meter readings the gateway verified the trade against. */
  @Property()
  meterEvidenceDigest!: string;

  @Property('checksPassed', 'string[]')
  checksPassed!: string[];

  @Property()
  voucherId!: string;

  @Property()
  attestedAt!: string;

  @Property()
  attestedBy!: string;

  @Property()
  attestedByMsp!: string;

  @Property()
  txId!: string;
}

/** One page of trades in index order, with the bookmark of the next page ('' after the last). */
@DataType()
export class TradePage {
  @Property('items', 'TradeAttestation[]')
  items!: TradeAttestation[];

  @Property()
  bookmark!: string;

  @Property()
  fetchedCount!: number;
}

/** What AttestTrade wrote: the trade, its voucher and every lot written (in id order). */
@DataType()
export class TradeAttestationResult {
  @Property('trade', 'TradeAttestation')
  trade!: TradeAttestation;

  @Property('voucher', 'Voucher')
  voucher!: Voucher;

  @Property('lots', 'CertificateLot[]')
  lots!: CertificateLot[];
}

export function tradeFromState(value: unknown): TradeAttestation {
  return Object.assign(new TradeAttestation(), value as TradeAttestation);
}
