import { Inject, Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { LedgerGateway } from '../certificates/ledger-support';
import type { IdentityRef } from '../ledger/port';
import { gatewayIdentity } from '../organisation/consortium';
import { MetricsService } from '../metrics/metrics.service';
import { ledgerProblem } from '../common/ledger-errors';
import { Resources, RESOURCES } from '../common/resources';
import { APP_CONFIG, type AppConfig } from '../config/config';

/**
 * The daily expiry sweep (spec §4: "a daily sweep by the gateway marks past-date lots EXPIRED").
 *
 * Finds ACTIVE and LISTED lots whose `expiresAt` has passed in the projection and submits certificates:Expire for
 * each as the platform's client identity (any writer may expire a lot past its date; no admin is needed). The
 * platform's gateway sweeps (GridMSP, or the development consortium): it issued the certificates, and one
 * organisation sweeping is enough; the trading center's gateway may still expire a lot on request, the
 * regulator's never writes. The chaincode decides (it compares expiresAt with the transaction time), so a
 * race is harmless: LOT_NOT_EXPIRED, an already final lot, or an MVCC conflict are counted and skipped.
 *
 * Schedule: once shortly after start (EXPIRY_SWEEP_START_DELAY_MS, default 5 s), then daily at 00:10 Asia/Shanghai,
 * or every EXPIRY_SWEEP_INTERVAL_MS when set; EXPIRY_SWEEP_INTERVAL_MS=0 disables the schedule. With several
 * gateway instances only one sweeps at a time: the sweep holds a PostgreSQL advisory lock (session level, on its
 * own connection); an instance that cannot take it skips that run.
 */

export interface SweepReport {
  /** false when another instance held the sweep lock (nothing was done). */
  ran: boolean;
  candidates: number;
  expired: string[];
  skipped: Array<{ lotId: string; code: string }>;
}

/** Codes that mean "nothing to do for this lot now". */
const TOLERATED = new Set([
  'LOT_NOT_EXPIRED',
  'LOT_EXPIRED',
  'LOT_REDEEMED',
  'LOT_EXCHANGED',
  'LOT_WITHDRAWN',
  'LOT_IN_CUSTODY',
  'LOT_NOT_FOUND',
  'LEDGER_CONFLICT',
  'CONSORTIUM_PAUSED',
]);

const LOCK_KEY = "hashtext('gec-ledger.expiry-sweep')";
const BATCH = 500;
const SHANGHAI_OFFSET_MS = 8 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;
/** 00:10 in Asia/Shanghai (UTC+8, no daylight saving). */
const DAILY_AT_MS = 10 * 60 * 1000;

/** Milliseconds from `now` to the next 00:10 Asia/Shanghai. */
export function msUntilNextDailyRun(now: Date): number {
  const local = (now.getTime() + SHANGHAI_OFFSET_MS) % DAY_MS;
  const wait = (DAILY_AT_MS - local + DAY_MS) % DAY_MS;
  return wait === 0 ? DAY_MS : wait;
}

@Injectable()
export class ExpirySweeper implements OnApplicationBootstrap {
  private readonly logger = new Logger('ExpirySweep');
  /** The clock the sweep compares expiry dates with (tests inject their own). */
  clock: () => Date = () => new Date();
  private timer?: NodeJS.Timeout;
  private running?: Promise<SweepReport>;
  private stopped = false;
  private readonly intervalMs: number | undefined;
  private readonly startDelayMs: number;
  private readonly identity: IdentityRef;
  private readonly sweeps: boolean;

  constructor(
    private readonly ledger: LedgerGateway,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(RESOURCES) private readonly resources: Resources,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    this.intervalMs = config.expirySweepIntervalMs;
    this.startDelayMs = config.expirySweepStartDelayMs;
    this.identity = gatewayIdentity(config.organisation);
    this.sweeps = config.organisation === 'all' || config.organisation === 'GridMSP';
  }

  onApplicationBootstrap(): void {
    // Stops with the projector, before the ledger and the database close.
    this.resources.add('projector', () => this.stop());
    if (this.intervalMs === 0) {
      this.logger.log('expiry sweep disabled (EXPIRY_SWEEP_INTERVAL_MS=0)');
      return;
    }
    if (!this.sweeps) {
      this.logger.log('expiry sweep: run by the GridMSP (platform operator) gateway, not this one');
      return;
    }
    this.schedule(this.startDelayMs);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.sweep()
        .catch((error: unknown) => this.logger.error(`expiry sweep failed: ${(error as Error).message}`))
        .finally(() => this.schedule(this.intervalMs ?? msUntilNextDailyRun(this.clock())));
    }, delayMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One sweep now (by `this.clock`); concurrent calls in one process share the run. */
  sweep(): Promise<SweepReport> {
    this.running ??= this.runSweep()
      .then(
        (report) => {
          if (report.ran) this.metrics.expirySweeps.inc({ outcome: 'done' });
          return report;
        },
        (error: unknown) => {
          this.metrics.expirySweeps.inc({ outcome: 'failed' });
          throw error;
        },
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async runSweep(): Promise<SweepReport> {
    const report: SweepReport = { ran: false, candidates: 0, expired: [], skipped: [] };
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = (await runner.query(
        `SELECT pg_try_advisory_lock(${LOCK_KEY}) AS locked`,
      )) as Array<{
        locked: boolean;
      }>;
      if (!locked) {
        this.logger.log('another gateway instance is sweeping: skipped');
        return report;
      }
      report.ran = true;
      try {
        const now = this.clock();
        const tried = new Set<string>();
        for (;;) {
          if (this.stopped) break;
          const rows = (await runner.query(
            `SELECT id FROM certificate_lots WHERE status IN ('ACTIVE', 'LISTED') AND expires_at <= $1
             AND NOT (id = ANY($2)) ORDER BY expires_at, id LIMIT ${BATCH}`,
            [now.toISOString(), [...tried]],
          )) as Array<{ id: string }>;
          if (rows.length === 0) break;
          for (const { id } of rows) {
            if (this.stopped) break;
            tried.add(id);
            report.candidates += 1;
            await this.expireOne(id, report);
          }
        }
      } finally {
        await runner.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`);
      }
      if (report.candidates > 0) {
        this.logger.log(
          `expiry sweep: ${report.expired.length} lot(s) expired, ${report.skipped.length} skipped of ${report.candidates}`,
        );
      }
      return report;
    } finally {
      await runner.release();
    }
  }

  private async expireOne(lotId: string, report: SweepReport): Promise<void> {
    try {
      await this.ledger.submit(this.identity, 'certificates:Expire', { lotId });
      report.expired.push(lotId);
      this.metrics.lotsExpired.inc();
    } catch (error) {
      const problem = ledgerProblem(error);
      if (problem && TOLERATED.has(problem.code)) {
        report.skipped.push({ lotId, code: problem.code });
        return;
      }
      throw error;
    }
  }
}

@Module({ providers: [ExpirySweeper, LedgerGateway], exports: [ExpirySweeper] })
export class ExpiryModule {}
