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

/** The trading center's signature over the trade data, and who verified it. */
@DataType()
export class TradeSignature {
  /** Its trade-signing key on the ledger (`consortium:GetTradeSigningKey` { mspId: tradingCenter, keyId }). */
  @Property()
  keyId!: string;

  @Property()
  alg!: string;

  /** base64 (ECDSA and SM2: DER or raw r‖s; HMAC: the 32 bytes). */
  @Property()
  value!: string;

  /** CHAINCODE: verified by every endorsing peer; GATEWAY: an HMAC key, verified by the platform's gateway only. */
  @Property()
  verifiedBy!: string;
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

  /** The trading center organisation (MSP id) that signed the trade data. */
  @Property()
  tradingCenter!: string;

  /** The trade data exactly as the trading center signed it: RFC 8785 canonical JSON (hash: tradeDataHash). */
  @Property()
  tradeData!: string;

  @Property('signature', 'TradeSignature')
  signature!: TradeSignature;

  @Property()
  attestedAt!: string;

  @Property()
  attestedBy!: string;

  @Property()
  attestedByMsp!: string;

  @Property()
  txId!: string;
}

/** A re-verification of an attested trade's signature from the ledger alone (trades:CheckTradeSignature). */
@DataType()
export class TradeSignatureCheck {
  @Property()
  tradeId!: string;

  @Property()
  tradingCenter!: string;

  @Property()
  keyId!: string;

  @Property()
  alg!: string;

  @Property()
  verifiedBy!: string;

  /** SHA-256 of the stored trade data equals the attested tradeDataHash. */
  @Property()
  tradeDataHashMatches!: boolean;

  /** The signature verifies with the key now (false for a GATEWAY key: the ledger cannot check an HMAC). */
  @Property()
  signatureVerifies!: boolean;

  /** The key was valid at the attestation time (validFrom ≤ attestedAt < validUntil). */
  @Property()
  keyValidAtAttestation!: boolean;

  @Property()
  keyStatus!: string;

  @Property()
  keyValidFrom!: string;

  @Property()
  keyValidUntil!: string;

  @Property()
  attestedAt!: string;

  /** All three hold (a GATEWAY key is never `valid` here: the ledger alone cannot prove an HMAC). */
  @Property()
  valid!: boolean;

  @Property()
  detail!: string;
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
