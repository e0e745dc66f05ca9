import type { DataSource } from 'typeorm';
import { Coalescer } from '../common/coalescer';
import type { TransactionInfo } from '../ledger/port';

/** What recording a commit needs of the ledger's answer (a submission's or a look-up's). */
export type CommittedTransaction = Pick<
  TransactionInfo,
  'txId' | 'blockNumber' | 'validationCode' | 'timestamp'
>;
import type { TradeCheck } from './trade-model';
import type { Verification } from './trade-verifier';

/** A trade refused, with every check and the reason. */
export interface Rejection {
  tradeId: string;
  checks: TradeCheck[];
  code: string;
  detail: string;
  /** The transaction the ledger refused, when it was the ledger that refused. */
  txId?: string;
}

/** A verified trade and the transaction id prepared for its attestation. */
export interface Verified {
  tradeId: string;
  verification: Verification;
  txId: string;
}

/** Callback columns of a trade that reached its final state. */
const FINAL_CALLBACK = `callback_state = CASE WHEN callback_url IS NULL THEN NULL ELSE 'PENDING' END,
  callback_next_at = now()`;

/**
 * The state changes of trades in the pipeline, each one statement, so that a kill between two of them never
 * leaves half a change: a trade's final state, the outcome of its transaction and the removal of its outbox row
 * are written together. Changes of a batch are written together (arrays through `unnest`).
 */
export class TradeStates {
  constructor(
    private readonly dataSource: DataSource,
    private readonly instance: string,
  ) {}

  /** REJECTED with its checks; the outbox rows go; the ledger's refusal (if any) is noted on its txId. */
  async reject(rejections: Rejection[]): Promise<void> {
    if (rejections.length === 0) return;
    await this.dataSource.query(
      `WITH r AS (
         SELECT * FROM unnest($1::text[], $2::jsonb[], $3::text[], $4::text[], $5::text[])
           AS r(trade_id, checks, code, detail, tx_id)),
       t AS (
         UPDATE trades SET state = 'REJECTED', checks = r.checks, failure_code = r.code, failure_detail = r.detail,
           updated_at = now(), finished_at = now(), ${FINAL_CALLBACK}
         FROM r WHERE trades.trade_id = r.trade_id AND trades.state IN ('RECEIVED', 'VERIFYING', 'COMMITTING')
         RETURNING trades.trade_id),
       x AS (
         UPDATE trade_transactions SET outcome = 'ENDORSEMENT_REFUSED', detail = r.code || ': ' || r.detail,
           resolved_at = now()
         FROM r WHERE trade_transactions.tx_id = r.tx_id AND trade_transactions.outcome IS NULL)
       DELETE FROM trade_outbox WHERE trade_id IN (SELECT trade_id FROM r)`,
      [
        rejections.map((r) => r.tradeId),
        rejections.map((r) => JSON.stringify(r.checks)),
        rejections.map((r) => r.code),
        rejections.map((r) => r.detail.slice(0, 8000)),
        rejections.map((r) => r.txId ?? null),
      ],
    );
  }

  /**
   * COMMITTING with the verification's checks, allocation and evidence, and the transaction id prepared for its
   * attestation, recorded before anything is submitted.
   */
  async startCommitting(verified: Verified[]): Promise<void> {
    if (verified.length === 0) return;
    await this.dataSource.query(
      `WITH v AS (
         SELECT * FROM unnest($1::text[], $2::jsonb[], $3::jsonb[], $4::jsonb[], $5::text[], $6::text[])
           AS v(trade_id, checks, allocation, evidence, digest, tx_id)),
       t AS (
         UPDATE trades SET state = 'COMMITTING', checks = v.checks, allocation = v.allocation,
           meter_evidence = v.evidence, meter_evidence_digest = v.digest, tx_id = v.tx_id,
           verified_at = now(), updated_at = now()
         FROM v WHERE trades.trade_id = v.trade_id AND trades.state = 'VERIFYING')
       INSERT INTO trade_transactions (tx_id, trade_id, instance)
       SELECT tx_id, trade_id, $7 FROM v ON CONFLICT DO NOTHING`,
      [
        verified.map((v) => v.tradeId),
        verified.map((v) => JSON.stringify(v.verification.checks)),
        verified.map((v) => JSON.stringify(v.verification.allocation)),
        verified.map((v) => JSON.stringify(v.verification.evidence)),
        verified.map((v) => v.verification.evidenceDigest),
        verified.map((v) => v.txId),
        this.instance,
      ],
    );
  }

