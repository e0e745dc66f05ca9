/**
 * The embedded ledger's own thread (a `worker_threads` Worker started by ThreadedEmbeddedLedger): it opens the
 * ledger (block store, state database, CA, peers, orderer, committer) and answers the gateway thread's calls.
 * Running the chaincode twice per write, the signatures and the block commits here leaves the gateway's event
 * loop to HTTP, PostgreSQL and the trade pipeline, each on its own core.
 */
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { EventStream } from '../../port';
import { EmbeddedLedger } from '../embedded-ledger';
import type { EmbeddedLedgerOptions } from '../options';
import { toWire, type FromLedger, type LedgerCall, type ToLedger } from './wire';

interface OpenStream {
  events: EventStream<unknown>;
  /** Events the gateway thread has room for. */
  credit: number;
  /** Wakes the pump when credit arrives. */
  wake?: () => void;
}

function post(port: NonNullable<typeof parentPort>, message: FromLedger): void {
  port.postMessage(message);
}

async function run(port: NonNullable<typeof parentPort>, options: EmbeddedLedgerOptions): Promise<void> {
  let ledger: EmbeddedLedger;
  try {
    ledger = await EmbeddedLedger.open(options);
  } catch (error) {
    post(port, { type: 'failed-to-open', error: toWire(error) });
    return;
  }
  const streams = new Map<number, OpenStream>();

  const call = async (c: LedgerCall): Promise<unknown> => {
    switch (c.op) {
      case 'submit': {
        const prepared = ledger.prepare(c.request, { nonce: c.nonce, timestamp: new Date(c.timestamp) });
        return ledger.submit(prepared);
      }
      case 'evaluate':
        return ledger.evaluate(c.request, new Date(c.timestamp));
      case 'getTransaction':
        return ledger.getTransaction(c.txId);
      case 'getBlock':
        return ledger.getBlock(c.blockNumber);
      case 'getChainInfo':
        return ledger.getChainInfo();
      case 'verifyChain':
        return ledger.verifyChain();
      case 'verifyBlocks':
        return ledger.verifyBlocks(c.range);
      case 'enrolOrganisation': {
        const enrolled = await ledger.enrolOrganisation(c.spec);
        // The gateway's thread fixes transaction ids with the creators: it learns the new ones here.
        return { ...enrolled, creators: ledger.creators() };
      }
      case 'proposeChannelUpdate':
        return ledger.proposeChannelUpdate(c.change);
      case 'signChannelUpdate':
        return ledger.signChannelUpdate(c.bytes, c.signer);
      case 'submitChannelUpdate':
        return ledger.submitChannelUpdate(c.bytes, c.signatures);
      case 'channelConfig':
        return { config: ledger.channelConfig, block: ledger.channelConfigBlock };
      case 'close':
        for (const s of streams.values()) s.events.close();
        await ledger.close();
        return undefined;
    }
  };

  /**
   * Forward a stream's events while the gateway thread has room for them. Events produced in one turn of the
   * event loop (a block's events come one microtask after another) travel in one message.
   */
  const pump = async (id: number, s: OpenStream): Promise<void> => {
    const iterator = s.events[Symbol.asyncIterator]();
    let batch: unknown[] = [];
    const flush = () => {
      if (batch.length > 0) post(port, { type: 'events', stream: id, values: batch });
      batch = [];
    };
    try {
      for (;;) {
        if (s.credit <= 0) {
          flush();
          while (s.credit <= 0) await new Promise<void>((resolve) => (s.wake = resolve));
        }
        const next = await iterator.next();
        if (next.done) break;
        s.credit--;
        if (batch.length === 0) setImmediate(flush);
        batch.push(next.value);
      }
      flush();
      post(port, { type: 'stream-end', stream: id });
    } catch (error) {
      flush();
      post(port, { type: 'stream-end', stream: id, error: toWire(error) });
    } finally {
      streams.delete(id);
    }
  };

  port.on('message', (message: ToLedger) => {
    switch (message.type) {
      case 'call':
        call(message.call).then(
          (value) => post(port, { type: 'result', id: message.id, value }),
          (error: unknown) => post(port, { type: 'error', id: message.id, error: toWire(error) }),
        );
        if (message.call.op === 'close') port.unref();
        return;
      case 'open-stream': {
        const events: EventStream<unknown> =
          message.kind === 'block'
            ? ledger.blockEvents({ startBlock: message.start?.blockNumber })
            : ledger.chaincodeEvents(message.start ? { start: message.start } : undefined);
        const s: OpenStream = { events, credit: 0 };
        streams.set(message.stream, s);
        void pump(message.stream, s);
        return;
      }
      case 'credit': {
        const s = streams.get(message.stream);
        if (!s) return;
        s.credit += message.credit;
        s.wake?.();
        s.wake = undefined;
        return;
      }
      case 'close-stream': {
        const s = streams.get(message.stream);
        if (!s) return;
        s.events.close();
        // A pump waiting for credit sees the closed stream end at once.
        s.credit = Math.max(s.credit, 1);
        s.wake?.();
        s.wake = undefined;
        return;
      }
    }
  });
  post(port, { type: 'ready', creators: ledger.creators(), osThreadId: osThreadId() });
}

/**
 * This thread's id in the operating system (Linux: /proc/thread-self points at /proc/PID/task/TID), so that
 * a benchmark can read its CPU time apart from the gateway's thread. Undefined elsewhere.
 */
function osThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) ? tid : undefined;
  } catch {
    return undefined;
  }
}

if (!parentPort) throw new Error('ledger-thread.js runs as a worker thread of ThreadedEmbeddedLedger');
void run(parentPort, workerData as EmbeddedLedgerOptions);
