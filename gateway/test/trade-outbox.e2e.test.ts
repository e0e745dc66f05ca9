/**
 * The trade outbox's leases, on a real PostgreSQL: a claim leases free trades to a live instance and not those
 * sharing a hot key with a leased one; renewal extends only the trades named (a trade whose work ended without
 * being finished or rescheduled lets its lease run out, and is claimed again).
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { DataSource } from 'typeorm';
import { InstanceLiveness } from '../src/database/instance-liveness';
import { TradeOutbox } from '../src/trades/trade-outbox';
import { startGateway, tempDir, TestGateway } from './support/harness';

describe('trade outbox leases', () => {
  let dataDir: string;
  let gateway: TestGateway;
  let db: DataSource;
  let owner: string;
  const pipeline = process.env.TRADE_PIPELINE;

  beforeAll(async () => {
    dataDir = await tempDir('gec-outbox-');
    // The gateway's own pipeline stays off: this test claims by hand.
    process.env.TRADE_PIPELINE = 'off';
    gateway = await startGateway({ dataDir, env: { EXPIRY_SWEEP_INTERVAL_MS: '0' } });
    db = gateway.app.get(DataSource);
    owner = gateway.app.get(InstanceLiveness).id;
  });

  afterAll(async () => {
    await gateway?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (pipeline === undefined) delete process.env.TRADE_PIPELINE;
    else process.env.TRADE_PIPELINE = pipeline;
  });

  async function addTrade(tradeId: string, hotKeys: string[]): Promise<void> {
    await db.query(
      `WITH t AS (
         INSERT INTO trades (trade_id, trading_center, api_key_id, idempotency_key, request_hash, msp_id,
           identity_name, state, kind, seller, buyer, volume_kwh, delivery_start, delivery_end, trade,
           trade_data_hash, check_data, check_data_hash)
         VALUES ($1, 'TC-1', $2, $1, repeat('0', 64), 'TradingCenterMSP', 'admin', 'RECEIVED', 'GREEN_POWER',
           'GEN-1', 'CON-1', 1000, now(), now(), '{}', repeat('0', 64), '{}', repeat('0', 64))
         RETURNING trade_id)
       INSERT INTO trade_outbox (trade_id, hot_keys) SELECT trade_id, $3 FROM t`,
      [tradeId, randomUUID(), hotKeys],
    );
  }

  const leaseUntil = async (tradeId: string): Promise<number> =>
    (
      (await db.query(
        `SELECT extract(epoch FROM lease_until) * 1000 AS at FROM trade_outbox WHERE trade_id = $1`,
        [tradeId],
      )) as Array<{ at: string }>
    ).map((r) => Number(r.at))[0];

  it('claims free trades only, and renews only the trades named', async () => {
    await addTrade('T-A', ['buyer:CON-1:2026-10', 'lot:L-1']);
    await addTrade('T-B', ['buyer:CON-2:2026-10', 'lot:L-2']);
    await addTrade('T-C', ['buyer:CON-1:2026-10', 'lot:L-3']);
    const shortLease = new TradeOutbox(db, owner, 5);
    const claimed = await shortLease.claim(10);
    // T-C shares CON-1's month with T-A: it waits.
    expect(claimed.map((row) => row.trade_id).sort()).toEqual(['T-A', 'T-B']);
    expect(claimed.every((row) => row.state === 'VERIFYING')).toBe(true);
    expect(await shortLease.claim(10)).toEqual([]);

    const a = await leaseUntil('T-A');
    const b = await leaseUntil('T-B');
    await new TradeOutbox(db, owner, 600).renew(['T-A']);
    expect(await leaseUntil('T-A')).toBeGreaterThan(a + 500_000);
    expect(await leaseUntil('T-B')).toBe(b);
  });

  it('finds a free trade behind more waiting trades than one page holds, and keeps each key in order', async () => {
    const blocked = Array.from({ length: 400 }, (_, i) => `T-Q-${String(i).padStart(3, '0')}`);
    for (const id of blocked) await addTrade(id, ['seller:GEN-9:2026-10', `lot:L-Q-${id}`]);
    await addTrade('T-FREE', ['seller:GEN-8:2026-10', 'lot:L-FREE']);
    const outbox = new TradeOutbox(db, owner, 60);
    // The first of GEN-9's trades, then nothing of GEN-9 while it is leased; GEN-8's trade is found after 399.
    expect((await outbox.claim(1)).map((row) => row.trade_id)).toEqual(['T-Q-000']);
    expect((await outbox.claim(5)).map((row) => row.trade_id)).toEqual(['T-FREE']);
    expect(await outbox.claim(5)).toEqual([]);
    // Finished: the next of GEN-9's trades in order, one at a time.
    await outbox.remove(['T-Q-000']);
    expect((await outbox.claim(5)).map((row) => row.trade_id)).toEqual(['T-Q-001']);
  });
});
