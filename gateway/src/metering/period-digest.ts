import { merkleLeaf, merkleRootOfLeaves } from './merkle';
import { periodEndMs, periodStartMs } from './months';

/** A meter's readings of one period as stored now: their total, count and Merkle root (merkle.ts). */
export interface PeriodReadings {
  totalWh: string;
  readings: number;
  /** null when the period has no readings (a period is closed only when complete). */
  digest: string | null;
}

/**
 * The total and Merkle root of a meter's current readings in a period (Asia/Shanghai month): what closing the
 * period attests on the ledger, and what an audit recomputes to prove the stored readings are still those.
 */
export async function periodReadings(
  query: (sql: string, params: unknown[]) => Promise<unknown>,
  meterId: string,
  period: string,
): Promise<PeriodReadings> {
  const rows = (await query(
    `SELECT interval_start, wh FROM meter_readings
     WHERE meter_id = $1 AND interval_start >= $2 AND interval_start < $3 ORDER BY interval_start`,
    [meterId, new Date(periodStartMs(period)).toISOString(), new Date(periodEndMs(period)).toISOString()],
  )) as Array<{ interval_start: Date; wh: string }>;
  let total = 0n;
  const leaves = rows.map((row) => {
    total += BigInt(row.wh);
    return merkleLeaf({ meterId, intervalStart: row.interval_start, wh: row.wh });
  });
  return {
    totalWh: total.toString(),
    readings: rows.length,
    digest: leaves.length === 0 ? null : merkleRootOfLeaves(leaves),
  };
}
