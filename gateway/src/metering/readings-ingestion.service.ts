import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import { DataSource, QueryRunner } from 'typeorm';
import { ledgerProblem } from '../common/ledger-errors';
import { ProblemError } from '../common/problem';
import { BinaryCopyRows, binaryCopyHeader, binaryCopyTrailer } from '../database/copy-binary';
import { CopyIn } from '../database/copy-in';
import { copyTextField } from '../database/copy-text';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { IdentityRef, LedgerPort } from '../ledger/port';
import { periodOf, SHANGHAI_OFFSET_MS } from './months';
import {
  bodyLineBlocks,
  CanonicalReadingReader,
  CsvHeaderError,
  CsvParser,
  LineError,
  LineErrorCode,
  LineParser,
  NdjsonParser,
} from './reading-lines';
import { RequestReadings } from './request-readings';

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
 * The longest the speculative COPY and its month locks wait for another transaction before the request takes
 * the general path (which waits in key order). Well below deadlock_timeout (1 s): a speculative transaction
 * gives up before PostgreSQL would choose a victim of a deadlock it is part of.
 */
const DIRECT_LOCK_TIMEOUT = '50ms';

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

/** The COPYs a request has open on its connection (each given up if the request fails). */
interface Copies {
  direct?: CopyIn;
  staging?: CopyIn;
  /** The staging tables hold this request's lines (emptied when it ends). */
  stagingUsed?: boolean;
}

interface Counts {
  accepted: number;
  unchanged: number;
  corrected: number;
  errors: number;
}

/** One line as a row of the staging table (line, meter, start in epoch seconds, Wh, period). */
function stagingRow(line: number, meterId: string, startMs: number, wh: number): string {
  return `${line}\t${copyTextField(meterId)}\t${startMs / 1000}\t${wh}\t${periodOf(startMs)}\n`;
}

function tooManyLines(): ProblemError {
  return new ProblemError(
    413,
    'TOO_MANY_LINES',
    `at most ${INGEST_LINES_MAX} readings per request; split the file`,
  );
}

