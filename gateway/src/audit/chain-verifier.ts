import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { Resources, RESOURCES } from '../common/resources';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { ChainCheck, ChainFailure, LedgerPort } from '../ledger/port';
import { MetricsService } from '../metrics/metrics.service';

/**
 * The gateway's own verification of the ledger's chain (spec §5, block-chain integrity), run at start and on a
 * schedule, its result in /health/ready and the metrics.
 *
 * Each run verifies, with every check the ledger kind makes (`LedgerPort.verifyBlocks`):
 *   1. the blocks committed since the last verified block, linking the first of them to that block's header hash
 *      as recorded in PostgreSQL (`chain_verification`); the record advances after each part that passes;
 *   2. then up to CHAIN_VERIFY_SWEEP_BLOCKS already verified blocks again, continuing where the last run stopped
 *      (and at block 0 after the last verified block): a block changed after it was verified (a block file edited
 *      by someone who also rewrote its checksum) is found within ⌈verified blocks / sweep size⌉ runs.
 * A failure is not recorded as verified, so every later run finds it again until the ledger is repaired.
 *
 * At start, a backlog of at most START_INLINE_BLOCKS is verified before the gateway answers (a restart usually has
 * a handful of new blocks); a longer one (a first start over a long chain, a database restored empty) is verified
 * in the background, and readiness says `verifying` with how far it got: the gateway serves meanwhile, as the
 * ledger's own start-up has already checked every record checksum of the block file. A run that fails makes the
 * gateway not ready, naming the block, the check, what was expected and what was found.
 */

/** Blocks verified before the gateway answers at start; a longer backlog is verified in the background. */
export const START_INLINE_BLOCKS = 200;
/** Blocks per verifyBlocks call: the record in PostgreSQL advances after each. */
const PART_BLOCKS = 500;
const MARK_NAME = 'chain';

export type ChainState = 'pending' | 'verifying' | 'verified' | 'failed' | 'error';

export interface ChainStatus {
  /**
   * pending: no run finished yet; verifying: the first run is under way; verified: the last run found nothing
   * wrong; failed: it found a failure (not ready); error: it could not finish (the ledger or database did not
   * answer; the other readiness checks say which).
   */
  state: ChainState;
  /** The last block verified in sequence (null before any), and its header hash. */
  verifiedBlock: number | null;
  verifiedHash: string | null;
  /** The ledger's height when the last run started. */
  height: number | null;
  /** Where the next re-verification of older blocks starts. */
  sweepNextBlock: number;
  /** When the last run finished (RFC 3339). */
  lastRunAt: string | null;
  runs: number;
  /** The first failure of the last run, and how many it found. */
  failure: ChainFailure | null;
  failures: number;
  error: string | null;
  /** Checks this ledger kind does not make (the embedded ledger makes them all). */
  unchecked: ChainCheck[];
}

interface Mark {
  block: number;
  hash: string;
  sweepNext: number;
}

@Injectable()
export class ChainVerifier implements OnApplicationBootstrap {
  private readonly logger = new Logger('ChainVerification');
  private readonly intervalMs: number;
  private readonly sweepBlocks: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<ChainStatus>;
  private stopped = false;
  private current: ChainStatus = {
    state: 'pending',
    verifiedBlock: null,
    verifiedHash: null,
    height: null,
    sweepNextBlock: 0,
    lastRunAt: null,
    runs: 0,
    failure: null,
    failures: 0,
    error: null,
    unchecked: [],
  };

  constructor(
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(RESOURCES) private readonly resources: Resources,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    this.intervalMs = config.chainVerifyIntervalS * 1000;
    this.sweepBlocks = config.chainVerifySweepBlocks;
    const status = () => this.current;
    const registers = [metrics.registry];
    new Gauge({
      name: 'gec_chain_verified_block',
      help: 'Last ledger block whose chain this gateway verified in sequence (-1: none yet)',
      registers,
      collect() {
        this.set(status().verifiedBlock ?? -1);
      },
    });
    new Gauge({
      name: 'gec_chain_verification_failing',
      help: 'Whether the last chain verification run found a failed check (1) or not (0)',
      registers,
      collect() {
        this.set(status().state === 'failed' ? 1 : 0);
      },
    });
  }

  /** What the last run found (for /health/ready). */
  get status(): ChainStatus {
    return { ...this.current, failure: this.current.failure && { ...this.current.failure } };
  }

