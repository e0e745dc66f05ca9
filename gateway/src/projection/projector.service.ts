import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Resources, RESOURCES } from '../common/resources';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { ChaincodeEvent, Checkpoint, EventStream, LedgerPort } from '../ledger/port';
import { CheckpointEntity, ProjectionOutcome } from './projection.entities';

/** Applies one event's payload to the read model, inside the projector's transaction. */
export type EventHandler = (manager: EntityManager, payload: unknown, event: ChaincodeEvent) => Promise<void>;

/** Thrown by a handler, before it writes anything, when a payload does not have the expected shape. */
export class MalformedEventError extends Error {
  override readonly name = 'MalformedEventError';
}

export const CHECKPOINT_NAME = 'gateway-projector';

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
 */
@Injectable()
export class Projector implements OnApplicationBootstrap {
  private readonly logger = new Logger('Projector');
  private readonly handlers = new Map<string, EventHandler>();
  private readonly waiters = new Set<Waiter>();
  /** Transactions projected recently, for a writer asking after its event was already applied. */
  private readonly recent = new Set<string>();
  private position?: Checkpoint & { txId: string };
  private stream?: EventStream<ChaincodeEvent>;
  private loop?: Promise<void>;
  private stopped = false;
  private wake?: () => void;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
    @Inject(RESOURCES) private readonly resources: Resources,
  ) {}

  /** Register the handler of an event name (modules do this in onModuleInit). */
  on(eventName: string, handler: EventHandler): void {
    if (this.handlers.has(eventName)) throw new Error(`a handler for ${eventName} is already registered`);
    this.handlers.set(eventName, handler);
  }

  /** The last event applied. */
  get checkpoint(): (Checkpoint & { txId: string }) | undefined {
    return this.position;
  }

  async onApplicationBootstrap(): Promise<void> {
    const stored = await this.dataSource.getRepository(CheckpointEntity).findOneBy({ name: CHECKPOINT_NAME });
    if (stored) this.position = { blockNumber: stored.blockNumber, txId: stored.txId };
    this.logger.log(
      stored
        ? `resuming after block ${stored.blockNumber} tx ${stored.txId}`
        : 'no checkpoint: projecting from block 0',
    );
    this.resources.add('projector', () => this.stop());
    this.loop = this.run();
  }

  /**
   * Wait until the event of `txId` (committed in `blockNumber`) is projected. Resolves false after `timeoutMs`
   * (the transaction may have emitted no event, or the projector is behind); never rejects.
   */
  waitFor(txId: string, blockNumber: number, timeoutMs: number): Promise<boolean> {
    if (this.isProjected(txId, blockNumber)) return Promise.resolve(true);
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
        for await (const event of stream) {
          if (this.stopped) break;
          await this.apply(event);
          backoff = 250;
        }
        if (!this.stopped) this.logger.warn('the event stream ended; reconnecting');
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

  private async apply(event: ChaincodeEvent): Promise<void> {
    const handler = this.handlers.get(event.eventName);
    let payload: unknown;
    let outcome: ProjectionOutcome = handler ? 'APPLIED' : 'IGNORED';
    if (handler) {
      try {
        payload = JSON.parse(Buffer.from(event.payload).toString('utf8'));
      } catch {
        outcome = 'MALFORMED';
      }
    }
    const applied = await this.dataSource.transaction(async (manager) => {
      const inserted = (await manager.query(
        `INSERT INTO projected_events (tx_id, block_number, tx_number, event_name, outcome)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tx_id) DO NOTHING RETURNING tx_id`,
        [event.txId, event.blockNumber, event.txNumber, event.eventName, outcome],
      )) as unknown[];
      if (inserted.length === 0) return false;
      if (handler && outcome === 'APPLIED') {
        try {
          await handler(manager, payload, event);
        } catch (error) {
          if (!(error instanceof MalformedEventError)) throw error;
          outcome = 'MALFORMED';
          await manager.query(`UPDATE projected_events SET outcome = 'MALFORMED' WHERE tx_id = $1`, [
            event.txId,
          ]);
        }
      }
      await manager.query(
        `INSERT INTO ledger_checkpoints (name, block_number, tx_id, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (name) DO UPDATE SET block_number = EXCLUDED.block_number, tx_id = EXCLUDED.tx_id,
         updated_at = EXCLUDED.updated_at`,
        [CHECKPOINT_NAME, event.blockNumber, event.txId],
      );
      return true;
    });
    if (!applied) {
      this.logger.warn(
        `event of tx ${event.txId} (block ${event.blockNumber}) was already projected: skipped`,
      );
    } else if (outcome === 'MALFORMED') {
      this.logger.error(
        `event ${event.eventName} of tx ${event.txId} has a malformed payload: recorded, skipped`,
      );
    }
    this.position = { blockNumber: event.blockNumber, txId: event.txId };
    this.recent.add(event.txId);
    if (this.recent.size > 10000) this.recent.delete(this.recent.values().next().value as string);
    for (const waiter of [...this.waiters]) {
      if (this.isProjected(waiter.txId, waiter.blockNumber)) waiter.resolve(true);
    }
  }
}