  /** A new transaction id for a trade in COMMITTING (a retry), recorded before it is submitted. */
  async storeTxId(tradeId: string, txId: string): Promise<void> {
    await this.dataSource.query(
      `WITH t AS (UPDATE trades SET tx_id = $2, updated_at = now() WHERE trade_id = $1)
       INSERT INTO trade_transactions (tx_id, trade_id, instance) VALUES ($2, $1, $3) ON CONFLICT DO NOTHING`,
      [tradeId, txId, this.instance],
    );
  }

  /** What became of a transaction id (the first answer is kept; VALID is written by `committed`). */
  async noteTransaction(txId: string, outcome: string, detail?: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE trade_transactions SET outcome = $2, detail = $3, resolved_at = now()
       WHERE tx_id = $1 AND outcome IS NULL`,
      [txId, outcome, detail ?? null],
    );
  }

  /**
   * COMMITTED by `info` (VALID on the ledger), the transaction's outcome VALID, the outbox row gone: one
   * statement. `voucherId` when the ledger's attestation names it (adopted after a crash). False when the trade
   * was not in COMMITTING (another instance finished it). Trades recorded in the same turn (those of one block,
   * once it is projected) share that statement.
   */
  async committed(tradeId: string, info: CommittedTransaction, voucherId?: string): Promise<boolean> {
    return this.commits.call({ tradeId, info, voucherId });
  }

  private readonly commits = new Coalescer<Commit, boolean>(
    (commits) => this.recordCommits(commits),
    (c) => c.tradeId,
    false,
  );

  /** The statement of `committed` for several trades: the trade ids it moved to COMMITTED answer true. */
  private async recordCommits(commits: Commit[]): Promise<Map<string, boolean>> {
    const rows = (await this.dataSource.query(
      `WITH c AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::timestamptz[], $6::text[])
           AS c(trade_id, tx_id, block_number, validation_code, committed_at, voucher_id)),
       t AS (
         UPDATE trades SET state = 'COMMITTED', tx_id = c.tx_id, block_number = c.block_number,
           validation_code = c.validation_code, committed_at = c.committed_at,
           voucher_id = coalesce(c.voucher_id, trades.voucher_id), failure_code = NULL, failure_detail = NULL,
           updated_at = now(), finished_at = now(), ${FINAL_CALLBACK}
         FROM c WHERE trades.trade_id = c.trade_id AND trades.state = 'COMMITTING'
         RETURNING trades.trade_id, c.tx_id),
       x AS (
         INSERT INTO trade_transactions (tx_id, trade_id, instance, outcome, resolved_at)
         SELECT tx_id, trade_id, $7, 'VALID', now() FROM t
         ON CONFLICT (tx_id) DO UPDATE SET outcome = 'VALID', resolved_at = now()),
       o AS (DELETE FROM trade_outbox WHERE trade_id IN (SELECT trade_id FROM t))
       SELECT trade_id FROM t`,
      [
        commits.map((c) => c.tradeId),
        commits.map((c) => c.info.txId),
        commits.map((c) => c.info.blockNumber),
        commits.map((c) => c.info.validationCode),
        commits.map((c) => new Date(c.info.timestamp)),
        commits.map((c) => c.voucherId ?? null),
        this.instance,
      ],
    )) as Array<{ trade_id: string }>;
    return new Map(rows.map((r) => [r.trade_id, true]));
  }
}

interface Commit {
  tradeId: string;
  info: CommittedTransaction;
  voucherId?: string;
}
