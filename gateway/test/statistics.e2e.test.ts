/**
 * The regulator's statistics and exports over HTTP on the real gateway, embedded ledger and PostgreSQL. A known
 * market is run through the real paths (issuances, a committed and a rejected trade, a listing sale, a partial and
 * a whole transfer, a redemption, an exchange, a withdrawal, an old issuance that expires) and every statistic is
 * checked against what was done; bad ranges are refused naming the parameter; exports stream every row of a list
 * (the list's own items, as CSV or NDJSON), 100,000 rows with the gateway's heap bounded.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import type request from 'supertest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MONTHLY_TOTALS_FROM_ROWS } from '../../migrations/1795260000000-Statistics';
import { PARTICIPANT_TOTALS_FROM_ROWS } from '../../migrations/1795265300000-StatisticsByParticipant';
import { ExpirySweeper } from '../src/expiry/expiry-sweeper';
import type { EmbeddedLedger } from '../src/ledger/embedded/embedded-ledger';
import {
  atLedgerTime,
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  TestGateway,
  TestPostgres,
} from './support/harness';
import { ledgerOf, Market, releaseAndClaim, setupMarket, tradeToFinal } from './trades-fixture';

jest.setTimeout(600000);

const ENV = { EXPIRY_SWEEP_INTERVAL_MS: '0', RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_READS_PER_MINUTE: '0' };
const OLD_PROJECT = 'P1300002019000042';
const BULK_ROWS = Number(process.env.EXPORT_TEST_ROWS ?? 100_000);

// A full garbage collection on demand, to measure the live heap (Jest does not start Node with --expose-gc).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** This month in Asia/Shanghai, `YYYY-MM`: when everything the test does (but the old issuance) happens. */
const thisMonth = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 7);

const zero = { issued: 0, traded: 0, redeemed: 0, exchanged: 0, expired: 0, withdrawn: 0 };

