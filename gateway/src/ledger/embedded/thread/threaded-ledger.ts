/**
 * The embedded ledger on a thread of its own: the same EmbeddedLedger (Fabric's execute–order–validate flow,
 * its block store and state database), opened in a `worker_threads` Worker, behind the LedgerPort.
 *
 * Why: a write runs the chaincode once per endorsing organisation, makes and checks nine signatures and commits
 * a block; in the gateway's thread that work (about 6 ms of CPU per trade attestation) competes with HTTP,
 * PostgreSQL and the trade pipeline for one core. On its own thread it has a core of its own, as a peer has its
 * own process on a real network.
 *
 * What stays here: `prepare` is synchronous (the transaction id is fixed before anything is sent, so a retry
 * reuses it): txId = SHA-256(nonce ‖ creator), with the creators the ledger thread reported at open (identities
 * are enrolled only when the ledger opens), and the proposal's timestamp read from this side's `clock`. The ledger
 * thread rebuilds the same proposal from the nonce and timestamp.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type {
  BlockEvent,
  BlockRangeRequest,
  BlockRangeVerification,
  ChainInfo,
  ChainVerification,
  ChaincodeEvent,
  Checkpoint,
  EventStream,
  LedgerPort,
  PreparedTransaction,
  PrepareOptions,
  SubmittedTransaction,
  TransactionInfo,
  TransactionRequest,
} from '../../port';
import { isPrepared } from '../../port';
import { computeTxId } from '../fabric/protos';
import type { EmbeddedLedgerOptions } from '../options';
import type { ChannelConfig } from '../channel-config';
import type { ChannelUpdateProposal, ConfigUpdateSignature } from '../channel-update';
import type { OrgSpec } from '../msp';
import {
  fromWire,
  type CreatorEntry,
  type FromLedger,
  type LedgerCall,
  type StreamKind,
  type ToLedger,
} from './wire';

/** Events a stream may have in flight from the ledger thread before its reader takes them. */
const STREAM_WINDOW = 256;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface StreamState {
  buffer: unknown[];
  /** Events taken by the reader since the last credit sent. */
  taken: number;
  ended: boolean;
  error?: Error;
  wake?: () => void;
}

class ThreadedPreparedTransaction implements PreparedTransaction {
  constructor(
    readonly txId: string,
    readonly request: TransactionRequest,
    readonly nonce: Uint8Array,
    readonly timestamp: Date,
  ) {}
}

/** The compiled worker script: beside this file when compiled, in `dist/` when this file runs from `src/`. */
function threadScript(): string {
  const beside = join(__dirname, 'ledger-thread.js');
  if (existsSync(beside)) return beside;
  const compiled = join(__dirname.replace(/([\\/])src([\\/])/, '$1dist$2'), 'ledger-thread.js');
  if (existsSync(compiled)) return compiled;
  throw new Error(`the embedded ledger's thread script is not built (${beside}); run npm run build`);
}

