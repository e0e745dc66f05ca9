import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, type QueryRunner } from 'typeorm';
import { Resources, RESOURCES } from '../common/resources';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { ChaincodeEvent, Checkpoint, EventStream, LedgerPort } from '../ledger/port';
import { bindToChannel, requireCheckpointOnLedger } from './channel-binding';
import { CheckpointEntity, ProjectionOutcome } from './projection.entities';

/** Applies one event's payload to the read model, inside the projector's transaction. */
export type EventHandler = (manager: EntityManager, payload: unknown, event: ChaincodeEvent) => Promise<void>;

/**
 * A handler that applies a run of consecutive events of its name together (the TradeAttested events of a block:
 * one statement per table instead of one per event). `parse` checks one event's payload and throws
 * `MalformedEventError` for a bad one before anything is written; `apply` writes the parsed run, in order.
 */
export interface BatchEventHandler<T> {
  parse(payload: unknown, event: ChaincodeEvent): T;
  apply(manager: EntityManager, run: Array<{ value: T; event: ChaincodeEvent }>): Promise<void>;
}

/** Thrown by a handler, before it writes anything, when a payload does not have the expected shape. */
export class MalformedEventError extends Error {
  override readonly name = 'MalformedEventError';
}

export const CHECKPOINT_NAME = 'gateway-projector';

/** Events read ahead of the database at most; the stream waits beyond this. */
const MAX_QUEUED_EVENTS = 2000;
/** Events projected in one database transaction at most. */
const MAX_GROUP_EVENTS = 500;

/** pg advisory lock key of the projector's leadership (any fixed 64-bit number; 'gecproj' in ASCII). */
const LEADER_LOCK_KEY = '28834844011129194';
const FOLLOWER_POLL_MS = 50;
const LEADERSHIP_RETRY_MS = 1000;

interface Waiter {
  txId: string;
  blockNumber: number;
  resolve: (projected: boolean) => void;
}

/**
 * Projects chaincode events into PostgreSQL, after the fabric-samples `off_chain_data` checkpointer: events are
 * read from the stored checkpoint, and each event's read-model change, its row in `projected_events` and the
 * new checkpoint (block number + transaction id) are written in ONE database transaction. A crash or restart
 * therefore resumes exactly after the last event applied: nothing lost, nothing applied twice (the
 * `projected_events` primary key is a second guard against a replayed event).
 *
 * Several gateway instances share one database: only the holder of a PostgreSQL advisory lock projects, so
 * events are applied strictly in ledger order (two projectors could commit a later event before an earlier
 * one and leave a stale row). The others follow: they answer `waitFor` from `projected_events`, and take over
 * from the stored checkpoint when the leader's session ends.
 */
