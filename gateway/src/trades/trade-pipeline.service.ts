import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Counter, Gauge, Histogram } from 'prom-client';
import { DataSource, QueryRunner } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/config';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import { MetricsService } from '../metrics/metrics.service';
import type {
  IdentityRef,
  LedgerPort,
  PreparedTransaction,
  SubmittedTransaction,
  TransactionInfo,
} from '../ledger/port';
import { CheckKeysService } from '../signing/check-keys.service';
import { TradeCallbacks } from './trade-callbacks';
import { TradeRow, TradeCheck } from './trade-model';
import { TradeVerifier, Verification } from './trade-verifier';
import { TradesService } from './trades.service';

/** Numbers from the environment (trade pipeline tuning; not part of the validated app config). */
function envInt(name: string, fallback: number): number {
  const value = Number.parseInt(process.env[name] ?? '', 10);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

interface Claim {
  runner: QueryRunner;
  seq: string;
  tradeId: string;
  attempts: number;
}

interface LedgerTrade {
  tradeId: string;
  tradeDataHash: string;
  txId: string;
  voucherId: string;
}

/** What the chaincode said, when a ledger error is a rule refusal (`CODE: message`). */
function chaincodeRefusal(error: unknown): { code: string; message: string } | undefined {
  if (error instanceof Error && error.name === 'EndorseError' && 'chaincodeMessage' in error) {
    const match = /^([A-Z][A-Z0-9_]*): ([\s\S]*)$/.exec(
      String((error as { chaincodeMessage: string }).chaincodeMessage),
    );
    if (match) return { code: match[1], message: match[2] };
  }
  return undefined;
}

function commitCode(error: unknown): string | undefined {
  if (error instanceof Error && error.name === 'CommitError' && 'status' in error) {
    return (error as { status: { validationCode: string } }).status.validationCode;
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The trade pipeline: RECEIVED → VERIFYING → (REJECTED | COMMITTING) → COMMITTED, driven by the durable outbox
 * in PostgreSQL (`trade_outbox`), never by memory.
 *
 * Claiming: a worker opens a transaction, takes the oldest available outbox row with `FOR UPDATE SKIP LOCKED`
 * and the transaction-scoped advisory locks of its hot keys (buyer-month and seller-month: trades on one hot key
 * go one at a time, in claim order, instead of failing each other with MVCC conflicts), and holds that
 * transaction while it works on the trade. Another gateway on the same database skips the row; if this process
 * dies, PostgreSQL ends the transaction and the row is free again at once. State changes are written to
 * `trades` in their own (committed) statements, so each step is durable before the next begins.
 *
 * Commit: the transaction id is fixed with `prepare()` and stored BEFORE submission. Work found in COMMITTING
 * (after a crash, on another instance, or on a retry) is first resolved by asking the ledger for that
 * transaction id; only when the ledger never committed it, and `trades:GetTrade` does not hold the trade, is a
 * new transaction id prepared. The chaincode attests a trade id once, and the voucher id is derived from the
 * trade id: no trade is committed twice, no voucher issued twice.
 */
@Injectable()
export class TradePipeline implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('TradePipeline');
  private readonly instance = randomUUID();
  private readonly workers: number;
  private readonly pollMs = envInt('TRADE_POLL_MS', 500);
  private readonly maxLedgerAttempts = envInt('TRADE_LEDGER_ATTEMPTS', 5);
  /**
   * Test hook (crash tests): pause this long after entering VERIFYING, after storing the txId and after the ledger
   * committed (before the trade row says so). 0 in production.
   */
  private readonly stepDelayMs = envInt('TRADE_STEP_DELAY_MS', 0);
  private readonly verifier: TradeVerifier;
  private readonly finished: Counter<'state' | 'code'>;
  private readonly latency: Histogram<'state'>;
  private stopped = false;
  private loops: Promise<void>[] = [];
  private wakers = new Set<() => void>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
    checkKeys: CheckKeysService,
    private readonly trades: TradesService,
    private readonly callbacks: TradeCallbacks,
    @Inject(APP_CONFIG) config: AppConfig,
    metrics: MetricsService,
  ) {
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
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
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
    this.verifier = new TradeVerifier(dataSource, ledger, checkKeys);
    // Each worker holds one pooled connection (its claim transaction) while it works; keep half the pool free.
    this.workers = Math.max(1, Math.min(envInt('TRADE_WORKERS', 2), Math.floor(config.dbPoolSize / 2)));
  }

  onApplicationBootstrap(): void {
    if (process.env.TRADE_PIPELINE === 'off') {
      this.logger.warn('TRADE_PIPELINE=off: this instance accepts trades but does not process them');
      return;
    }
    this.trades.onAccepted(() => this.wakeAll());
    for (let i = 0; i < this.workers; i++) this.loops.push(this.run(i));
    this.logger.log(`trade pipeline started: ${this.workers} worker(s), instance ${this.instance}`);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.wakeAll();
    await Promise.race([
      Promise.all(this.loops),
      new Promise((resolve) => setTimeout(resolve, 15000).unref()),
    ]);
  }

  private wakeAll(): void {
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

  private async run(worker: number): Promise<void> {
    while (!this.stopped) {
      let claim: Claim | undefined;
      try {
        claim = await this.claim();
      } catch (error) {
        if (!this.stopped)
          this.logger.error(`worker ${worker}: claiming failed: ${(error as Error).message}`);
      }
      if (!claim) {
        if (!this.stopped) await this.idle(this.pollMs);
        continue;
      }
      await this.work(claim);
    }
  }

  /**
   * The oldest available outbox row nobody holds, whose hot keys nobody holds. The row lock and the advisory
   * locks live as long as the returned transaction.
   */
  private async claim(): Promise<Claim | undefined> {
    const skipped: string[] = [];
    for (let tries = 0; tries < 20 && !this.stopped; tries++) {
      const runner = this.dataSource.createQueryRunner();
      let keep = false;
      try {
        await runner.connect();
        await runner.startTransaction();
        const rows = (await runner.query(
          `SELECT seq, trade_id, hot_keys, attempts FROM trade_outbox
           WHERE available_at <= now() AND NOT (seq = ANY($1::bigint[]))
           ORDER BY seq FOR UPDATE SKIP LOCKED LIMIT 1`,
          [skipped],
        )) as Array<{ seq: string; trade_id: string; hot_keys: string[]; attempts: number }>;
        if (rows.length === 0) return undefined;
        const [row] = rows;
        const locked = (await runner.query(
          `SELECT coalesce(bool_and(pg_try_advisory_xact_lock(hashtextextended(k, 0))), true) AS ok
           FROM unnest($1::text[]) AS k`,
          [row.hot_keys],
        )) as Array<{ ok: boolean }>;
        if (!locked[0].ok) {
          // Another worker holds a trade on the same buyer-month or seller-month: leave this one for later
          // (the rollback also drops whichever advisory locks were taken).
          skipped.push(row.seq);
          continue;
        }
        keep = true;
        return { runner, seq: row.seq, tradeId: row.trade_id, attempts: row.attempts };
      } finally {
        if (!keep) {
          if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
          await runner.release();
        }
      }
    }
    return undefined;
  }

  /** Work on one claimed trade, then finish (delete) or reschedule its outbox row and end the transaction. */
  private async work(claim: Claim): Promise<void> {
    const { runner } = claim;
    try {
      const done = await this.advance(claim.tradeId);
      if (done) {
        await runner.query(`DELETE FROM trade_outbox WHERE seq = $1`, [claim.seq]);
      } else {
        await this.reschedule(claim, 'ledger busy or unavailable');
      }
      await runner.commitTransaction();
    } catch (error) {
      const message = (error as Error).message;
      this.logger.warn(`trade ${claim.tradeId}: ${message}; will retry`);
      try {
        await this.reschedule(claim, message);
        await runner.commitTransaction();
      } catch {
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      }
    } finally {
      await runner.release();
    }
  }

  private async reschedule(claim: Claim, reason: string): Promise<void> {
    const delayMs = Math.min(1000 * 2 ** Math.min(claim.attempts, 6), 60000);
    await claim.runner.query(
      `UPDATE trade_outbox SET attempts = attempts + 1, last_error = $2,
         available_at = now() + make_interval(secs => $3) WHERE seq = $1`,
      [claim.seq, reason.slice(0, 1000), delayMs / 1000],
    );
  }

  private async load(tradeId: string): Promise<TradeRow> {
    const rows = (await this.dataSource.query(`SELECT * FROM trades WHERE trade_id = $1`, [
      tradeId,
    ])) as TradeRow[];
    if (rows.length === 0) throw new Error(`trade ${tradeId} has an outbox row but no trade row`);
    return rows[0];
  }

  /** Move a trade as far as it goes. true: final state reached; false: come back later. */
  async advance(tradeId: string): Promise<boolean> {
    let row = await this.load(tradeId);
    if (row.state === 'REJECTED' || row.state === 'COMMITTED') return true;
    if (row.state === 'RECEIVED' || row.state === 'VERIFYING') {
      await this.dataSource.query(
        `UPDATE trades SET state = 'VERIFYING', attempts = attempts + 1, updated_at = now() WHERE trade_id = $1`,
        [tradeId],
      );
      if (this.stepDelayMs) await sleep(this.stepDelayMs);
      const verification = await this.verifier.verify(row);
      if (!verification.passed) {
        await this.reject(
          row,
          verification.checks,
          'VERIFICATION_FAILED',
          this.failedSummary(verification.checks),
        );
        return true;
      }
      await this.toCommitting(row, verification);
      row = await this.load(tradeId);
    }
    return this.commit(row);
  }

  private failedSummary(checks: TradeCheck[]): string {
    return checks
      .filter((c) => !c.passed)
      .map((c) => `${c.name}: ${c.reason}`)
      .join(' | ');
  }

  private async reject(row: TradeRow, checks: TradeCheck[], code: string, detail: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE trades SET state = 'REJECTED', checks = $2, failure_code = $3, failure_detail = $4,
         updated_at = now(), finished_at = now(),
         callback_state = CASE WHEN callback_url IS NULL THEN NULL ELSE 'PENDING' END, callback_next_at = now()
       WHERE trade_id = $1 AND state IN ('RECEIVED', 'VERIFYING', 'COMMITTING')`,
      [row.trade_id, JSON.stringify(checks), code, detail.slice(0, 8000)],
    );
    this.logger.log(`trade ${row.trade_id} REJECTED (${code})`);
    this.observe(row, 'REJECTED', code);
    this.callbacks.wake();
  }

  private async toCommitting(row: TradeRow, verification: Verification): Promise<void> {
    await this.dataSource.query(
      `UPDATE trades SET state = 'COMMITTING', checks = $2, allocation = $3, meter_evidence = $4,
         meter_evidence_digest = $5, verified_at = now(), updated_at = now()
       WHERE trade_id = $1 AND state = 'VERIFYING'`,
      [
        row.trade_id,
        JSON.stringify(verification.checks),
        JSON.stringify(verification.allocation),
        JSON.stringify(verification.evidence),
        verification.evidenceDigest,
      ],
    );
  }

  private observe(row: TradeRow, state: string, code: string): void {
    this.finished.inc({ state, code });
    this.latency.observe({ state }, (Date.now() - new Date(row.received_at).getTime()) / 1000);
  }

  private identity(row: TradeRow): IdentityRef {
    return { mspId: row.msp_id, name: row.identity_name };
  }

  /** The trade as the ledger holds it, or undefined (TRADE_NOT_FOUND). */
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

  private async committed(row: TradeRow, txId: string, known?: TransactionInfo): Promise<boolean> {
    const info = known ?? (await this.ledger.getTransaction(txId));
    if (!info || info.validationCode !== 'VALID') return false;
    await this.dataSource.query(
      `UPDATE trades SET state = 'COMMITTED', tx_id = $2, block_number = $3, validation_code = $4, committed_at = $5,
         failure_code = NULL, failure_detail = NULL, updated_at = now(), finished_at = now(),
         callback_state = CASE WHEN callback_url IS NULL THEN NULL ELSE 'PENDING' END, callback_next_at = now()
       WHERE trade_id = $1 AND state = 'COMMITTING'`,
      [row.trade_id, txId, info.blockNumber, info.validationCode, new Date(info.timestamp)],
    );
    await this.dataSource.query(
      `INSERT INTO trade_transactions (tx_id, trade_id, instance, outcome, resolved_at)
       VALUES ($1, $2, $3, 'VALID', now())
       ON CONFLICT (tx_id) DO UPDATE SET outcome = 'VALID', resolved_at = now()`,
      [txId, row.trade_id, this.instance],
    );
    this.logger.log(`trade ${row.trade_id} COMMITTED in block ${info.blockNumber} (tx ${txId})`);
    this.observe(row, 'COMMITTED', '');
    this.callbacks.wake();
    return true;
  }

  /** Record what became of a transaction id (the first answer is kept; VALID is written by `committed`). */
  private async noteTransaction(txId: string, outcome: string, detail?: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE trade_transactions SET outcome = $2, detail = $3, resolved_at = now()
       WHERE tx_id = $1 AND outcome IS NULL`,
      [txId, outcome, detail ?? null],
    );
  }

  /**
   * COMMITTING: resolve the stored transaction id first; if the ledger never committed it and does not hold the
   * trade, prepare a new transaction, store its id, then submit. MVCC conflicts retry with a fresh id (bounded,
   * with backoff); a chaincode rule refusal rejects the trade with the chaincode's code.
   */
  private async commit(row: TradeRow): Promise<boolean> {
    /** A transaction id whose fate this call already knows (conflicted): not asked about again. */
    let settled: string | undefined;
    for (let attempt = 0; attempt < this.maxLedgerAttempts; attempt++) {
      if (row.tx_id && row.tx_id !== settled) {
        const info = await this.ledger.getTransaction(row.tx_id);
        if (info?.validationCode === 'VALID') return this.committed(row, row.tx_id, info);
        await this.noteTransaction(row.tx_id, info ? info.validationCode : 'ABSENT');
      }
      const onLedger = await this.ledgerTrade(row);
      if (onLedger) return this.adoptLedgerTrade(row, onLedger);

      const prepared = this.ledger.prepare({
        identity: this.identity(row),
        transaction: 'trades:AttestTrade',
        args: [JSON.stringify(this.attestRequest(row))],
      });
      await this.dataSource.query(
        `INSERT INTO trade_transactions (tx_id, trade_id, instance) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
        [prepared.txId, row.trade_id, this.instance],
      );
      await this.dataSource.query(`UPDATE trades SET tx_id = $2, updated_at = now() WHERE trade_id = $1`, [
        row.trade_id,
        prepared.txId,
      ]);
      row = { ...row, tx_id: prepared.txId };
      if (this.stepDelayMs) await sleep(this.stepDelayMs);

      const outcome = await this.submit(prepared);
      if (outcome.kind === 'committed') {
        this.logger.log(
          `trade ${row.trade_id}: ledger committed tx ${prepared.txId} in block ${outcome.tx.blockNumber}; recording`,
        );
        if (this.stepDelayMs) await sleep(this.stepDelayMs);
        return this.committed(row, prepared.txId);
      }
      if (outcome.kind === 'refused') {
        await this.noteTransaction(
          prepared.txId,
          'ENDORSEMENT_REFUSED',
          `${outcome.code}: ${outcome.message}`,
        );
        if (outcome.code === 'TRADE_ALREADY_ATTESTED') {
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
        await this.reject(row, checks, outcome.code, outcome.message);
        return true;
      }
      if (outcome.kind === 'conflict') {
        await this.noteTransaction(prepared.txId, outcome.code);
        settled = prepared.txId;
        await sleep(Math.min(100 * 2 ** attempt, 2000) + Math.floor(Math.random() * 100));
        continue;
      }
      // Unknown outcome (timeout, ledger unavailable): keep the stored txId; it is resolved first next time.
      this.logger.warn(
        `trade ${row.trade_id}: submission of ${prepared.txId} ended unknown: ${outcome.message}`,
      );
      return false;
    }
    return false;
  }

  private async adoptLedgerTrade(row: TradeRow, onLedger: LedgerTrade): Promise<boolean> {
    if (onLedger.tradeDataHash === row.trade_data_hash) {
      // Our own attestation (e.g. committed just before a crash, under an earlier transaction id).
      await this.dataSource.query(`UPDATE trades SET tx_id = $2, voucher_id = $3 WHERE trade_id = $1`, [
        row.trade_id,
        onLedger.txId,
        onLedger.voucherId,
      ]);
      if (await this.committed(row, onLedger.txId)) return true;
      return false;
    }
    await this.reject(
      row,
      row.checks,
      'TRADE_ALREADY_ATTESTED',
      `trade ${row.trade_id} is already attested on the ledger with other trade data (tx ${onLedger.txId})`,
    );
    return true;
  }

  private async submit(
    prepared: PreparedTransaction,
  ): Promise<
    | { kind: 'committed'; tx: SubmittedTransaction }
    | { kind: 'refused'; code: string; message: string }
    | { kind: 'conflict'; code: string }
    | { kind: 'unknown'; message: string }
  > {
    try {
      return { kind: 'committed', tx: await this.ledger.submit(prepared) };
    } catch (error) {
      const refusal = chaincodeRefusal(error);
      if (refusal) return { kind: 'refused', ...refusal };
      const code = commitCode(error);
      if (code === 'MVCC_READ_CONFLICT' || code === 'PHANTOM_READ_CONFLICT')
        return { kind: 'conflict', code };
      return { kind: 'unknown', message: (error as Error).message };
    }
  }

  /** The `trades:AttestTrade` request. */
  private attestRequest(row: TradeRow): Record<string, unknown> {
    const trade = row.trade;
    const allocation = row.allocation ?? {};
    const months = Object.keys(allocation).sort();
    const request: Record<string, unknown> = {
      tradeId: trade.tradeId,
      kind: trade.kind,
      seller: trade.seller,
      buyer: trade.buyer,
      volumeKwh: trade.volumeKwh,
      priceFen: trade.priceFen,
      currency: trade.currency,
      deliveryStart: trade.deliveryStart,
      deliveryEnd: trade.deliveryEnd,
      sellerUnitIds: trade.sellerUnitIds,
      buyerMeterIds: trade.buyerMeterIds,
      lots: (trade.lots ?? []).map((lot) => (lot.volume === undefined ? { lotId: lot.lotId } : lot)),
      tradeDataHash: row.trade_data_hash,
      checkDataHash: row.check_data_hash,
      meterEvidenceDigest: row.meter_evidence_digest,
      checksPassed: row.checks.filter((c) => c.passed).map((c) => c.name),
      voucherId: row.voucher_id,
    };
    if (trade.kind === 'CERTIFICATE_ONLY' && months.length > 1) {
      request.monthlyKwh = months.map((month) => ({ month, volumeKwh: Number(allocation[month]) }));
    }
    return request;
  }
}
