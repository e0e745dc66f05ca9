/**
 * Integrity (regulator audit) over HTTP, on the real gateway, embedded ledger and PostgreSQL: a clean ledger passes
 * the chain verification and the projection check; each tampering is detected and named: a projected row edited
 * (a REDEEMED lot set ACTIVE), a stored trade body, a meter reading, rows deleted or added; a byte flipped in an
 * older block of the block file (the scheduled verification makes the gateway not ready, naming the block; the
 * byte put back, it is ready again); a block rewritten with its record checksum resealed while the gateway was
 * down, which the ledger's own start-up does not see (the verification after start names it).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { common } from '@hyperledger/fabric-protos';
import { Client } from 'pg';
import { summarizeEnvelope } from '../src/ledger/fabric/block-decode';
import { CHAIN_CHECKS } from '../src/ledger/port';
import { AUDIT_TABLES } from '../src/audit/projection-audit';
import { flipText, rewriteBlock } from './support/block-file';
import {
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  TestGateway,
  TestPostgres,
} from './support/harness';
import { ledgerOf, Market, setupMarket, tradeBody, waitFinal } from './trades-fixture';

jest.setTimeout(300000);

/** Every second: the tests wait for the next run by its count, never by time. */
const ENV = {
  CHAIN_VERIFY_INTERVAL_S: '1',
  EXPIRY_SWEEP_INTERVAL_MS: '0',
  RATE_LIMIT_PER_MINUTE: '0',
  RATE_LIMIT_READS_PER_MINUTE: '0',
};

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('integrity: chain verification and projection check', () => {
  let dataDir: string;
  let gateway: TestGateway | undefined;
  let market: Market;
  let db: Client;
  let postgres: TestPostgres;
  let databaseUrl: string;
  let redeemedLot: string;
  /** The embedded ledger's own folder (its block file is in ledger/blocks under it). */
  const ledgerDir = () => join(dataDir, 'ledger');

  const get = (path: string, role: keyof Market['keys'] = 'regulator') =>
    gateway!.http.get(path).set('X-API-Key', market.keys[role]);
  const post = (path: string, body: object, role: keyof Market['keys'] = 'trading-center') =>
    gateway!.http.post(path).set('X-API-Key', market.keys[role]).send(body);
  const projection = async (tables?: string) =>
    (await get(`/v1/audit/projection${tables ? `?tables=${tables}` : ''}`).expect(200)).body;
  const readiness = async () => gateway!.http.get('/health/ready');
  /**
   * Readiness after a verification run that started after now: runs go one at a time, so the second to finish
   * from here (the first may have been under way already) started later.
   */
  const afterNextRun = async () => {
    const runs = (await readiness()).body.checks.chain.runs as number;
    return until(`verification run ${runs + 2}`, async () => {
      const res = await readiness();
      return res.body.checks.chain.runs >= runs + 2 ? res : undefined;
    });
  };

  beforeAll(async () => {
    dataDir = await tempDir('gec-integrity-');
    postgres = await startTestPostgres();
    databaseUrl = await postgres.newDatabase();
    gateway = await startGateway({ dataDir, databaseUrl, env: ENV });
    const admin = await readFirstAdminKey(dataDir);
    market = await setupMarket(gateway.http, gateway.app, admin, {
      sellers: ['GEN-1'],
      consumers: { 'CON-1': 40 },
    });
    // A committed trade (voucher in custody, released), a redemption, an exchange and a sale from a listing.
    await post(
      '/v1/trades',
      tradeBody(market, {
        tradeId: 'T-1',
        seller: 'GEN-1',
        buyer: 'CON-1',
        lots: [{ lotId: market.lots['GEN-1'][0] }],
      }),
    )
      .set('Idempotency-Key', 'T-1')
      .expect(202);
    const trade = await waitFinal((id) => get(`/v1/trades/${id}`), 'T-1');
    expect(trade.state).toBe('COMMITTED');
    await post('/v1/vouchers/VCH-T-1/release', {}).expect(200);
    const [, forRedemption, forExchange, forListing] = market.lots['GEN-1'];
    const redeemed = await post('/v1/redemptions', {
      id: 'RDM-1',
      owner: 'GEN-1',
      beneficiary: 'GEN-1 有限公司',
      purpose: '2026 年度绿电消费声明',
      consumptionStartMonth: '2026-01',
      consumptionEndMonth: '2026-12',
      items: [{ lotId: forRedemption, certificates: 4 }],
    }).expect(201);
    redeemedLot = redeemed.body.ranges[0].lotId;
    await post('/v1/exchanges', {
      id: 'EXC-1',
      owner: 'GEN-1',
      electricityReference: 'SETTLE-ZJ-000123',
      items: [{ lotId: forExchange }],
    }).expect(201);
    await post('/v1/listings', { id: 'LST-1', lotId: forListing, owner: 'GEN-1', unitPriceFen: 1500 }).expect(
      201,
    );
    await post('/v1/listings/LST-1/sell', { buyer: 'CON-1', certificates: 3 }).expect(201);
    db = new Client({ connectionString: databaseUrl });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end().catch(() => undefined);
    await gateway?.close();
    await postgres?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('passes a clean ledger: every table, every block, every check; /health/ready says verified', async () => {
    const check = await projection();
    expect(check.differences).toEqual([]);
    expect(check).toMatchObject({ ok: true, count: 0, limit: 100 });
    expect(check.tables.map((t: { table: string }) => t.table)).toEqual([...AUDIT_TABLES]);
    for (const table of check.tables) {
      expect({ table: table.table, error: table.error, differences: table.differences }).toEqual({
        table: table.table,
        error: null,
        differences: 0,
      });
    }
    const rows = Object.fromEntries(
      check.tables.map((t: { table: string; rows: number }) => [t.table, t.rows]),
    );
    expect(rows).toMatchObject({ trades: 1, redemptions: 1, exchanges: 1, listings: 1, meter_readings: 2 });

    const { height } = (await readiness()).body.checks.ledger;
    const chain = (await get('/v1/audit/chain').expect(200)).body;
    expect(chain).toMatchObject({
      ledger: 'embedded',
      height,
      from: 0,
      to: height - 1,
      ok: true,
      failureCount: 0,
    });
    expect(chain.blocksChecked).toBe(height);
    expect(chain.checks).toEqual(CHAIN_CHECKS.map((check) => ({ check, performed: true, note: null })));

    const ready = await until('the chain verified to the last block', async () => {
      const res = await readiness();
      return res.body.checks.chain.verifiedBlock === height - 1 ? res : undefined;
    });
    expect(ready.status).toBe(200);
    expect(ready.body.checks.chain).toMatchObject({ state: 'verified', failure: null, unchecked: [] });
    const metrics = (await gateway!.http.get('/metrics').expect(200)).text;
    expect(metrics).toMatch(new RegExp(`^gec_chain_verified_block ${height - 1}$`, 'm'));
    expect(metrics).toMatch(/^gec_chain_verification_failing 0$/m);
  });

  it('names a projected lot edited in SQL: table, key, field and both values', async () => {
    await db.query(`UPDATE certificate_lots SET status = 'ACTIVE' WHERE id = $1`, [redeemedLot]);
    try {
      const check = await projection('certificate_lots');
      expect(check).toMatchObject({ ok: false, count: 1 });
      expect(check.differences).toEqual([
        {
          table: 'certificate_lots',
          key: redeemedLot,
          kind: 'DIFFERS',
          field: 'status',
          ledger: 'REDEEMED',
          stored: 'ACTIVE',
        },
      ]);
    } finally {
      await db.query(`UPDATE certificate_lots SET status = 'REDEEMED' WHERE id = $1`, [redeemedLot]);
    }
  });

  it('names a stored trade body edited: its hash against the one the ledger holds', async () => {
    const [{ trade_data_hash: hash }] = (
      await db.query(`SELECT trade_data_hash FROM trades WHERE trade_id = 'T-1'`)
    ).rows;
    await db.query(`UPDATE trades SET trade = jsonb_set(trade, '{priceFen}', '1') WHERE trade_id = 'T-1'`);
    try {
      const check = await projection('trades');
      expect(check.differences).toEqual([
        {
          table: 'trades',
          key: 'T-1',
          kind: 'DIFFERS',
          field: 'sha256(trade)',
          ledger: hash,
          stored: expect.stringMatching(/^[0-9a-f]{64}$/),
        },
      ]);
      expect(check.differences[0].stored).not.toBe(hash);
    } finally {
      await db.query(
        `UPDATE trades SET trade = jsonb_set(trade, '{priceFen}', '4500000') WHERE trade_id = 'T-1'`,
      );
    }
    expect((await projection('trades')).ok).toBe(true);
  });

  it('names a meter reading edited: the period’s Merkle root and total against the attestation', async () => {
    const at = '2026-10-01T00:00:00+08:00';
    await db.query(
      `UPDATE meter_readings SET wh = wh + 1 WHERE meter_id = 'M-GEN-1' AND interval_start = $1`,
      [at],
    );
    try {
      const check = await projection('meter_readings');
      expect(check.differences).toEqual([
        {
          table: 'meter_readings',
          key: 'M-GEN-1/2026-10',
          kind: 'DIFFERS',
          field: 'merkleRoot',
          ledger: expect.stringMatching(/^[0-9a-f]{64}$/),
          stored: expect.stringMatching(/^[0-9a-f]{64}$/),
        },
        {
          table: 'meter_readings',
          key: 'M-GEN-1/2026-10',
          kind: 'DIFFERS',
          field: 'sum(wh)',
          ledger: String(2976 * 100_000),
          stored: String(2976 * 100_000 + 1),
        },
      ]);
    } finally {
      await db.query(
        `UPDATE meter_readings SET wh = wh - 1 WHERE meter_id = 'M-GEN-1' AND interval_start = $1`,
        [at],
      );
    }
  });

  it('names rows missing on either side, and edits of the kept ledger object', async () => {
    const participant = (await db.query(`SELECT * FROM participants WHERE id = 'CON-1'`)).rows[0];
    await db.query(`DELETE FROM participants WHERE id = 'CON-1'`);
    await db.query(
      `INSERT INTO units (id, owner, project_code, technology, province, status, updated_at, updated_tx_id,
         block_number, doc)
       SELECT 'U-GHOST', owner, 'P3309002024009999', technology, province, status, updated_at, updated_tx_id,
         block_number, doc FROM units WHERE id = 'U-GEN-1'`,
    );
    await db.query(`UPDATE vouchers SET doc = jsonb_set(doc, '{volumeKwh}', '99999') WHERE id = 'VCH-T-1'`);
    try {
      const check = await projection('participants,units,vouchers');
      expect(check.differences).toEqual([
        {
          table: 'participants',
          key: 'CON-1',
          kind: 'MISSING_IN_DATABASE',
          field: null,
          ledger: null,
          stored: null,
        },
        {
          table: 'units',
          key: 'U-GHOST',
          kind: 'MISSING_ON_LEDGER',
          field: null,
          ledger: null,
          stored: null,
        },
        {
          table: 'vouchers',
          key: 'VCH-T-1',
          kind: 'DIFFERS',
          field: 'doc.volumeKwh',
          ledger: '10000',
          stored: '99999',
        },
      ]);
      expect(check.tables.map((t: { table: string }) => t.table)).toEqual([
        'participants',
        'units',
        'vouchers',
      ]);
    } finally {
      await db.query(`UPDATE vouchers SET doc = jsonb_set(doc, '{volumeKwh}', '10000') WHERE id = 'VCH-T-1'`);
      await db.query(`DELETE FROM units WHERE id = 'U-GHOST'`);
      const columns = Object.keys(participant);
      await db.query(
        `INSERT INTO participants (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
        columns.map((c) => participant[c]),
      );
    }
    expect((await projection()).ok).toBe(true);
  });

  it('bounds the list (limit) and counts every difference', async () => {
    await db.query(`UPDATE certificate_lots SET owner = 'SOMEONE' WHERE owner = 'GEN-1'`);
    try {
      const check = (await get('/v1/audit/projection?tables=certificate_lots&limit=2').expect(200)).body;
      expect(check.differences).toHaveLength(2);
      expect(check.count).toBeGreaterThan(2);
      expect(check.tables[0].differences).toBe(check.count);
    } finally {
      await db.query(`UPDATE certificate_lots SET owner = doc->>'owner' WHERE owner = 'SOMEONE'`);
    }
  });

  it('answers regulators and admins only, and 400 naming a bad range or table', async () => {
    await get('/v1/audit/chain', 'admin').expect(200);
    await get('/v1/audit/chain', 'trading-center').expect(403);
    await get('/v1/audit/projection', 'energy-platform').expect(403);
    const { height } = (await readiness()).body.checks.ledger;
    const beyond = (await get(`/v1/audit/chain?from=${height}`).expect(400)).body;
    expect(beyond).toMatchObject({ code: 'BLOCK_RANGE_INVALID', errors: [{ field: 'from' }] });
    expect((await get('/v1/audit/chain?from=3&to=2').expect(400)).body.errors[0].field).toBe('to');
    expect((await get('/v1/audit/chain?from=-1').expect(400)).body.code).toBe('VALIDATION_FAILED');
    const tables = (await get('/v1/audit/projection?tables=certificate_lots,api_keys').expect(400)).body;
    expect(tables).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ field: 'tables' }] });
    await get('/v1/audit/projection?limit=0').expect(400);
    // A range in parts: where to continue is said.
    const part = (await get('/v1/audit/chain?from=1&to=2').expect(200)).body;
    expect(part).toMatchObject({ from: 1, to: 2, blocksChecked: 2, ok: true, nextFrom: 3 });
  });

  it('verifies again from block 0 when the block recorded as verified is beyond the ledger (blocks cut away)', async () => {
    const { height } = (await readiness()).body.checks.ledger;
    await db.query(`UPDATE chain_verification SET verified_block = $1`, [height + 5]);
    const ready = await afterNextRun();
    expect(ready.status).toBe(200);
    expect(ready.body.checks.chain).toMatchObject({
      state: 'verified',
      verifiedBlock: height - 1,
      failure: null,
    });
    const [{ verified_block: recorded }] = (await db.query(`SELECT verified_block FROM chain_verification`))
      .rows;
    expect(Number(recorded)).toBe(height - 1);
  });

  it('names a byte flipped in an older block: the chain check, and readiness after the scheduled run', async () => {
    await rewriteBlock(ledgerDir(), 3, (bytes) => (bytes[bytes.length >> 1] ^= 0x01), false);
    try {
      const chain = (await get('/v1/audit/chain').expect(200)).body;
      expect(chain.ok).toBe(false);
      expect(chain.firstFailure).toMatchObject({ blockNumber: 3, check: 'record' });
      expect(chain.failures.every((f: { blockNumber: number }) => f.blockNumber === 3)).toBe(true);

      const notReady = await afterNextRun();
      expect(notReady.status).toBe(503);
      expect(notReady.body.status).toBe('not-ready');
      expect(notReady.body.checks.chain).toMatchObject({
        state: 'failed',
        failure: { blockNumber: 3, check: 'record', expected: expect.stringContaining('record checksum') },
      });
      const metrics = (await gateway!.http.get('/metrics').expect(200)).text;
      expect(metrics).toMatch(/^gec_chain_verification_failing 1$/m);
      expect(metrics).toMatch(/^gec_chain_verification_failures_total\{check="record"\} [1-9]\d*$/m);
    } finally {
      await rewriteBlock(ledgerDir(), 3, (bytes) => (bytes[bytes.length >> 1] ^= 0x01), false);
    }
    const ready = await afterNextRun();
    expect(ready.status).toBe(200);
    expect(ready.body.checks.chain).toMatchObject({ state: 'verified', failure: null });
  });

  it('names a block rewritten with a resealed checksum while the gateway was down, after the next start', async () => {
    const ledger = ledgerOf(gateway!.app);
    const block = common.Block.deserializeBinary((await ledger.getBlock(2))!);
    const txId = summarizeEnvelope(block.getData()!.getDataList_asU8()[0]).txId;
    await gateway!.close();
    // A clean restart first: the ledger's own start-up then checks the hash chain only from its last block on.
    gateway = await startGateway({ dataDir, databaseUrl, env: ENV });
    await gateway.close();
    gateway = undefined;
    await rewriteBlock(ledgerDir(), 2, (bytes) => flipText(bytes, txId), true);

    gateway = await startGateway({ dataDir, databaseUrl, env: ENV });
    // The ledger opened without a word: every record checksum holds.
    const started = await readiness();
    expect(started.body.checks.ledger.startup.repairs).toEqual([]);
    const notReady = await until('the verification after start to fail', async () => {
      const res = await readiness();
      return res.body.checks.chain.state === 'failed' ? res : undefined;
    });
    expect(notReady.status).toBe(503);
    expect(notReady.body.checks.chain.failure).toMatchObject({ blockNumber: 2, check: 'data-hash' });
    const chain = (await get('/v1/audit/chain?from=2&to=2').expect(200)).body;
    expect(
      chain.failures.map((f: { blockNumber: number; check: string }) => [f.blockNumber, f.check]),
    ).toEqual([
      [2, 'data-hash'],
      [2, 'tx-index'],
    ]);
  });
});
