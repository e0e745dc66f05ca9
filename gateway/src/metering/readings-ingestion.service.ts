import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataSource, QueryRunner } from 'typeorm';
import { ledgerProblem } from '../common/ledger-errors';
import { ProblemError } from '../common/problem';
import { copyTextRow } from '../database/copy-text';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { IdentityRef, LedgerPort } from '../ledger/port';
import { periodOf, SHANGHAI_OFFSET_MS } from './months';
import {
  bodyLineBatches,
  CsvHeaderError,
  CsvParser,
  LineError,
  LineErrorCode,
  LineParser,
  NdjsonParser,
} from './reading-lines';

/** Readings per COPY data chunk (about 40 bytes each): big enough that stream overhead is noise. */
export const COPY_CHUNK_ROWS = 2000;
/** Lines per request at most (a month of 15-minute readings of about 1,700 meters). */
export const INGEST_LINES_MAX = 5_000_000;
/** Bad lines listed in an answer (the total is always given). */
export const ERRORS_LISTED_MAX = 1000;
const STAGING = 'pg_temp.meter_reading_staging';
const REJECTED = 'pg_temp.meter_reading_rejected';
/** Session memory for the temporary tables (a 50,000-line request stages about 4 MB). */
const TEMP_BUFFERS = '64MB';
/** Memory of each sort, hash and CTE of the classification (per transaction, see merge). */
const WORK_MEM = '64MB';
/**
 * Bytes of new readings a request keeps, ready to COPY into `meter_readings` when every line turns out new (see
 * merge): about 60 bytes a line, so requests up to about 500,000 lines take the fast path; larger ones insert
 * from the staging table.
 */
export const NEW_ROWS_KEPT_MAX_BYTES = 32 * 2 ** 20;
/** Meters whose last interval is remembered to rule out repeated intervals without SQL (see run). */
const ORDER_TRACKED_METERS_MAX = 100_000;

/** Pooled connections whose session has been prepared for ingestion (temp_buffers set). */
const sessionsReady = new WeakSet<object>();
/** Months before and after the current one whose partitions are created at start. */
const PARTITIONS_BEHIND = 3;
const PARTITIONS_AHEAD = 2;

export type IngestFormat = 'ndjson' | 'csv';
export type IngestMode = 'partial' | 'atomic';

export interface IngestOptions {
  format: IngestFormat;
  mode: IngestMode;
  correction: boolean;
  reason: string | null;
  /** Who sends the readings: a correction of an attested period is put to the ledger as this identity. */
  identity?: IdentityRef;
}

export interface IngestOutcome {
  /** Lines with a reading (blank lines and the CSV header are not counted). */
  lines: number;
  accepted: number;
  unchanged: number;
  corrected: number;
  rejected: number;
  /** At most ERRORS_LISTED_MAX bad lines, in line order. */
  errors: LineError[];
  errorsTruncated: boolean;
  /** True when nothing was stored because of bad lines in atomic mode. */
  rolledBack: boolean;
}

interface StagedError {
  line: number;
  meter_id: string;
  error: LineErrorCode;
  wh: string;
  old_wh: string | null;
  interval_start: Date;
}

const SQL_ERROR_FIELD: Partial<Record<LineErrorCode, string>> = {
  UNKNOWN_METER: 'meterId',
  MISALIGNED_INTERVAL: 'intervalStart',
  FUTURE_INTERVAL: 'intervalStart',
  PERIOD_FROZEN: 'intervalStart',
};

const PG_RETRYABLE = new Set(['40P01', '40001', '55P03', '23505']);

function sqlMessage(row: StagedError): string {
  const at = row.interval_start.toISOString();
  switch (row.error) {
    case 'UNKNOWN_METER':
      return `meter ${row.meter_id} is not registered`;
    case 'MISALIGNED_INTERVAL':
      return `${at} is not on the meter's interval grid`;
    case 'FUTURE_INTERVAL':
      return `the interval starting ${at} has not ended yet`;
    case 'PERIOD_FROZEN':
      return `the period of ${at} is attested (closed); send it with correction=true and a reason`;
    case 'DUPLICATE_IN_REQUEST':
      return `the request holds ${at} more than once with different values`;
    case 'READING_CONFLICT':
      return (
        `${at} is stored as ${row.old_wh} Wh, not ${row.wh} Wh; ` +
        'send it with correction=true and a reason to supersede it'
      );
    default:
      return row.error;
  }
}

