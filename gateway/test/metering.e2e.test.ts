/**
 * Meter data end to end over HTTP: the meter registry, a month of 15-minute readings for a wind unit's
 * generation meter (NDJSON) and a factory's consumption meter (CSV) streamed into partitioned PostgreSQL
 * tables, idempotent replays, conflicts and corrections, bad lines in both modes, completeness, and closing
 * the period into a meter attestation on the real embedded ledger.
 */
import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import { LEDGER_PORT } from '../src/ledger-module/ledger.tokens';
import type { LedgerPort } from '../src/ledger/port';
import { merkleRoot } from '../src/metering/merkle';
import {
  participant,
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  TestGateway,
  TestPostgres,
} from './support/harness';

const PROBLEM = /^application\/problem\+json/;
const SHANGHAI = 8 * 3600_000;
const STEP = 15 * 60_000;
const WIND = 'MTR-WIND-1';
const FACTORY = 'MTR-FAC-1';

/** The latest Asia/Shanghai month of 31 days that has ended. */
function lastEndedLongMonth(): { period: string; startMs: number } {
  const now = new Date(Date.now() + SHANGHAI);
  for (let back = 1; ; back++) {
    const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
    const days = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
    if (days === 31) {
      const period = first.toISOString().slice(0, 7);
      return { period, startMs: first.getTime() - SHANGHAI };
    }
  }
}

const { period: PERIOD, startMs: START } = lastEndedLongMonth();
const INTERVALS = 31 * 96;

/** Deterministic Wh of interval i (with Wh precision, so kWh has 3 decimals). */
const whOf = (meter: string, i: number) => ((i * 7919 + meter.length * 104729) % 2_500_000) + (i % 7);
const kwh = (wh: number) => `${Math.floor(wh / 1000)}.${String(wh % 1000).padStart(3, '0')}`;
/** RFC 3339 in +08:00, as the platform sends it. */
const local = (ms: number) => `${new Date(ms + SHANGHAI).toISOString().slice(0, 19)}+08:00`;
const at = (i: number) => START + i * STEP;

/** The factory's month comes without the 8 intervals from 2 to 4 o'clock on day 3. */
const gap = { first: 2 * 96 + 8, count: 8 };

