/**
 * Idempotency-Key on ledger writes (api.md): a write runs at most once, whatever happened to the attempt before,
 * and only answers that decide the request are remembered under the key.
 *
 * The ledger is the real embedded one, wrapped to lose the answer of one submission (the transaction committed,
 * the gateway never heard: a commit-status timeout on Fabric) or to fail one before it is sent. Conflicts are
 * real MVCC conflicts from concurrent transfers of one lot.
 */
import { rm } from 'node:fs/promises';
import { DataSource } from 'typeorm';
import { DelegatingLedger } from '../src/ledger/delegating-ledger';
import { LEDGER_PORT } from '../src/ledger-module/ledger.tokens';
import type {
  LedgerPort,
  PreparedTransaction,
  SubmittedTransaction,
  TransactionInfo,
  TransactionRequest,
} from '../src/ledger/port';
import { startGateway, tempDir, TestGateway } from './support/harness';
import { heldOnLedger, LotMarket, setupIssuedLot } from './support/lot-fixture';

type Fault = 'lose-answer' | 'fail-before-send';

/**
 * The embedded ledger with one fault armed for the next submission of a transaction, and a barrier that holds
 * submissions until a number of them are waiting (so that they are endorsed against the same state).
 */
class FaultyLedger extends DelegatingLedger {
  armed: { transaction: string; fault: Fault } | undefined;
  /** Transaction ids submitted, in order (prepared or not). */
  readonly sent: string[] = [];
  private unreachable = false;
  private barrier: { size: number; waiting: Array<() => void> } | undefined;

  holdUntil(size: number): void {
    this.barrier = { size, waiting: [] };
  }

  override async submit(input: TransactionRequest | PreparedTransaction): Promise<SubmittedTransaction> {
    const transaction = 'request' in input ? input.request.transaction : input.transaction;
    const fault = this.armed?.transaction === transaction ? this.armed.fault : undefined;
    if (fault) this.armed = undefined;
    if (fault === 'fail-before-send') throw new Error('connection to the orderer lost (test fault)');
    const barrier = this.barrier;
    if (barrier) {
      await new Promise<void>((resolve) => {
        barrier.waiting.push(resolve);
        if (barrier.waiting.length === barrier.size) {
          this.barrier = undefined;
          for (const release of barrier.waiting) release();
        }
      });
    }
    const submitted = await this.ledger.submit(input);
    this.sent.push(submitted.txId);
    if (fault === 'lose-answer') {
      // The connection is gone: the commit status never arrives and the next look-up fails too.
      this.unreachable = true;
      throw new Error('commit status timed out (test fault)');
    }
    return submitted;
  }

  override async getTransaction(txId: string): Promise<TransactionInfo | undefined> {
    if (this.unreachable) {
      this.unreachable = false;
      throw new Error('peer unreachable (test fault)');
    }
    return this.ledger.getTransaction(txId);
  }
}

describe('Idempotency-Key on ledger writes', () => {
  let dataDir: string;
  let gateway: TestGateway;
  let faulty: FaultyLedger;
  let ledger: LedgerPort;
  let market: LotMarket;

  beforeAll(async () => {
    dataDir = await tempDir('gec-idempotency-');
    gateway = await startGateway({
      dataDir,
      env: { EXPIRY_SWEEP_INTERVAL_MS: '0' },
      wrapLedger: (inner) => (faulty = new FaultyLedger(inner)),
    });
    ledger = gateway.app.get<LedgerPort>(LEDGER_PORT);
    market = await setupIssuedLot(gateway, dataDir);
  }, 60000);

  afterAll(async () => {
    await gateway?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const transfer = (key: string, certificates: number) =>
    gateway.http
      .post(`/v1/lots/${market.lotId}/transfer`)
      .set('X-API-Key', market.keys['trading-center'])
      .set('Idempotency-Key', key)
      .send({ from: 'GEN-1', to: 'CON-1', certificates });

  const heldByBuyer = () => heldOnLedger(ledger, 'CON-1');

  async function journalOf(key: string): Promise<{ state: string; writes: Array<{ txId: string }> }> {
    const rows = (await gateway.app
      .get(DataSource)
      .query(`SELECT state, ledger_writes FROM idempotency_keys WHERE key = $1`, [key])) as Array<{
      state: string;
      ledger_writes: Array<{ txId: string }>;
    }>;
    return { state: rows[0].state, writes: rows[0].ledger_writes };
  }

  it('answers a retry from the committed transaction when the first answer was lost: certificates move once', async () => {
    const before = await heldByBuyer();
    faulty.armed = { transaction: 'certificates:Transfer', fault: 'lose-answer' };
    const lost = await transfer('move-once', 1);
    expect(lost.status).toBeGreaterThanOrEqual(500);
    const committedTx = faulty.sent[faulty.sent.length - 1];
    expect(await journalOf('move-once')).toEqual({
      state: 'IN_PROGRESS',
      writes: [expect.objectContaining({ txId: committedTx })],
    });
    expect(await heldByBuyer()).toBe(before + 1);

    const retried = await transfer('move-once', 1).expect(200);
    // The answer is the first transaction's, and nothing was sent again.
    expect(retried.body.ledger.txId).toBe(committedTx);
    expect(faulty.sent[faulty.sent.length - 1]).toBe(committedTx);
    expect(await heldByBuyer()).toBe(before + 1);
    // From now on, the stored answer.
    const replayed = await transfer('move-once', 1).expect(200);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.body).toEqual(retried.body);
  });

  it('sends a write that never reached the ledger again under its recorded transaction id', async () => {
    const before = await heldByBuyer();
    faulty.armed = { transaction: 'certificates:Transfer', fault: 'fail-before-send' };
    await transfer('never-sent', 2).expect((res) => expect(res.status).toBeGreaterThanOrEqual(500));
    const { writes } = await journalOf('never-sent');
    expect(writes).toHaveLength(1);
    expect(await ledger.getTransaction(writes[0].txId)).toBeUndefined();
    expect(await heldByBuyer()).toBe(before);

    const retried = await transfer('never-sent', 2).expect(200);
    expect(retried.body.ledger.txId).toBe(writes[0].txId);
    expect((await ledger.getTransaction(writes[0].txId))?.validationCode).toBe('VALID');
    expect(await heldByBuyer()).toBe(before + 2);
  });

  it('does not remember a LEDGER_CONFLICT: a retry with the same key runs again', async () => {
    const before = await heldByBuyer();
    // Concurrent transfers from one lot, endorsed against the same state: the first in the block commits, the
    // others conflict (MVCC_READ_CONFLICT).
    faulty.holdUntil(8);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => transfer(`race-${i}`, 1).then((res) => ({ i, res }))),
    );
    const moved = answers.filter(({ res }) => res.status === 200).length;
    const conflicted = answers.filter(({ res }) => res.status === 409);
    expect(moved + conflicted.length).toBe(8);
    expect(conflicted.length).toBeGreaterThan(0);
    for (const { res } of conflicted) expect(res.body.code).toBe('LEDGER_CONFLICT');
    expect(await heldByBuyer()).toBe(before + moved);

    for (const { i } of conflicted) {
      const retried = await transfer(`race-${i}`, 1).expect(200);
      expect(retried.headers['idempotent-replayed']).toBeUndefined();
    }
    expect(await heldByBuyer()).toBe(before + 8);
  });

  it('remembers a refusal that decides the request', async () => {
    const refused = await transfer('too-many', 100000).expect(422);
    expect(refused.body.code).toBe('VOLUME_EXCEEDS_LOT');
    const again = await transfer('too-many', 100000).expect(422);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });
});