const DAY_MS = 86_400_000;
let isoDay = Number.NaN;
let isoDayPrefix = '';

/**
 * `toISOString()` of an instant on a whole minute (the parser refuses any other interval start), from the day's
 * prefix, kept between calls: consecutive readings mostly share a day, and a Date per reading showed in profiles.
 */
export function minuteIso(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== isoDay) {
    isoDay = day;
    isoDayPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  const minutes = (ms - day * DAY_MS) / 60_000;
  const hh = Math.floor(minutes / 60);
  const mm = minutes % 60;
  return `${isoDayPrefix}${hh < 10 ? '0' : ''}${hh}:${mm < 10 ? '0' : ''}${mm}:00.000Z`;
}

/** Keep the first ERRORS_LISTED_MAX errors (by line) of what has been seen so far. */
class ErrorList {
  readonly items: LineError[] = [];
  count = 0;

  add(error: LineError): void {
    this.count += 1;
    if (this.items.length < ERRORS_LISTED_MAX) this.items.push(error);
  }
}

/**
 * Bulk ingestion of interval readings.
 *
 * The body is parsed line by line while it streams in; good lines are written as they come into a session-local
 * staging table through `COPY … FROM STDIN` (text format, `pg-copy-streams`), so PostgreSQL stores the rows
 * while Node parses the next ones, and a slow database holds the body stream back. Nothing touches the real
 * tables until the whole body has been read. Then, in ONE transaction: the (meter, month) rows of
 * `meter_periods` the good lines need are created and locked in key order (so ingestion and closing of a period
 * serialise, without deadlocks between ingestions); ONE set-based statement classifies every staged line
 * (unknown meter, off the meter's grid, interval not ended, duplicate in the request, frozen period, conflict,
 * unchanged, correction, new), writes the new and corrected readings (superseded values kept in
 * `meter_reading_versions`) and the monthly totals, keeps the rejected lines for the answer and counts the
 * classes — except that when every line is new (a file's first delivery) the new readings go in through a second
 * COPY, of rows the parser kept. Then the transaction commits — or rolls back everything in atomic mode when any
 * line is bad. A failure anywhere stores nothing.
 */
