/**
 * The three paths of ingestion give the answers and rows of the classification: a request whose every line is
 * new goes in by the COPY made while its body streamed; a replay is compared with the stored readings; anything
 * else (a repeat, a bad line, a mix of stored and new, a month without its partition, a concurrent request on
 * the same readings) is classified from the staging table. Over HTTP, against the real PostgreSQL and the
 * embedded ledger; plus the order checks that decide whether a request can repeat an interval at all.
 */
import { rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { hmacSignatureHeaders } from '../src/auth/request-signing';
import { Client } from 'pg';
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
  let databaseUrl: string;
  let platformKey: string;
  let platformSigning: { keyId: string; secret: string };
  const meters = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I'].map((letter) => `MTR-PATH-${letter}`);
  const [, , , , REPLAYED, RACED, LATE, CORRECTED] = meters;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-ingest-paths-');
    databaseUrl = await postgres.newDatabase();
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
    platformSigning = key.body.signing;
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
  const period = async (meterId: string, month = PERIOD) =>
    (
      await db.query(
        'SELECT total_wh::int AS total, reading_count FROM meter_periods WHERE meter_id = $1 AND period = $2',
        [meterId, month],
      )
    ).rows[0] as { total: number; reading_count: number } | undefined;
  const sum = (values: number[]) => values.reduce((t, v) => t + v, 0);

  it('answers a replay, a mix of stored and new lines and a changed value as the classification does', async () => {
    const first = Array.from({ length: 100 }, (_, i) => line(REPLAYED, i, 7 * i));
    expect((await ingest(first.join('\n')).expect(200)).body).toMatchObject({ accepted: 100, rejected: 0 });
    expect((await ingest(first.join('\n')).expect(200)).body).toMatchObject({ accepted: 0, unchanged: 100 });
    // Half stored, half new: the speculative COPY meets a stored reading, the comparison finds new lines.
    const mixed = Array.from({ length: 100 }, (_, i) => line(REPLAYED, 50 + i, 7 * (50 + i)));
    expect((await ingest(mixed.join('\n')).expect(200)).body).toMatchObject({
      accepted: 50,
      unchanged: 50,
      rejected: 0,
    });
    const changed = first.slice(0, 10);
    changed[5] = line(REPLAYED, 5, 1);
    const conflict = await ingest(changed.join('\n')).expect(200);
    expect(conflict.body).toMatchObject({ accepted: 0, unchanged: 9, rejected: 1 });
    expect(conflict.body.errors).toEqual([expect.objectContaining({ line: 6, code: 'READING_CONFLICT' })]);
    expect((await stored(REPLAYED)).map((r) => [r.interval_start.getTime(), r.wh, r.version])).toEqual(
      Array.from({ length: 150 }, (_, i) => [START + i * STEP, 7 * i, 1]),
    );
    expect(await period(REPLAYED)).toEqual({
      total: sum(Array.from({ length: 150 }, (_, i) => 7 * i)),
      reading_count: 150,
    });
  });

  it('leaves an all-new request with a line off its grid or not ended to the classification, in both modes', async () => {
    const meterId = LATE;
    const now = Date.now();
    const current = Math.floor(now / STEP) * STEP; // the interval under way: it has not ended
    const lines = [
      line(meterId, 200, 5),
      JSON.stringify({ meterId, intervalStart: local(START + 201 * STEP + 5 * 60_000), kwh: '1' }),
      line(meterId, 202, 6),
      JSON.stringify({ meterId, intervalStart: local(current), kwh: '1' }),
    ];
    const atomic = await ingest(lines.join('\n'), '?mode=atomic').expect(422);
    expect(atomic.body.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([
      [2, 'MISALIGNED_INTERVAL'],
      [4, 'FUTURE_INTERVAL'],
    ]);
    expect((await stored(meterId)).filter((r) => r.interval_start.getTime() >= START + 200 * STEP)).toEqual(
      [],
    );
    const partial = await ingest(lines.join('\n')).expect(200);
    expect(partial.body).toMatchObject({ accepted: 2, rejected: 2 });
    expect(
      (await stored(meterId))
        .filter((r) => r.interval_start.getTime() >= START + 200 * STEP)
        .map((r) => r.wh),
    ).toEqual([5, 6]);
  });

  it('stores a first delivery into a month whose partition does not exist yet, then knows its replay', async () => {
    const meterId = LATE;
    const now = new Date(Date.now() + SHANGHAI);
    const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 6, 1));
    const month = first.toISOString().slice(0, 7);
    const old = (i: number) =>
      JSON.stringify({
        meterId,
        intervalStart: local(first.getTime() - SHANGHAI + i * STEP),
        kwh: kwh(3 * i),
      });
    const body = Array.from({ length: 40 }, (_, i) => old(i)).join('\n');
    expect((await ingest(body).expect(200)).body).toMatchObject({ accepted: 40, rejected: 0 });
    expect((await ingest(body).expect(200)).body).toMatchObject({ accepted: 0, unchanged: 40 });
    expect(await period(meterId, month)).toEqual({
      total: sum(Array.from({ length: 40 }, (_, i) => 3 * i)),
      reading_count: 40,
    });
  });

  it('stores new lines sent as a correction with its reason, as the classification does', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => line(CORRECTED, i, 100 + i));
    const res = await ingest(lines.join('\n'), '?correction=true&reason=meter%20swap').expect(200);
    expect(res.body).toMatchObject({ accepted: 30, corrected: 0, rejected: 0 });
    expect(
      (await stored(CORRECTED)).map((r) => [r.interval_start.getTime(), r.wh, r.version, r.reason]),
    ).toEqual(Array.from({ length: 30 }, (_, i) => [START + i * STEP, 100 + i, 1, 'meter swap']));
    expect(await period(CORRECTED)).toEqual({
      total: sum(Array.from({ length: 30 }, (_, i) => 100 + i)),
      reading_count: 30,
    });
  });

  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** A signed ingestion whose body stops after its first half until `finish` is called. */
  function stalledIngest(body: Buffer): {
    answer: Promise<{ status: number; body: Record<string, number> }>;
    finish: () => void;
  } {
    const half = body.indexOf('\n', body.length / 2) + 1;
    const address = gateway.app.getHttpServer().address() as { port: number };
    const path = '/v1/meter-readings';
    let finish!: () => void;
    const resumed = new Promise<void>((resolve) => (finish = resolve));
    const answer = new Promise<{ status: number; body: Record<string, number> }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: address.port,
          method: 'POST',
          path,
          headers: {
            'X-API-Key': platformKey,
            'Content-Type': 'application/x-ndjson',
            'Content-Length': String(body.length),
            ...hmacSignatureHeaders({ method: 'POST', target: path, body, ...platformSigning }),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.write(body.subarray(0, half));
      void resumed.then(() => req.end(body.subarray(half)));
    });
    return { answer, finish };
  }

  it('gives way to a transaction holding its month and waiting on its uncommitted readings (no deadlock)', async () => {
    // The classification's order, played by hand: a transaction locks the (meter, month) row, then stores a
    // reading. The request's speculative COPY stored that reading first, uncommitted, so the transaction waits
    // on the request; the request then needs the month's lock. Without the speculative transaction's short
    // lock_timeout this is a deadlock (one of the two aborted after deadlock_timeout); with it, the request
    // gives way, the transaction commits, and the request is classified after it: the reading is unchanged.
    const meterId = meters[8];
    const base = 500;
    await ingest(line(meterId, base - 1, 1)).expect(200); // the month's row exists
    const N = 2000;
    const body = Buffer.from(
      Array.from({ length: N }, (_, i) => line(meterId, base + i, 5 * i)).join('\n'),
      'utf8',
    );
    const holder = new Client({ connectionString: databaseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(
        'SELECT 1 FROM meter_periods WHERE meter_id = $1 AND period = $2 FOR NO KEY UPDATE',
        [meterId, PERIOD],
      );
      const request = stalledIngest(body);
      await pause(1000); // the first half is in meter_readings, uncommitted
      const insert = holder.query(
        'INSERT INTO meter_readings (meter_id, interval_start, wh) VALUES ($1, $2, $3)',
        [meterId, new Date(START + base * STEP), 0],
      );
      await pause(300); // waiting on the request's row
      request.finish();
      await insert;
      await holder.query('COMMIT');
      const answer = await request.answer;
      expect(answer).toMatchObject({ status: 200, body: { accepted: N - 1, unchanged: 1, rejected: 0 } });
    } finally {
      await holder.end();
    }
    const rows = (await stored(meterId)).filter((r) => r.interval_start.getTime() >= START + base * STEP);
    expect(rows.map((r) => [r.interval_start.getTime(), r.wh])).toEqual(
      Array.from({ length: N }, (_, i) => [START + (base + i) * STEP, 5 * i]),
    );
  });

  it('stores each reading once when a request sends readings another holds uncommitted', async () => {
    // Request A streams half its body and stalls, its speculative COPY holding those readings uncommitted;
    // request B sends the same readings whole. Whatever the order in which they give way to each other, every
    // reading is stored once, each is new to one request and unchanged to the other, and both answer 200.
    const N = 2400; // one month
    const body = Buffer.from(Array.from({ length: N }, (_, i) => line(RACED, i, 11 * i)).join('\n'), 'utf8');
    const stalled = stalledIngest(body);
    // Time for A's first half to reach PostgreSQL, then B; A's second half once B had time to meet A's rows.
    await pause(1000);
    const answerB = ingest(body.toString('utf8'));
    await pause(1000);
    stalled.finish();
    const [a, b] = await Promise.all([stalled.answer, answerB]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.accepted + b.body.accepted).toBe(N);
    expect(a.body.unchanged + b.body.unchanged).toBe(N);
    expect(a.body.rejected + b.body.rejected).toBe(0);
    expect((await stored(RACED)).map((r) => [r.interval_start.getTime(), r.wh, r.version])).toEqual(
      Array.from({ length: N }, (_, i) => [START + i * STEP, 11 * i, 1]),
    );
    expect(await period(RACED)).toEqual({
      total: sum(Array.from({ length: N }, (_, i) => 11 * i)),
      reading_count: N,
    });
  });

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
