/**
 * Regulator audit over HTTP on the real gateway, embedded ledger and PostgreSQL: the provenance of a serial, of a
 * lot and of a voucher, from the ledger (issuance → split → trade attestation → voucher → redemption, each step
 * with transaction, block, time and organisation; a serial's path excludes its sibling lots; an edited projection
 * changes nothing), and the regulator audit log (every regulator request with its result, append-only in the
 * database, readable by regulators only).
 */
import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import {
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  TestGateway,
  TestPostgres,
} from './support/harness';
import { ledgerOf, Market, releaseAndClaim, setupMarket, tradeToFinal } from './trades-fixture';

jest.setTimeout(300000);

const ENV = { EXPIRY_SWEEP_INTERVAL_MS: '0', RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_READS_PER_MINUTE: '0' };
const TX_ID = /^[0-9a-f]{64}$/;

interface Event {
  kind: string;
  txId: string;
  blockNumber: number;
  committedAt: string;
  mspId: string;
  transaction: string;
  lotId: string | null;
  reference: string | null;
}

describe('regulator audit: provenance and audit log', () => {
  let dataDir: string;
  let gateway: TestGateway;
  let market: Market;
  let postgres: TestPostgres;
  let db: Client;
  let tradedLot: string;
  let redeemedLot: string;
  let rootLot: string;

  const get = (path: string, role: keyof Market['keys'] = 'regulator') =>
    gateway.http.get(path).set('X-API-Key', market.keys[role]);
  const post = (path: string, body: object, role: keyof Market['keys'] = 'trading-center') =>
    gateway.http.post(path).set('X-API-Key', market.keys[role]).send(body);
  const blockOf = async (txId: string) => (await ledgerOf(gateway.app).getTransaction(txId))?.blockNumber;

  beforeAll(async () => {
    dataDir = await tempDir('gec-provenance-');
    postgres = await startTestPostgres();
    const databaseUrl = await postgres.newDatabase();
    gateway = await startGateway({ dataDir, databaseUrl, env: ENV });
    market = await setupMarket(gateway.http, gateway.app, await readFirstAdminKey(dataDir), {
      sellers: ['GEN-1'],
      consumers: { 'CON-1': 40 },
    });
    [tradedLot] = market.lots['GEN-1'];
    const forRedemption = market.lots['GEN-1'][1];
    rootLot = (await get(`/v1/lots/${tradedLot}`).expect(200)).body.parentLotId;
    const state = await tradeToFinal(gateway.http, market, {
      tradeId: 'T-1',
      seller: 'GEN-1',
      buyer: 'CON-1',
      lots: [{ lotId: tradedLot }],
    });
    expect(state).toBe('COMMITTED');
    await releaseAndClaim(gateway.http, market, 'VCH-T-1');
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
    db = new Client({ connectionString: databaseUrl });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await gateway?.close();
    await postgres?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Every event names a VALID transaction by id, its block as the ledger holds it, a time and an organisation. */
  async function expectProven(timeline: Event[]): Promise<void> {
    for (const event of timeline) {
      expect(event.txId).toMatch(TX_ID);
      expect(event.blockNumber).toBe(await blockOf(event.txId));
      expect(Date.parse(event.committedAt)).not.toBeNaN();
      expect(['GridMSP', 'TradingCenterMSP']).toContain(event.mspId);
      expect(event.transaction).toMatch(/^[a-z]+:[A-Za-z]+$/);
    }
  }

  it('traces a traded serial: issuance, split, trade attestation, voucher released and claimed', async () => {
    const lot = (await get(`/v1/lots/${tradedLot}`).expect(200)).body;
    const res = await get(`/v1/certificates/${lot.serialEnd}/provenance`).expect(200);
    const p = res.body as { timeline: Event[]; [key: string]: unknown };
    expect(p).toMatchObject({ lotId: tradedLot, status: 'IN_CUSTODY', owner: 'CON-1' });
    expect(p.issuance).toMatchObject({
      unitId: 'U-GEN-1',
      productionMonth: '2026-10',
      issuedByMsp: 'GridMSP',
    });
    expect((p.issuance as { meters: unknown[] }).meters.length).toBeGreaterThan(0);
    expect(p.timeline.map((e) => [e.kind, e.transaction, e.mspId])).toEqual([
      ['ISSUED', 'certificates:Issue', 'GridMSP'],
      ['SPLIT', 'certificates:Split', 'TradingCenterMSP'],
      ['TRADE_ATTESTED', 'trades:AttestTrade', expect.any(String)],
      ['VOUCHER_RELEASED', 'vouchers:Release', 'TradingCenterMSP'],
      ['VOUCHER_CLAIMED', 'vouchers:Claim', 'TradingCenterMSP'],
    ]);
    expect(p.timeline[2].reference).toBe('T-1');
    expect(p.vouchers).toEqual([
      expect.objectContaining({ voucherId: 'VCH-T-1', tradeId: 'T-1', status: 'CLAIMED', consumer: 'CON-1' }),
    ]);
    await expectProven(p.timeline);
    // The same path by lot and by voucher.
    const byLot = (await get(`/v1/lots/${tradedLot}/provenance`).expect(200)).body;
    expect(byLot.timeline.map((e: Event) => e.txId)).toEqual(p.timeline.map((e) => e.txId));
    const byVoucher = (await get('/v1/vouchers/VCH-T-1/provenance').expect(200)).body;
    expect(byVoucher).toMatchObject({ voucherId: 'VCH-T-1', tradeId: 'T-1', status: 'CLAIMED' });
    expect(byVoucher.lots.map((l: { lotId: string }) => l.lotId)).toEqual([tradedLot]);
    expect(byVoucher.lots[0].timeline.map((e: Event) => e.kind)).toContain('TRADE_ATTESTED');
  });

  it('traces a redeemed serial to its redemption', async () => {
    const lot = (await get(`/v1/lots/${redeemedLot}`).expect(200)).body;
    const p = (await get(`/v1/certificates/${lot.serialStart}/provenance`).expect(200)).body;
    expect(p).toMatchObject({ lotId: redeemedLot, status: 'REDEEMED' });
    expect(p.timeline.map((e: Event) => e.kind)).toEqual(['ISSUED', 'SPLIT', 'REDEEMED']);
    expect(p.timeline[2]).toMatchObject({
      reference: 'RDM-1',
      transaction: 'redemption:Redeem',
      lotId: redeemedLot,
    });
    await expectProven(p.timeline);
  });

  it('follows only the lots that held the serial, not its siblings or their splits', async () => {
    const lot = (await get(`/v1/lots/${tradedLot}`).expect(200)).body;
    const p = (await get(`/v1/certificates/${lot.serialStart}/provenance`).expect(200)).body;
    expect(p.steps.map((s: { lotId: string }) => s.lotId)).toEqual([rootLot, tradedLot]);
    // The issued lot was split once per sibling; only its issuance is a move of this serial.
    const rootHistory = (await get(`/v1/lots/${rootLot}/history`).expect(200)).body.versions;
    expect(rootHistory.length).toBeGreaterThan(5);
    expect(p.steps[0].entries.map((e: { kind: string }) => e.kind)).toEqual(['ISSUED']);
    expect(p.steps.every((s: { source: string }) => s.source === 'moves')).toBe(true);
    const siblings = market.lots['GEN-1'].filter((id) => id !== tradedLot);
    const named = JSON.stringify(p);
    for (const sibling of siblings) expect(named).not.toContain(sibling);
  });

  it('answers from the ledger: an edited projected row or block number changes nothing', async () => {
    const lot = (await get(`/v1/lots/${redeemedLot}`).expect(200)).body;
    const before = (await get(`/v1/certificates/${lot.serialStart}/provenance`).expect(200)).body;
    const edited = await db.query(
      `UPDATE certificate_lots SET status = 'ACTIVE', owner = 'CON-9',
              doc = doc || '{"status":"ACTIVE","owner":"CON-9"}'::jsonb WHERE id = $1`,
      [redeemedLot],
    );
    expect(edited.rowCount).toBe(1);
    await db.query(`UPDATE projected_events SET block_number = block_number + 1000`);
    try {
      const after = (await get(`/v1/certificates/${lot.serialStart}/provenance`).expect(200)).body;
      expect(after).toEqual(before);
      expect(after).toMatchObject({ status: 'REDEEMED', owner: 'GEN-1' });
    } finally {
      await db.query(`UPDATE projected_events SET block_number = block_number - 1000`);
      await db.query(
        `UPDATE certificate_lots SET status = 'REDEEMED', owner = 'GEN-1',
                doc = doc || '{"status":"REDEEMED","owner":"GEN-1"}'::jsonb WHERE id = $1`,
        [redeemedLot],
      );
    }
  });

  describe('audit log', () => {
    const since = new Date().toISOString();

    it('records every regulator request with who, what, when and its result', async () => {
      const marker = `?status=REDEEMED&limit=${100 + (Date.now() % 900)}`;
      await get(`/v1/lots${marker}`).expect(200);
      await post('/v1/participants', { id: 'X-1' }, 'regulator').expect(403);
      await get(`/v1/certificates/${'P'.repeat(17)}2026109999999WT/provenance`).expect(404);
      await get(`/v1/lots${marker}`, 'admin').expect(200); // not a regulator: not recorded
      const keys = (await get('/v1/api-keys', 'admin').expect(200)).body.items as Array<{
        id: string;
        role: string;
      }>;
      const regulatorKey = keys.find((k) => k.role === 'regulator')!.id;
      const log = (await get(`/v1/audit/log?from=${encodeURIComponent(since)}&limit=1000`).expect(200)).body;
      const mine = log.items.filter((e: { path: string }) => e.path.includes(marker.slice(1)));
      expect(mine).toEqual([
        expect.objectContaining({
          apiKeyId: regulatorKey,
          role: 'regulator',
          actsFor: 'NEA',
          method: 'GET',
          path: `/v1/lots${marker}`,
          operationId: 'listLots',
          status: 200,
          problemCode: null,
        }),
      ]);
      const refused = log.items.filter((e: { status: number }) => e.status >= 400);
      expect(refused).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            method: 'POST',
            path: '/v1/participants',
            operationId: 'registerParticipant',
            status: 403,
            problemCode: 'ROLE_NOT_ALLOWED',
          }),
          expect.objectContaining({
            status: 404,
            operationId: 'getCertificateProvenance',
            problemCode: 'SERIAL_NOT_FOUND',
          }),
        ]),
      );
      for (const e of log.items) expect(e.role).toBe('regulator');
      expect(Date.parse(mine[0].answeredAt)).toBeGreaterThanOrEqual(Date.parse(mine[0].receivedAt));
    });

    it('filters by status, key and time, and pages with a cursor', async () => {
      const forbidden = (await get('/v1/audit/log?status=403').expect(200)).body.items;
      expect(forbidden.length).toBeGreaterThan(0);
      for (const e of forbidden) expect(e.status).toBe(403);
      const all = (await get('/v1/audit/log?limit=1000').expect(200)).body.items as Array<{
        id: string;
        apiKeyId: string;
      }>;
      const byKey = (await get(`/v1/audit/log?apiKeyId=${all[0].apiKeyId}&limit=1000`).expect(200)).body
        .items;
      expect(byKey.length).toBeGreaterThan(0);
      const future = (await get('/v1/audit/log?from=2099-01-01T00:00:00Z').expect(200)).body;
      expect(future).toEqual({ items: [], nextCursor: null });
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: Array<{ id: string }>; nextCursor: string | null } = (
          await get(`/v1/audit/log?limit=2${cursor ? `&cursor=${cursor}` : ''}`).expect(200)
        ).body;
        ids.push(...page.items.map((e) => e.id));
        cursor = page.nextCursor;
      } while (cursor && ids.length < all.length);
      // The walk returns every record `all` held, in order. The requests of this test after `all` are recorded
      // too (a regulator's own reads are audited), so the last page of two may end with one of them: newer.
      expect(ids.slice(0, all.length)).toEqual(all.map((e) => e.id));
      for (const id of ids.slice(all.length))
        expect(BigInt(id)).toBeGreaterThan(BigInt(all[all.length - 1].id));
      expect(ids.length - all.length).toBeLessThanOrEqual(1);
      expect((await get('/v1/audit/log?status=99').expect(400)).body.code).toBe('VALIDATION_FAILED');
    });

    it('is append-only in the database: UPDATE, DELETE and TRUNCATE are refused', async () => {
      const count = async () =>
        Number((await db.query('SELECT count(*) FROM regulator_audit_log')).rows[0].count);
      const before = await count();
      expect(before).toBeGreaterThan(0);
      await expect(db.query(`UPDATE regulator_audit_log SET status = 200`)).rejects.toThrow(/append-only/);
      await expect(db.query(`DELETE FROM regulator_audit_log`)).rejects.toThrow(/append-only/);
      await expect(db.query(`TRUNCATE regulator_audit_log`)).rejects.toThrow(/append-only/);
      expect(await count()).toBe(before);
    });

    it('never breaks a request when the row cannot be written: the answer is sent and the failure counted', async () => {
      const failed = async () => {
        const text = (await gateway.http.get('/metrics').expect(200)).text;
        const line = text
          .split('\n')
          .find((l) => l.startsWith('gec_regulator_audit_records_total{outcome="failed"}'));
        return line ? Number(line.split(' ').pop()) : 0;
      };
      const before = await failed();
      await db.query('ALTER TABLE regulator_audit_log RENAME TO regulator_audit_log_away');
      try {
        const res = await get('/v1/lots?limit=3').expect(200);
        expect(res.body.items).toHaveLength(3);
      } finally {
        await db.query('ALTER TABLE regulator_audit_log_away RENAME TO regulator_audit_log');
      }
      expect(await failed()).toBe(before + 1);
    });

    it('is readable by regulators only', async () => {
      for (const role of ['admin', 'trading-center', 'energy-platform'] as const) {
        const res = await get('/v1/audit/log', role).expect(403);
        expect(res.body.code).toBe('ROLE_NOT_ALLOWED');
      }
      await gateway.http.get('/v1/audit/log').expect(401);
    });
  });
});