@Injectable()
export class Projector implements OnApplicationBootstrap {
  private readonly logger = new Logger('Projector');
  private readonly handlers = new Map<string, EventHandler>();
  private readonly batchHandlers = new Map<string, BatchEventHandler<unknown>>();
  private readonly waiters = new Set<Waiter>();
  /** Transactions projected recently, for a writer asking after its event was already applied. */
  private readonly recent = new Set<string>();
  private position?: Checkpoint & { txId: string };
  private applying = 0;
  private stream?: EventStream<ChaincodeEvent>;
  private loop?: Promise<void>;
  private stopped = false;
  private wake?: () => void;
  private leaderSession?: QueryRunner;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
    @Inject(RESOURCES) private readonly resources: Resources,
  ) {}

  /** Register the handler of an event name (modules do this in onModuleInit). */
  on(eventName: string, handler: EventHandler): void {
    this.assertUnregistered(eventName);
    this.handlers.set(eventName, handler);
  }

  /** Register a handler that applies consecutive events of its name together. */
  onBatch<T>(eventName: string, handler: BatchEventHandler<T>): void {
    this.assertUnregistered(eventName);
    this.batchHandlers.set(eventName, handler as BatchEventHandler<unknown>);
  }

  private assertUnregistered(eventName: string): void {
    if (this.handlers.has(eventName) || this.batchHandlers.has(eventName))
      throw new Error(`a handler for ${eventName} is already registered`);
  }

  /** The last event applied. */
  get checkpoint(): (Checkpoint & { txId: string }) | undefined {
    return this.position;
  }

  async onApplicationBootstrap(): Promise<void> {
    // Rows of another channel, or of transactions the ledger no longer holds, are never served: the start fails,
    // naming what differs.
    await bindToChannel(this.dataSource, this.ledger);
    const stored = await this.storedCheckpoint();
    await requireCheckpointOnLedger(stored, this.ledger);
    this.resources.add('projector', () => this.stop());
    // Try once before answering requests, so a single instance is the projector from its first request on.
    const leading = await this.tryLead();
    // A leader knows where it stands before the gateway answers: /health/ready shows the stored checkpoint from
    // the first request on (it raced the projector's first read after a restart).
    if (leading) this.position = stored;
    this.loop = leading ? this.runAsLeader() : this.follow();
  }

  /**
   * The stored checkpoint, the truth for every instance (another one may have projected since): what the
   * leader resumes from, and what readiness and the metrics measure the lag by on leader and followers alike.
   */
  async storedCheckpoint(): Promise<(Checkpoint & { txId: string }) | undefined> {
    const stored = await this.dataSource.getRepository(CheckpointEntity).findOneBy({ name: CHECKPOINT_NAME });
    return stored ? { blockNumber: stored.blockNumber, txId: stored.txId } : undefined;
  }

  private async loadCheckpoint(): Promise<void> {
    this.position = await this.storedCheckpoint();
  }

  /** Whether this instance holds the projector's leadership. */
  get leading(): boolean {
    return this.leaderSession !== undefined;
  }

  /** Take the advisory lock on a dedicated session; false when another instance holds it. */
  private async tryLead(): Promise<boolean> {
    const session = this.dataSource.createQueryRunner();
    try {
      await session.connect();
      const rows = (await session.query('SELECT pg_try_advisory_lock($1::bigint) AS locked', [
        LEADER_LOCK_KEY,
      ])) as Array<{
        locked: boolean;
      }>;
      if (rows[0]?.locked) {
        this.leaderSession = session;
        return true;
      }
    } catch (error) {
      this.logger.warn(`could not ask for the projector's leadership: ${(error as Error).message}`);
    }
    await session.release().catch(() => undefined);
    return false;
  }

  private async releaseLeadership(): Promise<void> {
    const session = this.leaderSession;
    this.leaderSession = undefined;
    if (!session) return;
    await session.query('SELECT pg_advisory_unlock($1::bigint)', [LEADER_LOCK_KEY]).catch(() => undefined);
    await session.release().catch(() => undefined);
  }

  /** Until this instance leads, answer waiters from the database and retry the lock now and then. */
  private async follow(): Promise<void> {
    this.logger.log('another gateway instance projects events: following');
    let sinceAttempt = 0;
    while (!this.stopped) {
      await this.pause(FOLLOWER_POLL_MS);
      if (this.stopped) break;
      await this.answerWaitersFromDatabase().catch(() => undefined);
      sinceAttempt += FOLLOWER_POLL_MS;
      if (sinceAttempt >= LEADERSHIP_RETRY_MS) {
        sinceAttempt = 0;
        if (await this.tryLead()) return this.runAsLeader();
      }
    }
  }

  private async runAsLeader(): Promise<void> {
    await this.loadCheckpoint();
    this.logger.log(
      this.position
        ? `projecting: resuming after block ${this.position.blockNumber} tx ${this.position.txId}`
        : 'projecting: no checkpoint, from block 0',
    );
    try {
      await this.run();
    } finally {
      await this.releaseLeadership();
    }
  }

  private async answerWaitersFromDatabase(): Promise<void> {
    if (this.waiters.size === 0) return;
    const txIds = [...this.waiters].map((w) => w.txId);
    const rows = (await this.dataSource.query('SELECT tx_id FROM projected_events WHERE tx_id = ANY($1)', [
      txIds,
    ])) as Array<{ tx_id: string }>;
    const checkpoint = await this.dataSource
      .getRepository(CheckpointEntity)
      .findOneBy({ name: CHECKPOINT_NAME });
    const done = new Set(rows.map((r) => r.tx_id));
    for (const waiter of [...this.waiters]) {
      if (done.has(waiter.txId) || (checkpoint && checkpoint.blockNumber > waiter.blockNumber))
        waiter.resolve(true);
    }
  }

  /**
   * Wait until the event of `txId` (committed in `blockNumber`) is projected. Resolves false after `timeoutMs`
   * (the transaction may have emitted no event, or the projector is behind); never rejects.
   */
  async waitFor(txId: string, blockNumber: number, timeoutMs: number): Promise<boolean> {
    if (this.isProjected(txId, blockNumber)) return true;
    // Projected before this process started (a retry resolving a committed write after a restart): the position
    // is in that block or past it, but `recent` does not know the transaction.
    if (this.position && this.position.blockNumber >= blockNumber && (await this.projectedBefore(txId))) {
      return true;
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        txId,
        blockNumber,
        resolve: (projected) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(projected);
        },
      };
      const timer = setTimeout(() => waiter.resolve(false), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private async projectedBefore(txId: string): Promise<boolean> {
    const rows = (await this.dataSource
      .query('SELECT 1 FROM projected_events WHERE tx_id = $1 LIMIT 1', [txId])
      .catch(() => [])) as unknown[];
    return rows.length > 0;
  }

  private isProjected(txId: string, blockNumber: number): boolean {
    return this.recent.has(txId) || (this.position !== undefined && this.position.blockNumber > blockNumber);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stream?.close();
    this.wake?.();
    for (const waiter of [...this.waiters]) waiter.resolve(false);
    if (this.loop) {
      await Promise.race([this.loop, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    }
  }

  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    let backoff = 250;
    while (!this.stopped) {
      const start: Checkpoint = this.position ?? { blockNumber: 0 };
      const stream = this.ledger.chaincodeEvents({ start });
      this.stream = stream;
      try {
        await this.drain(stream);
        if (!this.stopped) this.logger.warn('the event stream ended; reconnecting');
        backoff = 250;
      } catch (error) {
        if (this.stopped) break;
        this.logger.error(`projection failed, retrying from the checkpoint: ${(error as Error).message}`);
      } finally {
        stream.close();
      }
      if (!this.stopped) {
        await this.pause(backoff);
        backoff = Math.min(backoff * 2, 30000);
      }
    }
  }

  /**
   * Read the stream into a bounded queue and apply what has arrived in groups: events that arrive together (a
   * block's worth, or a backlog) are projected in one database transaction with one checkpoint, instead of one
   * transaction each.
   */
  private async drain(stream: EventStream<ChaincodeEvent>): Promise<void> {
    const queue: ChaincodeEvent[] = [];
    let ended = false;
    let failure: unknown;
    let signal: (() => void) | undefined;
    let drained: (() => void) | undefined;
    const notify = () => {
      signal?.();
      signal = undefined;
    };
    const pump = (async () => {
      try {
        for await (const event of stream) {
          queue.push(event);
          notify();
          if (this.stopped) break;
          if (queue.length >= MAX_QUEUED_EVENTS) await new Promise<void>((resolve) => (drained = resolve));
        }
      } catch (error) {
        failure = error;
      } finally {
        ended = true;
        notify();
      }
    })();
    try {
      while (!this.stopped) {
        if (queue.length === 0) {
          if (ended) break;
          await new Promise<void>((resolve) => (signal = resolve));
          continue;
        }
        await this.applyGroup(queue.splice(0, MAX_GROUP_EVENTS));
        drained?.();
        drained = undefined;
      }
    } finally {
      stream.close();
      drained?.();
      await pump;
    }
    if (failure !== undefined && !this.stopped) throw failure;
  }

  /**
   * Whether this instance is applying events right now: a checkpoint that stands still while it is, is a stalled
   * projection, not one caught up on blocks without gec events (readiness tells them apart by this).
   */
  get busy(): boolean {
    return this.applying > 0;
  }

  /** Project events in commit order, in one database transaction, with the checkpoint after the last one. */
  private async applyGroup(events: ChaincodeEvent[]): Promise<void> {
    this.applying += 1;
    try {
      await this.applyGroupNow(events);
    } finally {
      this.applying -= 1;
    }
  }

  private async applyGroupNow(events: ChaincodeEvent[]): Promise<void> {
    const outcomes = new Map<string, ProjectionOutcome>();
    const payloads = new Map<string, unknown>();
    for (const event of events) {
      const handler = this.handlers.get(event.eventName);
      const batchHandler = this.batchHandlers.get(event.eventName);
      let outcome: ProjectionOutcome = handler || batchHandler ? 'APPLIED' : 'IGNORED';
      if (handler || batchHandler) {
        try {
          const payload: unknown = JSON.parse(Buffer.from(event.payload).toString('utf8'));
          payloads.set(event.txId, batchHandler ? batchHandler.parse(payload, event) : payload);
        } catch (error) {
          if (error instanceof SyntaxError || error instanceof MalformedEventError) outcome = 'MALFORMED';
          else throw error;
        }
      }
      outcomes.set(event.txId, outcome);
    }
    const last = events[events.length - 1];
    const fresh = await this.dataSource.transaction(async (manager) => {
      const inserted = (await manager.query(
        `INSERT INTO projected_events (tx_id, block_number, tx_number, event_name, outcome)
         SELECT * FROM unnest($1::varchar[], $2::bigint[], $3::int[], $4::varchar[], $5::varchar[])
         ON CONFLICT (tx_id) DO NOTHING RETURNING tx_id`,
        [
          events.map((e) => e.txId),
          events.map((e) => e.blockNumber),
          events.map((e) => e.txNumber),
          events.map((e) => e.eventName),
          events.map((e) => outcomes.get(e.txId)),
        ],
      )) as Array<{ tx_id: string }>;
      const applied = new Set(inserted.map((r) => r.tx_id));
      // A run of consecutive events of one batch handler, written when the run ends (before any other event).
      let run:
        | { handler: BatchEventHandler<unknown>; items: Array<{ value: unknown; event: ChaincodeEvent }> }
        | undefined;
      const endRun = async () => {
        if (run) await run.handler.apply(manager, run.items);
        run = undefined;
      };
      for (const event of events) {
        if (!applied.has(event.txId) || outcomes.get(event.txId) !== 'APPLIED') continue;
        const batchHandler = this.batchHandlers.get(event.eventName);
        if (batchHandler) {
          if (run?.handler !== batchHandler) await endRun();
          run ??= { handler: batchHandler, items: [] };
          run.items.push({ value: payloads.get(event.txId), event });
          continue;
        }
        await endRun();
        const handler = this.handlers.get(event.eventName);
        if (!handler) continue;
        try {
          await handler(manager, payloads.get(event.txId), event);
        } catch (error) {
          if (!(error instanceof MalformedEventError)) throw error;
          outcomes.set(event.txId, 'MALFORMED');
          await manager.query(`UPDATE projected_events SET outcome = 'MALFORMED' WHERE tx_id = $1`, [
            event.txId,
          ]);
        }
      }
      await endRun();
      await manager.query(
        `INSERT INTO ledger_checkpoints (name, block_number, tx_id, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (name) DO UPDATE SET block_number = EXCLUDED.block_number, tx_id = EXCLUDED.tx_id,
         updated_at = EXCLUDED.updated_at`,
        [CHECKPOINT_NAME, last.blockNumber, last.txId],
      );
      return applied;
    });
    for (const event of events) {
      if (!fresh.has(event.txId)) {
        this.logger.warn(
          `event of tx ${event.txId} (block ${event.blockNumber}) was already projected: skipped`,
        );
      } else if (outcomes.get(event.txId) === 'MALFORMED') {
        this.logger.error(
          `event ${event.eventName} of tx ${event.txId} has a malformed payload: recorded, skipped`,
        );
      }
      this.recent.add(event.txId);
    }
    this.position = { blockNumber: last.blockNumber, txId: last.txId };
    while (this.recent.size > 10000) this.recent.delete(this.recent.values().next().value as string);
    for (const waiter of [...this.waiters]) {
      if (this.isProjected(waiter.txId, waiter.blockNumber)) waiter.resolve(true);
    }
  }
}
