/**
 * The two ways ingestion stores new readings end up in the same rows: a request whose every line is new goes in by
 * COPY of the rows the parser kept; a request that repeats an interval, or has a bad line, is inserted from the
 * classified staging table. Both over HTTP, against the real PostgreSQL and the embedded ledger; plus the order
 * checks that decide whether a request can repeat an interval at all.
 */
import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import { minuteIso } from '../src/metering/readings-ingestion.service';
import fc from 'fast-check';
import { bodyLineBatches, bodyLines, NdjsonParser } from '../src/metering/reading-lines';
import {
  participant,
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  TestGateway,
  TestPostgres,
} from './support/harness';

const SHANGHAI = 8 * 3600_000;
const STEP = 15 * 60_000;

/** The first instant of the Asia/Shanghai month two months back (ended, whatever the day). */
function monthBack(): { startMs: number; period: string } {
  const now = new Date(Date.now() + SHANGHAI);
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 1));
  return { startMs: first.getTime() - SHANGHAI, period: first.toISOString().slice(0, 7) };
}

const { startMs: START, period: PERIOD } = monthBack();
const local = (ms: number) => `${new Date(ms + SHANGHAI).toISOString().slice(0, 19)}+08:00`;
const kwh = (wh: number) => `${Math.floor(wh / 1000)}.${String(wh % 1000).padStart(3, '0')}`;
const line = (meterId: string, i: number, wh: number) =>
  JSON.stringify({ meterId, intervalStart: local(START + i * STEP), kwh: kwh(wh) });

describe('ingestion paths', () => {
  let postgres: TestPostgres;
  let dataDir: string;
  let gateway: TestGateway;
  let db: Client;
  let platformKey: string;
  const meters = ['MTR-PATH-A', 'MTR-PATH-B', 'MTR-PATH-C', 'MTR-PATH-D'];

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-ingest-paths-');
    const databaseUrl = await postgres.newDatabase();
    gateway = await startGateway({ dataDir, databaseUrl });
    db = new Client({ connectionString: databaseUrl });
    await db.connect();
    const admin = await readFirstAdminKey(dataDir);
    const key = await gateway.http
      .post('/v1/api-keys')
      .set('X-API-Key', admin)
      .send({ label: 'platform', role: 'energy-platform', actsFor: 'GRID' })
      .expect(201);
    platformKey = key.body.key;
    await gateway.http
      .post('/v1/participants')
      .set('X-API-Key', admin)
      .send(participant('CON-PATHS', { kind: 'CONSUMER', name: 'Paths factory' }))
      .expect(201);
    for (const meterId of meters) {
      await gateway.http
        .post('/v1/meters')
        .set('X-API-Key', admin)
        .send({ meterId, kind: 'CONSUMPTION', owner: 'CON-PATHS' })
        .expect(201);
    }
  });

  afterAll(async () => {
    await db?.end();
    await gateway?.close();
    await postgres?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const ingest = (body: string, query = '') =>
    gateway.http
      .post(`/v1/meter-readings${query}`)
      .set('X-API-Key', platformKey)
      .set('Content-Type', 'application/x-ndjson')
      .send(body);
  const stored = async (meterId: string) =>
    (
      await db.query(
        `SELECT interval_start, wh::int AS wh, version, reason FROM meter_readings
         WHERE meter_id = $1 ORDER BY interval_start`,
        [meterId],
      )
    ).rows as Array<{ interval_start: Date; wh: number; version: number; reason: string | null }>;
  const period = async (meterId: string) =>
    (
      await db.query(
        'SELECT total_wh::int AS total, reading_count FROM meter_periods WHERE meter_id = $1 AND period = $2',
        [meterId, PERIOD],
      )
    ).rows[0] as { total: number; reading_count: number } | undefined;

  it('stores an all-new request interleaving meters (time-major order) exactly, with the monthly totals', async () => {
    const [a, b] = meters;
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) lines.push(line(a, i, 1000 + i), line(b, i, 2 * i + 1));
    const res = await ingest(lines.join('\n')).expect(200);
    expect(res.body).toMatchObject({ accepted: 600, unchanged: 0, corrected: 0, rejected: 0 });
    for (const [meterId, whOf] of [
      [a, (i: number) => 1000 + i],
      [b, (i: number) => 2 * i + 1],
    ] as const) {
      const rows = await stored(meterId);
      expect(rows.map((r) => [r.interval_start.getTime(), r.wh, r.version, r.reason])).toEqual(
        Array.from({ length: 300 }, (_, i) => [START + i * STEP, whOf(i), 1, null]),
      );
      const sum = Array.from({ length: 300 }, (_, i) => whOf(i)).reduce((t, v) => t + v, 0);
      expect(await period(meterId)).toEqual({ total: sum, reading_count: 300 });
    }
  });

  it('stores a request that repeats an interval with the same value once, the repeat counted unchanged', async () => {
    const meterId = meters[2];
    const lines = [
      line(meterId, 0, 500),
      line(meterId, 1, 600),
      line(meterId, 0, 500),
      line(meterId, 2, 700),
    ];
    const res = await ingest(lines.join('\n'), '?mode=atomic').expect(200);
    expect(res.body).toMatchObject({ accepted: 3, unchanged: 1, rejected: 0 });
    expect((await stored(meterId)).map((r) => r.wh)).toEqual([500, 600, 700]);
    expect(await period(meterId)).toEqual({ total: 1800, reading_count: 3 });
  });

  it('stores the good lines of a partial request with a bad one, and the same as a file of good lines alone', async () => {
    const meterId = meters[3];
    const good = Array.from({ length: 50 }, (_, i) => line(meterId, i, 10 * i));
    const res = await ingest(
      [...good.slice(0, 25), line('MTR-NOT-THERE', 0, 1), ...good.slice(25)].join('\n'),
    ).expect(200);
    expect(res.body).toMatchObject({ accepted: 50, rejected: 1 });
    expect(res.body.errors).toEqual([expect.objectContaining({ line: 26, code: 'UNKNOWN_METER' })]);
    expect((await stored(meterId)).map((r) => [r.interval_start.getTime(), r.wh, r.version])).toEqual(
      Array.from({ length: 50 }, (_, i) => [START + i * STEP, 10 * i, 1]),
    );
    expect(await period(meterId)).toEqual({ total: 10 * ((49 * 50) / 2), reading_count: 50 });
    // The good lines alone again: every one is stored already, so all come back unchanged.
    const again = await ingest(good.join('\n')).expect(200);
    expect(again.body).toMatchObject({ accepted: 0, unchanged: 50, rejected: 0 });
  });

  it('stores nothing of an all-new atomic request when it repeats an interval with another value', async () => {
    const meterId = meters[2];
    const lines = [line(meterId, 10, 1), line(meterId, 11, 2), line(meterId, 10, 3)];
    const res = await ingest(lines.join('\n'), '?mode=atomic').expect(422);
    expect(res.body.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([
      [1, 'DUPLICATE_IN_REQUEST'],
      [3, 'DUPLICATE_IN_REQUEST'],
    ]);
    expect(await stored(meterId)).toHaveLength(3);
  });
});