export class ThreadedEmbeddedLedger implements LedgerPort {
  /** The clock proposals are stamped with (a Fabric client's own clock; tests move it). */
  clock: () => Date = () => new Date();
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<number, StreamState>();
  private nextId = 1;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly creators: Map<string, Uint8Array>,
    /** The ledger thread's id in the operating system (Linux), for per-thread CPU accounting. */
    readonly osThreadId: number | undefined,
  ) {
    worker.on('message', (message: FromLedger) => this.receive(message));
    worker.on('error', (error) =>
      this.fail(new Error(`the embedded ledger's thread failed: ${error.message}`)),
    );
    worker.on('exit', (code) => this.fail(new Error(`the embedded ledger's thread exited (code ${code})`)));
  }

  static async open(options: Omit<EmbeddedLedgerOptions, 'contracts'>): Promise<ThreadedEmbeddedLedger> {
    const worker = new Worker(threadScript(), { workerData: options });
    let osThreadId: number | undefined;
    const creators = await new Promise<Map<string, Uint8Array>>((resolve, reject) => {
      const onExit = (code: number) =>
        reject(new Error(`the embedded ledger's thread exited at open (code ${code})`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (message: FromLedger) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        if (message.type === 'ready') {
          osThreadId = message.osThreadId;
          resolve(new Map(message.creators.map((c) => [`${c.mspId}\u0000${c.name}`, c.creator])));
        } else if (message.type === 'failed-to-open') {
          void worker.terminate();
          reject(fromWire(message.error));
        } else {
          void worker.terminate();
          reject(new Error(`the embedded ledger's thread said ${message.type} before it was ready`));
        }
      });
    });
    return new ThreadedEmbeddedLedger(worker, creators, osThreadId);
  }

  prepare(request: TransactionRequest, options?: PrepareOptions): PreparedTransaction {
    this.assertOpen();
    const { mspId, name } = request.identity;
    const creator = this.creators.get(`${mspId}\u0000${name}`);
    if (!creator) throw new Error(`EmbeddedCa: unknown identity ${mspId}/${name}`);
    const nonce = options?.nonce ?? randomBytes(24);
    return new ThreadedPreparedTransaction(computeTxId(nonce, creator), request, nonce, this.clock());
  }

  async submit(input: TransactionRequest | PreparedTransaction): Promise<SubmittedTransaction> {
    if (isPrepared(input) && !(input instanceof ThreadedPreparedTransaction)) {
      throw new Error('a prepared transaction from another ledger cannot be submitted here');
    }
    const prepared = (isPrepared(input) ? input : this.prepare(input)) as ThreadedPreparedTransaction;
    return (await this.call({
      op: 'submit',
      request: prepared.request,
      nonce: prepared.nonce,
      timestamp: prepared.timestamp.getTime(),
    })) as SubmittedTransaction;
  }

  async evaluate(request: TransactionRequest): Promise<Uint8Array> {
    return (await this.call({ op: 'evaluate', request, timestamp: this.clock().getTime() })) as Uint8Array;
  }

  chaincodeEvents(options?: { start?: Checkpoint }): EventStream<ChaincodeEvent> {
    return this.stream<ChaincodeEvent>('chaincode', options?.start);
  }

  blockEvents(options?: { startBlock?: number }): EventStream<BlockEvent> {
    return this.stream<BlockEvent>(
      'block',
      options?.startBlock === undefined ? undefined : { blockNumber: options.startBlock },
    );
  }

  async getTransaction(txId: string): Promise<TransactionInfo | undefined> {
    return (await this.call({ op: 'getTransaction', txId })) as TransactionInfo | undefined;
  }

  async getBlock(blockNumber: number): Promise<Uint8Array | undefined> {
    return (await this.call({ op: 'getBlock', blockNumber })) as Uint8Array | undefined;
  }

  async getChainInfo(): Promise<ChainInfo> {
    return (await this.call({ op: 'getChainInfo' })) as ChainInfo;
  }

  async verifyChain(): Promise<ChainVerification> {
    return (await this.call({ op: 'verifyChain' })) as ChainVerification;
  }

  /** Verified on the ledger's thread, where the block store is: only the findings cross. */
  async verifyBlocks(range: BlockRangeRequest): Promise<BlockRangeVerification> {
    return (await this.call({ op: 'verifyBlocks', range })) as BlockRangeVerification;
  }

  // ---- channel configuration updates (EmbeddedLedger's, run on the ledger's thread) -------------------

  async enrolOrganisation(spec: OrgSpec): Promise<{ mspId: string; rootCertificate: string }> {
    const { mspId, rootCertificate, creators } = (await this.call({ op: 'enrolOrganisation', spec })) as {
      mspId: string;
      rootCertificate: string;
      creators: CreatorEntry[];
    };
    for (const c of creators) this.creators.set(`${c.mspId}\u0000${c.name}`, c.creator);
    return { mspId, rootCertificate };
  }

  async proposeChannelUpdate(change: {
    addOrganisations?: Record<string, string>;
    endorsementPolicy?: string;
  }): Promise<ChannelUpdateProposal> {
    return (await this.call({ op: 'proposeChannelUpdate', change })) as ChannelUpdateProposal;
  }

  async signChannelUpdate(
    bytes: Uint8Array,
    signer: { mspId: string; name: string },
  ): Promise<ConfigUpdateSignature> {
    return (await this.call({ op: 'signChannelUpdate', bytes, signer })) as ConfigUpdateSignature;
  }

  async submitChannelUpdate(
    bytes: Uint8Array,
    signatures: ConfigUpdateSignature[],
  ): Promise<{ txId: string; blockNumber: number; config: ChannelConfig }> {
    return (await this.call({ op: 'submitChannelUpdate', bytes, signatures })) as {
      txId: string;
      blockNumber: number;
      config: ChannelConfig;
    };
  }

  /** The channel configuration in force and the block holding it. */
  async channelConfig(): Promise<{ config: ChannelConfig; block: number }> {
    return (await this.call({ op: 'channelConfig' })) as { config: ChannelConfig; block: number };
  }

  /** Close the ledger on its thread (the last block committed, the stores closed), then end the thread. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.failure) await this.call({ op: 'close' }).catch(() => undefined);
      this.failure ??= new Error('the embedded ledger is closed');
      await this.worker.terminate();
    })();
    return this.closing;
  }

  /**
   * How busy the ledger thread's event loop has been (Node's event-loop utilization), since `previous` or since
   * it started: what a benchmark reads to tell whether the ledger or the gateway's thread is the limit.
   */
  utilization(previous?: EventLoopUtilization): EventLoopUtilization {
    const now = this.worker.performance.eventLoopUtilization();
    return previous ? this.worker.performance.eventLoopUtilization(now, previous) : now;
  }

  // ---- internals ------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.failure) throw this.failure;
  }

  private send(message: ToLedger): void {
    this.worker.postMessage(message);
  }

  private call(call: LedgerCall): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ type: 'call', id, call });
    });
  }

  private receive(message: FromLedger): void {
    switch (message.type) {
      case 'result':
      case 'error': {
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        if (message.type === 'result') pending.resolve(message.value);
        else pending.reject(fromWire(message.error));
        return;
      }
      case 'events': {
        const s = this.streams.get(message.stream);
        if (!s) return;
        s.buffer.push(...message.values);
        s.wake?.();
        return;
      }
      case 'stream-end': {
        const s = this.streams.get(message.stream);
        if (!s) return;
        s.ended = true;
        if (message.error) s.error = fromWire(message.error);
        s.wake?.();
        return;
      }
      default:
        return;
    }
  }

  /** A failed thread fails every call in flight and every later one; streams end with the error. */
  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
    for (const s of this.streams.values()) {
      if (!s.ended) {
        s.ended = true;
        s.error ??= this.closing ? undefined : this.failure;
      }
      s.wake?.();
    }
  }

  private stream<T>(kind: StreamKind, start?: { blockNumber: number; txId?: string }): EventStream<T> {
    this.assertOpen();
    const id = this.nextId++;
    const state: StreamState = { buffer: [], taken: 0, ended: false };
    this.streams.set(id, state);
    this.send({ type: 'open-stream', stream: id, kind, ...(start ? { start } : {}) });
    this.send({ type: 'credit', stream: id, credit: STREAM_WINDOW });
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      state.ended = true;
      state.wake?.();
      this.streams.delete(id);
      if (!this.failure) this.send({ type: 'close-stream', stream: id });
    };
    const giveBack = (credit: number) => {
      if (!this.failure && !closed) this.send({ type: 'credit', stream: id, credit });
    };
    return {
      close,
      [Symbol.asyncIterator]: async function* () {
        try {
          for (;;) {
            if (state.buffer.length > 0) {
              const value = state.buffer.shift() as T;
              // Give the room back in halves: one message per STREAM_WINDOW / 2 events, not one per event.
              if (++state.taken >= STREAM_WINDOW / 2) {
                giveBack(state.taken);
                state.taken = 0;
              }
              yield value;
              continue;
            }
            if (closed) return;
            if (state.ended) {
              if (state.error) throw state.error;
              return;
            }
            await new Promise<void>((resolve) => (state.wake = resolve));
            state.wake = undefined;
          }
        } finally {
          close();
        }
      },
    };
  }
}
