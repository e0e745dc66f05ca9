import type { DataSource } from 'typeorm';
import { InstanceLiveness } from '../database/instance-liveness';
import type { TradeRow } from './trade-model';

/** pg advisory lock key that serialises claims across gateway instances ('gecclm' in ASCII). */
const CLAIM_LOCK = 0x676563636c6dn;
/** Waiting rows one claim looks at, at most, for trades whose hot keys are free. */
const MAX_SCANNED = 2000;

/**
 * The durable work list of the trade pipeline (`trade_outbox`), shared by every gateway instance on the database.
 *
 * Claims are short transactions: under a transaction-scoped advisory lock (so two instances never pick at the
 * same moment), take up to N available rows in order whose hot keys are free, stamp them with a lease
 * (owner = this instance, until), commit. No transaction or connection is held while the trades are worked on.
 * A hot key is busy while a row carrying it is leased by a live instance; a row blocked by a busy key also
 * blocks the later rows sharing a key with it, so trades on one buyer-month, seller-month or lot keep their order.
 *
 * A lease ends when its trade is finished (the row is deleted with the trade's final state, in one statement),
 * rescheduled, released at shutdown, or when its owner is gone (its liveness lock released: a crash) or its time
 * has passed without renewal: then another instance takes the row over.
 */
export class TradeOutbox {
  constructor(
    private readonly dataSource: DataSource,
    private readonly owner: string,
    private readonly leaseSeconds: number,
  ) {}

  /**
   * Claim up to `limit` trades and load them, moving those not yet verified to VERIFYING (counting the attempt):
   * one short transaction of three statements.
   */
  async claim(limit: number): Promise<TradeRow[]> {
    if (limit <= 0) return [];
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock($1)`, [CLAIM_LOCK.toString()]);
      const live = `lease_owner IS NOT NULL AND lease_until >= now() AND ${InstanceLiveness.aliveSql('lease_owner')}`;
      const candidates = `SELECT true AS candidate, seq, to_json(hot_keys) AS hot_keys FROM trade_outbox
        WHERE available_at <= now() AND NOT (${live}) AND seq > $2 ORDER BY seq LIMIT $1`;
      // Hot keys as JSON: the driver parses it natively (a text[] goes through a JavaScript array parser).
      type Row = { candidate: boolean; seq: string | null; hot_keys: string[] };
      // The first page comes with the hot keys held by live leases; more pages only while too few are free.
      const pageSize = Math.max(limit * 2, 128);
      let page = (await manager.query(
        `(SELECT false AS candidate, NULL::bigint AS seq, to_json(hot_keys) AS hot_keys FROM trade_outbox
          WHERE ${live})
         UNION ALL (${candidates})`,
        [pageSize, 0],
      )) as Row[];
      const busy = new Set(page.filter((r) => !r.candidate).flatMap((r) => r.hot_keys));
      const picked: string[] = [];
      for (let scanned = 0; ;) {
        const rows = page.filter((r) => r.candidate);
        for (const row of rows) {
          if (picked.length >= limit) break;
          const free = row.hot_keys.every((key) => !busy.has(key));
          for (const key of row.hot_keys) busy.add(key);
          if (free) picked.push(row.seq!);
        }
        scanned += rows.length;
        if (picked.length >= limit || rows.length < pageSize || scanned >= MAX_SCANNED) break;
        page = (await manager.query(candidates, [pageSize, rows[rows.length - 1].seq])) as Row[];
      }
      if (picked.length === 0) return [];
      const [claimed] = (await manager.query(
        `WITH o AS (
           UPDATE trade_outbox SET lease_owner = $2, lease_until = now() + make_interval(secs => $3)
           WHERE seq = ANY($1::bigint[]) RETURNING trade_id)
         UPDATE trades SET
           state = CASE WHEN state IN ('RECEIVED', 'VERIFYING') THEN 'VERIFYING' ELSE state END,
           attempts = attempts + CASE WHEN state IN ('RECEIVED', 'VERIFYING') THEN 1 ELSE 0 END,
           updated_at = CASE WHEN state IN ('RECEIVED', 'VERIFYING') THEN now() ELSE updated_at END
         FROM o WHERE trades.trade_id = o.trade_id RETURNING trades.*`,
        [picked, this.owner, this.leaseSeconds],
      )) as [TradeRow[], number];
      return claimed;
    });
  }

  /**
   * Extend the leases of the trades this instance is working on now (only those: a row whose work ended without
   * finishing or rescheduling it, say after a database error, lets its lease run out and is claimed again).
   */
  async renew(tradeIds: string[]): Promise<void> {
    if (tradeIds.length === 0) return;
    await this.dataSource.query(
      `UPDATE trade_outbox SET lease_until = now() + make_interval(secs => $2)
       WHERE lease_owner = $1 AND trade_id = ANY($3)`,
      [this.owner, this.leaseSeconds, tradeIds],
    );
  }

  /** Give a trade back for later (ledger busy or unavailable, a transient failure): backoff by attempts. */
  async reschedule(tradeId: string, reason: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE trade_outbox SET attempts = attempts + 1, last_error = $3, lease_owner = NULL, lease_until = NULL,
         available_at = now() + make_interval(secs => least(60, 2 ^ least(attempts, 6)))
       WHERE trade_id = $1 AND lease_owner = $2`,
      [tradeId, this.owner, reason.slice(0, 1000)],
    );
  }

  /** Outbox rows of trades that are already final (found so when claimed). */
  async remove(tradeIds: string[]): Promise<void> {
    if (tradeIds.length === 0) return;
    await this.dataSource.query(`DELETE FROM trade_outbox WHERE trade_id = ANY($1)`, [tradeIds]);
  }

  /** At shutdown: everything still leased by this instance is free for the others at once. */
  async releaseAll(): Promise<void> {
    await this.dataSource.query(
      `UPDATE trade_outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1`,
      [this.owner],
    );
  }
}