describe('ingestion helpers', () => {
  it("reads a line in the serialisers' exact shape as JSON.parse reads the same reading spaced out", () => {
    const parser = new NdjsonParser(Date.now());
    const values = fc.oneof(
      fc.constantFrom(
        'MTR-1',
        '2026-10-01T00:15:00+08:00',
        '2026-10-01T00:15:30Z',
        '12.345',
        '-1',
        '1.2345',
        '',
      ),
      fc.string({ unit: 'binary', maxLength: 30 }),
    );
    fc.assert(
      fc.property(values, values, values, (meterId, intervalStart, kwh) => {
        const exact = JSON.stringify({ meterId, intervalStart, kwh });
        const spaced = JSON.stringify({ meterId, intervalStart, kwh }, null, 1).replace(/\n/g, ' ');
        expect(parser.parse(exact, 7)).toEqual(parser.parse(spaced, 7));
      }),
      { numRuns: 500 },
    );
  });

  it('writes a minute instant as toISOString does', () => {
    const from = Date.UTC(2023, 11, 31, 0, 0);
    for (let ms = from; ms < from + 3 * 86_400_000; ms += 7 * 60_000) {
      expect(minuteIso(ms)).toBe(new Date(ms).toISOString());
    }
    expect(minuteIso(Date.UTC(2024, 1, 29, 23, 59))).toBe('2024-02-29T23:59:00.000Z');
  });

  it('hands over per chunk exactly the lines bodyLines yields one by one', async () => {
    async function* chunks() {
      yield Buffer.from('a\r\nbb\n');
      yield Buffer.from('c');
      yield Buffer.from('cc\n\nd');
    }
    const one: unknown[] = [];
    for await (const l of bodyLines(chunks())) one.push(l);
    const batched: unknown[] = [];
    for await (const batch of bodyLineBatches(chunks())) batched.push(...batch);
    expect(batched).toEqual(one);
    expect(one).toHaveLength(5);
  });
});
