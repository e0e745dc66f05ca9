/**
 * How the pipeline resolves an uncertain commit, with faults injected at the ledger port: a reply lost after the
 * ledger committed (resolved by asking for the stored txId: not submitted again), a submission lost before it
 * reached the ledger (a new txId only once the ledger says the old one is absent), an MVCC conflict (retried
 * with a fresh txId), and a chaincode rule refusal (REJECTED with the chaincode's code, never retried).
 */
import { rm } from 'node:fs/promises';
import { DataSource } from 'typeorm';
import {
  CommitError,
  EndorseError,
  LedgerPort,
  PreparedTransaction,
  TransactionRequest,
} from '../src/ledger/port';
import { Market, setupMarket, tradeBody, waitFinal } from './trades-fixture';
import {
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  TestGateway,
  TestPostgres,
} from './support/harness';

jest.setTimeout(110000);

type Fault = 'reply-lost' | 'not-sent' | 'mvcc' | 'refused';

describe('trade commit recovery', () => {
  let postgres: TestPostgres;
  let dataDir: string;
  let gateway: TestGateway;
  let market: Market;
  /** tradeId → faults to inject on its next AttestTrade submissions, in order. */
  const faults = new Map<string, Fault[]>();
  let submissions = 0;

  const tradeIdOf = (request: TransactionRequest | PreparedTransaction) => {
    const r = 'request' in request ? request.request : request;
    if (r.transaction !== 'trades:AttestTrade') return undefined;
    return (JSON.parse(r.args![0]) as { trade: { tradeId: string } }).trade.tradeId;
  };

  const inject = (ledger: LedgerPort): LedgerPort =>
    new Proxy(ledger, {
      get(target, property) {
        if (property !== 'submit') return Reflect.get(target, property) as unknown;
        return async (request: TransactionRequest | PreparedTransaction) => {
          const tradeId = tradeIdOf(request);
          const fault = tradeId ? faults.get(tradeId)?.shift() : undefined;
          if (tradeId) submissions++;
          const txId = 'txId' in request ? request.txId : 'unprepared';
          switch (fault) {
            case 'reply-lost':
              await target.submit(request);
              throw new Error('14 UNAVAILABLE: connection reset after the commit');
            case 'not-sent':
              throw new Error('14 UNAVAILABLE: no connection to the gateway peer');
            case 'mvcc':
              throw new CommitError({
                txId,
                blockNumber: 0,
                validationCode: 'MVCC_READ_CONFLICT',
                successful: false,
              });
            case 'refused':
              throw new EndorseError(
                txId,
                'GREEN_CONSUMPTION_EXCEEDS_ATTESTED: consumer CON-1 2026-10: injected',
              );
            default:
              return target.submit(request);
          }
        };
      },
    });

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-trades-recovery-');
    gateway = await startGateway({ dataDir, databaseUrl: await postgres.newDatabase(), wrapLedger: inject });
    market = await setupMarket(gateway.http, gateway.app, await readFirstAdminKey(dataDir), {
      sellers: ['GEN-1'],
      consumers: { 'CON-1': 40 },
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await postgres?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const run = async (tradeId: string, injected: Fault[]) => {
    faults.set(tradeId, [...injected]);
    await gateway.http
      .post('/v1/trades')
      .set('X-API-Key', market.keys['trading-center'])
      .set('Idempotency-Key', tradeId)
      .send(
        tradeBody(market, {
          tradeId,
          seller: 'GEN-1',
          buyer: 'CON-1',
          lots: [{ lotId: market.lots['GEN-1'].shift()! }],
        }),
      )
      .expect(202);
    const status = await waitFinal(
      (id) => gateway.http.get(`/v1/trades/${id}`).set('X-API-Key', market.keys.admin),
      tradeId,
      60000,
    );
    const transactions = (await gateway.app
      .get(DataSource)
      .query(`SELECT tx_id, outcome FROM trade_transactions WHERE trade_id = $1 ORDER BY prepared_at`, [
        tradeId,
      ])) as Array<{
      tx_id: string;
      outcome: string | null;
    }>;
    return { status, transactions };
  };

  it('a reply lost after the commit: resolved by the stored txId, never submitted again', async () => {
    const before = submissions;
    const { status, transactions } = await run('T-REPLY-LOST', ['reply-lost']);
    expect(status.state).toBe('COMMITTED');
    expect(transactions).toEqual([{ tx_id: status.txId, outcome: 'VALID' }]);
    expect(submissions - before).toBe(1);
  });

  it('a submission that never reached the ledger: a new txId once the old one is known absent', async () => {
    const { status, transactions } = await run('T-NOT-SENT', ['not-sent']);
    expect(status.state).toBe('COMMITTED');
    expect(transactions.map((t) => t.outcome)).toEqual(['ABSENT', 'VALID']);
    expect(transactions[1].tx_id).toBe(status.txId);
    expect(transactions[0].tx_id).not.toBe(status.txId);
  });

  it('an MVCC conflict: retried with a fresh txId', async () => {
    const { status, transactions } = await run('T-MVCC', ['mvcc', 'mvcc']);
    expect(status.state).toBe('COMMITTED');
    expect(transactions.map((t) => t.outcome)).toEqual(['MVCC_READ_CONFLICT', 'MVCC_READ_CONFLICT', 'VALID']);
  });

  it('a chaincode rule refusal: REJECTED with the chaincode’s code, not retried', async () => {
    const before = submissions;
    const { status, transactions } = await run('T-REFUSED', ['refused']);
    expect(status).toMatchObject({
      state: 'REJECTED',
      failure: { code: 'GREEN_CONSUMPTION_EXCEEDS_ATTESTED' },
      voucherId: null,
    });
    const ledgerCheck = (status.checks as Array<{ name: string; passed: boolean }>).find(
      (c) => c.name === 'ledger',
    );
    expect(ledgerCheck).toMatchObject({ passed: false });
    expect(transactions.map((t) => t.outcome)).toEqual(['ENDORSEMENT_REFUSED']);
    expect(submissions - before).toBe(1);
  });
});