  async onApplicationBootstrap(): Promise<void> {
    this.resources.add('projector', () => this.stop());
    try {
      const [info, mark] = await Promise.all([this.ledger.getChainInfo(), this.readMark()]);
      const backlog = mark && mark.block < info.height ? info.height - mark.block - 1 : info.height;
      if (backlog <= START_INLINE_BLOCKS) {
        await this.run({ sweep: false });
      } else {
        this.logger.log(
          `${backlog} blocks to verify since ${mark ? `block ${mark.block}` : 'none was verified'}: ` +
            'verifying in the background',
        );
      }
    } catch (error) {
      this.logger.error(`chain verification at start failed: ${(error as Error).message}`);
    }
    // The first scheduled run follows at once: the background part of the start, and the first sweep.
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.run({ sweep: true })
        .catch(() => undefined)
        .finally(() => {
          if (this.intervalMs > 0) this.schedule(this.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One run now (concurrent calls share it). */
  run(options: { sweep: boolean } = { sweep: true }): Promise<ChainStatus> {
    this.running ??= this.runNow(options.sweep).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runNow(sweep: boolean): Promise<ChainStatus> {
    const found: ChainFailure[] = [];
    let height: number | null = null;
    try {
      height = (await this.ledger.getChainInfo()).height;
      let mark = await this.readMark();
      if (mark && mark.block >= height) {
        // Verified blocks are gone: the ledger's start-up cut them away (its report in /health/ready names
        // them), or the ledger was restored from an older copy. What it holds now is verified from block 0.
        this.logger.warn(
          `block ${mark.block}, verified earlier, is beyond the ledger's height ${height}: verifying the chain ` +
            'again from block 0',
        );
        await this.dataSource.query(
          'DELETE FROM chain_verification WHERE name = $1 AND verified_block >= $2',
          [MARK_NAME, height],
        );
        mark = undefined;
      }
      if (this.current.state === 'pending') this.current = { ...this.current, state: 'verifying' };
      this.current = { ...this.current, height, ...this.marked(mark) };
      const fromZero = !mark;
      for (let from = mark ? mark.block + 1 : 0; found.length === 0 && from < height && !this.stopped;) {
        const to = Math.min(height - 1, from + PART_BLOCKS - 1);
        const result = await this.ledger.verifyBlocks({ from, to, previousHash: mark?.hash });
        this.noteUnchecked(result.checks);
        if (result.failures.length > 0 || !result.lastHeaderHash) {
          found.push(...result.failures);
          break;
        }
        mark = await this.advance({
          block: to,
          hash: result.lastHeaderHash,
          sweepNext: mark?.sweepNext ?? 0,
        });
        this.current = { ...this.current, ...this.marked(mark) };
        from = mark.block + 1;
      }
      if (
        sweep &&
        found.length === 0 &&
        mark &&
        !fromZero &&
        this.sweepBlocks > 0 &&
        height > 0 &&
        !this.stopped
      ) {
        // A peer behind another instance's may not have every block recorded as verified yet.
        const last = Math.min(mark.block, height - 1);
        const from = mark.sweepNext > last ? 0 : mark.sweepNext;
        const to = Math.min(last, from + this.sweepBlocks - 1);
        const result = await this.ledger.verifyBlocks({ from, to });
        this.noteUnchecked(result.checks);
        found.push(...result.failures);
        if (result.failures.length === 0) {
          const sweepNext = to >= last ? 0 : to + 1;
          await this.dataSource.query(
            `UPDATE chain_verification SET sweep_next_block = $2, swept_at = now() WHERE name = $1`,
            [MARK_NAME, sweepNext],
          );
          this.current = { ...this.current, sweepNextBlock: sweepNext };
        }
      }
    } catch (error) {
      this.metrics.chainVerificationRuns.inc({ outcome: 'error' });
      this.current = {
        ...this.current,
        state: 'error',
        height,
        lastRunAt: new Date().toISOString(),
        runs: this.current.runs + 1,
        error: (error as Error).message,
      };
      this.logger.error(`chain verification could not finish: ${(error as Error).message}`);
      throw error;
    }
    for (const failure of found) this.metrics.chainVerificationFailures.inc({ check: failure.check });
    this.metrics.chainVerificationRuns.inc({ outcome: found.length > 0 ? 'failed' : 'verified' });
    this.current = {
      ...this.current,
      state: found.length > 0 ? 'failed' : 'verified',
      height,
      lastRunAt: new Date().toISOString(),
      runs: this.current.runs + 1,
      failure: found[0] ?? null,
      failures: found.length,
      error: null,
    };
    if (found.length > 0) {
      const first = found[0];
      this.logger.error(
        `chain verification failed at block ${first.blockNumber} (${first.check}): expected ${first.expected}, ` +
          `found ${first.found}` +
          (found.length > 1 ? `; ${found.length - 1} more failure(s)` : ''),
      );
    }
    return this.status;
  }

  private marked(
    mark: Mark | undefined,
  ): Pick<ChainStatus, 'verifiedBlock' | 'verifiedHash' | 'sweepNextBlock'> {
    return {
      verifiedBlock: mark?.block ?? null,
      verifiedHash: mark?.hash ?? null,
      sweepNextBlock: mark?.sweepNext ?? 0,
    };
  }

  private noteUnchecked(checks: Array<{ check: ChainCheck; performed: boolean }>): void {
    this.current.unchecked = checks.filter((c) => !c.performed).map((c) => c.check);
  }

  private async readMark(): Promise<Mark | undefined> {
    const rows = (await this.dataSource.query(
      'SELECT verified_block, verified_hash, sweep_next_block FROM chain_verification WHERE name = $1',
      [MARK_NAME],
    )) as Array<{ verified_block: string; verified_hash: string; sweep_next_block: string }>;
    if (rows.length === 0) return undefined;
    return {
      block: Number(rows[0].verified_block),
      hash: rows[0].verified_hash.trim(),
      sweepNext: Number(rows[0].sweep_next_block),
    };
  }

  /** Record a verified block; never moves the record back (another instance may have verified further). */
  private async advance(mark: Mark): Promise<Mark> {
    await this.dataSource.query(
      `INSERT INTO chain_verification (name, verified_block, verified_hash, verified_at)
       VALUES ($1, $2, $3, now())
       ON CONFLICT (name) DO UPDATE SET verified_block = EXCLUDED.verified_block,
         verified_hash = EXCLUDED.verified_hash, verified_at = EXCLUDED.verified_at
       WHERE chain_verification.verified_block < EXCLUDED.verified_block`,
      [MARK_NAME, mark.block, mark.hash],
    );
    return (await this.readMark()) ?? mark;
  }
}
