import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Counter, Gauge, Histogram } from 'prom-client';
import { DataSource } from 'typeorm';
import { DEFAULT_IDENTITY } from '../auth/roles';
import { chaincodeRefusal, commitCode, CONFLICT_CODES } from '../common/ledger-errors';
import { APP_CONFIG, AppConfig } from '../config/config';
import { InstanceLiveness } from '../database/instance-liveness';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import { MetricsService } from '../metrics/metrics.service';
import type { IdentityRef, LedgerPort, PreparedTransaction, SubmittedTransaction } from '../ledger/port';
import { Projector } from '../projection/projector.service';
import { CheckKeysService } from '../signing/check-keys.service';
import { TradeCallbacks } from './trade-callbacks';
import { TradeRow, TradeCheck } from './trade-model';
import { TradeOutbox } from './trade-outbox';
import { CommittedTransaction, Rejection, TradeStates, Verified } from './trade-states';
import { TradeVerifier, Verification } from './trade-verifier';
import { TradesService } from './trades.service';

/** Numbers from the environment (trade pipeline tuning; not part of the validated app config). */
function envInt(name: string, fallback: number, min = 0): number {
  const value = Number.parseInt(process.env[name] ?? '', 10);
  return Number.isFinite(value) && value >= min ? value : fallback;
}

interface LedgerTrade {
  tradeId: string;
  tradeDataHash: string;
  txId: string;
  voucherId: string;
}