describe('regulator statistics and exports', () => {
  let dataDir: string;
  let gateway: TestGateway;
  let embedded: EmbeddedLedger;
  let market: Market;
  let postgres: TestPostgres;
  let db: Client;
  let issuedEach: number;

  /** Everything the scenario did, in certificates: the old issuance (5, expired since) included. */
  const everything = () => ({
    issued: 2 * issuedEach + 5,
    traded: 30,
    redeemed: 3,
    exchanged: 2,
    expired: 5,
    withdrawn: 5,
  });
  const get = (path: string, role: keyof Market['keys'] = 'regulator') =>
    gateway.http.get(path).set('X-API-Key', market.keys[role]);
  const post = (path: string, body: object, role: keyof Market['keys'] = 'trading-center') =>
    gateway.http.post(path).set('X-API-Key', market.keys[role]).send(body);

  beforeAll(async () => {
    dataDir = await tempDir('gec-statistics-');
    postgres = await startTestPostgres();
    const databaseUrl = await postgres.newDatabase();
    gateway = await startGateway({
      dataDir,
      databaseUrl,
      env: ENV,
      wrapLedger: (opened) => (embedded = opened as EmbeddedLedger),
    });
    market = await setupMarket(gateway.http, gateway.app, await readFirstAdminKey(dataDir), {
      sellers: ['GEN-1', 'GEN-2'],
      // CON-2 consumes 1 kWh an interval: too little for a 10,000 kWh green-power trade.
      consumers: { 'CON-1': 40, 'CON-2': 1 },
    });
    issuedEach = (await get('/v1/issuances?unitId=U-GEN-1').expect(200)).body.items[0].certificates;
    const [traded, partlyMoved, wholeMoved, withdrawnFrom] = market.lots['GEN-1'];
    const [rejectedLot, listedLot] = market.lots['GEN-2'];

    // A green-power trade of 10 certificates, its voucher released and claimed; one rejected (CON-2's meters).
    const trade = (tradeId: string, seller: string, buyer: string, lotId: string) =>
      tradeToFinal(gateway.http, market, { tradeId, seller, buyer, lots: [{ lotId }] });
    expect(await trade('T-1', 'GEN-1', 'CON-1', traded)).toBe('COMMITTED');
    expect(await trade('T-2', 'GEN-2', 'CON-2', rejectedLot)).toBe('REJECTED');
    await releaseAndClaim(gateway.http, market, 'VCH-T-1');

    // 10 listed, 6 sold to CON-1 (绿证售卖), who redeems 3 of them.
    await post('/v1/listings', {
      id: 'L-1',
      lotId: listedLot,
      owner: 'GEN-2',
      certificates: 10,
      unitPriceFen: 1500,
    }).expect(201);
    const sold = (await post('/v1/listings/L-1/sell', { buyer: 'CON-1', certificates: 6 }).expect(201)).body
      .lotId;
    await post('/v1/redemptions', {
      id: 'RDM-1',
      owner: 'CON-1',
      beneficiary: 'CON-1 有限公司',
      purpose: '2026 年度绿电消费声明',
      consumptionStartMonth: '2026-01',
      consumptionEndMonth: '2026-12',
      items: [{ lotId: sold, certificates: 3 }],
    }).expect(201);

    // Transfers: 4 of a lot to CON-1, a whole lot (10) to CON-2, who exchanges 2 of it (绿电兑换).
    await post(`/v1/lots/${partlyMoved}/transfer`, { from: 'GEN-1', to: 'CON-1', certificates: 4 }).expect(
      200,
    );
    await post(`/v1/lots/${wholeMoved}/transfer`, { from: 'GEN-1', to: 'CON-2' }).expect(200);
    await post('/v1/exchanges', {
      id: 'EXC-1',
      owner: 'CON-2',
      electricityReference: 'SETTLE-1',
      items: [{ lotId: wholeMoved, certificates: 2 }],
    }).expect(201);

    // The issuer withdraws 5 (dispute).
    await post(`/v1/lots/${withdrawnFrom}/withdraw`, { reason: '争议', certificates: 5 }, 'admin').expect(
      200,
    );

    // GEN-2's old solar unit in Hebei: 5 certificates issued in February 2020, expired since, swept now.
    await post(
      '/v1/units',
      {
        id: 'U-OLD',
        owner: 'GEN-2',
        name: '老光伏电站',
        projectCode: OLD_PROJECT,
        technology: 'SOLAR_PV',
        capacityKw: 1000,
        province: '130000',
        meterIds: ['M-OLD'],
        commissioningDate: '2019-01-01',
      },
      'admin',
    ).expect(201);
    await ledgerOf(gateway.app).submit({
      identity: { mspId: 'GridMSP', name: 'platform' },
      transaction: 'metering:AttestMeterPeriod',
      args: [
        JSON.stringify({
          meterId: 'M-OLD',
          period: '2020-01',
          totalWh: '5000000',
          digest: createHash('sha256').update('M-OLD/2020-01').digest('hex'),
        }),
      ],
    });
    await atLedgerTime(embedded, new Date('2020-02-02T00:00:00+08:00'), () =>
      post('/v1/issuances', { unitId: 'U-OLD', month: '2020-01' }, 'admin').expect(201),
    );
    expect((await gateway.app.get(ExpirySweeper).sweep()).expired).toHaveLength(1);

    db = new Client({ connectionString: databaseUrl });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await gateway?.close();
    await postgres?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  describe('certificates', () => {
    it('counts what was done, by province and technology', async () => {
      const res = await get(
        '/v1/statistics/certificates?from=2020-01&to=2100-01&groupBy=province,technology',
      ).expect(200);
      expect(res.body.groupBy).toEqual(['province', 'technology']);
      expect(res.body.rows).toEqual([
        { province: '130000', technology: 'SOLAR_PV', ...zero, issued: 5, expired: 5 },
        {
          province: '330000',
          technology: 'WIND',
          issued: 2 * issuedEach,
          // the trade (10), the listing sale (6), the transfers (4 and 10)
          traded: 30,
          redeemed: 3,
          exchanged: 2,
          expired: 0,
          withdrawn: 5,
        },
      ]);
      expect(res.body.totals).toEqual(everything());
    });

    it('groups by month (Asia/Shanghai) and counts only the range', async () => {
      const all = await get('/v1/statistics/certificates?from=2020-01-01&to=2100-01-01').expect(200);
      expect(all.body.rows).toEqual([
        { month: '2020-02', ...zero, issued: 5 },
        { month: thisMonth(), ...everything(), issued: 2 * issuedEach },
      ]);
      const before = await get(
        '/v1/statistics/certificates?from=2020-01&to=2020-02-02T00:00:00%2B08:00',
      ).expect(200);
      expect(before.body.rows).toEqual([]);
      expect(before.body.totals).toEqual(zero);
      const exactly = await get(
        '/v1/statistics/certificates?from=2020-02-02T00:00:00%2B08:00&to=2020-03',
      ).expect(200);
      expect(exactly.body.totals).toEqual({ ...zero, issued: 5 });
    });

    it('answers the same from the monthly totals as from the rows (whole months, ragged ends, by participant)', async () => {
      const month = thisMonth();
      const totalsOf = async (query: string) =>
        (await get(`/v1/statistics/certificates?${query}`).expect(200)).body.totals as Record<string, number>;
      const expected = everything();
      // Whole months only (monthly totals), ragged ends (rows at both ends), and by participant (rows only).
      expect(await totalsOf('from=2020-01&to=2100-01&groupBy=province')).toEqual(expected);
      expect(await totalsOf('from=2020-01-15&to=2099-12-31T23:00:00Z&groupBy=technology')).toEqual(expected);
      expect(await totalsOf('from=2020-01&to=2100-01&groupBy=participant')).toEqual(expected);
      const shanghaiDay = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
      const upToNow = `from=${month}&to=${shanghaiDay}T23:59:59%2B08:00`;
      const byParticipant = await totalsOf(`${upToNow}&groupBy=participant`);
      const byMonth = await totalsOf(`${upToNow}&groupBy=month`);
      expect(byMonth).toEqual(byParticipant);
    });

    it('keeps the monthly totals (triggers) equal to a count over the projected rows (the migration’s backfill)', async () => {
      const kept = await db.query(
        `SELECT month, province, technology, measure, certificates::int FROM certificate_statistics_monthly
          WHERE certificates <> 0 ORDER BY 1, 2, 3, 4`,
      );
      const counted = await db.query(
        `SELECT month, province, technology, measure, certificates::int FROM (${MONTHLY_TOTALS_FROM_ROWS}) c ORDER BY 1, 2, 3, 4`,
      );
      expect(kept.rows).toEqual(counted.rows);
      expect(kept.rows.length).toBeGreaterThan(5);
    });

    it('keeps the monthly totals per participant (triggers) equal to a count over the projected rows', async () => {
      const kept = await db.query(
        `SELECT month, participant, province, technology, measure, certificates::int
           FROM certificate_statistics_monthly_participant WHERE certificates <> 0 ORDER BY 1, 2, 3, 4, 5`,
      );
      const counted = await db.query(
        `SELECT month, participant, province, technology, measure, certificates::int
           FROM (${PARTICIPANT_TOTALS_FROM_ROWS}) c ORDER BY 1, 2, 3, 4, 5`,
      );
      expect(kept.rows).toEqual(counted.rows);
      // The seller of a transfer split off a lot (GEN-1), and the holders of final lots, each under their own.
      const traded = kept.rows.filter((r) => r.measure === 'traded');
      expect(traded.map((r) => r.participant).sort()).toEqual(['GEN-1', 'GEN-2']);
      expect(kept.rows.find((r) => r.measure === 'exchanged')?.participant).toBe('CON-2');
    });

    it('answers by participant the same from the kept totals (whole months) as from the rows (no whole month)', async () => {
      const month = thisMonth();
      const [year, number] = month.split('-').map(Number);
      const next = new Date(Date.UTC(year, number, 1)).toISOString().slice(0, 7);
      const statistic = async (query: string) =>
        (await get(`/v1/statistics/certificates?${query}&groupBy=month,participant`).expect(200)).body;
      // This month whole: the kept totals. From its first millisecond on: no whole month, every event counted.
      const kept = await statistic(`from=${month}&to=${next}`);
      const counted = await statistic(`from=${month}-01T00:00:00.001%2B08:00&to=${next}`);
      expect(kept.rows).toEqual(counted.rows);
      expect(kept.rows.length).toBeGreaterThan(3);
      expect(kept.rows.map((r: { participantName: string }) => r.participantName)).toContain(
        'GEN-1 有限公司',
      );
    });

    it('groups by participant: generators issue and sell, holders redeem, exchange and expire', async () => {
      const res = await get('/v1/statistics/certificates?from=2021-01&to=2100-01&groupBy=participant').expect(
        200,
      );
      expect(res.body.rows).toEqual([
        { participant: 'CON-1', participantName: 'CON-1 有限公司', ...zero, redeemed: 3 },
        { participant: 'CON-2', participantName: 'CON-2 有限公司', ...zero, exchanged: 2 },
        {
          participant: 'GEN-1',
          participantName: 'GEN-1 有限公司',
          ...zero,
          issued: issuedEach,
          traded: 24,
          withdrawn: 5,
        },
        {
          participant: 'GEN-2',
          participantName: 'GEN-2 有限公司',
          ...zero,
          issued: issuedEach,
          traded: 6,
          expired: 5,
        },
      ]);
    });

    it('answers the admin, refuses other roles', async () => {
      await get('/v1/statistics/certificates?from=2026-01&to=2027-01', 'admin').expect(200);
      for (const role of ['trading-center', 'energy-platform'] as const) {
        const res = await get('/v1/statistics/certificates?from=2026-01&to=2027-01', role).expect(403);
        expect(res.body.code).toBe('ROLE_NOT_ALLOWED');
      }
    });
  });

  it('counts green consumption attested per consumer', async () => {
    const res = await get('/v1/statistics/green-consumption?from=2026-01&to=2100-01').expect(200);
    expect(res.body.rows).toEqual([
      {
        consumer: 'CON-1',
        consumerName: 'CON-1 有限公司',
        region: '330000',
        vouchers: 1,
        greenKwh: 10000,
        claimedKwh: 10000,
        revokedKwh: 0,
      },
    ]);
    expect(res.body.totals).toEqual({ vouchers: 1, greenKwh: 10000, claimedKwh: 10000, revokedKwh: 0 });
    const none = await get('/v1/statistics/green-consumption?from=2026-01&to=2100-01&consumer=CON-2').expect(
      200,
    );
    expect(none.body.rows).toEqual([]);
  });

  it('counts rejected trades by the check they failed', async () => {
    const res = await get('/v1/statistics/rejected-trades?from=2026-01&to=2100-01').expect(200);
    expect(res.body.rows).toContainEqual({
      check: 'consumption-covers-volume',
      code: null,
      trades: 1,
      volumeKwh: 10000,
    });
    expect(res.body.totals).toEqual({ trades: 1, volumeKwh: 10000 });
  });

  it.each([
    ['/v1/statistics/certificates?to=2027-01', 'VALIDATION_FAILED', 'from'],
    ['/v1/statistics/certificates?from=2026-13&to=2027-01', 'VALIDATION_FAILED', 'from'],
    ['/v1/statistics/certificates?from=2026-01&to=2026-02-30', 'VALIDATION_FAILED', 'to'],
    ['/v1/statistics/certificates?from=2026-01&to=2026-01-15T10:00:00', 'VALIDATION_FAILED', 'to'],
    ['/v1/statistics/certificates?from=2026-05&to=2026-05', 'DATE_RANGE_INVALID', 'to'],
    ['/v1/statistics/green-consumption?from=2027-01&to=2026-01', 'DATE_RANGE_INVALID', 'to'],
    ['/v1/statistics/rejected-trades?from=2026-01-01&to=2025-12-31T16:00:00Z', 'DATE_RANGE_INVALID', 'to'],
    [
      '/v1/statistics/certificates?from=2026-01&to=2027-01&groupBy=month,colour',
      'VALIDATION_FAILED',
      'groupBy',
    ],
    ['/v1/statistics/certificates?from=2026-01&to=2027-01&format=xml', 'VALIDATION_FAILED', 'format'],
    ['/v1/exports/lots?format=json', 'VALIDATION_FAILED', 'format'],
    ['/v1/exports/lots?limit=10', 'VALIDATION_FAILED', 'limit'],
    ['/v1/exports/participants?kind=ROBOT', 'VALIDATION_FAILED', 'kind'],
    ['/v1/exports/units?status=SLEEPING', 'VALIDATION_FAILED', 'status'],
    ['/v1/exports/listings?seller=GEN%201', 'VALIDATION_FAILED', 'seller'],
    ['/v1/exports/meter-attestations?period=2026-13', 'VALIDATION_FAILED', 'period'],
    ['/v1/exports/audit-log?status=42', 'VALIDATION_FAILED', 'status'],
    ['/v1/exports/audit-log?from=yesterday', 'VALIDATION_FAILED', 'from'],
    ['/v1/exports/units?cursor=abc', 'VALIDATION_FAILED', 'cursor'],
  ])('refuses %s naming the bad parameter', async (path, code, field) => {
    const res = await get(path).expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe(code);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
  });

  describe('streamed', () => {
    it('streams a statistic as CSV (format or Accept) and NDJSON, the same rows as JSON', async () => {
      const path = '/v1/statistics/certificates?from=2020-01&to=2100-01&groupBy=province,technology';
      const json = (await get(path).expect(200)).body;
      const csv = await get(`${path}&format=csv`).expect(200);
      expect(csv.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/);
      expect(csv.headers['content-disposition']).toBe(
        'attachment; filename="certificate-statistics-province-technology.csv"',
      );
      expect(csv.text.split('\r\n')).toEqual([
        'province,technology,issued,traded,redeemed,exchanged,expired,withdrawn',
        '130000,SOLAR_PV,5,0,0,0,5,0',
        `330000,WIND,${2 * issuedEach},30,3,2,0,5`,
        '',
      ]);
      const accepted = await get(path).set('Accept', 'text/csv').expect(200);
      expect(accepted.text).toBe(csv.text);
      const ndjson = await get(`${path}&format=ndjson`).buffer(true).parse(text).expect(200);
      expect(ndjson.headers['content-type']).toBe('application/x-ndjson');
      expect(lines(ndjson.body as string)).toEqual(json.rows);
    });

    it('exports every lot of a filter as the list’s items (NDJSON) and as CSV', async () => {
      const listed = (await get('/v1/lots?owner=GEN-1&limit=1000').expect(200)).body.items;
      const ndjson = await get('/v1/exports/lots?owner=GEN-1&format=ndjson')
        .buffer(true)
        .parse(text)
        .expect(200);
      expect(lines(ndjson.body as string)).toEqual(listed);
      const csv = await get('/v1/exports/lots?owner=GEN-1').expect(200);
      const [header, ...rows] = csv.text.trimEnd().split('\r\n');
      expect(header.split(',').slice(0, 4)).toEqual(['id', 'serialStart', 'serialEnd', 'certificates']);
      expect(rows.map((r) => r.split(',')[0])).toEqual(listed.map((l: { id: string }) => l.id));
    });

    it('exports trades, vouchers, issuances, redemptions and exchanges', async () => {
      const expectations: Array<[string, string, number]> = [
        ['/v1/exports/trades?state=REJECTED&format=ndjson', 'tradeId', 1],
        ['/v1/exports/vouchers?consumer=CON-1&format=ndjson', 'id', 1],
        ['/v1/exports/issuances?format=ndjson', 'id', 3],
        ['/v1/exports/redemptions?owner=CON-1&format=ndjson', 'id', 1],
        ['/v1/exports/exchanges?format=ndjson', 'id', 1],
      ];
      for (const [path, key, count] of expectations) {
        const res = await get(path).buffer(true).parse(text).expect(200);
        const items = lines(res.body as string) as Array<Record<string, unknown>>;
        expect([path, items.length]).toEqual([path, count]);
        expect(typeof items[0][key]).toBe('string');
      }
      const trades = await get('/v1/exports/trades?state=REJECTED').set('Accept', 'text/csv').expect(200);
      expect(trades.text.split('\r\n')[1]).toMatch(/^T-2,REJECTED,TC-1,GREEN_POWER,GEN-2,CON-2,10000,/);
    });

    it.each([
      ['participants', '/v1/participants?kind=CONSUMER', 'id', 2],
      ['participants', '/v1/participants', 'id', 4],
      ['units', '/v1/units?owner=GEN-2', 'id', 2],
      ['units', '/v1/units?status=ACTIVE', 'id', 3],
      ['listings', '/v1/listings?seller=GEN-2', 'id', 1],
      ['listings', '/v1/listings?status=OPEN', 'id', 1],
      ['meter-attestations', '/v1/meter-attestations', 'meterId', 2],
      ['meter-attestations', '/v1/meter-attestations?meterId=M-GEN-1', 'meterId', 1],
    ])('exports %s (%s) as exactly the list’s items, NDJSON and CSV', async (name, list, key, least) => {
      const query = list.includes('?') ? list.slice(list.indexOf('?') + 1) : '';
      const listed = (await get(`${list}${query ? '&' : '?'}limit=1000`).expect(200)).body.items as Array<
        Record<string, unknown>
      >;
      expect(listed.length).toBeGreaterThanOrEqual(least);
      const exportPath = `/v1/exports/${name}?${query}`;
      const ndjson = await get(`${exportPath}&format=ndjson`).buffer(true).parse(text).expect(200);
      expect(ndjson.headers['content-disposition']).toBe(`attachment; filename="${name}.ndjson"`);
      expect(lines(ndjson.body as string)).toEqual(listed);
      const csv = await get(exportPath).expect(200);
      expect(csv.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/);
      const [header, ...rows] = csv.text.trimEnd().split('\r\n');
      expect(header.split(',')[0]).toBe(key);
      expect(header).toContain('ledger.txId');
      expect(rows.map((row) => row.split(',')[0])).toEqual(listed.map((item) => item[key]));
    });

    it('exports the regulator audit log as its list’s items, to regulators only', async () => {
      // Up to now: the list and the export are themselves recorded, after this instant.
      const to = new Date().toISOString();
      const listed = (await get(`/v1/audit/log?to=${to}&limit=1000`).expect(200)).body.items;
      expect(listed.length).toBeGreaterThan(10);
      const ndjson = await get(`/v1/exports/audit-log?to=${to}&format=ndjson`)
        .buffer(true)
        .parse(text)
        .expect(200);
      expect(lines(ndjson.body as string)).toEqual(listed);
      const refused = (
        await get(`/v1/exports/audit-log?to=${to}&status=403&format=ndjson`)
          .buffer(true)
          .parse(text)
          .expect(200)
      ).body as string;
      const refusedListed = (await get(`/v1/audit/log?to=${to}&status=403&limit=1000`).expect(200)).body
        .items;
      expect(lines(refused)).toEqual(refusedListed);
      const csv = await get(`/v1/exports/audit-log?to=${to}`).expect(200);
      const [header, ...rows] = csv.text.trimEnd().split('\r\n');
      expect(header).toBe(
        'id,receivedAt,answeredAt,requestId,apiKeyId,role,actsFor,method,path,operationId,status,problemCode',
      );
      // By the log's position as a number (a text order would put 10 before 9).
      expect(rows.map((row) => row.split(',')[0])).toEqual(listed.map((e: { id: string }) => e.id));
      for (const role of ['admin', 'trading-center', 'energy-platform'] as const) {
        expect((await get('/v1/exports/audit-log', role).expect(403)).body.code).toBe('ROLE_NOT_ALLOWED');
      }
    });

    it('refuses the new exports to roles other than the regulator and the admin', async () => {
      for (const name of ['participants', 'units', 'listings', 'meter-attestations']) {
        await get(`/v1/exports/${name}?format=ndjson`, 'admin').expect(200);
        for (const role of ['trading-center', 'energy-platform'] as const) {
          const res = await get(`/v1/exports/${name}`, role).expect(403);
          expect([name, res.body.code]).toEqual([name, 'ROLE_NOT_ALLOWED']);
        }
      }
    });

    it('writes CSV per RFC 4180 and defuses formulas', async () => {
      await db.query(`UPDATE participants SET name = $1 WHERE id = 'CON-1'`, ['=HYPERLINK("x"),"a"\r\nb']);
      try {
        const csv = await get('/v1/statistics/green-consumption?from=2026-01&to=2100-01&format=csv').expect(
          200,
        );
        expect(csv.text).toBe(
          'consumer,consumerName,region,vouchers,greenKwh,claimedKwh,revokedKwh\r\n' +
            `CON-1,"'=HYPERLINK(""x""),""a""\r\nb",330000,1,10000,10000,0\r\n`,
        );
      } finally {
        await db.query(`UPDATE participants SET name = 'CON-1 有限公司' WHERE id = 'CON-1'`);
      }
    });

    it(`streams ${BULK_ROWS} lots with the gateway's heap bounded`, async () => {
      // Real lots are cheap only by the dozen; the export reads the projection, so the rows are copied there.
      await db.query(
        `WITH t AS (SELECT * FROM certificate_lots WHERE id = $2),
              g AS (SELECT n, 'P9900002026000001202610' || lpad(n::text, 7, '0') || 'WT' AS id
                      FROM generate_series(1, $1::int) n)
         INSERT INTO certificate_lots (id, project_code, production_month, sequence_start, sequence_end, volume,
           unit_id, owner, status, expires_at, parent_lot_id, updated_at, updated_tx_id, block_number, doc)
         SELECT g.id, t.project_code, t.production_month, g.n, g.n, 1, t.unit_id, 'BULK-1', t.status, t.expires_at,
                t.parent_lot_id, t.updated_at, t.updated_tx_id, t.block_number,
                t.doc || jsonb_build_object('id', g.id, 'serialStart', g.id, 'serialEnd', g.id, 'sequenceStart', g.n,
                                            'sequenceEnd', g.n, 'volume', 1, 'owner', 'BULK-1')
           FROM t, g`,
        [BULK_ROWS, market.lots['GEN-2'][2]],
      );
      const port = (gateway.app.getHttpServer().address() as AddressInfo).port;
      // The live heap, not garbage V8 has yet to collect: a full collection before each sample, once a second
      // (a collection in a worker that ran other suites is slow; sampling more often starves the export itself).
      const BOUND_MB = 32;
      const liveHeap = () => {
        gc();
        return process.memoryUsage().heapUsed;
      };
      const baseline = liveHeap();
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, liveHeap())), 1000);
      let bytes = 0;
      let newlines = 0;
      try {
        await new Promise<void>((resolve, reject) => {
          const req = httpGet(
            {
              port,
              host: '127.0.0.1',
              agent: false, // no keep-alive socket left open after the test
              path: '/v1/exports/lots?owner=BULK-1&format=ndjson',
              headers: { 'X-API-Key': market.keys.regulator },
            },
            (res) => {
              expect(res.statusCode).toBe(200);
              res.on('data', (chunk: Buffer) => {
                bytes += chunk.length;
                for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) newlines++;
              });
              res.on('end', resolve);
              res.on('error', reject);
            },
          );
          req.on('error', reject);
        });
      } finally {
        clearInterval(sampler);
      }
      expect(newlines).toBe(BULK_ROWS);
      // The answer never sits in memory: the live heap grows by a batch or two in flight, a bound that does not
      // grow with the export (100,000 lots make about 107 MB of NDJSON).
      const growthMb = (peak - baseline) / 2 ** 20;
      expect(growthMb).toBeLessThan(BOUND_MB);
      if (BULK_ROWS >= 100_000) expect(bytes / 2 ** 20).toBeGreaterThan(100);
    });
  });
});

/** Supertest parser keeping an NDJSON body as text. */
function text(res: request.Response, callback: (error: Error | null, body: string) => void): void {
  const stream = res as unknown as NodeJS.ReadableStream;
  let body = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (body += chunk));
  stream.on('end', () => callback(null, body));
}

function lines(body: string): unknown[] {
  return body
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as unknown);
}
