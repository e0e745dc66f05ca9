/**
 * The embedded ledger on its own thread (ThreadedEmbeddedLedger): what crossing the thread boundary could break.
 * Transaction ids fixed on the gateway's side, the client's clock, errors rebuilt as their own classes, event
 * streams in order under flow control, and a ledger thread that dies failing every call instead of hanging it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EndorseError, type ChaincodeEvent, type TransactionRequest } from '../../src/ledger/port';
import { TEST_IDENTITIES } from '../../src/ledger/embedded/testing';
import { ThreadedEmbeddedLedger } from '../../src/ledger/embedded/thread/threaded-ledger';
import { creditCode } from '../support/harness';

const register = (n: number): TransactionRequest => ({
  identity: TEST_IDENTITIES.gridAdmin,
  transaction: 'identity:RegisterParticipant',
  args: [JSON.stringify({ id: `TP-${n}`, kind: 'GENERATOR', name: `Thread probe ${n}`, region: '330000' })],
  transient: { creditCode: creditCode(n) },
});

describe('embedded ledger on its own thread', () => {
  let dataDir: string;
  let ledger: ThreadedEmbeddedLedger;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gec-thread-test-'));
    ledger = await ThreadedEmbeddedLedger.open({ dataDir, sync: false, batch: { batchTimeoutMs: 20 } });
  });
  afterEach(async () => {
    await ledger.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('fixes the transaction id before sending: a prepared write submitted twice commits once', async () => {
    const prepared = ledger.prepare(register(1));
    const again = ledger.prepare(register(1), { nonce: prepared.nonce });
    expect(again.txId).toBe(prepared.txId);
    const committed = await ledger.submit(prepared);
    expect(committed).toMatchObject({ txId: prepared.txId, validationCode: 'VALID' });
    const duplicate = await ledger.submit(again).catch((error: unknown) => error);
    expect(duplicate).toBeInstanceOf(EndorseError);
    expect((duplicate as EndorseError).chaincodeMessage).toContain(
      `duplicate transaction found [${prepared.txId}]`,
    );
  });

  it('refuses an identity the ledger never enrolled, naming it', () => {
    expect(() => ledger.prepare({ ...register(2), identity: { mspId: 'GridMSP', name: 'nobody' } })).toThrow(
      'unknown identity GridMSP/nobody',
    );
  });

  it("stamps proposals with this side's clock, as a Fabric client's own clock does", async () => {
    const at = new Date('2021-03-04T05:06:07.000Z');
    ledger.clock = () => at;
    const committed = await ledger.submit(register(3));
    expect(committed.timestamp).toBe(at.toISOString());
    expect((await ledger.getTransaction(committed.txId))?.timestamp).toBe(at.toISOString());
  });

  it('rebuilds chaincode refusals as EndorseError with the chaincode code', async () => {
    await ledger.submit(register(4));
    const refused = await ledger.submit(register(4)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(EndorseError);
    expect((refused as EndorseError).chaincodeMessage).toMatch(/^PARTICIPANT_EXISTS: /);
    const read = await ledger
      .evaluate({
        identity: TEST_IDENTITIES.regulator,
        transaction: 'identity:GetParticipant',
        args: ['TP-404'],
      })
      .catch((error: unknown) => error);
    expect(read).toBeInstanceOf(EndorseError);
    expect((read as EndorseError).chaincodeMessage).toMatch(/^PARTICIPANT_NOT_FOUND: /);
  });

  it('streams more events than its window holds, in commit order, to a slow reader, and resumes after it', async () => {
    const count = 600; // more than twice the stream window: the ledger thread must wait for credit
    const committed = await Promise.all(
      Array.from({ length: count }, (_, i) => ledger.submit(register(100 + i))),
    );
    const order = [...committed].sort((a, b) => a.blockNumber - b.blockNumber).map((c) => c.blockNumber);
    const seen: ChaincodeEvent[] = [];
    const stream = ledger.chaincodeEvents({ start: { blockNumber: 0 } });
    for await (const event of stream) {
      if (event.eventName === 'ConsortiumInitialised') continue; // the first start's registration, not ours
      seen.push(event);
      if (seen.length % 97 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      if (seen.length === count) break;
    }
    expect(seen.map((e) => e.blockNumber)).toEqual(order);
    expect(new Set(seen.map((e) => e.txId))).toEqual(new Set(committed.map((c) => c.txId)));
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = [seen[i - 1], seen[i]];
      expect(
        a.blockNumber < b.blockNumber || (a.blockNumber === b.blockNumber && a.txNumber < b.txNumber),
      ).toBe(true);
    }
    // From a checkpoint: the events after it, and then the next commit as it happens.
    const last = seen[seen.length - 1];
    const resumed = ledger.chaincodeEvents({ start: { blockNumber: last.blockNumber, txId: last.txId } });
    const next = ledger.submit(register(99));
    const iterator = resumed[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toMatchObject({ txId: (await next).txId });
    resumed.close();
    expect((await iterator.next()).done).toBe(true);
  });

  it('a ledger thread that dies fails the calls in flight and every later one, and ends its streams', async () => {
    await ledger.submit(register(5));
    const stream = ledger.blockEvents({ startBlock: 0 });
    const reading = (async () => {
      for await (const block of stream) void block;
    })();
    const inFlight = ledger.submit(register(6));
    await (ledger as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await expect(inFlight).rejects.toThrow("the embedded ledger's thread exited");
    await expect(reading).rejects.toThrow("the embedded ledger's thread exited");
    await expect(ledger.getChainInfo()).rejects.toThrow("the embedded ledger's thread exited");
    expect(() => ledger.prepare(register(7))).toThrow("the embedded ledger's thread exited");
  });

  it('closes: the last blocks committed, later calls refused', async () => {
    const pending = Array.from({ length: 20 }, (_, i) => ledger.submit(register(200 + i)));
    const results = await Promise.all(pending);
    await ledger.close();
    await expect(ledger.getChainInfo()).rejects.toThrow('the embedded ledger is closed');
    const reopened = await ThreadedEmbeddedLedger.open({ dataDir, sync: false });
    try {
      for (const r of results)
        expect(await reopened.getTransaction(r.txId)).toMatchObject({ validationCode: 'VALID' });
    } finally {
      await reopened.close();
    }
  });
});
