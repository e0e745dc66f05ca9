/**
 * Crash safety of the trade pipeline: the compiled gateway (`gateway/dist/main.js`) is killed with SIGKILL while
 * trades are in VERIFYING and COMMITTING (a test hook, TRADE_STEP_DELAY_MS, widens those windows), then started
 * again on the same data folder. Every trade must end exactly once: committed once on the ledger, one voucher.
 *
 * The market is set up first by an in-process gateway on the same folder (embedded PostgreSQL and ledger), which
 * is also used at the end to read the database and ask the ledger.
 */
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { DataSource } from 'typeorm';
import { ledgerOf, Market, setupMarket, tradeBody } from './trades-fixture';
import {
  exited,
  gatewayProcessEnv,
  startGatewayProcess as startProcess,
  stopAll,
  waitForOutput,
} from './support/gateway-process';
import { readFirstAdminKey, startGateway, tempDir } from './support/harness';
import { signatureHeaders } from './support/signing';

// Three gateway process starts (each 10–45 s when the 2 cores are oversubscribed) plus the market's setup: the
// waits inside have their own deadlines, this one only bounds the whole.
jest.setTimeout(240000);

describe('trade pipeline crash safety (SIGKILL)', () => {
  let dataDir: string;
  let env: Record<string, string>;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dataDir = await tempDir('gec-trades-crash-');
    env = await gatewayProcessEnv(dataDir);
  });

  afterAll(async () => {
    await stopAll(children, dataDir);
    if (dataDir) await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
  });

  const inProcess = () =>
    startGateway({ dataDir, env: { EMBEDDED_PG_PORT: env.EMBEDDED_PG_PORT, TRADE_PIPELINE: 'off' } });

  it('finishes every trade exactly once after kill -9 in VERIFYING and COMMITTING', async () => {
    // 1. The market, by an in-process gateway on the folder (its pipeline off).
    let market: Market;
    {
      const setup = await inProcess();
      try {
        market = await setupMarket(setup.http, setup.app, await readFirstAdminKey(dataDir), {
          sellers: ['GEN-1', 'GEN-2', 'GEN-3', 'GEN-4', 'GEN-5', 'GEN-6'],
          consumers: { 'CON-1': 40, 'CON-2': 40, 'CON-3': 40, 'CON-4': 40, 'CON-5': 40, 'CON-6': 40 },
          // 2976 × 15 kWh = 44,640 kWh: four lots of 10 per unit, enough here and quick to split.
          generationKwhPerInterval: 15,
        });
      } finally {
        await setup.close();
      }
    }

    // 2. The real gateway process, slowed down between steps; trades posted; killed mid-way.
    const base = `http://127.0.0.1:${env.PORT}`;
    const first = await startProcess({
      ...env,
      TRADE_STEP_DELAY_MS: '1200',
      TRADE_WORKERS: '6',
      DB_POOL_SIZE: '20',
    });
    children.push(first.child);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      // Two waves, so that the first is at the ledger while the second is being verified.
      if (i === 3) await new Promise((r) => setTimeout(r, 700));
      const seller = `GEN-${i + 1}`;
      const tradeId = `T-CRASH-${i}`;
      ids.push(tradeId);
      const body = tradeBody(market, {
        tradeId,
        seller,
        buyer: `CON-${i + 1}`,
        lots: [{ lotId: market.lots[seller].shift()! }],
      });
      const json = JSON.stringify(body);
      const res = await fetch(`${base}/v1/trades`, {
        method: 'POST',
        headers: {
          'X-API-Key': market.keys['trading-center'],
          'Idempotency-Key': `crash-${i}`,
          'Content-Type': 'application/json',
          ...signatureHeaders(market.keys['trading-center'], 'POST', '/v1/trades', json),
        },
        body: json,
      });
      expect(res.status).toBe(202);
    }
    const states = async () =>
      Promise.all(
        ids.map(async (id) => {
          const res = await fetch(`${base}/v1/trades/${id}`, { headers: { 'X-API-Key': market.keys.admin } });
          return (await res.json()) as { tradeId: string; state: string; txId: string | null };
        }),
      );
    // Kill when, at the same moment, some trade is VERIFYING and some is COMMITTING with its txId stored.
    const deadline = Date.now() + 30000;
    for (;;) {
      const now = await states();
      const verifying = now.some((s) => s.state === 'VERIFYING');
      const committing = now.some((s) => s.state === 'COMMITTING' && s.txId);
      if (verifying && committing) break;
      if (Date.now() > deadline) throw new Error(`never caught trades in flight: ${JSON.stringify(now)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const atKill = await states();
    first.child.kill('SIGKILL');
    await exited(first.child);
    expect(atKill.some((s) => s.state === 'VERIFYING')).toBe(true);
    expect(atKill.some((s) => s.state === 'COMMITTING' && s.txId)).toBe(true);

    // 3. Restart, still slowed down, and kill again in the window between the ledger's commit and the trade row
    //    saying so (the pipeline logs the commit, then pauses).
    const resumed = await startProcess({
      ...env,
      TRADE_STEP_DELAY_MS: '1500',
      DB_POOL_SIZE: '20',
      TRADE_WORKERS: '6',
    });
    children.push(resumed.child);
    const committedLine = /trade (T-CRASH-\d+): ledger committed tx ([0-9a-f]{64}) in block/;
    const [, unrecordedTrade, unrecordedTxId] = await waitForOutput(resumed, committedLine);
    resumed.child.kill('SIGKILL');
    await exited(resumed.child);

    // 4. Restart (normal speed): everything in flight is resumed and finished.
    const second = await startProcess(env);
    children.push(second.child);
    const finalDeadline = Date.now() + 45000;
    let finals = await states();
    while (finals.some((s) => s.state !== 'COMMITTED' && s.state !== 'REJECTED')) {
      if (Date.now() > finalDeadline)
        throw new Error(`not finished after restart: ${JSON.stringify(finals)}`);
      await new Promise((r) => setTimeout(r, 200));
      finals = await states();
    }
    expect(finals.map((s) => s.state)).toEqual(ids.map(() => 'COMMITTED'));
    second.child.kill('SIGTERM');
    await exited(second.child);

    // The trade committed on the ledger but unrecorded at the kill was resolved by its stored txId, not re-submitted.
    expect(finals.find((f) => f.tradeId === unrecordedTrade)?.txId).toBe(unrecordedTxId);

    // 5. Read the database and ask the ledger.
    const check = await inProcess();
    try {
      const db = check.app.get(DataSource);
      const ledger = ledgerOf(check.app);
      const identity = { mspId: 'RegulatorMSP', name: 'regulator' };
      const prepared = (await db.query(
        `SELECT trade_id, tx_id FROM trade_transactions ORDER BY trade_id`,
      )) as Array<{
        trade_id: string;
        tx_id: string;
      }>;
      for (const f of finals) {
        const txIds = prepared.filter((p) => p.trade_id === f.tradeId).map((p) => p.tx_id);
        const valid: string[] = [];
        for (const txId of txIds) {
          const info = await ledger.getTransaction(txId);
          if (info?.validationCode === 'VALID') valid.push(txId);
        }
        // Exactly one of the transaction ids ever prepared for the trade is on the ledger, VALID: the reported one.
        expect({ trade: f.tradeId, valid }).toEqual({ trade: f.tradeId, valid: [f.txId] });
        const onLedger = JSON.parse(
          Buffer.from(
            await ledger.evaluate({ identity, transaction: 'trades:GetTrade', args: [f.tradeId] }),
          ).toString(),
        );
        expect(onLedger.txId).toBe(f.txId);
      }
      const page = JSON.parse(
        Buffer.from(
          await ledger.evaluate({
            identity,
            transaction: 'vouchers:ListVouchers',
            args: [JSON.stringify({ pageSize: 1000 })],
          }),
        ).toString(),
      ) as { items: Array<{ tradeId: string }> };
      expect(page.items.map((v) => v.tradeId).sort()).toEqual([...ids].sort());
      const vouchers = (await db.query(`SELECT trade_id FROM vouchers ORDER BY trade_id`)) as Array<{
        trade_id: string;
      }>;
      expect(vouchers.map((v) => v.trade_id)).toEqual([...ids].sort());
      const outbox = (await db.query(`SELECT count(*)::int AS n FROM trade_outbox`)) as Array<{ n: number }>;
      expect(outbox[0].n).toBe(0);
      // The last transaction id prepared for that trade is the one committed before the kill: no new one.
      const unrecorded = prepared.filter((p) => p.trade_id === unrecordedTrade).map((p) => p.tx_id);
      expect(unrecorded).toContain(unrecordedTxId);
      expect(finals.find((f) => f.tradeId === unrecordedTrade)?.txId).toBe(unrecordedTxId);
      process.stdout.write(
        `trade crash test: states at kill ${JSON.stringify(atKill.map((s) => `${s.state}${s.txId ? '+txId' : ''}`))}; ` +
          `${prepared.length} transaction ids prepared for ${ids.length} trades; ` +
          `${unrecordedTrade} killed between ledger commit and record, resolved by its stored txId\n`,
      );
    } finally {
      await check.close();
    }
  });
});
