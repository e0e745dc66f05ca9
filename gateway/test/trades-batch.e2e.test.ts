/**
 * The trade pipeline works on batches of trades at once: verification of a batch from one snapshot, many
 * attestations in flight, hot keys (buyer-month, seller-month, lot) serialised per key.
 *
 * To have several trades in ONE claimed batch, they are posted to a gateway whose pipeline is off; a second
 * gateway on the same data folder and database (pipeline on) then claims them together when it starts.
 */
import { rm } from 'node:fs/promises';
import { DataSource } from 'typeorm';
import { ledgerOf, Market, setupMarket, tradeBody, waitFinal } from './trades-fixture';
import {
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  TestGateway,
  TestPostgres,
} from './support/harness';

jest.setTimeout(120000);

const REGULATOR = { mspId: 'RegulatorMSP', name: 'regulator' };

describe('trade pipeline batches', () => {
  let postgres: TestPostgres;
  let databaseUrl: string;
  let dataDir: string;
  let gateway: TestGateway;
  let market: Market;
  const pipeline = process.env.TRADE_PIPELINE;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    databaseUrl = await postgres.newDatabase();
    dataDir = await tempDir('gec-trades-batch-');
    // Trades are accepted but not processed until the pipeline's gateway starts.
    process.env.TRADE_PIPELINE = 'off';
    gateway = await startGateway({ dataDir, databaseUrl });
    market = await setupMarket(gateway.http, gateway.app, await readFirstAdminKey(dataDir), {
      sellers: ['GEN-1', 'GEN-2'],
      // CON-SMALL consumes 5 kWh per interval: 14,880 kWh in the month, room for one 10 MWh trade only.
      consumers: { 'CON-1': 40, 'CON-2': 40, 'CON-3': 40, 'CON-4': 40, 'CON-SMALL': 5 },
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await postgres?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (pipeline === undefined) delete process.env.TRADE_PIPELINE;
    else process.env.TRADE_PIPELINE = pipeline;
  });

  const post = (body: object, key: string) =>
    gateway.http
      .post('/v1/trades')
      .set('X-API-Key', market.keys['trading-center'])
      .set('Idempotency-Key', key)
      .send(body)
      .expect(202);
  const final = (tradeId: string) =>
    waitFinal(
      (id) => gateway.http.get(`/v1/trades/${id}`).set('X-API-Key', market.keys.admin),
      tradeId,
      60000,
    );

  /** Restart on the same folder and database with the pipeline on: it claims what is waiting, in one batch. */
  async function runPipeline(): Promise<void> {
    await gateway.close();
    delete process.env.TRADE_PIPELINE;
    gateway = await startGateway({ dataDir, databaseUrl });
  }

  it('rejects only the bad trade of a batch, and the second of two trades on one buyer-month sees the first', async () => {
    const good = ['T-B-1', 'T-B-2', 'T-B-3', 'T-B-4'];
    for (const [i, tradeId] of good.entries()) {
      await post(
        tradeBody(market, {
          tradeId,
          seller: i % 2 === 0 ? 'GEN-1' : 'GEN-2',
          buyer: `CON-${i + 1}`,
          lots: [{ lotId: market.lots[i % 2 === 0 ? 'GEN-1' : 'GEN-2'].shift()! }],
        }),
        tradeId,
      );
    }
    // A trade whose check data does not match its trade data.
    const bad = tradeBody(market, {
      tradeId: 'T-B-BAD',
      seller: 'GEN-1',
      buyer: 'CON-1',
      lots: [{ lotId: market.lots['GEN-1'].shift()! }],
    });
    await post({ ...bad, trade: { ...bad.trade, priceFen: 1 } }, 'T-B-BAD');
    // Two trades of 10 MWh on CON-SMALL's month, which holds 14.88 MWh: one fits, not both.
    for (const tradeId of ['T-SMALL-1', 'T-SMALL-2']) {
      await post(
        tradeBody(market, {
          tradeId,
          seller: 'GEN-2',
          buyer: 'CON-SMALL',
          lots: [{ lotId: market.lots['GEN-2'].shift()! }],
        }),
        tradeId,
      );
    }

    await runPipeline();
    for (const tradeId of good) expect((await final(tradeId)).state).toBe('COMMITTED');
    const rejected = await final('T-B-BAD');
    expect(rejected).toMatchObject({ state: 'REJECTED', failure: { code: 'VERIFICATION_FAILED' } });
    const failed = (rejected.checks as Array<{ name: string; passed: boolean }>).filter((c) => !c.passed);
    expect(failed.map((c) => c.name)).toEqual(['signature']);

    const first = await final('T-SMALL-1');
    const second = await final('T-SMALL-2');
    expect(first.state).toBe('COMMITTED');
    expect(second).toMatchObject({ state: 'REJECTED', failure: { code: 'VERIFICATION_FAILED' } });
    const consumption = (
      second.checks as Array<{
        name: string;
        passed: boolean;
        inputs: { months: Array<{ earlierKwh: number }> };
      }>
    ).find((c) => c.name === 'consumption-covers-volume')!;
    expect(consumption.passed).toBe(false);
    expect(consumption.inputs.months[0].earlierKwh).toBe(10000);
    // Nothing of the rejected trades reached the ledger.
    const db = gateway.app.get(DataSource);
    const sent = (await db.query(`SELECT trade_id FROM trade_transactions WHERE trade_id = ANY($1)`, [
      ['T-B-BAD', 'T-SMALL-2'],
    ])) as unknown[];
    expect(sent).toEqual([]);

    // The attestations of one block are projected together (one statement per table for the run): the
    // projection still equals the ledger, object by object, and every lot move has its version row.
    const blocks = (await db.query(
      `SELECT block_number, count(*)::int AS n FROM projected_events WHERE event_name = 'TradeAttested'
       GROUP BY block_number ORDER BY n DESC`,
    )) as Array<{ n: number }>;
    expect(blocks[0].n).toBeGreaterThan(1);
    const audit = await gateway.http.get('/v1/audit/projection').set('X-API-Key', market.keys.regulator);
    expect(audit.status).toBe(200);
    expect(audit.body.differences).toEqual([]);
    const versions = (await db.query(
      `SELECT t.trade_id, count(v.*)::int AS n FROM trades t
         LEFT JOIN certificate_lot_versions v ON v.tx_id = t.tx_id
       WHERE t.state = 'COMMITTED' GROUP BY t.trade_id`,
    )) as Array<{ trade_id: string; n: number }>;
    expect(versions).toHaveLength(good.length + 1);
    for (const v of versions) expect(v.n).toBeGreaterThanOrEqual(1);
  });

  it('commits exactly one of 20 concurrent trades over one lot', async () => {
    const lotId = market.lots['GEN-1'].shift()!;
    const ids = Array.from({ length: 20 }, (_, i) => `T-LOT-${String(i).padStart(2, '0')}`);
    await Promise.all(
      ids.map((tradeId, i) =>
        post(
          tradeBody(market, { tradeId, seller: 'GEN-1', buyer: `CON-${(i % 4) + 1}`, lots: [{ lotId }] }),
          tradeId,
        ),
      ),
    );
    const finals = await Promise.all(ids.map((id) => final(id)));
    const committed = finals.filter((f) => f.state === 'COMMITTED');
    expect(committed).toHaveLength(1);
    for (const f of finals.filter((x) => x.state === 'REJECTED')) {
      const certificates = (f.checks as Array<{ name: string; passed: boolean }>).find(
        (c) => c.name === 'certificates',
      );
      expect(certificates?.passed).toBe(false);
    }
    // The ledger agrees: the lot is in custody for the one committed trade.
    const lot = JSON.parse(
      Buffer.from(
        await ledgerOf(gateway.app).evaluate({
          identity: REGULATOR,
          transaction: 'certificates:GetLot',
          args: [lotId],
        }),
      ).toString('utf8'),
    ) as { status: string; greenPowerTradeId: string };
    expect(lot).toMatchObject({ status: 'IN_CUSTODY', greenPowerTradeId: committed[0].tradeId });
  });

  it('refuses a deleted API key at once', async () => {
    const created = await gateway.http
      .post('/v1/api-keys')
      .set('X-API-Key', market.keys.admin)
      .send({ label: 'short-lived', role: 'regulator', actsFor: 'NEA' })
      .expect(201);
    await gateway.http.get('/v1/trades').set('X-API-Key', created.body.key).expect(200);
    await gateway.http
      .delete(`/v1/api-keys/${created.body.id}`)
      .set('X-API-Key', market.keys.admin)
      .expect(204);
    const refused = await gateway.http.get('/v1/trades').set('X-API-Key', created.body.key).expect(401);
    expect(refused.body.code).toBeDefined();
  });
});