/** The answer: counts (none when rolled back), and the bad lines of the body and of the classification by line. */
function outcome(
  lines: number,
  parseErrors: ErrorList,
  counts: Counts,
  rolledBack: boolean,
  sqlErrors: LineError[],
): IngestOutcome {
  const rejected = parseErrors.count + counts.errors;
  const errors = [...parseErrors.items, ...sqlErrors]
    .sort((a, b) => a.line - b.line)
    .slice(0, ERRORS_LISTED_MAX);
  return {
    lines,
    accepted: rolledBack ? 0 : counts.accepted,
    unchanged: rolledBack ? 0 : counts.unchanged,
    corrected: rolledBack ? 0 : counts.corrected,
    rejected,
    errors,
    errorsTruncated: rejected > errors.length,
    rolledBack,
  };
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
 * The body is parsed line by line while it streams in (serialisers' lines by `CanonicalReadingReader` without an
 * object per line, anything else by the line parsers, which word every error). Every good line is kept in
 * memory as columns per meter (`RequestReadings`, up to KEPT_LINES_MAX lines) and, at the same time, written
 * into `meter_readings` by a speculative `COPY … FROM STDIN` in a transaction of its own: most requests are a
 * file's first delivery, whose every line is new, and PostgreSQL then stores the rows while Node parses the
 * next ones, with no staging and no second pass. The speculation is dropped (CopyFail, rollback) as soon as
 * the body shows it is not such a delivery: a meter's intervals do not increase (a repeat is possible), a
 * month has no partition yet, too many lines or meters to keep, or a reading already stored (the COPY fails on
 * the primary key). Once the body has ended, in that order:
 *
 * 1. the COPY took every line: the lines are checked as the classification checks them (meters known, on their
 *    grid, intervals ended), the (meter, month) rows created and locked in key order (so ingestion and closing
 *    of a period serialise), none may be attested, the monthly totals are added, and the transaction commits.
 *    The transaction's lock_timeout (DIRECT_LOCK_TIMEOUT) makes it give way to any transaction holding these
 *    readings or months instead of waiting on it with uncommitted readings;
 * 2. else, when every meter's intervals increase: the months are locked, the stored readings of each meter over
 *    the request's range read in one statement and compared with the kept lines; all the same (a replay) means
 *    nothing to write;
 * 3. else (and whenever 1 or 2 find anything else): the lines go into a session-local staging table by COPY
 *    (kept lines from memory; past KEPT_LINES_MAX, the rest of the body as it streams) and ONE transaction
 *    creates and locks the (meter, month) rows in key order, classifies every staged line in ONE statement
 *    (unknown meter, off the meter's grid, interval not ended, duplicate in the request, frozen period,
 *    conflict, unchanged, correction, new), writes the new and corrected readings (superseded values kept in
 *    `meter_reading_versions`) and the monthly totals, and keeps the rejected lines for the answer.
 *
 * Paths 1 and 2 answer only what 3 would answer for the same request (they give way to 3 otherwise). Atomic
 * mode rolls back everything when any line is bad. Nothing commits before the body has ended (and its
 * signature been verified); a failure anywhere stores nothing.
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
    const copies: Copies = {};
    try {
      return await this.run(runner, client, copies, body, options);
    } catch (error) {
      // An open COPY holds the connection: it is given up before anything else is said to PostgreSQL.
      await copies.direct?.abort('ingestion failed').catch(() => undefined);
      await copies.staging?.abort('ingestion failed').catch(() => undefined);
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
      if (copies.stagingUsed) await runner.query(`TRUNCATE ${STAGING}, ${REJECTED}`).catch(() => undefined);
      await runner.release();
    }
  }

  /**
   * Read the body and store it by the cheapest path that gives the same outcome (see the class comment): the
   * speculative COPY into `meter_readings` while the body streams; else the comparison of the kept lines with
   * the stored readings; else the staging table and the classification.
   */
  private async run(
    runner: QueryRunner,
    client: PoolClient,
    copies: Copies,
    body: AsyncIterable<Buffer | string>,
    options: IngestOptions,
  ): Promise<IngestOutcome> {
    const nowMs = Date.now();
    const parser: LineParser = options.format === 'csv' ? new CsvParser(nowMs) : new NdjsonParser(nowMs);
    const reader = options.format === 'csv' ? undefined : new CanonicalReadingReader(nowMs);
    const parseErrors = new ErrorList();
    const request = new RequestReadings();
    // New readings carry the correction's reason (version 1 is the column's default).
    const reason = options.correction ? Buffer.from(options.reason ?? '', 'utf8') : undefined;
    let lines = 0;
    // Rows of the current block for each sink; `staged` true once the lines go to the staging table. The
    // speculative COPY is binary: PostgreSQL then parses no timestamp or number text (measured: the text
    // format's timestamps were a large share of its CPU per row).
    const directRows = new BinaryCopyRows();
    let stagingText = '';
    let directLost = false;
    let staged = false;

    await runner.startTransaction();
    // The speculative COPY must never wait long: a wait means another transaction holds these readings or
    // months, and the general path (which waits in key order) is then the right one.
    await runner.query(`SET LOCAL lock_timeout = '${DIRECT_LOCK_TIMEOUT}'`);
    copies.direct = new CopyIn(
      client,
      `COPY meter_readings (meter_id, interval_start, wh${reason ? ', version, reason' : ''}) ` +
        'FROM STDIN (FORMAT binary)',
    );
    await copies.direct.write(binaryCopyHeader());

    const accept = (line: number, meterId: string, startMs: number, wh: number): void => {
      const { meter, opened } = request.add(line, meterId, startMs, wh);
      if (staged) {
        stagingText += stagingRow(line, meterId, startMs, wh);
        return;
      }
      if (!request.keeping) {
        // Too many lines or meters to keep: this line and the rest go to the staging table (see flush).
        staged = true;
        directLost = true;
        stagingText += stagingRow(line, meterId, startMs, wh);
        return;
      }
      if (directLost) return;
      if (!meter || !meter.increasing || (opened !== undefined && !this.partitions.has(opened.period))) {
        // A repeated interval, or a month without its partition yet: not a plain first delivery.
        directLost = true;
        return;
      }
      directRows
        .row(reason ? 5 : 3)
        .text(meter.idBytes)
        .timestamptz(startMs)
        .int8(wh);
      if (reason) directRows.int4(1).text(reason);
    };

    const flush = async (): Promise<void> => {
      if (copies.direct && directLost) {
        await copies.direct.abort('not a plain first delivery');
        copies.direct = undefined;
        await runner.rollbackTransaction();
      }
      if (copies.direct && directRows.length > 0) {
        if (!(await copies.direct.write(directRows.take()))) {
          // Most often a reading already stored (a replay): the kept lines decide after the body.
          directLost = true;
          copies.direct = undefined;
          await runner.rollbackTransaction();
        }
      }
      directRows.take();
      if (staged && !copies.staging) {
        copies.staging = await this.openStaging(runner, client, copies);
        for (const chunk of request.stagingRows(COPY_CHUNK_ROWS)) await this.stage(copies.staging, chunk);
      }
      if (copies.staging && stagingText !== '') {
        await this.stage(copies.staging, Buffer.from(stagingText, 'utf8'));
      }
      stagingText = '';
    };

    for await (const block of bodyLineBlocks(body)) {
      if (block.tooLong) {
        lines += 1;
        parseErrors.add({ line: block.firstLine, code: 'MALFORMED_LINE', message: 'the line is too long' });
        continue;
      }
      const text = block.text;
      let line = block.firstLine;
      for (let from = 0; from < text.length; line++) {
        const newline = text.indexOf('\n', from);
        let start = from;
        let end = newline;
        from = newline + 1;
        if (end > start && text.charCodeAt(end - 1) === 13) end -= 1;
        if (line === 1 && text.charCodeAt(start) === 0xfeff) start += 1;
        if (reader?.read(text, start, end)) {
          if (++lines > INGEST_LINES_MAX) throw tooManyLines();
          accept(line, reader.meterId, reader.startMs, reader.wh);
          continue;
        }
        const lineText = text.slice(start, end);
        if (lineText.trim() === '') continue;
        let result;
        try {
          result = parser.parse(lineText, line);
        } catch (error) {
          if (error instanceof CsvHeaderError)
            throw new ProblemError(400, 'CSV_HEADER_INVALID', error.message);
          throw error;
        }
        if (result === undefined) continue;
        if (++lines > INGEST_LINES_MAX) throw tooManyLines();
        if ('error' in result) parseErrors.add(result.error);
        else accept(line, result.reading.meterId, result.reading.startMs, result.reading.wh);
      }
      await flush();
    }
    await flush();
    if (lines === 0) {
      throw new ProblemError(400, 'NO_READINGS', 'the request body holds no reading');
    }

    const done = (counts: Counts, rolledBack: boolean, sqlErrors: LineError[] = []): IngestOutcome =>
      outcome(lines, parseErrors, counts, rolledBack, sqlErrors);
    if (copies.direct) {
      const direct = copies.direct;
      copies.direct = undefined;
      if ((await direct.write(binaryCopyTrailer())) && (await direct.end())) {
        const result = await this.finishFirstDelivery(runner, request, options, parseErrors.count > 0);
        if (result) return done(result.counts, result.rolledBack);
      }
      if (runner.isTransactionActive) await runner.rollbackTransaction();
    }
    if (!staged && !request.mayRepeat && request.count > 0) {
      const result = await this.finishReplay(runner, request, options, parseErrors.count > 0);
      if (result) return done(result.counts, result.rolledBack);
    }
    if (!staged) {
      copies.staging = await this.openStaging(runner, client, copies);
      for (const chunk of request.stagingRows(COPY_CHUNK_ROWS)) await this.stage(copies.staging, chunk);
    }
    if (copies.staging) {
      const staging = copies.staging;
      copies.staging = undefined;
      if (!(await staging.end())) throw staging.failure;
    }
    return this.finishClassified(runner, options, request, lines, parseErrors);
  }

  /** The session's staging tables, emptied, and a COPY into the staging table (outside any transaction). */
  private async openStaging(runner: QueryRunner, client: PoolClient, copies: Copies): Promise<CopyIn> {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    // Session-local tables (no WAL, invisible to other sessions), created once per pooled connection and emptied
    // after every request that used them. `t` is the interval start in epoch seconds: an integer is cheaper for
    // COPY to read than a timestamp literal, and the grid check needs the number anyway. `meter_reading_rejected`
    // keeps only the lines the classification rejects, for the answer. Temporary tables live in the session's
    // `temp_buffers` (8 MB by default: a 50,000-line request spilled to disk); the setting can only be changed
    // before the session first touches a temporary table, so it is set then and never changed again.
    if (!sessionsReady.has(client)) {
      await runner.query(`SET temp_buffers = '${TEMP_BUFFERS}'`).catch(() => undefined);
      sessionsReady.add(client);
    }
    copies.stagingUsed = true;
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
    return new CopyIn(client, `COPY ${STAGING} (line, meter_id, t, wh, period) FROM STDIN`);
  }

  /** One chunk into the staging table: its failure is the request's (nothing else can take the lines). */
  private async stage(staging: CopyIn, chunk: Buffer): Promise<void> {
    if (!(await staging.write(chunk))) throw staging.failure;
  }

  /**
   * The meters of the kept lines as the registry has them, and whether every line fits its meter (known, on its
   * grid, interval ended): the checks the classification makes, answered from each meter's grid divisor and
   * range. Checked against PostgreSQL's clock, as the classification is.
   */
  private async linesFitMeters(runner: QueryRunner, request: RequestReadings): Promise<boolean> {
    const ids = [...request.meters.keys()];
    const rows = (await runner.query(
      `SELECT id, interval_minutes, extract(epoch FROM statement_timestamp())::float8 AS now
       FROM meters WHERE id = ANY($1::text[])`,
      [ids],
    )) as Array<{ id: string; interval_minutes: number; now: number }>;
    if (rows.length !== ids.length) return false;
    for (const row of rows) {
      const meter = request.meters.get(row.id)!;
      const step = row.interval_minutes * 60;
      if (meter.gcdSeconds % step !== 0 || meter.maxSeconds + step > row.now) return false;
    }
    return true;
  }

  /**
   * Create and lock the request's (meter, month) rows in key order, as the classification does; answers whether
   * none of them is attested (only then can new readings go in without the classification).
   */
  private async lockMonths(runner: QueryRunner, request: RequestReadings): Promise<boolean> {
    const meterIds: string[] = [];
    const periods: string[] = [];
    for (const meter of request.meters.values()) {
      for (const month of meter.months) {
        meterIds.push(meter.meterId);
        periods.push(month.period);
      }
    }
    await runner.query(
      `INSERT INTO meter_periods (meter_id, period)
       SELECT * FROM unnest($1::text[], $2::char(7)[]) ORDER BY 1, 2
       ON CONFLICT DO NOTHING`,
      [meterIds, periods],
    );
    const locked = (await runner.query(
      `SELECT attested_version FROM meter_periods
       WHERE (meter_id, period) IN (SELECT * FROM unnest($1::text[], $2::char(7)[]))
       ORDER BY meter_id, period FOR NO KEY UPDATE`,
      [meterIds, periods],
    )) as Array<{ attested_version: number }>;
    return locked.every((row) => row.attested_version === 0);
  }

  /**
   * The end of a speculative COPY that took every line: inside its transaction, the lines are checked as the
   * classification would check them, the months locked and their totals added, then the transaction commits.
   * Undefined when the request is not a plain first delivery after all (the caller rolls back and goes on).
   */
  private async finishFirstDelivery(
    runner: QueryRunner,
    request: RequestReadings,
    options: IngestOptions,
    badLines: boolean,
  ): Promise<{ counts: Counts; rolledBack: boolean } | undefined> {
    const meterIds: string[] = [];
    const periods: string[] = [];
    const totals: string[] = [];
    const counts: number[] = [];
    for (const meter of request.meters.values()) {
      for (const month of meter.months) {
        // Exact Wh: a sum past 2^53 is left to PostgreSQL's bigint arithmetic (the general path).
        if (!Number.isSafeInteger(month.wh)) return undefined;
        meterIds.push(meter.meterId);
        periods.push(month.period);
        totals.push(String(month.wh));
        counts.push(month.count);
      }
    }
    try {
      if (!(await this.linesFitMeters(runner, request))) return undefined;
      if (!(await this.lockMonths(runner, request))) return undefined;
      await runner.query(
        `UPDATE meter_periods p
         SET total_wh = p.total_wh + d.wh, reading_count = p.reading_count + d.n, status = 'OPEN', updated_at = now()
         FROM unnest($1::text[], $2::char(7)[], $3::bigint[], $4::int[]) AS d(meter_id, period, wh, n)
         WHERE p.meter_id = d.meter_id AND p.period = d.period`,
        [meterIds, periods, totals, counts],
      );
    } catch (error) {
      // A lock held by another transaction (lock_timeout): the general path waits for it in key order.
      if ((error as { code?: string }).code === '55P03') return undefined;
      throw error;
    }
    const rolledBack = options.mode === 'atomic' && badLines;
    if (rolledBack) await runner.rollbackTransaction();
    else await runner.commitTransaction();
    return { counts: { accepted: request.count, unchanged: 0, corrected: 0, errors: 0 }, rolledBack };
  }

  /**
   * A request whose every line may already be stored (its speculative COPY met a stored reading): with the
   * months locked, the stored readings of each meter over the request's range are read and compared with the
   * kept lines. All the same: nothing to write, the transaction commits. Undefined otherwise (the caller stages
   * the lines and classifies them).
   */
  private async finishReplay(
    runner: QueryRunner,
    request: RequestReadings,
    options: IngestOptions,
    badLines: boolean,
  ): Promise<{ counts: Counts; rolledBack: boolean } | undefined> {
    await runner.startTransaction();
    if (!(await this.linesFitMeters(runner, request))) {
      await runner.rollbackTransaction();
      return undefined;
    }
    // The same value in an attested month is still `unchanged`: attestation does not matter here.
    await this.lockMonths(runner, request);
    const meters = [...request.meters.values()];
    const stored = (await runner.query(
      `SELECT q.i::int AS i, s.starts, s.whs
       FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS q(meter_id, lo, hi, i)
       CROSS JOIN LATERAL (
         -- One pass: both lists follow the same row order.
         -- date_part answers a float8 (whole seconds here, exact); extract's numeric costs more per row.
         SELECT string_agg(date_part('epoch', r.interval_start)::bigint::text, ',') AS starts,
                string_agg(r.wh::text, ',') AS whs
         FROM meter_readings r
         WHERE r.meter_id = q.meter_id
           AND r.interval_start >= to_timestamp(q.lo) AND r.interval_start <= to_timestamp(q.hi)
           AND r.interval_start >= $4 AND r.interval_start <= $5
       ) s`,
      [
        meters.map((meter) => meter.meterId),
        meters.map((meter) => meter.minSeconds),
        meters.map((meter) => meter.maxSeconds),
        new Date(request.minMs).toISOString(),
        new Date(request.maxMs).toISOString(),
      ],
    )) as Array<{ i: number; starts: string | null; whs: string | null }>;
    let unchanged = 0;
    for (const row of stored) {
      if (row.starts === null || row.whs === null) continue;
      unchanged += meters[row.i - 1].unchangedCount(
        row.starts.split(',').map(Number),
        row.whs.split(',').map(Number),
      );
    }
    if (unchanged !== request.count) {
      await runner.rollbackTransaction();
      return undefined;
    }
    const rolledBack = options.mode === 'atomic' && badLines;
    if (rolledBack) await runner.rollbackTransaction();
    else await runner.commitTransaction();
    return { counts: { accepted: 0, unchanged, corrected: 0, errors: 0 }, rolledBack };
  }

  /** The general path: the staged lines classified and applied in one transaction (see merge). */
  private async finishClassified(
    runner: QueryRunner,
    options: IngestOptions,
    request: RequestReadings,
    lines: number,
    parseErrors: ErrorList,
  ): Promise<IngestOutcome> {
    const anyStaged = request.count > 0;
    if (anyStaged) await this.ensurePartitions(runner, request.periods);
    await runner.startTransaction();
    const counts = anyStaged
      ? await this.merge(runner, options, {
          minMs: request.minMs,
          maxMs: request.maxMs,
          mayRepeat: request.mayRepeat,
        })
      : { accepted: 0, unchanged: 0, corrected: 0, errors: 0 };
    const sqlErrors =
      counts.errors > 0
        ? ((await runner.query(
            `SELECT line, meter_id, error, wh, old_wh, interval_start FROM ${REJECTED}
             WHERE error IS NOT NULL ORDER BY line LIMIT ${ERRORS_LISTED_MAX}`,
          )) as StagedError[])
        : [];
    const rollBack = options.mode === 'atomic' && parseErrors.count + counts.errors > 0;
    if (!rollBack && options.correction && counts.corrected > 0) {
      await this.requireLedgerAccepts(runner, options);
    }
    if (rollBack) await runner.rollbackTransaction();
    else await runner.commitTransaction();
    return outcome(
      lines,
      parseErrors,
      counts,
      rollBack,
      sqlErrors.map((row): LineError => ({
        line: row.line,
        meterId: row.meter_id,
        field: SQL_ERROR_FIELD[row.error] ?? 'kwh',
        code: row.error,
        message: sqlMessage(row),
      })),
    );
  }

  /**
   * Classify the staged lines and apply the good ones (inside the caller's transaction): the period locks, then
   * ONE statement that classifies every line, stores the readings and totals and answers the counts (the new
   * readings of an all-new request by COPY right after it).
   */
  private async merge(
    runner: QueryRunner,
    options: IngestOptions,
    request: {
      minMs: number;
      maxMs: number;
      /** False when no meter's intervals ever failed to increase: no interval comes twice. */
      mayRepeat: boolean;
    },
  ): Promise<Counts> {
    const { minMs, maxMs, mayRepeat } = request;
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
        SELECT $5::text = 'partial' OR NOT EXISTS (SELECT 1 FROM c WHERE error IS NOT NULL) AS ok
      ),
      apply AS (
        SELECT * FROM c
        WHERE error IS NULL AND rn = 1 AND action IN ('NEW', 'CORRECT') AND (SELECT ok FROM go)
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
             count(*) FILTER (WHERE error IS NULL AND (rn > 1 OR action = 'UNCHANGED'))::int AS unchanged
      FROM c`,
      [
        options.correction,
        from,
        to,
        options.reason,
        options.mode,
        options.correction ? options.reason : null,
      ],
    )) as Counts[];
    return summary;
  }
}