@Injectable()
export class ReadingsIngestionService implements OnModuleInit {
  /** Partitions known to exist (months `YYYY-MM`). */
  private readonly partitions = new Set<string>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
  ) {}

  /**
   * A correction that lowers an attested period's total is asked of the ledger before it is stored: the period
   * must be closed again with `metering:CorrectMeterPeriod`, which refuses to take a consumer's consumption below
   * the green electricity its trades already claim (ATTESTATION_BELOW_CLAIMED) or a unit's generation below what
   * was issued (ATTESTATION_BELOW_ISSUED). Stored anyway, such a correction left the period reopened with a total
   * the ledger would never attest, and the meter stuck. The chaincode decides (an endorsement that is never
   * ordered: nothing is written on the ledger); a refusal rolls the whole request back, naming the period.
   */
  private async requireLedgerAccepts(runner: QueryRunner, options: IngestOptions): Promise<void> {
    if (!options.identity) return;
    // Only periods this transaction changed (their updated_at is its start time), lowered below the attestation.
    const lowered = (await runner.query(
      `SELECT p.meter_id, p.period, p.total_wh::text AS total_wh, p.attested_version
       FROM meter_periods p
       JOIN meter_attestations a ON a.meter_id = p.meter_id AND a.period = p.period AND a.version = p.attested_version
       WHERE p.attested_version > 0 AND p.updated_at = now() AND p.total_wh < a.total_wh
       ORDER BY p.meter_id, p.period`,
    )) as Array<{ meter_id: string; period: string; total_wh: string; attested_version: number }>;
    for (const row of lowered) {
      try {
        await this.ledger.evaluate({
          identity: options.identity,
          transaction: 'metering:CorrectMeterPeriod',
          args: [
            JSON.stringify({
              meterId: row.meter_id,
              period: row.period,
              totalWh: row.total_wh,
              // The readings' Merkle root is computed when the period is closed again; the rules do not read it.
              digest: '0'.repeat(64),
              reason: options.reason ?? 'correction',
              version: row.attested_version + 1,
            }),
          ],
        });
      } catch (error) {
        const problem = ledgerProblem(error);
        if (!problem) throw error;
        throw new ProblemError(
          problem.status,
          problem.code,
          `the correction of meter ${row.meter_id} ${row.period} would be refused by the ledger, so nothing was ` +
            `stored: ${problem.detail}`,
        );
      }
    }
  }

  /** Create the partitions around the current month ahead of time (idempotent). */
  async onModuleInit(): Promise<void> {
    const now = Date.now() + SHANGHAI_OFFSET_MS;
    const date = new Date(now);
    const months: string[] = [];
    for (let i = -PARTITIONS_BEHIND; i <= PARTITIONS_AHEAD; i++) {
      const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + i, 1));
      months.push(periodOf(d.getTime() - SHANGHAI_OFFSET_MS));
    }
    await this.ensurePartitions(this.dataSource, months);
  }

  /** The partitions of `months` exist afterwards (each in its own short transaction). */
  async ensurePartitions(runner: { query: DataSource['query'] }, months: Iterable<string>): Promise<void> {
    for (const month of months) {
      if (this.partitions.has(month)) continue;
      await runner.query(`SELECT meter_readings_ensure_partition($1::date)`, [`${month}-01`]);
      this.partitions.add(month);
    }
  }

  async ingest(body: AsyncIterable<Buffer | string>, options: IngestOptions): Promise<IngestOutcome> {
    const runner = this.dataSource.createQueryRunner();
    // The postgres driver hands back its pg client: COPY needs the client itself (TypeORM has no COPY).
    const client = (await runner.connect()) as PoolClient;
    try {
      return await this.run(runner, client, body, options);
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      const code = (error as { code?: string }).code;
      if (code === 'ECONNRESET' || code === 'ECONNABORTED' || (error as Error).message === 'aborted') {
        throw new ProblemError(400, 'REQUEST_ABORTED', 'the request body ended early; nothing was stored');
      }
      if (code !== undefined && PG_RETRYABLE.has(code)) {
        throw new ProblemError(
          409,
          'INGESTION_CONFLICT',
          'a concurrent ingestion or period close touched the same meters; nothing was stored, retry the request',
        );
      }
      throw error;
    } finally {
      await runner.query(`TRUNCATE ${STAGING}, ${REJECTED}`).catch(() => undefined);
      await runner.release();
    }
  }

  private async run(
    runner: QueryRunner,
    client: PoolClient,
    body: AsyncIterable<Buffer | string>,
    options: IngestOptions,
  ): Promise<IngestOutcome> {
    // Session-local tables (no WAL, invisible to other sessions), created once per pooled connection and emptied
    // after every request. `t` is the interval start in epoch seconds: an integer is cheaper for COPY to read
    // than a timestamp literal, and the grid check needs the number anyway. `meter_reading_rejected` keeps
    // only the lines the classification rejects, for the answer. Temporary tables live in the session's
    // `temp_buffers` (8 MB by default: a 50,000-line request spilled to disk); the setting can only be changed
    // before the session first touches a temporary table, so it is set then and never changed again.
    if (!sessionsReady.has(client)) {
      await runner.query(`SET temp_buffers = '${TEMP_BUFFERS}'`).catch(() => undefined);
      sessionsReady.add(client);
    }
    await runner.query(`
      CREATE TEMP TABLE IF NOT EXISTS meter_reading_staging (
        line     integer NOT NULL,
        meter_id text NOT NULL,
        t        bigint NOT NULL,
        wh       bigint NOT NULL,
        period   char(7) NOT NULL
      );
      CREATE TEMP TABLE IF NOT EXISTS meter_reading_rejected (
        line           integer NOT NULL,
        meter_id       text NOT NULL,
        interval_start timestamptz NOT NULL,
        wh             bigint NOT NULL,
        error          text NOT NULL,
        old_wh         bigint
      );
      TRUNCATE ${STAGING}, ${REJECTED}`);

    const nowMs = Date.now();
    const parser: LineParser = options.format === 'csv' ? new CsvParser(nowMs) : new NdjsonParser(nowMs);
    const parseErrors = new ErrorList();
    const periods = new Set<string>();
    let minMs = Number.POSITIVE_INFINITY;
    let maxMs = Number.NEGATIVE_INFINITY;
    let lines = 0;
    let staged = 0;
    // A request repeats an interval only if some meter's intervals do not strictly increase from line to line.
    // Files come sorted by meter or by time, so this is almost always known false, and the classification then
    // skips the window over (meter, interval) that finds repeats (a sort of every line).
    const lastStart = new Map<string, number>();
    let mayRepeat = false;
    // The readings as rows of `meter_readings`, should they all be new (the usual first delivery of a file):
    // PostgreSQL takes rows in through COPY in batches, several times cheaper per row than INSERT … SELECT, which
    // writes (and WAL-logs) them one at a time. Dropped once the request repeats an interval or outgrows the cap.
    const reason = options.correction ? options.reason : null;
    let newRows: Buffer[] | undefined = [];
    let newRowsBytes = 0;

    // The COPY data: rows in chunks of COPY_CHUNK_ROWS, pulled by the COPY stream as PostgreSQL takes them in.
    async function* copyData(): AsyncGenerator<Buffer> {
      let chunk = '';
      let newChunk = '';
      let rows = 0;
      for await (const batch of bodyLineBatches(body)) {
        for (const { line, text, tooLong } of batch) {
          if (tooLong) {
            lines += 1;
            parseErrors.add({ line, code: 'MALFORMED_LINE', message: 'the line is too long' });
            continue;
          }
          if (text.trim() === '') continue;
          let result;
          try {
            result = parser.parse(text, line);
          } catch (error) {
            if (error instanceof CsvHeaderError)
              throw new ProblemError(400, 'CSV_HEADER_INVALID', error.message);
            throw error;
          }
          if (result === undefined) continue;
          lines += 1;
          if (lines > INGEST_LINES_MAX) {
            throw new ProblemError(
              413,
              'TOO_MANY_LINES',
              `at most ${INGEST_LINES_MAX} readings per request; split the file`,
            );
          }
          if ('error' in result) {
            parseErrors.add(result.error);
            continue;
          }
          const reading = result.reading;
          periods.add(reading.period);
          if (reading.startMs < minMs) minMs = reading.startMs;
          if (reading.startMs > maxMs) maxMs = reading.startMs;
          if (!mayRepeat) {
            const last = lastStart.get(reading.meterId);
            if (last !== undefined && reading.startMs <= last) mayRepeat = true;
            else if (last === undefined && lastStart.size >= ORDER_TRACKED_METERS_MAX) mayRepeat = true;
            else lastStart.set(reading.meterId, reading.startMs);
          }
          // Whole seconds: the parser refuses intervals that do not start on a minute. The meter id and the
          // period are escaped by copyTextRow like any text, whatever the parser lets through.
          chunk += copyTextRow([
            reading.line,
            reading.meterId,
            reading.startMs / 1000,
            reading.wh,
            reading.period,
          ]);
          if (newRows && !mayRepeat) {
            newChunk += copyTextRow([reading.meterId, minuteIso(reading.startMs), reading.wh, 1, reason]);
          } else {
            newRows = undefined;
          }
          staged += 1;
          if (++rows >= COPY_CHUNK_ROWS) {
            keepNewRows(newChunk);
            yield Buffer.from(chunk, 'utf8');
            chunk = '';
            newChunk = '';
            rows = 0;
          }
        }
      }
      keepNewRows(newChunk);
      if (rows > 0) yield Buffer.from(chunk, 'utf8');
    }
    function keepNewRows(text: string): void {
      if (!newRows || text === '') return;
      const buffer = Buffer.from(text, 'utf8');
      newRowsBytes += buffer.length;
      if (newRowsBytes > NEW_ROWS_KEPT_MAX_BYTES) newRows = undefined;
      else newRows.push(buffer);
    }
    await pipeline(
      Readable.from(copyData()),
      client.query(copyFrom(`COPY ${STAGING} (line, meter_id, t, wh, period) FROM STDIN`)),
    );
    if (lines === 0) {
      throw new ProblemError(400, 'NO_READINGS', 'the request body holds no reading');
    }
    if (staged > 0) await this.ensurePartitions(runner, periods);

    await runner.startTransaction();
    const counts =
      staged > 0
        ? await this.merge(runner, client, options, {
            minMs,
            maxMs,
            mayRepeat,
            newRows: mayRepeat ? undefined : newRows,
          })
        : undefined;
    const sqlErrorCount = counts?.errors ?? 0;
    const rejected = parseErrors.count + sqlErrorCount;
    const sqlErrors =
      sqlErrorCount > 0
        ? ((await runner.query(
            `SELECT line, meter_id, error, wh, old_wh, interval_start FROM ${REJECTED}
             WHERE error IS NOT NULL ORDER BY line LIMIT ${ERRORS_LISTED_MAX}`,
          )) as StagedError[])
        : [];
    const errors = [
      ...parseErrors.items,
      ...sqlErrors.map((row): LineError => ({
        line: row.line,
        meterId: row.meter_id,
        field: SQL_ERROR_FIELD[row.error] ?? 'kwh',
        code: row.error,
        message: sqlMessage(row),
      })),
    ]
      .sort((a, b) => a.line - b.line)
      .slice(0, ERRORS_LISTED_MAX);
    const rollBack = options.mode === 'atomic' && rejected > 0;
    if (!rollBack && options.correction && (counts?.corrected ?? 0) > 0) {
      await this.requireLedgerAccepts(runner, options);
    }
    if (rollBack) await runner.rollbackTransaction();
    else await runner.commitTransaction();
    return {
      lines,
      accepted: rollBack ? 0 : (counts?.accepted ?? 0),
      unchanged: rollBack ? 0 : (counts?.unchanged ?? 0),
      corrected: rollBack ? 0 : (counts?.corrected ?? 0),
      rejected,
      errors,
      errorsTruncated: rejected > errors.length,
      rolledBack: rollBack,
    };
  }

  /**
   * Classify the staged lines and apply the good ones (inside the caller's transaction): the period locks, then
   * ONE statement that classifies every line, stores the readings and totals and answers the counts (the new
   * readings of an all-new request by COPY right after it).
   */
  private async merge(
    runner: QueryRunner,
    client: PoolClient,
    options: IngestOptions,
    request: {
      minMs: number;
      maxMs: number;
      /** False when no meter's intervals ever failed to increase: no interval comes twice. */
      mayRepeat: boolean;
      /** Every staged line as a `meter_readings` COPY row, in staging order, when it was kept. */
      newRows: Buffer[] | undefined;
    },
  ): Promise<{ accepted: number; unchanged: number; corrected: number; errors: number }> {
    const { minMs, maxMs, mayRepeat, newRows } = request;
    // Constant bounds let the planner prune meter_readings to the partitions the request touches.
    const from = new Date(minMs).toISOString();
    const to = new Date(maxMs + 1).toISOString();
    // Hashes and the CTE below hold a request's lines; at the 4 MB default they spill to disk. Without
    // statistics on the staging table the planner would sort all lines twice to merge-join them with the few
    // stored readings it expects; a hash join needs no sort (measured: the sorts were a third of the statement).
    await runner.query(`SET LOCAL work_mem = '${WORK_MEM}'; SET LOCAL enable_mergejoin = off`);

    // A line is `fit` when its meter is known, it is on the meter's grid and its interval has ended: the
    // checks that need only the request and the registry.
    const fit = `
      mod(s.t, m.interval_minutes * 60) = 0
      AND to_timestamp(s.t) + make_interval(mins => m.interval_minutes) <= statement_timestamp()`;

    // Lock the (meter, month) rows in key order before reading any stored reading: closing a period takes the
    // same lock, and a concurrent ingestion of the same readings commits before this one reads them (so its
    // lines come out `unchanged`, not as a key clash). Only the months of lines that can be stored get a row:
    // a month whose every line repeats an interval with different values gets none. The rows are locked by a
    // second statement because one statement would not see rows that a concurrent transaction committed while
    // this one waited on them (its snapshot is taken before).
    const months = (await runner.query(
      `
      WITH wanted AS (
        ${
          mayRepeat
            ? `SELECT DISTINCT meter_id, period FROM (
                 SELECT s.meter_id, s.period FROM ${STAGING} s JOIN meters m ON m.id = s.meter_id
                 WHERE ${fit}
                 GROUP BY s.meter_id, s.period, s.t HAVING min(s.wh) = max(s.wh)
               ) g`
            : `SELECT DISTINCT s.meter_id, s.period FROM ${STAGING} s JOIN meters m ON m.id = s.meter_id
               WHERE ${fit}`
        }
      ),
      created AS (
        INSERT INTO meter_periods (meter_id, period)
        SELECT meter_id, period FROM wanted ORDER BY 1, 2
        ON CONFLICT DO NOTHING
      )
      SELECT meter_id, period FROM wanted`,
    )) as Array<{ meter_id: string; period: string }>;
    if (months.length > 0) {
      await runner.query(
        `
        SELECT 1 FROM meter_periods
        WHERE (meter_id, period) IN (SELECT * FROM unnest($1::text[], $2::char(7)[]))
        ORDER BY meter_id, period FOR NO KEY UPDATE`,
        [months.map((row) => row.meter_id), months.map((row) => row.period)],
      );
    }

    // Every line's class, in one statement that also stores the outcome. The CASE order is the order of
    // precedence: errors of the line itself, then of the request, then of what is stored. The same interval
    // more than once: different values reject every such line; equal values are kept once (rn = 1), the
    // repeats count as unchanged (`mayRepeat` false: the parser saw every meter's intervals increase, so there
    // is no repeat to look for). An attested period is frozen: the same value again is still `unchanged`,
    // anything else needs a correction. The stored readings are read per meter over the request's time range
    // (one primary-key range scan per meter), so the cost follows the request, not the table. In atomic mode
    // nothing is written when any line is rejected (the caller rolls back as well).
    const lines = mayRepeat
      ? `SELECT line, meter_id, t, to_timestamp(t) AS ts, wh, period,
                row_number() OVER k AS rn, min(wh) OVER k AS lo, max(wh) OVER k AS hi
         FROM ${STAGING}
         WINDOW k AS (PARTITION BY meter_id, t ORDER BY line
                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)`
      : `SELECT line, meter_id, t, to_timestamp(t) AS ts, wh, period, 1 AS rn, wh AS lo, wh AS hi
         FROM ${STAGING}`;
    const [summary] = (await runner.query(
      `
      WITH stored AS (
        SELECT r.meter_id, r.interval_start, r.wh, r.version, r.reason, r.received_at
        FROM (SELECT meter_id, min(t) AS lo, max(t) AS hi FROM ${STAGING} GROUP BY meter_id) q
        CROSS JOIN LATERAL (
          SELECT * FROM meter_readings r
          WHERE r.meter_id = q.meter_id
            AND r.interval_start >= to_timestamp(q.lo) AND r.interval_start <= to_timestamp(q.hi)
            AND r.interval_start >= $2 AND r.interval_start < $3
          -- Not flattened into a join: the planner would otherwise pick a hash join over whole partitions
          -- whenever their statistics are stale (right after a large first ingestion).
          OFFSET 0
        ) r
      ),
      c AS MATERIALIZED (
        SELECT s.line, s.meter_id, s.ts AS interval_start, s.wh, s.period, s.rn,
               CASE
                 WHEN m.id IS NULL THEN 'UNKNOWN_METER'
                 WHEN mod(s.t, m.interval_minutes * 60) <> 0 THEN 'MISALIGNED_INTERVAL'
                 WHEN s.ts + make_interval(mins => m.interval_minutes) > statement_timestamp()
                   THEN 'FUTURE_INTERVAL'
                 WHEN s.lo <> s.hi THEN 'DUPLICATE_IN_REQUEST'
                 WHEN NOT $1::boolean AND p.attested_version > 0 AND r.wh IS DISTINCT FROM s.wh
                   THEN 'PERIOD_FROZEN'
                 WHEN NOT $1::boolean AND r.wh <> s.wh THEN 'READING_CONFLICT'
               END AS error,
               CASE WHEN r.wh IS NULL THEN 'NEW' WHEN r.wh = s.wh THEN 'UNCHANGED' ELSE 'CORRECT' END AS action,
               r.wh AS old_wh, r.version AS old_version, r.reason AS old_reason, r.received_at AS old_received_at
        FROM (${lines}) s
        LEFT JOIN meters m ON m.id = s.meter_id
        LEFT JOIN meter_periods p ON p.meter_id = s.meter_id AND p.period = s.period
        LEFT JOIN stored r ON r.meter_id = s.meter_id AND r.interval_start = s.ts
      ),
      go AS (
        SELECT $5::text = 'partial' OR NOT EXISTS (SELECT 1 FROM c WHERE error IS NOT NULL) AS ok,
               -- Every line new, none rejected: the caller COPYs the rows it kept, so nothing is to apply here.
               $7::boolean AND NOT EXISTS (SELECT 1 FROM c WHERE error IS NOT NULL OR action <> 'NEW') AS copy_new
      ),
      apply AS (
        SELECT * FROM c
        WHERE error IS NULL AND rn = 1 AND action IN ('NEW', 'CORRECT') AND (SELECT ok AND NOT copy_new FROM go)
      ),
      rejected AS (
        INSERT INTO ${REJECTED} (line, meter_id, interval_start, wh, error, old_wh)
        SELECT line, meter_id, interval_start, wh, error, old_wh FROM c WHERE error IS NOT NULL
      ),
      superseded AS (
        INSERT INTO meter_reading_versions (meter_id, interval_start, version, wh, reason, received_at)
        SELECT meter_id, interval_start, old_version, old_wh, old_reason, old_received_at
        FROM apply WHERE action = 'CORRECT'
      ),
      corrected AS (
        UPDATE meter_readings r
        SET wh = a.wh, version = r.version + 1, reason = $4, received_at = now()
        FROM apply a
        WHERE a.action = 'CORRECT' AND r.meter_id = a.meter_id AND r.interval_start = a.interval_start
          AND r.interval_start >= $2 AND r.interval_start < $3
      ),
      added AS (
        INSERT INTO meter_readings (meter_id, interval_start, wh, version, reason)
        SELECT meter_id, interval_start, wh, 1, $6 FROM apply WHERE action = 'NEW'
      ),
      -- The monthly totals, in the same transaction. A change to an attested period reopens it: it must be
      -- closed again, which commits a new attestation version carrying the correction's reason.
      totals AS (
        UPDATE meter_periods p
        SET total_wh = p.total_wh + d.delta,
            reading_count = p.reading_count + d.added,
            status = 'OPEN',
            correction_reason = CASE WHEN p.attested_version > 0 THEN $4 ELSE p.correction_reason END,
            updated_at = now()
        FROM (
          -- Grouped over every line, filtered inside the aggregates: a WHERE here makes the planner expect one
          -- row and sort the lines instead of hashing them.
          SELECT meter_id, period,
                 coalesce(sum(CASE WHEN action = 'NEW' THEN wh ELSE wh - old_wh END)
                   FILTER (WHERE error IS NULL AND rn = 1 AND action IN ('NEW', 'CORRECT')), 0) AS delta,
                 count(*) FILTER (WHERE error IS NULL AND rn = 1 AND action = 'NEW') AS added,
                 count(*) FILTER (WHERE error IS NULL AND rn = 1 AND action IN ('NEW', 'CORRECT')) AS applied
          FROM c GROUP BY meter_id, period
        ) d
        WHERE p.meter_id = d.meter_id AND p.period = d.period AND d.applied > 0 AND (SELECT ok FROM go)
      )
      SELECT count(*) FILTER (WHERE error IS NOT NULL)::int AS errors,
             count(*) FILTER (WHERE error IS NULL AND rn = 1 AND action = 'NEW')::int AS accepted,
             count(*) FILTER (WHERE error IS NULL AND rn = 1 AND action = 'CORRECT')::int AS corrected,
             count(*) FILTER (WHERE error IS NULL AND (rn > 1 OR action = 'UNCHANGED'))::int AS unchanged,
             (SELECT copy_new FROM go) AS copy_new
      FROM c`,
      [
        options.correction,
        from,
        to,
        options.reason,
        options.mode,
        options.correction ? options.reason : null,
        newRows !== undefined,
      ],
    )) as Array<{
      errors: number;
      accepted: number;
      corrected: number;
      unchanged: number;
      copy_new: boolean;
    }>;
    const { copy_new: copyNew, ...counts } = summary;
    if (copyNew && newRows) {
      await pipeline(
        Readable.from(newRows),
        client.query(
          copyFrom(`COPY meter_readings (meter_id, interval_start, wh, version, reason) FROM STDIN`),
        ),
      );
    }
    return counts;
  }
}
