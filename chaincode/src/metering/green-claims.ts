import { Context, Object as DataType, Property } from 'fabric-contract-api';
import { compositeKey, getJson, putJson } from '../lib/state';

/**
 * Running totals of the green electricity attested by trades, per consumer and month (green consumption) and per
 * generation unit and month (green generation). The trades contract adds to them; the metering contract refuses a
 * correction that would leave an attested total below them.
 *
 * Each total is one key, read and written by every trade of that consumer (or unit) and month: a hot key. Two
 * trades for the same consumer-month endorsed concurrently conflict (MVCC_READ_CONFLICT, one commits), which is
 * exactly what keeps the sum within the attestation; the gateway serialises trades per consumer-month so that this
 * stays the exception.
 */
@DataType()
export class GreenTotal {
  /** The consumer (green consumption) or the generation unit (green generation). */
  @Property()
  subject!: string;

  /** `YYYY-MM`. */
  @Property()
  month!: string;

  /** Green kWh attested by trades so far (revoked vouchers included: a total never goes down). */
  @Property()
  greenKwh!: number;

  /** Trades that added to it. */
  @Property()
  trades!: number;

  @Property()
  lastTradeId!: string;

  @Property()
  updatedAt!: string;

  @Property()
  updatedTxId!: string;
}

/** Green consumption: key `gec.greenconsumption\0<consumer>\0<YYYY-MM>\0`. */
export const GREEN_CONSUMPTION_OBJECT = 'gec.greenconsumption';
/** Green generation: key `gec.greengeneration\0<unitId>\0<YYYY-MM>\0`. */
export const GREEN_GENERATION_OBJECT = 'gec.greengeneration';

export type GreenTotalKind = typeof GREEN_CONSUMPTION_OBJECT | typeof GREEN_GENERATION_OBJECT;

export function greenTotalKey(ctx: Context, kind: GreenTotalKind, subject: string, month: string): string {
  return compositeKey(ctx, kind, [subject, month]);
}

/** The total as stored, or a zero total. */
export async function readGreenTotal(
  ctx: Context,
  kind: GreenTotalKind,
  subject: string,
  month: string,
): Promise<GreenTotal> {
  const stored = await getJson(ctx, greenTotalKey(ctx, kind, subject, month));
  if (stored !== undefined) return Object.assign(new GreenTotal(), stored as GreenTotal);
  return Object.assign(new GreenTotal(), {
    subject,
    month,
    greenKwh: 0,
    trades: 0,
    lastTradeId: '',
    updatedAt: '',
    updatedTxId: '',
  });
}

export async function writeGreenTotal(ctx: Context, kind: GreenTotalKind, total: GreenTotal): Promise<void> {
  await putJson(ctx, greenTotalKey(ctx, kind, total.subject, total.month), total);
}
