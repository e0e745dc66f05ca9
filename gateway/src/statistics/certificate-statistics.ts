import type { SqlQuery } from '../exports/row-stream';
import type { DateRange } from './date-range';

/** What a certificate statistic can be grouped by. */
export const DIMENSIONS = ['month', 'province', 'technology', 'participant'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** The measures of every row, in certificates (1 certificate = 1 MWh). */
export const MEASURES = ['issued', 'traded', 'redeemed', 'exchanged', 'expired', 'withdrawn'] as const;
export type Measure = (typeof MEASURES)[number];

/** Asia/Shanghai has been UTC+8 all year since 1991. */
const SHANGHAI_OFFSET_MS = 8 * 3600_000;

/**
 * Every certificate event in `[from, to)` (SQL parameters `from`, `to`) as `(at, project_code, participant,
 * measure, certificates)`, one branch per projected source, each read by its time index (migration Statistics):
 * - issued: issuances (the unit's owner);
 * - traded: listing sales (绿证售卖), trade attestations (each source lot of the voucher) and transfers (the lot a
 *   transfer created by splitting it off, or the whole lot when its owner changed), under the seller;
 * - redeemed, exchanged, expired, withdrawn: lots in that final state by the time they reached it (a final lot
 *   never changes again, so `updated_at` is that time; an action on part of a lot splits it, so the lot holds
 *   exactly the certificates concerned), under their holder.
 * The project code (a lot id's first 17 characters) names the unit, so no lot is looked up. The triggers behind
 * `certificate_statistics_monthly` and `certificate_statistics_monthly_participant` count exactly these.
 */
function factsSql(from: string, to: string): string {
  return `
  SELECT i.issued_at AS at, u.project_code, u.owner AS participant, 'issued' AS measure, i.certificates
    FROM issuances i JOIN units u ON u.id = i.unit_id
   WHERE i.issued_at >= ${from} AND i.issued_at < ${to}
  UNION ALL
  SELECT s.sold_at, substr(s.lot_id, 1, 17), s.seller, 'traded', s.volume
    FROM listing_sales s
   WHERE s.sold_at >= ${from} AND s.sold_at < ${to}
  UNION ALL
  SELECT v.issued_at, substr(l.value->>'lotId', 1, 17), v.seller, 'traded', (l.value->>'volume')::bigint
    FROM vouchers v CROSS JOIN LATERAL jsonb_array_elements(v.doc->'sourceLots') l
   WHERE v.issued_at >= ${from} AND v.issued_at < ${to}
  UNION ALL
  SELECT t.committed_at, substr(t.lot_id, 1, 17), coalesce(parent.doc->>'owner', giver.owner), 'traded',
         (t.doc->>'volume')::bigint
    FROM certificate_lot_versions t
    LEFT JOIN certificate_lot_versions parent
      ON t.doc->>'createdTxId' = t.tx_id AND parent.lot_id = t.doc->>'parentLotId' AND parent.tx_id = t.tx_id
    LEFT JOIN LATERAL (
      SELECT w.doc->>'owner' AS owner FROM certificate_lot_versions w
       WHERE w.lot_id = t.lot_id AND (w.block_number, w.tx_number) < (t.block_number, t.tx_number)
       ORDER BY w.block_number DESC, w.tx_number DESC LIMIT 1) giver ON t.doc->>'createdTxId' <> t.tx_id
   WHERE t.event_name = 'LotTransferred' AND t.committed_at >= ${from} AND t.committed_at < ${to}
     AND (t.doc->>'createdTxId' = t.tx_id OR giver.owner IS DISTINCT FROM t.doc->>'owner')
  UNION ALL
  SELECT l.updated_at, l.project_code, l.owner, lower(l.status), l.volume
    FROM certificate_lots l
   WHERE l.status IN ('REDEEMED', 'EXCHANGED', 'EXPIRED', 'WITHDRAWN')
     AND l.updated_at >= ${from} AND l.updated_at < ${to}`;
}

/** The facts of `[from, to)` with their calendar month (Asia/Shanghai, `YYYY-MM`) and their unit's place. */
const monthlyFacts = (from: string, to: string) =>
  `SELECT to_char(e.at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS month, u.province, u.technology,
          e.participant, e.measure, e.certificates
     FROM (${factsSql(from, to)}) e LEFT JOIN units u ON u.project_code = e.project_code`;

/** The start of the Asia/Shanghai month `offset` months after the one holding `at`. */
function shanghaiMonthStart(at: Date, offset: number): Date {
  const local = new Date(at.getTime() + SHANGHAI_OFFSET_MS);
  return new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + offset, 1) - SHANGHAI_OFFSET_MS);
}

const monthOf = (start: Date) => new Date(start.getTime() + SHANGHAI_OFFSET_MS).toISOString().slice(0, 7);

/**
 * The whole calendar months inside a range, `[start, end)`, or undefined when it holds none: the part the monthly
 * totals answer; the rest of the range is counted from the rows.
 */
export function wholeMonthsOf(range: DateRange): { start: Date; end: Date } | undefined {
  const firstStart = shanghaiMonthStart(range.from, 0);
  const start =
    firstStart.getTime() === range.from.getTime() ? firstStart : shanghaiMonthStart(range.from, 1);
  const end = shanghaiMonthStart(range.to, 0);
  return start.getTime() < end.getTime() ? { start, end } : undefined;
}

