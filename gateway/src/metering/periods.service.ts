import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import type { Principal } from '../auth/roles';
import { ledgerProblem } from '../common/ledger-errors';
import { ProblemError } from '../common/problem';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { LedgerPort, SubmittedTransaction } from '../ledger/port';
import { MeterRow, MetersService } from './meters.service';
import { AttestationDto, CloseResultDto, CompletenessDto, IntervalRangeDto, PeriodDto } from './metering.dto';
import { expectedIntervals, isPeriod, periodEndMs, periodStartMs } from './months';
import { periodReadings } from './period-digest';

/** Missing ranges listed in a completeness answer or a refusal to close. */
const RANGES_LISTED_MAX = 1000;
const RANGES_IN_DETAIL = 5;
const REASON_MAX = 256;

interface PeriodRow {
  total_wh: string;
  reading_count: number;
  status: 'OPEN' | 'CLOSED';
  attested_version: number;
  correction_reason: string | null;
}

interface AttestationRow {
  version: number;
  total_wh: string;
  reading_count: number;
  digest: string;
  reason: string | null;
  tx_id: string;
  block_number: string;
  validation_code: string;
  committed_at: Date;
}

interface LedgerAttestation {
  version: number;
  versions: Array<{ version: number; totalWh: string; digest: string; txId: string; attestedAt: string }>;
}

interface Proof {
  txId: string;
  blockNumber: number;
  validationCode: string;
  committedAt: string;
}

export function whToKwh(wh: bigint | string): string {
  const value = BigInt(wh);
  return `${value / 1000n}.${(value % 1000n).toString().padStart(3, '0')}`;
}

function attestationDto(row: AttestationRow): AttestationDto {
  return {
    version: row.version,
    totalWh: BigInt(row.total_wh).toString(),
    totalKwh: whToKwh(row.total_wh),
    readingCount: row.reading_count,
    digest: row.digest,
    reason: row.reason,
    ledger: {
      txId: row.tx_id,
      blockNumber: Number(row.block_number),
      validationCode: row.validation_code,
      committedAt: row.committed_at.toISOString(),
    },
  };
}

export function checkPeriod(period: string): string {
  if (!isPeriod(period)) {
    throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: period', {
      errors: [{ field: 'period', message: 'period must be a month YYYY-MM' }],
    });
  }
  return period;
}

/**
 * Metering periods (Asia/Shanghai months) of a meter: completeness, and closing — total and Merkle root of the
 * readings, committed on the ledger as the meter attestation (`metering:AttestMeterPeriod`, or
 * `metering:CorrectMeterPeriod` with the next version after a correction), which freezes the period's readings.
 *
 * Closing holds the period's `meter_periods` row lock (the one ingestion takes) from reading the readings to
 * recording the attestation, so no reading can change in between. If the gateway dies after the ledger
 * committed but before PostgreSQL did, the next close finds the attestation on the ledger, checks it is the
 * same total and digest, and records it instead of attesting twice.
 */