const ndjson = (rows: Array<Record<string, unknown>>) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('metering', () => {
  let postgres: TestPostgres;
  let dataDir: string;
  let gateway: TestGateway;
  let db: Client;
  let ledger: LedgerPort;
  const keys: Record<string, string> = {};
  /** What the wind meter's readings are (Wh), to check totals and the Merkle root independently. */
  const windWh = Array.from({ length: INTERVALS }, (_, i) => whOf(WIND, i));

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-metering-');
    const databaseUrl = await postgres.newDatabase();
    gateway = await startGateway({ dataDir, databaseUrl });
    db = new Client({ connectionString: databaseUrl });
    await db.connect();
    ledger = gateway.app.get<LedgerPort>(LEDGER_PORT);
    keys.admin = await readFirstAdminKey(dataDir);
    for (const role of ['energy-platform', 'regulator']) {
      const res = await gateway.http
        .post('/v1/api-keys')
        .set('X-API-Key', keys.admin)
        .send({ label: role, role, actsFor: 'GRID' })
        .expect(201);
      keys[role] = res.body.key;
    }
    for (const body of [
      participant('GEN-WIND-1'),
      participant('CON-FAC-2', { kind: 'CONSUMER', name: '某制造厂' }),
    ]) {
      await gateway.http.post('/v1/participants').set('X-API-Key', keys.admin).send(body).expect(201);
    }
    await ledger.submit({
      identity: { mspId: 'GridMSP', name: 'admin' },
      transaction: 'units:RegisterUnit',
      args: [
        JSON.stringify({
          id: 'UNIT-WIND-1',
          owner: 'GEN-WIND-1',
          name: '某风电场一期',
          projectCode: '33000020250000001',
          technology: 'WIND',
          capacityKw: 50000,
          province: '330000',
          meterIds: [WIND, 'MTR-WIND-SPARE'],
          commissioningDate: '2025-01-01',
        }),
      ],
    });
  });

  afterAll(async () => {
    await db?.end();
    await gateway?.close();
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const post = (path: string, role = 'energy-platform') =>
    gateway.http.post(path).set('X-API-Key', keys[role]);
  const get = (path: string, role = 'energy-platform') => gateway.http.get(path).set('X-API-Key', keys[role]);
  const ingest = (body: string, type = 'application/x-ndjson', query = '') =>
    post(`/v1/meter-readings${query}`).set('Content-Type', type).send(body);
  const count = async (meter: string): Promise<number> =>
    Number(
      (await db.query('SELECT count(*) AS n FROM meter_readings WHERE meter_id = $1', [meter])).rows[0].n,
    );

  describe('registry', () => {
    it('registers a generation meter of a unit and a consumption meter of a factory', async () => {
      const wind = await post('/v1/meters')
        .send({ meterId: WIND, kind: 'GENERATION', owner: 'GEN-WIND-1', unitId: 'UNIT-WIND-1' })
        .expect(201);
      expect(wind.headers.location).toBe(`/v1/meters/${WIND}`);
      expect(wind.body).toMatchObject({
        meterId: WIND,
        kind: 'GENERATION',
        unitId: 'UNIT-WIND-1',
        intervalMinutes: 15,
      });
      await post('/v1/meters', 'admin')
        .send({ meterId: FACTORY, kind: 'CONSUMPTION', owner: 'CON-FAC-2', intervalMinutes: 15 })
        .expect(201);
      const onChain = JSON.parse(
        Buffer.from(
          await ledger.evaluate({
            identity: { mspId: 'GridMSP', name: 'platform' },
            transaction: 'metering:GetConsumptionMeter',
            args: [FACTORY],
          }),
        ).toString('utf8'),
      );
      expect(onChain).toMatchObject({ meterId: FACTORY, consumer: 'CON-FAC-2' });
      // The energy platform (the README's role for the meter registry) registers a consumer's meter on the
      // ledger with its own identity, as it attests the meters' totals.
      await post('/v1/meters')
        .send({ meterId: 'M-FAC-2-B', kind: 'CONSUMPTION', owner: 'CON-FAC-2' })
        .expect(201);
      const byPlatform = JSON.parse(
        Buffer.from(
          await ledger.evaluate({
            identity: { mspId: 'GridMSP', name: 'platform' },
            transaction: 'metering:GetConsumptionMeter',
            args: ['M-FAC-2-B'],
          }),
        ).toString('utf8'),
      );
      expect(byPlatform).toMatchObject({ consumer: 'CON-FAC-2', registeredByMsp: 'GridMSP' });
      const read = await get(`/v1/meters/${FACTORY}`, 'regulator').expect(200);
      expect(read.body).toMatchObject({
        meterId: FACTORY,
        kind: 'CONSUMPTION',
        owner: 'CON-FAC-2',
        unitId: null,
      });
    });

    it('refuses duplicates, unknown owners, wrong kinds, foreign units and intervals that do not divide 60', async () => {
      const cases: Array<[Record<string, unknown>, number, string]> = [
        [
          { meterId: WIND, kind: 'GENERATION', owner: 'GEN-WIND-1', unitId: 'UNIT-WIND-1' },
          409,
          'METER_EXISTS',
        ],
        [{ meterId: 'M-X', kind: 'CONSUMPTION', owner: 'NOBODY' }, 422, 'OWNER_NOT_REGISTERED'],
        [{ meterId: 'M-X', kind: 'CONSUMPTION', owner: 'GEN-WIND-1' }, 422, 'OWNER_KIND_MISMATCH'],
        [
          { meterId: 'M-X', kind: 'GENERATION', owner: 'GEN-WIND-1', unitId: 'UNIT-WIND-1' },
          422,
          'METER_NOT_IN_UNIT',
        ],
        [
          { meterId: 'M-X', kind: 'GENERATION', owner: 'GEN-WIND-1', unitId: 'NO-UNIT' },
          422,
          'UNIT_NOT_FOUND',
        ],
        [{ meterId: 'M-X', kind: 'GENERATION', owner: 'GEN-WIND-1' }, 400, 'VALIDATION_FAILED'],
        [
          { meterId: 'M-X', kind: 'CONSUMPTION', owner: 'CON-FAC-2', intervalMinutes: 7 },
          400,
          'VALIDATION_FAILED',
        ],
      ];
      for (const [body, status, code] of cases) {
        const res = await post('/v1/meters').send(body);
        expect({ body, status: res.status, code: res.body.code }).toEqual({ body, status, code });
        expect(res.headers['content-type']).toMatch(PROBLEM);
      }
      await get('/v1/meters/NOPE').expect(404);
      await post('/v1/meters', 'regulator')
        .send({ meterId: 'M-Y', kind: 'CONSUMPTION', owner: 'CON-FAC-2' })
        .expect(403);
    });
  });

  describe('ingestion', () => {
    const windLines = ndjson(
      windWh.map((wh, i) => ({
        meterId: WIND,
        intervalStart: local(at(i)),
        kwh: i % 2 ? kwh(wh) : Number(kwh(wh)),
      })),
    );
    const factoryCsv =
      'meterId,intervalStart,kwh\r\n' +
      Array.from({ length: INTERVALS }, (_, i) => i)
        .filter((i) => i < gap.first || i >= gap.first + gap.count)
        .map((i) => `${FACTORY},${new Date(at(i)).toISOString()},${kwh(whOf(FACTORY, i))}`)
        .join('\r\n');

    it('stores a month of 15-minute readings (2,976 NDJSON lines) as integer Wh with the monthly total', async () => {
      const res = await ingest(windLines).expect(200);
      expect(res.body).toEqual({
        accepted: INTERVALS,
        unchanged: 0,
        corrected: 0,
        rejected: 0,
        errors: [],
        errorsTruncated: false,
      });
      expect(await count(WIND)).toBe(INTERVALS);
      const total = await db.query(
        'SELECT total_wh, reading_count FROM meter_periods WHERE meter_id = $1 AND period = $2',
        [WIND, PERIOD],
      );
      expect(total.rows[0]).toEqual({
        total_wh: String(windWh.reduce((a, b) => a + b, 0)),
        reading_count: INTERVALS,
      });
      const partition = await db.query(
        `SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM meter_readings WHERE meter_id = $1 GROUP BY 1`,
        [WIND],
      );
      expect(partition.rows).toEqual([{ part: `meter_readings_${PERIOD.replace('-', '')}`, n: INTERVALS }]);
    });

    it('changes nothing when the same file comes again', async () => {
      const res = await ingest(windLines).expect(200);
      expect(res.body).toMatchObject({ accepted: 0, unchanged: INTERVALS, corrected: 0, rejected: 0 });
      expect(await count(WIND)).toBe(INTERVALS);
    });

    it('stores the factory month from CSV and knows the missing intervals', async () => {
      const res = await ingest(factoryCsv, 'text/csv; charset=utf-8').expect(200);
      expect(res.body).toMatchObject({ accepted: INTERVALS - gap.count, rejected: 0 });
      const completeness = await get(`/v1/meters/${FACTORY}/completeness?period=${PERIOD}`).expect(200);
      expect(completeness.body).toMatchObject({
        expected: 2976,
        present: 2976 - gap.count,
        complete: false,
        missingIntervals: gap.count,
        missing: [
          {
            from: new Date(at(gap.first)).toISOString(),
            to: new Date(at(gap.first + gap.count)).toISOString(),
            intervals: gap.count,
          },
        ],
      });
    });

    it('reports a different value as a conflict, and keeps it as a new version when sent as a correction', async () => {
      const line = ndjson([{ meterId: WIND, intervalStart: local(at(100)), kwh: kwh(windWh[100] + 1) }]);
      const conflict = await ingest(line).expect(200);
      expect(conflict.body).toMatchObject({ accepted: 0, corrected: 0, rejected: 1 });
      expect(conflict.body.errors).toEqual([
        expect.objectContaining({ line: 1, meterId: WIND, code: 'READING_CONFLICT' }),
      ]);
      await ingest(line, 'application/x-ndjson', '?correction=true').expect(400);
      const corrected = await ingest(
        line,
        'application/x-ndjson',
        '?correction=true&reason=CT%20ratio',
      ).expect(200);
      expect(corrected.body).toMatchObject({ corrected: 1, rejected: 0 });
      windWh[100] += 1;
      const rows = await db.query(
        `SELECT wh, version, reason FROM meter_readings WHERE meter_id = $1 AND interval_start = $2
         UNION ALL SELECT wh, version, reason FROM meter_reading_versions WHERE meter_id = $1 AND interval_start = $2
         ORDER BY version`,
        [WIND, new Date(at(100))],
      );
      expect(rows.rows).toEqual([
        { wh: String(windWh[100] - 1), version: 1, reason: null },
        { wh: String(windWh[100]), version: 2, reason: 'CT ratio' },
      ]);
      const total = await db.query('SELECT total_wh FROM meter_periods WHERE meter_id = $1 AND period = $2', [
        WIND,
        PERIOD,
      ]);
      expect(total.rows[0].total_wh).toBe(String(windWh.reduce((a, b) => a + b, 0)));
    });

    /** Two good lines (filling half the factory gap) among one of each kind of bad line. */
    const mixed = [
      JSON.stringify({ meterId: FACTORY, intervalStart: local(at(gap.first)), kwh: '1.000' }),
      JSON.stringify({ meterId: 'MTR-UNKNOWN', intervalStart: local(at(0)), kwh: '1' }),
      JSON.stringify({ meterId: FACTORY, intervalStart: local(at(gap.first + 1)), kwh: '-1.5' }),
      JSON.stringify({ meterId: FACTORY, intervalStart: local(at(gap.first + 1)), kwh: '1.2345' }),
      JSON.stringify({ meterId: FACTORY, intervalStart: local(at(gap.first) + 5 * 60_000), kwh: '1' }),
      JSON.stringify({ meterId: FACTORY, intervalStart: local(Date.now() + 86_400_000), kwh: '1' }),
      '{"meterId": "MTR-FAC-1", "intervalStart": ',
      JSON.stringify({ meterId: FACTORY, intervalStart: local(at(gap.first + 2)), kwh: '2' }),
      JSON.stringify({ meterId: FACTORY, intervalStart: local(at(gap.first + 2)), kwh: '3' }),
      JSON.stringify({ meterId: FACTORY, intervalStart: '2026-10-01 00:00', kwh: '1' }),
      JSON.stringify({ meterId: FACTORY, intervalStart: local(at(gap.first + 3)), kwh: 2.5 }),
    ].join('\n');
    const expectedCodes = [
      [2, 'UNKNOWN_METER'],
      [3, 'NEGATIVE_VALUE'],
      [4, 'TOO_MANY_DECIMALS'],
      [5, 'MISALIGNED_INTERVAL'],
      [6, 'FUTURE_INTERVAL'],
      [7, 'MALFORMED_LINE'],
      [8, 'DUPLICATE_IN_REQUEST'],
      [9, 'DUPLICATE_IN_REQUEST'],
      [10, 'INVALID_TIMESTAMP'],
    ];

    it('stores nothing in atomic mode when any line is bad, and names every bad line', async () => {
      const before = await count(FACTORY);
      const res = await ingest(mixed, 'application/x-ndjson', '?mode=atomic').expect(422);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body).toMatchObject({
        code: 'READINGS_REJECTED',
        accepted: 0,
        rejected: expectedCodes.length,
      });
      expect(res.body.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual(
        expectedCodes,
      );
      expect(await count(FACTORY)).toBe(before);
    });

    it('stores the good lines in partial mode and reports the bad ones', async () => {
      const before = await count(FACTORY);
      const res = await ingest(mixed, 'application/x-ndjson', '?mode=partial').expect(200);
      expect(res.body).toMatchObject({ accepted: 2, rejected: expectedCodes.length });
      expect(res.body.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual(
        expectedCodes,
      );
      expect(await count(FACTORY)).toBe(before + 2);
      const completeness = await get(`/v1/meters/${FACTORY}/completeness?period=${PERIOD}`).expect(200);
      expect(completeness.body).toMatchObject({
        present: 2976 - gap.count + 2,
        missing: [
          {
            from: new Date(at(gap.first + 1)).toISOString(),
            to: new Date(at(gap.first + 3)).toISOString(),
            intervals: 2,
          },
          {
            from: new Date(at(gap.first + 4)).toISOString(),
            to: new Date(at(gap.first + gap.count)).toISOString(),
            intervals: 4,
          },
        ],
      });
    });

    it('lists at most 1000 bad lines but counts them all', async () => {
      const body = Array.from({ length: 1500 }, () => 'not json').join('\n');
      const res = await ingest(body).expect(200);
      expect(res.body).toMatchObject({ rejected: 1500, errorsTruncated: true });
      expect(res.body.errors).toHaveLength(1000);
    });

    it('refuses other media types, bad CSV headers and callers that are not the energy platform', async () => {
      const wrongType = await ingest('x', 'text/plain').expect(415);
      expect(wrongType.headers['content-type']).toMatch(PROBLEM);
      const header = await ingest('meter,start,value\nM,1,2\n', 'text/csv').expect(400);
      expect(header.body.code).toBe('CSV_HEADER_INVALID');
      await ingest('', 'application/x-ndjson').expect(400);
      await ingest('{}', 'application/x-ndjson', '?mode=all').expect(400);
      await post('/v1/meter-readings', 'regulator')
        .set('Content-Type', 'application/x-ndjson')
        .send('{}')
        .expect(403);
    });
  });

  describe('closing a period', () => {
    it('refuses to close an incomplete period, naming the missing ranges', async () => {
      const res = await post(`/v1/meters/${FACTORY}/periods/${PERIOD}/close`).send({}).expect(422);
      expect(res.body.code).toBe('PERIOD_INCOMPLETE');
      expect(res.body.errors).toHaveLength(2);
      expect(res.body.detail).toContain(new Date(at(2 * 96 + 9)).toISOString());
    });

    it('refuses a month that has not ended, and unknown meters', async () => {
      const now = new Date(Date.now() + SHANGHAI).toISOString().slice(0, 7);
      const res = await post(`/v1/meters/${WIND}/periods/${now}/close`).send({}).expect(422);
      expect(res.body.code).toBe('PERIOD_NOT_ENDED');
      await post(`/v1/meters/NOPE/periods/${PERIOD}/close`).send({}).expect(404);
      await post(`/v1/meters/${WIND}/periods/2026-13/close`).send({}).expect(400);
      const reason = await post(`/v1/meters/${WIND}/periods/${PERIOD}/close`).send({ reason: 5 }).expect(400);
      expect(reason.body.errors[0].field).toBe('reason');
    });

    it('closes a complete generation period: total and Merkle root attested on the ledger', async () => {
      const res = await post(`/v1/meters/${WIND}/periods/${PERIOD}/close`).expect(200);
      const totalWh = String(windWh.reduce((a, b) => a + b, 0));
      const digest = merkleRoot(
        windWh.map((wh, i) => ({ meterId: WIND, intervalStart: new Date(at(i)), wh })),
      );
      expect(res.body).toMatchObject({
        meterId: WIND,
        period: PERIOD,
        status: 'CLOSED',
        version: 1,
        totalWh,
        readingCount: INTERVALS,
        digest,
        ledger: { txId: expect.stringMatching(/^[0-9a-f]{64}$/), validationCode: 'VALID' },
      });
      const onChain = JSON.parse(
        Buffer.from(
          await ledger.evaluate({
            identity: { mspId: 'RegulatorMSP', name: 'regulator' },
            transaction: 'metering:GetMeterAttestation',
            args: [JSON.stringify({ meterId: WIND, period: PERIOD })],
          }),
        ).toString('utf8'),
      );
      expect(onChain).toMatchObject({
        meterId: WIND,
        period: PERIOD,
        version: 1,
        totalWh,
        digest,
        txId: res.body.ledger.txId,
      });
      const info = await ledger.getTransaction(res.body.ledger.txId);
      expect(info?.blockNumber).toBe(res.body.ledger.blockNumber);

      const view = await get(`/v1/meters/${WIND}/periods/${PERIOD}`, 'regulator').expect(200);
      expect(view.body).toMatchObject({
        status: 'CLOSED',
        frozen: true,
        totalWh,
        attestation: { version: 1, digest },
      });
      await post(`/v1/meters/${WIND}/periods/${PERIOD}/close`).expect(409);
    });

    it('freezes the period: a changed value needs a correction, the same value is still unchanged', async () => {
      const same = ndjson([{ meterId: WIND, intervalStart: local(at(5)), kwh: kwh(windWh[5]) }]);
      expect((await ingest(same).expect(200)).body).toMatchObject({ unchanged: 1, rejected: 0 });
      const changed = ndjson([{ meterId: WIND, intervalStart: local(at(5)), kwh: kwh(windWh[5] + 10) }]);
      const refused = await ingest(changed).expect(200);
      expect(refused.body).toMatchObject({ accepted: 0, corrected: 0, rejected: 1 });
      expect(refused.body.errors[0]).toMatchObject({ line: 1, code: 'PERIOD_FROZEN' });
      const atomic = await ingest(changed, 'application/x-ndjson', '?mode=atomic').expect(422);
      expect(atomic.body.errors[0].code).toBe('PERIOD_FROZEN');
    });

    it('re-closes a corrected period as attestation version 2 (metering:CorrectMeterPeriod)', async () => {
      const changed = ndjson([{ meterId: WIND, intervalStart: local(at(5)), kwh: kwh(windWh[5] + 10) }]);
      const res = await ingest(
        changed,
        'application/x-ndjson',
        '?correction=true&reason=meter%20swap',
      ).expect(200);
      expect(res.body).toMatchObject({ corrected: 1 });
      windWh[5] += 10;
      const open = await get(`/v1/meters/${WIND}/periods/${PERIOD}`).expect(200);
      expect(open.body).toMatchObject({ status: 'OPEN', frozen: true });
      const closed = await post(`/v1/meters/${WIND}/periods/${PERIOD}/close`).expect(200);
      const digest = merkleRoot(
        windWh.map((wh, i) => ({ meterId: WIND, intervalStart: new Date(at(i)), wh })),
      );
      expect(closed.body).toMatchObject({ version: 2, digest, reason: 'meter swap' });
      const onChain = JSON.parse(
        Buffer.from(
          await ledger.evaluate({
            identity: { mspId: 'GridMSP', name: 'platform' },
            transaction: 'metering:GetMeterAttestation',
            args: [JSON.stringify({ meterId: WIND, period: PERIOD })],
          }),
        ).toString('utf8'),
      );
      expect(onChain).toMatchObject({ version: 2, digest, reason: 'meter swap' });
      expect(onChain.versions).toHaveLength(2);
      const view = await get(`/v1/meters/${WIND}/periods/${PERIOD}`).expect(200);
      expect(view.body.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    });

    it('closes a completed consumption period of the factory into an attestation on the ledger', async () => {
      const rest = ndjson(
        [gap.first + 1, gap.first + 2, ...Array.from({ length: 4 }, (_, k) => gap.first + 4 + k)].map(
          (i) => ({
            meterId: FACTORY,
            intervalStart: local(at(i)),
            kwh: kwh(whOf(FACTORY, i)),
          }),
        ),
      );
      expect((await ingest(rest).expect(200)).body).toMatchObject({ accepted: 6, rejected: 0 });
      const completeness = await get(`/v1/meters/${FACTORY}/completeness?period=${PERIOD}`).expect(200);
      expect(completeness.body).toMatchObject({ present: 2976, complete: true, missing: [] });
      const res = await post(`/v1/meters/${FACTORY}/periods/${PERIOD}/close`).expect(200);
      const onChain = JSON.parse(
        Buffer.from(
          await ledger.evaluate({
            identity: { mspId: 'GridMSP', name: 'platform' },
            transaction: 'metering:GetMeterAttestation',
            args: [JSON.stringify({ meterId: FACTORY, period: PERIOD })],
          }),
        ).toString('utf8'),
      );
      expect(onChain).toMatchObject({ version: 1, totalWh: res.body.totalWh, digest: res.body.digest });
      const view = await get(`/v1/meters/${FACTORY}/periods/${PERIOD}`).expect(200);
      expect(view.body).toMatchObject({ status: 'CLOSED', readingCount: 2976 });
    });
  });
  describe('concurrency and conventions', () => {
    /** The month before PERIOD, for the wind meter. */
    const prevStart = (() => {
      const d = new Date(START + SHANGHAI);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1) - SHANGHAI;
    })();
    const prevPeriod = new Date(prevStart + SHANGHAI).toISOString().slice(0, 7);
    const prevCount = (START - prevStart) / STEP;
    const prevWh = Array.from({ length: prevCount }, (_, i) => whOf('prev', i));
    const prevBody = ndjson(
      prevWh.map((wh, i) => ({ meterId: WIND, intervalStart: local(prevStart + i * STEP), kwh: kwh(wh) })),
    );

    it('stores each reading once when the same file arrives three times at once', async () => {
      const results = await Promise.all([ingest(prevBody), ingest(prevBody), ingest(prevBody)]);
      for (const res of results) expect([200, 409]).toContain(res.status);
      const ok = results.filter((res) => res.status === 200);
      expect(ok.reduce((sum, res) => sum + res.body.accepted, 0)).toBe(prevCount);
      const stored = await db.query(
        `SELECT count(*)::int AS n, sum(wh)::text AS total FROM meter_readings
         WHERE meter_id = $1 AND interval_start >= $2 AND interval_start < $3`,
        [WIND, new Date(prevStart), new Date(START)],
      );
      const total = String(prevWh.reduce((a, b) => a + b, 0));
      expect(stored.rows[0]).toEqual({ n: prevCount, total });
      const period = await db.query(
        'SELECT total_wh, reading_count FROM meter_periods WHERE meter_id = $1 AND period = $2',
        [WIND, prevPeriod],
      );
      expect(period.rows[0]).toEqual({ total_wh: total, reading_count: prevCount });
    });

    it('attests a period once when it is closed twice at once', async () => {
      const closes = await Promise.all([
        post(`/v1/meters/${WIND}/periods/${prevPeriod}/close`),
        post(`/v1/meters/${WIND}/periods/${prevPeriod}/close`),
      ]);
      expect(closes.map((res) => res.status).sort()).toEqual([200, 409]);
      expect(closes.find((res) => res.status === 409)?.body.code).toBe('PERIOD_ALREADY_CLOSED');
      const versions = await db.query(
        'SELECT version FROM meter_attestations WHERE meter_id = $1 AND period = $2',
        [WIND, prevPeriod],
      );
      expect(versions.rows).toEqual([{ version: 1 }]);
    });

    it('records the attestation already on the ledger when the database lost it (no second attestation)', async () => {
      const before = await get(`/v1/meters/${WIND}/periods/${prevPeriod}`).expect(200);
      // As if the gateway died after the ledger committed and before PostgreSQL did.
      await db.query('DELETE FROM meter_attestations WHERE meter_id = $1 AND period = $2', [
        WIND,
        prevPeriod,
      ]);
      await db.query(
        `UPDATE meter_periods SET status = 'OPEN', attested_version = 0 WHERE meter_id = $1 AND period = $2`,
        [WIND, prevPeriod],
      );
      const again = await post(`/v1/meters/${WIND}/periods/${prevPeriod}/close`).expect(200);
      expect(again.body).toMatchObject({ version: 1, digest: before.body.attestation.digest });
      expect(again.body.ledger).toEqual(before.body.attestation.ledger);
    });

    it('replays a meter registration with the same Idempotency-Key', async () => {
      const body = { meterId: 'MTR-FAC-2', kind: 'CONSUMPTION', owner: 'CON-FAC-2', intervalMinutes: 30 };
      const first = await post('/v1/meters', 'admin').set('Idempotency-Key', 'reg-1').send(body).expect(201);
      const again = await post('/v1/meters', 'admin').set('Idempotency-Key', 'reg-1').send(body).expect(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      await post('/v1/meters')
        .set('Idempotency-Key', 'reg-1')
        .send({ ...body, intervalMinutes: 60 })
        .expect(409);
      const completeness = await get(`/v1/meters/MTR-FAC-2/completeness?period=${PERIOD}`).expect(200);
      expect(completeness.body).toMatchObject({ expected: 31 * 48, present: 0, missingIntervals: 31 * 48 });
      const half = ndjson([{ meterId: 'MTR-FAC-2', intervalStart: local(at(1)), kwh: '1' }]);
      expect((await ingest(half).expect(200)).body.errors[0].code).toBe('MISALIGNED_INTERVAL');
    });

    it('counts ingested lines by outcome in the metrics', async () => {
      const text = (await gateway.http.get('/metrics').expect(200)).text;
      const value = (series: string) =>
        Number(
          text
            .split('\n')
            .find((l) => l.startsWith(`${series} `))
            ?.slice(series.length + 1),
        );
      // The tests above stored months of readings, replayed them, corrected some, and refused bad lines in both modes.
      for (const outcome of ['accepted', 'unchanged', 'corrected', 'rejected', 'rolled_back']) {
        expect(value(`gec_meter_readings_total{outcome="${outcome}"}`)).toBeGreaterThan(0);
      }
      expect(value('gec_http_problems_total{status="422",code="READINGS_REJECTED"}')).toBeGreaterThan(0);
    });

    it('documents every metering endpoint in the OpenAPI document', async () => {
      const doc = (await gateway.http.get('/docs/openapi.json').expect(200)).body;
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/v1/meters',
          '/v1/meters/{id}',
          '/v1/meter-readings',
          '/v1/meters/{id}/completeness',
          '/v1/meters/{id}/periods/{period}',
          '/v1/meters/{id}/periods/{period}/close',
        ]),
      );
    });
  });
});