type Outcome =
  | { kind: 'committed'; tx: SubmittedTransaction }
  | { kind: 'refused'; code: string; message: string }
  | { kind: 'conflict'; code: string }
  | { kind: 'unknown'; message: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function failedSummary(checks: TradeCheck[]): string {
  return checks
    .filter((c) => !c.passed)
    .map((c) => `${c.name}: ${c.reason}`)
    .join(' | ');
}

/**
 * The trade pipeline: RECEIVED → VERIFYING → (REJECTED | COMMITTING) → COMMITTED, driven by the durable outbox
 * in PostgreSQL (`trade_outbox`), never by memory.
 *
 * - Claiming (`TradeOutbox`): batches of trades whose hot keys (buyer-month, seller-month, lot) are free on
 *   every instance, under a lease; no database transaction or connection is held while a trade is worked on.
 *   Trades sharing a hot key go one after the other; independent trades never wait for each other.
 * - Verification (`TradeVerifier`): one snapshot of everything a batch reads, a handful of statements per
 *   batch; no ledger call. The batch's verdicts are written in two statements (REJECTED, COMMITTING).
 * - Commit: the attestation's transaction id is fixed (`prepare`) and stored with COMMITTING before it is
 *   submitted; up to TRADE_IN_FLIGHT attestations are submitted concurrently, so one block carries many. A trade
 *   is COMMITTED once its voucher and lot moves are projected (a GET of its voucher right after finds it), in
 *   one statement with its transaction's outcome and the removal of its outbox row.
 * - Recovery: a trade found in COMMITTING (after a crash, on another instance, on a retry) is resolved by its
 *   stored transaction id first; only when the ledger never committed it, and `trades:GetTrade` does not hold
 *   the trade, is a new transaction prepared. The chaincode attests a trade id once, and the voucher id is
 *   derived from the trade id: no trade is committed twice, no voucher issued twice.
 */
@Injectable()
export class TradePipeline implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('TradePipeline');
  private readonly instance: string;
  /** Trades worked on at once by this instance (verification through commit). */
  private readonly window = envInt('TRADE_IN_FLIGHT', 256, 1);
  /** Trades claimed at once. */
  private readonly batchSize = envInt('TRADE_BATCH_SIZE', 100, 1);
  private readonly pollMs = envInt('TRADE_POLL_MS', 500);
  /** How long the claimer lets finishing trades accumulate before the next claim, while trades are in flight. */
  private readonly lingerMs = envInt('TRADE_CLAIM_LINGER_MS', 5);
  private readonly leaseSeconds = envInt('TRADE_LEASE_S', 60, 5);
  private readonly maxLedgerAttempts = envInt('TRADE_LEDGER_ATTEMPTS', 5, 1);
  /**
   * Test hook (crash tests): pause this long after entering VERIFYING, after storing the txId and after the ledger
   * committed (before the trade row says so). 0 in production.
   */
  private readonly stepDelayMs = envInt('TRADE_STEP_DELAY_MS', 0);
  private readonly verifier: TradeVerifier;
  private readonly outbox: TradeOutbox;
  private readonly states: TradeStates;
  private readonly finished: Counter<'state' | 'code'>;
  private readonly latency: Histogram<'state'>;
  /** Batches being worked on. */
  private readonly inFlight = new Set<Promise<void>>();
  /** The trades being worked on: the in-flight window, and the leases renewed. */
  private readonly open = new Set<string>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private renewer: NodeJS.Timeout | undefined;
  private wakers = new Set<() => void>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
    private readonly checkKeys: CheckKeysService,
    private readonly trades: TradesService,
    private readonly callbacks: TradeCallbacks,
    private readonly projector: Projector,
    liveness: InstanceLiveness,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    this.instance = liveness.id;
    this.finished = new Counter({
      name: 'gec_trades_finished_total',
      help: 'Trades that reached a final state, by state (COMMITTED, REJECTED) and failure code',
      labelNames: ['state', 'code'] as const,
      registers: [metrics.registry],
    });
    this.latency = new Histogram({
      name: 'gec_trade_pipeline_seconds',
      help: 'From RECEIVED to the final state',
      labelNames: ['state'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [metrics.registry],
    });
    new Gauge({
      name: 'gec_trade_outbox_depth',
      help: 'Trades waiting in the outbox (not yet final), all gateway instances',
      registers: [metrics.registry],
      async collect() {
        const rows = (await dataSource.query(`SELECT count(*)::int AS n FROM trade_outbox`)) as Array<{
          n: number;
        }>;
        this.set(rows[0]?.n ?? 0);
      },
    });
    const working = () => this.open.size;
    new Gauge({
      name: 'gec_trades_in_flight',
      help: 'Trades this instance is verifying or committing now',
      registers: [metrics.registry],
      collect() {
        this.set(working());
      },
    });
    this.verifier = new TradeVerifier(dataSource, checkKeys);
    this.outbox = new TradeOutbox(dataSource, this.instance, this.leaseSeconds);
    this.states = new TradeStates(dataSource, this.instance);
  }

  onApplicationBootstrap(): void {
    if (process.env.TRADE_PIPELINE === 'off') {
      this.logger.warn('TRADE_PIPELINE=off: this instance accepts trades but does not process them');
      return;
    }
    this.trades.onAccepted(() => this.wake());
    this.loop = this.run();
    this.renewer = setInterval(
      () => {
        this.outbox
          .renew([...this.open])
          .catch((error: Error) => this.logger.warn(`lease renewal: ${error.message}`));
      },
      (this.leaseSeconds * 1000) / 3,
    ).unref();
    this.logger.log(
      `trade pipeline started: up to ${this.window} trades in flight, batches of ${this.batchSize}, ` +
        `instance ${this.instance}`,
    );
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.renewer);
    this.wake();
    await Promise.race([
      (async () => {
        await this.loop;
        await Promise.allSettled([...this.inFlight]);
      })(),
      new Promise((resolve) => setTimeout(resolve, 15000).unref()),
    ]);
    await this.outbox.releaseAll().catch(() => undefined);
  }

  private wake(): void {
    for (const wake of [...this.wakers]) wake();
  }

  private async idle(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  /** Claim batches while there is room in the window; a batch's trades then run concurrently. */
  private async run(): Promise<void> {
    while (!this.stopped) {
      const room = this.window - this.open.size;
      if (room <= 0) {
        await this.idle(this.pollMs);
        continue;
      }
      // While trades are in flight, let finishing ones accumulate a moment: one claim for several.
      if (this.open.size > 0 && this.lingerMs > 0) await sleep(this.lingerMs);
      let claimed: TradeRow[] = [];
      try {
        claimed = await this.outbox.claim(Math.min(this.window - this.open.size, this.batchSize));
      } catch (error) {
        if (!this.stopped) this.logger.error(`claiming failed: ${(error as Error).message}`);
      }
      if (claimed.length === 0) {
        if (!this.stopped) await this.idle(this.pollMs);
        continue;
      }
      // No wait here: the next batch is claimed while this one verifies and commits. Each trade leaves the
      // window as soon as it is done (its hot keys are free then), not when its whole batch is.
      const open = new Set(claimed.map((row) => row.trade_id));
      for (const tradeId of open) this.open.add(tradeId);
      const done = (tradeId: string) => {
        if (!open.delete(tradeId)) return;
        this.open.delete(tradeId);
        this.wake();
      };
      const batch: Promise<void> = this.runBatch(claimed, done)
        .catch((error: Error) => this.logger.error(`trade pipeline: ${error.message}`))
        .finally(() => {
          for (const tradeId of [...open]) done(tradeId);
          this.inFlight.delete(batch);
        });
      this.inFlight.add(batch);
    }
  }

  /** Verify a claimed batch, write its verdicts, then commit each verified trade concurrently. */
  private async runBatch(rows: TradeRow[], done: (tradeId: string) => void): Promise<void> {
    const finals = rows.filter((r) => r.state === 'REJECTED' || r.state === 'COMMITTED');
    await this.outbox.remove(finals.map((r) => r.trade_id));
    for (const row of finals) done(row.trade_id);
    const toVerify = rows.filter((r) => r.state === 'VERIFYING');
    const resuming = rows.filter((r) => r.state === 'COMMITTING');
    const track = (row: TradeRow, work: () => Promise<boolean>) =>
      this.guarded(row, work).finally(() => done(row.trade_id));
    const work: Array<Promise<void>> = resuming.map((row) => track(row, () => this.resume(row)));

    if (toVerify.length > 0) {
      if (this.stepDelayMs) await sleep(this.stepDelayMs);
      const verified = await this.verifyBatch(toVerify);
      const committing = new Set(verified?.map(({ row }) => row.trade_id));
      // Rejected (or rescheduled) trades are done now.
      for (const row of toVerify) if (!committing.has(row.trade_id)) done(row.trade_id);
      if (verified) {
        if (this.stepDelayMs && verified.length > 0) await sleep(this.stepDelayMs);
        for (const { row, prepared } of verified) work.push(track(row, () => this.commit(row, prepared)));
      }
    }
    await Promise.all(work);
  }

  /**
   * Verify the batch from one snapshot and write the verdicts: REJECTED trades in one statement, the others to
   * COMMITTING with their prepared transaction ids in another. Undefined when that failed (rescheduled).
   */
  private async verifyBatch(
    rows: TradeRow[],
  ): Promise<Array<{ row: TradeRow; prepared: PreparedTransaction }> | undefined> {
    try {
      const snapshot = await this.verifier.snapshot(rows);
      const rejected: Rejection[] = [];
      const verified: Array<Verified & { row: TradeRow; prepared: PreparedTransaction }> = [];
      for (const row of rows) {
        const verification = await this.verifier.verify(row, snapshot);
        if (!verification.passed) {
          rejected.push({
            tradeId: row.trade_id,
            checks: verification.checks,
            code: 'VERIFICATION_FAILED',
            detail: failedSummary(verification.checks),
          });
          continue;
        }
        const prepared = await this.prepare(row, verification);
        verified.push({ tradeId: row.trade_id, verification, txId: prepared.txId, row, prepared });
      }
      await this.states.reject(rejected);
      for (const r of rejected)
        this.observe(
          rows.find((row) => row.trade_id === r.tradeId)!,
          'REJECTED',
          r.code,
        );
      if (rejected.length > 0) this.callbacks.wake();
      await this.states.startCommitting(verified);
      return verified.map(({ row, verification, prepared }) => ({
        row: { ...row, state: 'COMMITTING', tx_id: prepared.txId, ...this.verifiedColumns(verification) },
        prepared,
      }));
    } catch (error) {
      await this.rescheduleAll(
        rows.map((r) => r.trade_id),
        (error as Error).message,
      );
      return undefined;
    }
  }

  private verifiedColumns(verification: Verification): Partial<TradeRow> {
    return {
      checks: verification.checks,
      allocation: Object.fromEntries(
        Object.entries(verification.allocation).map(([month, kwh]) => [month, String(kwh)]),
      ),
      meter_evidence_digest: verification.evidenceDigest,
    };
  }

  /** Run one trade's ledger work; a failure reschedules it (its stored txId is resolved next time). */
  private async guarded(row: TradeRow, work: () => Promise<boolean>): Promise<void> {
    try {
      if (!(await work())) await this.outbox.reschedule(row.trade_id, 'ledger busy or unavailable');
    } catch (error) {
      const message = (error as Error).message;
      this.logger.warn(`trade ${row.trade_id}: ${message}; will retry`);
      await this.outbox.reschedule(row.trade_id, message).catch(() => undefined);
    }
  }

  private async rescheduleAll(tradeIds: string[], reason: string): Promise<void> {
    this.logger.warn(`trades ${tradeIds.join(', ')}: ${reason}; will retry`);
    for (const id of tradeIds) await this.outbox.reschedule(id, reason).catch(() => undefined);
  }

  private observe(row: TradeRow, state: string, code: string): void {
    this.finished.inc({ state, code });
    this.latency.observe({ state }, (Date.now() - new Date(row.received_at).getTime()) / 1000);
  }

  /**
   * The platform's own identity: the energy internet platform runs the pipeline and submits the attestation;
   * the trading center's consent travels as its signature over the trade data, verified by the chaincode.
   */
  private identity(_row: TradeRow): IdentityRef {
    return DEFAULT_IDENTITY['energy-platform'];
  }

  /** The trade as the ledger holds it, or undefined (TRADE_NOT_FOUND). Only asked when resolving. */
  private async ledgerTrade(row: TradeRow): Promise<LedgerTrade | undefined> {
    try {
      const bytes = await this.ledger.evaluate({
        identity: this.identity(row),
        transaction: 'trades:GetTrade',
        args: [row.trade_id],
      });
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as LedgerTrade;
    } catch (error) {
      if (chaincodeRefusal(error)?.code === 'TRADE_NOT_FOUND') return undefined;
      throw error;
    }
  }

  /**
   * Record COMMITTED once the transaction's events (voucher, lot moves) are projected, so that everything the
   * trade's status points to can be read. false: not projected in time (the txId is resolved next time).
   */
  private async committed(row: TradeRow, info: CommittedTransaction, voucherId?: string): Promise<boolean> {
    const projected = await this.projector.waitFor(info.txId, info.blockNumber, this.config.projectionWaitMs);
    if (!projected) {
      this.logger.warn(`trade ${row.trade_id}: tx ${info.txId} committed but not yet projected`);
      return false;
    }
    if (await this.states.committed(row.trade_id, info, voucherId)) {
      this.logger.log(`trade ${row.trade_id} COMMITTED in block ${info.blockNumber} (tx ${info.txId})`);
      this.observe(row, 'COMMITTED', '');
      this.callbacks.wake();
    }
    return true;
  }

  /**
   * A trade found in COMMITTING with a stored transaction id: resolve it on the ledger; if the ledger never
   * committed it and does not hold the trade, attest it under a new transaction id.
   */
  private async resume(row: TradeRow): Promise<boolean> {
    if (row.tx_id) {
      const info = await this.ledger.getTransaction(row.tx_id);
      if (info?.validationCode === 'VALID') return this.committed(row, info);
      await this.states.noteTransaction(row.tx_id, info ? info.validationCode : 'ABSENT');
    }
    const onLedger = await this.ledgerTrade(row);
    if (onLedger) return this.adoptLedgerTrade(row, onLedger);
    const prepared = await this.prepareAnew(row);
    return this.commit({ ...row, tx_id: prepared.txId }, prepared);
  }

  /**
   * Submit a prepared attestation (its txId already stored) and act on the outcome. MVCC conflicts retry with a
   * fresh id (bounded, with backoff); a chaincode rule refusal rejects the trade with the chaincode's code.
   */
  private async commit(row: TradeRow, first: PreparedTransaction): Promise<boolean> {
    let prepared = first;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.submit(prepared);
      if (outcome.kind === 'committed') {
        this.logger.log(
          `trade ${row.trade_id}: ledger committed tx ${prepared.txId} in block ${outcome.tx.blockNumber}; recording`,
        );
        if (this.stepDelayMs) await sleep(this.stepDelayMs);
        return this.committed(row, outcome.tx);
      }
      if (outcome.kind === 'refused') {
        if (outcome.code === 'TRADE_ALREADY_ATTESTED') {
          await this.states.noteTransaction(
            prepared.txId,
            'ENDORSEMENT_REFUSED',
            `${outcome.code}: ${outcome.message}`,
          );
          const existing = await this.ledgerTrade(row);
          if (existing) return this.adoptLedgerTrade(row, existing);
        }
        const checks: TradeCheck[] = [
          ...row.checks,
          {
            name: 'ledger',
            passed: false,
            reason: `${outcome.code}: ${outcome.message}`,
            inputs: { transaction: 'trades:AttestTrade', txId: prepared.txId },
            checkedAt: new Date().toISOString(),
          },
        ];
        await this.states.reject([
          { tradeId: row.trade_id, checks, code: outcome.code, detail: outcome.message, txId: prepared.txId },
        ]);
        this.logger.log(`trade ${row.trade_id} REJECTED (${outcome.code})`);
        this.observe(row, 'REJECTED', outcome.code);
        this.callbacks.wake();
        return true;
      }
      if (outcome.kind === 'unknown') {
        // Keep the stored txId: it is resolved first next time.
        this.logger.warn(
          `trade ${row.trade_id}: submission of ${prepared.txId} ended unknown: ${outcome.message}`,
        );
        return false;
      }
      await this.states.noteTransaction(prepared.txId, outcome.code);
      if (attempt + 1 >= this.maxLedgerAttempts) return false;
      await sleep(Math.min(100 * 2 ** attempt, 2000) + Math.floor(Math.random() * 100));
      prepared = await this.prepareAnew(row);
    }
  }

  private async adoptLedgerTrade(row: TradeRow, onLedger: LedgerTrade): Promise<boolean> {
    if (onLedger.tradeDataHash === row.trade_data_hash) {
      // Our own attestation (e.g. committed just before a crash, under an earlier transaction id).
      const info = await this.ledger.getTransaction(onLedger.txId);
      if (info?.validationCode !== 'VALID') return false;
      return this.committed(row, info, onLedger.voucherId);
    }
    const detail = `trade ${row.trade_id} is already attested on the ledger with other trade data (tx ${onLedger.txId})`;
    await this.states.reject([
      { tradeId: row.trade_id, checks: row.checks, code: 'TRADE_ALREADY_ATTESTED', detail },
    ]);
    this.observe(row, 'REJECTED', 'TRADE_ALREADY_ATTESTED');
    this.callbacks.wake();
    return true;
  }

  private async submit(prepared: PreparedTransaction): Promise<Outcome> {
    try {
      return { kind: 'committed', tx: await this.ledger.submit(prepared) };
    } catch (error) {
      const refusal = chaincodeRefusal(error);
      if (refusal) return { kind: 'refused', ...refusal };
      const code = commitCode(error);
      if (code !== undefined && CONFLICT_CODES.has(code)) return { kind: 'conflict', code };
      return { kind: 'unknown', message: (error as Error).message };
    }
  }

  /** A new attestation of a trade in COMMITTING, its transaction id stored before anything is submitted. */
  private async prepareAnew(row: TradeRow): Promise<PreparedTransaction> {
    const prepared = await this.prepare(row);
    await this.states.storeTxId(row.trade_id, prepared.txId);
    return prepared;
  }

  /** The `trades:AttestTrade` transaction of a trade, its id fixed. */
  private async prepare(row: TradeRow, verification?: Verification): Promise<PreparedTransaction> {
    // The trading center organisation whose key signed it: the one the check key is registered under on the
    // ledger (the posting API key's organisation only for a key not on the ledger, which the chaincode refuses).
    const tradingCenter =
      (await this.checkKeys.organisationOf(row.trading_center, row.check_data.keyId)) ?? row.msp_id;
    return this.ledger.prepare({
      identity: this.identity(row),
      transaction: 'trades:AttestTrade',
      args: [JSON.stringify(this.attestRequest(row, tradingCenter, verification))],
    });
  }

  /** The `trades:AttestTrade` request: from a fresh verification, or from what COMMITTING stored. */
  private attestRequest(
    row: TradeRow,
    tradingCenter: string,
    verification?: Verification,
  ): Record<string, unknown> {
    const trade = row.trade;
    const allocation: Record<string, number | string> = verification?.allocation ?? row.allocation ?? {};
    const checks = verification?.checks ?? row.checks;
    const months = Object.keys(allocation).sort();
    const request: Record<string, unknown> = {
      // The trading center organisation that signed, and its signature as it sent it.
      tradingCenter,
      trade,
      signature: { keyId: row.check_data.keyId, alg: row.check_data.alg, value: row.check_data.signature },
      checkDataHash: row.check_data_hash,
      meterEvidenceDigest: verification?.evidenceDigest ?? row.meter_evidence_digest,
      checksPassed: checks.filter((c) => c.passed).map((c) => c.name),
      voucherId: row.voucher_id,
    };
    if (trade.kind === 'CERTIFICATE_ONLY' && months.length > 1) {
      request.monthlyKwh = months.map((month) => ({ month, volumeKwh: Number(allocation[month]) }));
    }
    return request;
  }
}