@Injectable()
export class PeriodsService {
  private readonly logger = new Logger('MeterPeriods');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
    private readonly meters: MetersService,
  ) {}

  async completeness(meterId: string, period: string): Promise<CompletenessDto> {
    const meter = await this.meters.get(meterId);
    const { missing, missingIntervals } = await this.missing(this.dataSource, meter, period);
    const expected = expectedIntervals(period, meter.interval_minutes);
    return {
      meterId,
      period,
      periodStart: new Date(periodStartMs(period)).toISOString(),
      periodEnd: new Date(periodEndMs(period)).toISOString(),
      intervalMinutes: meter.interval_minutes,
      expected,
      present: expected - missingIntervals,
      complete: missingIntervals === 0,
      missingIntervals,
      missing,
    };
  }

  async get(meterId: string, period: string): Promise<PeriodDto> {
    const meter = await this.meters.get(meterId);
    const [row] = (await this.dataSource.query(
      `SELECT total_wh, reading_count, status, attested_version, correction_reason
       FROM meter_periods WHERE meter_id = $1 AND period = $2`,
      [meterId, period],
    )) as PeriodRow[];
    const versions = (
      (await this.dataSource.query(
        `SELECT * FROM meter_attestations WHERE meter_id = $1 AND period = $2 ORDER BY version`,
        [meterId, period],
      )) as AttestationRow[]
    ).map(attestationDto);
    return {
      meterId,
      period,
      status: row?.status ?? 'OPEN',
      totalWh: BigInt(row?.total_wh ?? 0).toString(),
      totalKwh: whToKwh(row?.total_wh ?? '0'),
      readingCount: row?.reading_count ?? 0,
      expected: expectedIntervals(period, meter.interval_minutes),
      frozen: (row?.attested_version ?? 0) > 0,
      attestation: versions[versions.length - 1] ?? null,
      versions,
    };
  }

  async close(
    principal: Principal,
    meterId: string,
    period: string,
    requestedReason?: string,
  ): Promise<CloseResultDto> {
    const meter = await this.meters.get(meterId);
    const end = periodEndMs(period);
    if (Date.now() < end) {
      throw new ProblemError(
        422,
        'PERIOD_NOT_ENDED',
        `period ${period} ends at ${new Date(end).toISOString()} (Asia/Shanghai month end); close it after that`,
      );
    }
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      const result = await this.closeLocked(runner, principal, meter, period, requestedReason);
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      if ((error as { code?: string }).code === '40P01') {
        throw new ProblemError(409, 'PERIOD_BUSY', `period ${period} of ${meterId} is being changed; retry`);
      }
      throw error;
    } finally {
      await runner.release();
    }
  }

  private async closeLocked(
    runner: QueryRunner,
    principal: Principal,
    meter: MeterRow,
    period: string,
    requestedReason: string | undefined,
  ): Promise<CloseResultDto> {
    const meterId = meter.id;
    await runner.query(
      `INSERT INTO meter_periods (meter_id, period) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [meterId, period],
    );
    const [state] = (await runner.query(
      `SELECT total_wh, reading_count, status, attested_version, correction_reason
       FROM meter_periods WHERE meter_id = $1 AND period = $2 FOR UPDATE`,
      [meterId, period],
    )) as PeriodRow[];
    if (state.status === 'CLOSED' && state.attested_version > 0) {
      throw new ProblemError(
        409,
        'PERIOD_ALREADY_CLOSED',
        `period ${period} of meter ${meterId} is closed (attestation version ${state.attested_version}); ` +
          'send corrections with correction=true, then close it again',
      );
    }
    const { missing, missingIntervals } = await this.missing(runner, meter, period);
    if (missingIntervals > 0) {
      const shown = missing
        .slice(0, RANGES_IN_DETAIL)
        .map((r) => `${r.from}..${r.to}`)
        .join(', ');
      throw new ProblemError(
        422,
        'PERIOD_INCOMPLETE',
        `period ${period} of meter ${meterId} misses ${missingIntervals} interval(s) in ${missing.length}` +
          `${missing.length >= RANGES_LISTED_MAX ? '+' : ''} range(s): ${shown}` +
          `${missing.length > RANGES_IN_DETAIL ? ', …' : ''}`,
        {
          errors: missing.map((r) => ({
            field: 'intervals',
            message: `missing ${r.from} to ${r.to} (exclusive): ${r.intervals} interval(s)`,
          })),
        },
      );
    }

    const {
      totalWh,
      readings,
      digest: root,
    } = await periodReadings((sql, params) => runner.query(sql, params), meterId, period);
    if (root === null) throw new Error(`period ${period} of meter ${meterId} has no readings`);
    const digest = root;
    if (totalWh !== BigInt(state.total_wh).toString() || readings !== state.reading_count) {
      this.logger.warn(
        `monthly total of ${meterId} ${period} was ${state.total_wh} Wh / ${state.reading_count} readings; ` +
          `the readings say ${totalWh} Wh / ${readings}: repaired`,
      );
    }

    const version = state.attested_version + 1;
    const reason =
      version === 1
        ? null
        : (requestedReason ?? state.correction_reason ?? 'correction').slice(0, REASON_MAX);
    const proof = await this.attest(principal, meter, period, { version, totalWh, digest, reason });

    await runner.query(
      `INSERT INTO meter_attestations (meter_id, period, version, total_wh, reading_count, digest, reason,
         tx_id, block_number, validation_code, committed_at, closed_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        meterId,
        period,
        version,
        totalWh,
        readings,
        digest,
        reason,
        proof.txId,
        proof.blockNumber,
        proof.validationCode,
        proof.committedAt,
        principal.keyId,
      ],
    );
    await runner.query(
      `UPDATE meter_periods SET status = 'CLOSED', attested_version = $3, total_wh = $4, reading_count = $5,
         correction_reason = NULL, updated_at = now()
       WHERE meter_id = $1 AND period = $2`,
      [meterId, period, version, totalWh, readings],
    );
    return {
      meterId,
      period,
      status: 'CLOSED',
      version,
      totalWh,
      totalKwh: whToKwh(totalWh),
      readingCount: readings,
      digest,
      reason,
      ledger: proof,
    };
  }

  /** Commit the attestation (or find it already committed by an earlier, interrupted close). */
  private async attest(
    principal: Principal,
    meter: MeterRow,
    period: string,
    a: { version: number; totalWh: string; digest: string; reason: string | null },
  ): Promise<Proof> {
    const request =
      a.version === 1
        ? {
            transaction: 'metering:AttestMeterPeriod',
            body: { meterId: meter.id, period, totalWh: a.totalWh, digest: a.digest },
          }
        : {
            transaction: 'metering:CorrectMeterPeriod',
            body: {
              meterId: meter.id,
              period,
              totalWh: a.totalWh,
              digest: a.digest,
              reason: a.reason,
              version: a.version,
            },
          };
    let tx: SubmittedTransaction;
    try {
      tx = await this.ledger.submit({
        identity: principal.identity,
        transaction: request.transaction,
        args: [JSON.stringify(request.body)],
      });
    } catch (error) {
      const problem = ledgerProblem(error);
      if (problem?.code === 'ATTESTATION_EXISTS' || problem?.code === 'ATTESTATION_VERSION_CONFLICT') {
        const found = await this.findOnLedger(principal, meter.id, period, a);
        if (found) return found;
        throw new ProblemError(
          409,
          'LEDGER_ATTESTATION_MISMATCH',
          `the ledger already holds another attestation of meter ${meter.id} for ${period} ` +
            `(${problem.detail}); it does not match the stored readings`,
        );
      }
      if (problem && problem.status < 500 && meter.kind === 'CONSUMPTION') {
        throw new ProblemError(
          problem.status === 403 || problem.status === 404 ? 422 : problem.status,
          problem.code,
          `the ledger refused to attest consumption meter ${meter.id} for ${period}: ${problem.detail}`,
        );
      }
      throw problem ?? error;
    }
    return {
      txId: tx.txId,
      blockNumber: tx.blockNumber,
      validationCode: tx.validationCode,
      committedAt: new Date(tx.timestamp).toISOString(),
    };
  }

  private async findOnLedger(
    principal: Principal,
    meterId: string,
    period: string,
    a: { version: number; totalWh: string; digest: string },
  ): Promise<Proof | undefined> {
    const bytes = await this.ledger.evaluate({
      identity: principal.identity,
      transaction: 'metering:GetMeterAttestation',
      args: [JSON.stringify({ meterId, period })],
    });
    const attestation = JSON.parse(Buffer.from(bytes).toString('utf8')) as LedgerAttestation;
    const match = attestation.versions.find(
      (v) => v.version === a.version && v.digest === a.digest && v.totalWh === a.totalWh,
    );
    if (!match || attestation.version !== a.version) return undefined;
    const info = await this.ledger.getTransaction(match.txId);
    if (!info) return undefined;
    this.logger.warn(`attestation of ${meterId} ${period} v${a.version} found on the ledger: recorded`);
    return {
      txId: match.txId,
      blockNumber: info.blockNumber,
      validationCode: info.validationCode,
      committedAt: new Date(match.attestedAt).toISOString(),
    };
  }

  /** The gaps of a period as half-open ranges [from, to), with the total of missing intervals. */
  private async missing(
    runner: { query: DataSource['query'] },
    meter: MeterRow,
    period: string,
  ): Promise<{ missing: IntervalRangeDto[]; missingIntervals: number }> {
    const from = new Date(periodStartMs(period)).toISOString();
    const to = new Date(periodEndMs(period)).toISOString();
    // Sentinels one step before the start and at the end make leading and trailing gaps ordinary gaps.
    const rows = (await runner.query(
      `WITH step AS (SELECT make_interval(mins => $4::int) AS d),
       b AS (
         SELECT $2::timestamptz - (SELECT d FROM step) AS s
         UNION ALL
         SELECT interval_start FROM meter_readings
         WHERE meter_id = $1 AND interval_start >= $2::timestamptz AND interval_start < $3::timestamptz
         UNION ALL
         SELECT $3::timestamptz
       ),
       g AS (SELECT s, lead(s) OVER (ORDER BY s) AS n FROM b)
       SELECT s + (SELECT d FROM step) AS "from", n AS "to",
              (extract(epoch FROM n - s)::bigint / ($4::int * 60) - 1)::int AS intervals
       FROM g WHERE n IS NOT NULL AND n - s > (SELECT d FROM step)
       ORDER BY s`,
      [meter.id, from, to, meter.interval_minutes],
    )) as Array<{ from: Date; to: Date; intervals: number }>;
    return {
      missing: rows.slice(0, RANGES_LISTED_MAX).map((r) => ({
        from: r.from.toISOString(),
        to: r.to.toISOString(),
        intervals: r.intervals,
      })),
      missingIntervals: rows.reduce((sum, r) => sum + r.intervals, 0),
    };
  }
}