/**
 * The statistic's SQL. The whole months of the range come from the monthly totals kept by triggers in the
 * projection's own transactions: `certificate_statistics_monthly` (at most 31 provinces × 6 technologies × 6
 * measures a month, however many lots), or, grouped by participant, `certificate_statistics_monthly_participant`
 * (the same with the participant: as many rows a month as participants active in it); only the range's ragged ends
 * are counted from the rows. Summed per group, ordered by the dimensions; groups whose every measure is 0 are left
 * out. `limit` rows at most when given.
 */
export function certificateStatisticsSql(range: DateRange, groupBy: Dimension[], limit?: number): SqlQuery {
  const has = (d: Dimension) => groupBy.includes(d);
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const months = wholeMonthsOf(range);
  // The participant table is larger: read it only when the participant is asked for.
  const [totals, participant] = has('participant')
    ? ['certificate_statistics_monthly_participant', "nullif(participant, '')"]
    : ['certificate_statistics_monthly', 'NULL'];
  const sources = months
    ? [
        ...(range.from < months.start ? [monthlyFacts(param(range.from), param(months.start))] : []),
        `SELECT month, nullif(province, '') AS province, nullif(technology, '') AS technology,
                ${participant} AS participant, measure, certificates
           FROM ${totals}
          WHERE month >= ${param(monthOf(months.start))} AND month < ${param(monthOf(months.end))}`,
        ...(months.end < range.to ? [monthlyFacts(param(months.end), param(range.to))] : []),
      ]
    : [monthlyFacts(param(range.from), param(range.to))];
  const dims = DIMENSIONS.filter(has);
  const columns = [
    ...dims.map((d) => `f.${d}`),
    ...MEASURES.map(
      (m) => `coalesce(sum(f.certificates) FILTER (WHERE f.measure = '${m}'), 0)::bigint AS ${m}`,
    ),
  ];
  // Summed first, named after: the participant's name is looked up once per group, not once per row summed.
  const text = `
    WITH f AS (${sources.join('\n UNION ALL \n')}),
    g AS (
      SELECT ${columns.join(', ')} FROM f
       ${dims.length ? `GROUP BY ${dims.map((d) => `f.${d}`).join(', ')}` : ''}
      HAVING sum(f.certificates) FILTER (WHERE f.certificates <> 0) IS NOT NULL)
    SELECT g.*${has('participant') ? ', p.name AS participant_name' : ''}
      FROM g ${has('participant') ? 'LEFT JOIN participants p ON p.id = g.participant' : ''}
     ${dims.length ? `ORDER BY ${dims.map((d) => `g.${d}`).join(', ')}` : ''}
     ${limit === undefined ? '' : `LIMIT ${param(limit)}`}`;
  return { text, params };
}

/** Green consumption attested per consumer: the vouchers (绿电凭证) created by trade attestations in the range. */
export function greenConsumptionSql(range: DateRange, consumer?: string, limit?: number): SqlQuery {
  const params: unknown[] = [range.from, range.to];
  let filter = '';
  if (consumer !== undefined) {
    params.push(consumer);
    filter = `AND v.consumer = $${params.length}`;
  }
  let limitSql = '';
  if (limit !== undefined) {
    params.push(limit);
    limitSql = `LIMIT $${params.length}`;
  }
  return {
    text: `
      SELECT v.consumer, p.name AS consumer_name, p.region,
             count(*) AS vouchers,
             coalesce(sum(v.volume_kwh) FILTER (WHERE v.status <> 'REVOKED'), 0) AS green_kwh,
             coalesce(sum(v.volume_kwh) FILTER (WHERE v.status = 'CLAIMED'), 0) AS claimed_kwh,
             coalesce(sum(v.volume_kwh) FILTER (WHERE v.status = 'REVOKED'), 0) AS revoked_kwh
        FROM vouchers v LEFT JOIN participants p ON p.id = v.consumer
       WHERE v.issued_at >= $1 AND v.issued_at < $2 ${filter}
       GROUP BY v.consumer, p.name, p.region
       ORDER BY v.consumer ${limitSql}`,
    params,
  };
}

/**
 * Trades rejected in the range by failed check (存证校验): a trade counts once under each check it failed; one
 * that passed every check and was refused by the ledger at attestation counts under `ledger`, with its code.
 */
export function rejectedTradesSql(range: DateRange): SqlQuery {
  return {
    text: `
      WITH rejected AS (
        SELECT trade_id, volume_kwh, checks, failure_code FROM trades
         WHERE state = 'REJECTED' AND finished_at >= $1 AND finished_at < $2),
      failed AS (
        SELECT r.trade_id, r.volume_kwh, c.value->>'name' AS check_name, NULL::text AS code
          FROM rejected r CROSS JOIN LATERAL jsonb_array_elements(r.checks) c
         WHERE (c.value->>'passed')::boolean IS FALSE
        UNION ALL
        SELECT r.trade_id, r.volume_kwh, 'ledger', r.failure_code FROM rejected r
         WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(r.checks) c
                            WHERE (c.value->>'passed')::boolean IS FALSE))
      SELECT check_name, code, count(DISTINCT trade_id) AS trades, sum(volume_kwh) AS volume_kwh
        FROM failed GROUP BY check_name, code ORDER BY trades DESC, check_name, code`,
    params: [range.from, range.to],
  };
}

/** Trades rejected in the range and their volume, each once. */
export function rejectedTotalsSql(range: DateRange): SqlQuery {
  return {
    text: `SELECT count(*) AS trades, coalesce(sum(volume_kwh), 0) AS volume_kwh FROM trades
            WHERE state = 'REJECTED' AND finished_at >= $1 AND finished_at < $2`,
    params: [range.from, range.to],
  };
}
