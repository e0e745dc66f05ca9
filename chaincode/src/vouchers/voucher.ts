import { Object as DataType, Property } from 'fabric-contract-api';

/**
 * IN_CUSTODY: held by the custody contract (托管) after its trade was attested. RELEASED: handed to its holder.
 * CLAIMED: filed as consumption evidence (消纳依据); final. REVOKED: voided by the issuer with a reason; final.
 */
export const VOUCHER_STATUSES = ['IN_CUSTODY', 'RELEASED', 'CLAIMED', 'REVOKED'] as const;
export type VoucherStatus = (typeof VOUCHER_STATUSES)[number];

/** One serial range of certificates behind a voucher: the lot that moved with the trade. */
@DataType()
export class VoucherLot {
  @Property()
  lotId!: string;

  @Property()
  serialStart!: string;

  @Property()
  serialEnd!: string;

  /** Certificates (MWh). */
  @Property()
  volume!: number;
}

/** What a voucher was claimed for. */
@DataType()
export class VoucherClaim {
  @Property()
  purpose!: string;

  /** `YYYY-MM`, first month of the reporting period. */
  @Property()
  reportingStartMonth!: string;

  /** `YYYY-MM`, last month (inclusive). */
  @Property()
  reportingEndMonth!: string;

  /** [start of the first month, end of the last month), Asia/Shanghai, RFC 3339 UTC. */
  @Property()
  reportingPeriodStart!: string;

  @Property()
  reportingPeriodEnd!: string;
}

/** One status change of a voucher (the issue included), oldest first. */
@DataType()
export class VoucherStatusChange {
  @Property()
  status!: VoucherStatus;

  @Property()
  at!: string;

  @Property()
  txId!: string;

  @Property()
  by!: string;

  @Property()
  byMsp!: string;

  /** '' when none was given. */
  @Property()
  reason!: string;
}

/** A green-electricity consumption voucher (绿电凭证), one per attested trade, held by the custody contract. */
@DataType()
export class Voucher {
  @Property()
  voucherId!: string;

  /** Participant id of the holder: the trade's buyer, a CONSUMER. */
  @Property()
  consumer!: string;

  @Property()
  volumeKwh!: number;

  /** The trade's delivery period [periodStart, periodEnd), RFC 3339 UTC. */
  @Property()
  periodStart!: string;

  @Property()
  periodEnd!: string;

  @Property()
  tradeId!: string;

  /** GREEN_POWER or CERTIFICATE_ONLY. */
  @Property()
  tradeKind!: string;

  @Property()
  seller!: string;

  @Property('sourceLots', 'VoucherLot[]')
  sourceLots!: VoucherLot[];

  /** Total price of the trade in fen, as reported by the trading center. */
  @Property()
  priceFen!: number;

  @Property()
  currency!: string;

  @Property()
  status!: VoucherStatus;

  @Property()
  issuedAt!: string;

  @Property()
  issuedTxId!: string;

  @Property()
  statusChangedAt!: string;

  @Property()
  statusReason!: string;

  /** Present once CLAIMED. */
  @Property('claimedFor', 'VoucherClaim')
  claimedFor?: VoucherClaim;

  @Property('history', 'VoucherStatusChange[]')
  history!: VoucherStatusChange[];
}

/** One page of vouchers in index order, with the bookmark of the next page ('' after the last). */
@DataType()
export class VoucherPage {
  @Property('items', 'Voucher[]')
  items!: Voucher[];

  @Property()
  bookmark!: string;

  @Property()
  fetchedCount!: number;
}

export function voucherFromState(value: unknown): Voucher {
  return Object.assign(new Voucher(), value as Voucher);
}
