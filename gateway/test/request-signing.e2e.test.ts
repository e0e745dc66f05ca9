/**
 * Request signing and rate limits over HTTP (docs/api.md, "request signing", "rate limits"): signed HMAC and
 * SM2 writes, every refusal code, replay protection shared by two gateway instances on one database, admin
 * keys and `requireSignature: false` keys unsigned, a signed streamed bulk ingestion, and per-key token
 * buckets answering 429 with Retry-After. Requests here are signed by hand (plain supertest, not the
 * harness's signing agent), so what is sent is exactly what the test says.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { RequestSigningService, signingString } from '../src/auth/request-signing';
import { EmbeddedLedger } from '../src/ledger/embedded/embedded-ledger';
import { sm2PublicKeyPem } from '../src/signing/sm2';
import {
  participant,
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  type TestGateway,
  type TestPostgres,
} from './support/harness';
import { hmacHeaders, sha256Hex, sm2Headers } from './support/signing';

const PROBLEM = /^application\/problem\+json/;
const SHANGHAI = 8 * 3600_000;

interface CreatedKey {
  id: string;
  key: string;
  requireSignature: boolean;
  signing: { keyId: string; alg: string; secret: string } | null;
}

/** 00:00 Asia/Shanghai on the 1st of last month, as epoch ms: its intervals have all ended. */
function lastMonthStart(): number {
  const now = new Date(Date.now() + SHANGHAI);
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1) - SHANGHAI;
}
const local = (ms: number) => `${new Date(ms + SHANGHAI).toISOString().slice(0, 19)}+08:00`;

describe('request signing and rate limits', () => {
  let postgres: TestPostgres;
  let databaseUrl: string;
  let dir: string;
  let ledger: EmbeddedLedger;
  let first: TestGateway;
  let second: TestGateway;
  let db: Client;
  let admin: string;
  let platform: CreatedKey;
  let raw: ReturnType<typeof request>;
  let meterSerial = 0;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    databaseUrl = await postgres.newDatabase();
    dir = await tempDir('gec-signing-');
    ledger = await EmbeddedLedger.open({ dataDir: join(dir, 'ledger'), sync: false });
    first = await startGateway({ dataDir: join(dir, 'a'), databaseUrl, ledger });
    // The second instance shares the database, the ledger and the secret-box key (as GEC_SECRET_KEY would),
    // and has low rate limits.
    await mkdir(join(dir, 'b'), { recursive: true });
    await copyFile(join(dir, 'a', 'secret.key'), join(dir, 'b', 'secret.key'));
    second = await startGateway({
      dataDir: join(dir, 'b'),
      databaseUrl,
      ledger,
      env: { RATE_LIMIT_READS_PER_MINUTE: '30', RATE_LIMIT_PER_MINUTE: '20' },
    });
    db = new Client({ connectionString: databaseUrl });
    await db.connect();
    raw = request(first.app.getHttpServer());
    admin = await readFirstAdminKey(join(dir, 'a'));
    platform = await createKey({ role: 'energy-platform', actsFor: 'GRID' });
    await raw.post('/v1/participants').set('X-API-Key', admin).send(participant('GEN-1')).expect(201);
    await ledger.submit({
      identity: { mspId: 'GridMSP', name: 'admin' },
      transaction: 'units:RegisterUnit',
      args: [
        JSON.stringify({
          id: 'UNIT-1',
          owner: 'GEN-1',
          name: '某风电场',
          projectCode: '33000020250000001',
          technology: 'WIND',
          capacityKw: 50000,
          province: '330000',
          meterIds: Array.from({ length: 40 }, (_, i) => `MTR-${i + 1}`),
          commissioningDate: '2025-01-01',
        }),
      ],
    });
  });

  afterAll(async () => {
    await db?.end();
    await second?.close();
    await first?.close();
    await ledger?.close();
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function createKey(body: Record<string, unknown>): Promise<CreatedKey> {
    const res = await raw
      .post('/v1/api-keys')
      .set('X-API-Key', admin)
      .send({ label: 'integration', ...body })
      .expect(201);
    return res.body as CreatedKey;
  }

  const nextMeter = () => ({
    meterId: `MTR-${++meterSerial}`,
    kind: 'GENERATION',
    owner: 'GEN-1',
    unitId: 'UNIT-1',
  });

  /** POST a JSON body signed with HMAC; `tamper` changes what is sent after signing. */
  function signedPost(
    path: string,
    body: unknown,
    options: {
      key?: CreatedKey;
      secret?: string;
      keyId?: string;
      timestamp?: string;
      nonce?: string;
      sendPath?: string;
      sendBody?: unknown;
      agent?: ReturnType<typeof request>;
    } = {},
  ) {
    const key = options.key ?? platform;
    const json = JSON.stringify(body);
    const headers = hmacHeaders({
      method: 'POST',
      target: path,
      body: json,
      keyId: options.keyId ?? key.id,
      secret: options.secret ?? key.signing!.secret,
      timestamp: options.timestamp,
      nonce: options.nonce,
    });
    return (options.agent ?? raw)
      .post(options.sendPath ?? path)
      .set('X-API-Key', key.key)
      .set('Content-Type', 'application/json')
      .set(headers)
      .send(options.sendBody !== undefined ? JSON.stringify(options.sendBody) : json);
  }

  const expectProblem = (res: request.Response, status: number, code: string) => {
    expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
    expect(res.headers['content-type']).toMatch(PROBLEM);
  };

  it('creates integration keys that must sign, with a signing secret shown once', async () => {
    expect(platform.requireSignature).toBe(true);
    expect(platform.signing).toEqual({
      keyId: platform.id,
      alg: 'hmac-sha256',
      secret: expect.stringMatching(/^gecs_[A-Za-z0-9_-]{43}$/),
    });
    const list = await raw.get('/v1/api-keys?limit=1000').set('X-API-Key', admin).expect(200);
    const listed = list.body.items.find((k: { id: string }) => k.id === platform.id);
    expect(listed).toMatchObject({ requireSignature: true, signingAlgs: ['hmac-sha256'] });
    expect(JSON.stringify(list.body)).not.toContain(platform.signing!.secret);
    const stored = await db.query('SELECT secret_encrypted FROM api_key_signing_keys WHERE api_key_id = $1', [
      platform.id,
    ]);
    expect(stored.rows[0].secret_encrypted).toMatch(/^v1\./);
    expect(stored.rows[0].secret_encrypted).not.toContain(platform.signing!.secret);
  });

  it('accepts a signed HMAC write', async () => {
    const meter = nextMeter();
    const res = await signedPost('/v1/meters', meter).expect(201);
    expect(res.body.meterId).toBe(meter.meterId);
  });

  it('refuses unsigned writes (SIGNATURE_MISSING) but not reads', async () => {
    const res = await raw.post('/v1/meters').set('X-API-Key', platform.key).send(nextMeter());
    expectProblem(res, 401, 'SIGNATURE_MISSING');
    const headers = hmacHeaders({
      method: 'POST',
      target: '/v1/meters',
      body: '{}',
      keyId: platform.id,
      secret: platform.signing!.secret,
    });
    const noNonce = await raw
      .post('/v1/meters')
      .set('X-API-Key', platform.key)
      .set('X-Gec-Timestamp', headers['X-Gec-Timestamp'])
      .set('X-Gec-Signature', headers['X-Gec-Signature'])
      .send({});
    expectProblem(noNonce, 401, 'SIGNATURE_MISSING');
    await raw.get('/v1/meters/MTR-1').set('X-API-Key', platform.key).expect(200);
  });

  it('refuses a wrong secret, a tampered body or path, another keyId, a malformed header (SIGNATURE_INVALID)', async () => {
    const other = await createKey({ role: 'energy-platform', actsFor: 'GRID' });
    const meter = nextMeter();
    const cases = [
      signedPost('/v1/meters', meter, { secret: other.signing!.secret }),
      signedPost('/v1/meters', meter, { sendBody: { ...meter, meterId: 'MTR-39' } }),
      signedPost('/v1/meters', meter, { sendPath: '/v1/meters?x=1' }),
      signedPost('/v1/meters', meter, { keyId: other.id, secret: other.signing!.secret }),
    ];
    for (const pending of cases) expectProblem(await pending, 401, 'SIGNATURE_INVALID');
    const good = hmacHeaders({
      method: 'POST',
      target: '/v1/meters',
      body: JSON.stringify(meter),
      keyId: platform.id,
      secret: platform.signing!.secret,
    });
    for (const header of [
      'garbage',
      `keyId=${platform.id}, alg=hmac-sha256`,
      good['X-Gec-Signature'].replace('alg=hmac-sha256', 'alg=rsa'),
      // Not registered for this key.
      good['X-Gec-Signature'].replace('alg=hmac-sha256', 'alg=sm2-sm3'),
    ]) {
      const res = await raw
        .post('/v1/meters')
        .set('X-API-Key', platform.key)
        .set({ ...good, 'X-Gec-Signature': header })
        .send(meter);
      expectProblem(res, 401, 'SIGNATURE_INVALID');
    }
    const badTime = await signedPost('/v1/meters', meter, { timestamp: 'yesterday' });
    expectProblem(badTime, 401, 'SIGNATURE_INVALID');
    // Nothing was written.
    await raw.get(`/v1/meters/${meter.meterId}`).set('X-API-Key', platform.key).expect(404);
  });

  it('refuses a timestamp outside ±5 minutes (SIGNATURE_EXPIRED), in any offset', async () => {
    const old = new Date(Date.now() - 6 * 60_000).toISOString();
    expectProblem(await signedPost('/v1/meters', nextMeter(), { timestamp: old }), 401, 'SIGNATURE_EXPIRED');
    const future = local(Date.now() + 6 * 60_000);
    expectProblem(
      await signedPost('/v1/meters', nextMeter(), { timestamp: future }),
      401,
      'SIGNATURE_EXPIRED',
    );
    // 4 minutes ago, in +08:00: accepted.
    await signedPost('/v1/meters', nextMeter(), { timestamp: local(Date.now() - 4 * 60_000) }).expect(201);
  });

  it('refuses a reused nonce (SIGNATURE_REPLAYED), also on another gateway instance', async () => {
    const nonce = `nonce-${Date.now()}`;
    await signedPost('/v1/meters', nextMeter(), { nonce }).expect(201);
    expectProblem(await signedPost('/v1/meters', nextMeter(), { nonce }), 401, 'SIGNATURE_REPLAYED');
    const other = request(second.app.getHttpServer());
    const replay = await signedPost('/v1/meters', nextMeter(), { nonce, agent: other });
    expectProblem(replay, 401, 'SIGNATURE_REPLAYED');
    // The exact same request again (same timestamp, nonce, signature) through the second instance.
    const meter = nextMeter();
    const timestamp = new Date().toISOString();
    await signedPost('/v1/meters', meter, { nonce: 'exact-replay-1', timestamp }).expect(201);
    const again = await signedPost('/v1/meters', meter, { nonce: 'exact-replay-1', timestamp, agent: other });
    expectProblem(again, 401, 'SIGNATURE_REPLAYED');
    // Only authentic requests consume nonces: a forged one does not burn the nonce.
    const fresh = `fresh-${Date.now()}`;
    expectProblem(
      await signedPost('/v1/meters', nextMeter(), { nonce: fresh, secret: 'gecs_wrong' }),
      401,
      'SIGNATURE_INVALID',
    );
    await signedPost('/v1/meters', nextMeter(), { nonce: fresh }).expect(201);
  });

  it('lets exactly one of the same nonce sent at once through (nonces recorded together are still unique)', async () => {
    const nonce = `burst-${Date.now()}`;
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => signedPost('/v1/meters', nextMeter(), { nonce })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 401, 401, 401, 401, 401, 401, 401]);
    for (const a of answers.filter((x) => x.status === 401)) expectProblem(a, 401, 'SIGNATURE_REPLAYED');
    // Different nonces sent at once all pass.
    const fresh = await Promise.all(
      Array.from({ length: 8 }, (_, i) => signedPost('/v1/meters', nextMeter(), { nonce: `${nonce}-${i}` })),
    );
    expect(fresh.map((a) => a.status)).toEqual(Array(8).fill(201));
  });

  it('prunes expired nonces, and an expired nonce may be used again', async () => {
    await db.query(
      `INSERT INTO api_key_nonces (api_key_id, nonce, expires_at) VALUES ($1, 'expired-nonce-1', now() - interval '1 minute')`,
      [platform.id],
    );
    await signedPost('/v1/meters', nextMeter(), { nonce: 'expired-nonce-1' }).expect(201);
    await db.query(
      `INSERT INTO api_key_nonces (api_key_id, nonce, expires_at) VALUES ($1, 'expired-nonce-2', now() - interval '1 minute')`,
      [platform.id],
    );
    expect(await first.app.get(RequestSigningService).pruneNonces()).toBeGreaterThanOrEqual(1);
    const left = await db.query(`SELECT nonce FROM api_key_nonces WHERE expires_at < now()`);
    expect(left.rows).toEqual([]);
    const kept = await db.query(`SELECT nonce FROM api_key_nonces WHERE nonce = 'expired-nonce-1'`);
    expect(kept.rows).toHaveLength(1);
  });

  it('accepts an SM2/SM3-signed write with the registered public key', async () => {
    const d = BigInt('0x3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8');
    const tc = await createKey({ role: 'trading-center', actsFor: 'TC-1' });
    const res = await raw
      .post(`/v1/api-keys/${tc.id}/signing-key`)
      .set('X-API-Key', admin)
      .send({ alg: 'sm2-sm3', publicKeyPem: sm2PublicKeyPem(d) })
      .expect(201);
    expect(res.body).toMatchObject({ keyId: tc.id, alg: 'sm2-sm3' });
    expect(res.body.secret).toBeUndefined();
    // A trading-center write: it reaches the handler (400: the trade is invalid) only past the guard.
    const path = '/v1/trades';
    const body = JSON.stringify({});
    const sm2 = sm2Headers({ method: 'POST', target: path, body, keyId: tc.id, d });
    const signed = await raw
      .post(path)
      .set('X-API-Key', tc.key)
      .set('Content-Type', 'application/json')
      .set(sm2)
      .send(body);
    expect(signed.body.code).not.toMatch(/^SIGNATURE_/);
    expect(signed.status).toBe(400);
    // The same request signed with another SM2 key is refused.
    const wrong = sm2Headers({ method: 'POST', target: path, body, keyId: tc.id, d: d + 1n });
    const refused = await raw
      .post(path)
      .set('X-API-Key', tc.key)
      .set('Content-Type', 'application/json')
      .set(wrong)
      .send(body);
    expectProblem(refused, 401, 'SIGNATURE_INVALID');
    // SM2 on an energy-platform key: a real 201 write.
    await raw
      .post(`/v1/api-keys/${platform.id}/signing-key`)
      .set('X-API-Key', admin)
      .send({ alg: 'sm2-sm3', publicKeyPem: sm2PublicKeyPem(d), sm2Id: 'GRID-PLATFORM' })
      .expect(201);
    const meter = JSON.stringify(nextMeter());
    await raw
      .post('/v1/meters')
      .set('X-API-Key', platform.key)
      .set('Content-Type', 'application/json')
      .set(
        sm2Headers({
          method: 'POST',
          target: '/v1/meters',
          body: meter,
          keyId: platform.id,
          d,
          sm2Id: 'GRID-PLATFORM',
        }),
      )
      .send(meter)
      .expect(201);
    // HMAC still works alongside.
    await signedPost('/v1/meters', nextMeter()).expect(201);
  });

  it('accepts a write signed by the OpenSSL command line (sm2-sm3), not by this code base', async () => {
    let openssl = true;
    try {
      execFileSync('openssl', ['version']);
    } catch {
      openssl = false;
    }
    if (!openssl) {
      console.warn('openssl not found: the OpenSSL-signed request is not tested');
      return;
    }
    const work = join(dir, 'openssl');
    await mkdir(work, { recursive: true });
    const privateKey = join(work, 'key.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'SM2', '-out', privateKey]);
    const publicKeyPem = execFileSync('openssl', ['pkey', '-in', privateKey, '-pubout'], {
      encoding: 'utf8',
    });
    const key = await createKey({ role: 'energy-platform', actsFor: 'GRID' });
    await raw
      .post(`/v1/api-keys/${key.id}/signing-key`)
      .set('X-API-Key', admin)
      .send({ alg: 'sm2-sm3', publicKeyPem })
      .expect(201);
    const body = JSON.stringify(nextMeter());
    const timestamp = new Date().toISOString();
    const nonce = randomUUID();
    const message = join(work, 'message.txt');
    await writeFile(message, signingString('POST', '/v1/meters', timestamp, nonce, sha256Hex(body)));
    const signature = join(work, 'signature.der');
    execFileSync('openssl', [
      'dgst',
      '-sm3',
      '-sign',
      privateKey,
      '-sigopt',
      'distid:1234567812345678',
      '-out',
      signature,
      message,
    ]);
    const sig = (await readFile(signature)).toString('base64');
    await raw
      .post('/v1/meters')
      .set('X-API-Key', key.key)
      .set('Content-Type', 'application/json')
      .set({
        'X-Gec-Timestamp': timestamp,
        'X-Gec-Nonce': nonce,
        'X-Gec-Signature': `keyId=${key.id}, alg=sm2-sm3, sig=${sig}`,
      })
      .send(body)
      .expect(201);
  });

  it('lets admin keys write unsigned, and refuses signing for admin and regulator keys', async () => {
    await raw.post('/v1/participants').set('X-API-Key', admin).send(participant('GEN-2')).expect(201);
    const regulator = await createKey({ role: 'regulator', actsFor: 'NEA' });
    expect(regulator).toMatchObject({ requireSignature: false, signing: null });
    const refused = await raw
      .post('/v1/api-keys')
      .set('X-API-Key', admin)
      .send({ label: 'x', role: 'regulator', actsFor: 'NEA', requireSignature: true });
    expectProblem(refused, 400, 'VALIDATION_FAILED');
    const notApplicable = await raw
      .post(`/v1/api-keys/${regulator.id}/signing-key`)
      .set('X-API-Key', admin)
      .send({ alg: 'hmac-sha256' });
    expectProblem(notApplicable, 422, 'SIGNING_NOT_APPLICABLE');
  });

  it('lets a requireSignature:false key (trials) write unsigned, and still verifies a signature it sends', async () => {
    const trial = await createKey({ role: 'energy-platform', actsFor: 'GRID', requireSignature: false });
    expect(trial.requireSignature).toBe(false);
    expect(trial.signing?.secret).toBeDefined();
    await raw.post('/v1/meters').set('X-API-Key', trial.key).send(nextMeter()).expect(201);
    await signedPost('/v1/meters', nextMeter(), { key: trial }).expect(201);
    expectProblem(
      await signedPost('/v1/meters', nextMeter(), { key: trial, secret: 'gecs_wrong' }),
      401,
      'SIGNATURE_INVALID',
    );
  });

  it('rotates the HMAC secret: the new one works, the old one no longer', async () => {
    const key = await createKey({ role: 'energy-platform', actsFor: 'GRID' });
    const rotated = await raw
      .post(`/v1/api-keys/${key.id}/signing-key`)
      .set('X-API-Key', admin)
      .send({ alg: 'hmac-sha256' })
      .expect(201);
    expect(rotated.body.secret).toMatch(/^gecs_/);
    expectProblem(await signedPost('/v1/meters', nextMeter(), { key }), 401, 'SIGNATURE_INVALID');
    await signedPost('/v1/meters', nextMeter(), { key, secret: rotated.body.secret }).expect(201);
  });

  describe('bulk ingestion (streamed body)', () => {
    const meterId = 'MTR-40';
    const start = lastMonthStart();
    const lines = Array.from({ length: 200 }, (_, i) =>
      JSON.stringify({ meterId, intervalStart: local(start + i * 15 * 60_000), kwh: `${i}.125` }),
    );
    const body = `${lines.join('\n')}\n`;
    const count = async () =>
      Number(
        (await db.query('SELECT count(*) AS n FROM meter_readings WHERE meter_id = $1', [meterId])).rows[0].n,
      );

    beforeAll(async () => {
      await signedPost('/v1/meters', {
        meterId,
        kind: 'GENERATION',
        owner: 'GEN-1',
        unitId: 'UNIT-1',
      }).expect(201);
    });

    /** Send `chunks` one by one (a real stream, chunked transfer encoding) with `headers`. */
    function stream(path: string, headers: Record<string, string>, chunks: string[]) {
      const { port } = first.app.getHttpServer().address() as AddressInfo;
      return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            path,
            method: 'POST',
            headers: { 'X-API-Key': platform.key, 'Content-Type': 'application/x-ndjson', ...headers },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        void (async () => {
          for (const chunk of chunks) {
            req.write(chunk);
            await new Promise((r) => setTimeout(r, 5));
          }
          req.end();
        })();
      });
    }

    const chunks = (text: string) => [text.slice(0, 1000), text.slice(1000, 7000), text.slice(7000)];
    const sign = (path: string, signed: string) =>
      hmacHeaders({
        method: 'POST',
        target: path,
        body: signed,
        keyId: platform.id,
        secret: platform.signing!.secret,
      });

    it('refuses an unsigned or tampered stream, storing nothing', async () => {
      const unsigned = await stream('/v1/meter-readings', {}, chunks(body));
      expect({ status: unsigned.status, code: unsigned.body.code }).toEqual({
        status: 401,
        code: 'SIGNATURE_MISSING',
      });
      const tampered = body.replace('"0.125"', '"9.125"');
      const res = await stream('/v1/meter-readings', sign('/v1/meter-readings', body), chunks(tampered));
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code: 'SIGNATURE_INVALID' });
      const path = '/v1/meter-readings?mode=atomic';
      const otherQuery = await stream(path, sign('/v1/meter-readings', body), chunks(body));
      expect({ status: otherQuery.status, code: otherQuery.body.code }).toEqual({
        status: 401,
        code: 'SIGNATURE_INVALID',
      });
      expect(await count()).toBe(0);
    });

    it('ingests a signed stream, hashed while it streams; the same request again is a replay', async () => {
      const path = '/v1/meter-readings?mode=atomic';
      const headers = sign(path, body);
      const res = await stream(path, headers, chunks(body));
      expect(res).toMatchObject({ status: 200, body: { accepted: 200, rejected: 0 } });
      expect(await count()).toBe(200);
      const again = await stream(path, headers, chunks(body));
      expect({ status: again.status, code: again.body.code }).toEqual({
        status: 401,
        code: 'SIGNATURE_REPLAYED',
      });
      const old = sign(path, body);
      const stale = await stream(
        path,
        {
          ...old,
          ...hmacHeaders({
            method: 'POST',
            target: path,
            body,
            keyId: platform.id,
            secret: platform.signing!.secret,
            timestamp: new Date(Date.now() - 600_000).toISOString(),
          }),
        },
        chunks(body),
      );
      expect({ status: stale.status, code: stale.body.code }).toEqual({
        status: 401,
        code: 'SIGNATURE_EXPIRED',
      });
    });
  });

  describe('rate limits (second instance: 30 reads and 20 writes per minute and key)', () => {
    it('answers 429 RATE_LIMITED with Retry-After per key and kind, then lets requests through again', async () => {
      const http = request(second.app.getHttpServer());
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        statuses.push((await http.get('/v1/meters/MTR-1').set('X-API-Key', platform.key)).status);
      }
      expect(statuses.every((s) => s === 200)).toBe(true);
      const limited = await http.get('/v1/meters/MTR-1').set('X-API-Key', platform.key);
      expectProblem(limited, 429, 'RATE_LIMITED');
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(2);
      // Writes have their own bucket; other keys theirs.
      await signedPost('/v1/meters', nextMeter(), { agent: http }).expect(201);
      await http.get('/v1/api-keys').set('X-API-Key', admin).expect(200);
      await new Promise((r) => setTimeout(r, retryAfter * 1000 + 100));
      await http.get('/v1/meters/MTR-1').set('X-API-Key', platform.key).expect(200);
    });

    it('counts refused writes too (a bulk ingestion is one request, like any other)', async () => {
      const http = request(second.app.getHttpServer());
      const key = await createKey({ role: 'energy-platform', actsFor: 'GRID' });
      const codes: string[] = [];
      for (let i = 0; i < 21; i++) {
        const res = await http.post('/v1/meters').set('X-API-Key', key.key).send({});
        codes.push(res.body.code);
      }
      expect(codes.slice(0, 20).every((c) => c === 'SIGNATURE_MISSING')).toBe(true);
      expect(codes[20]).toBe('RATE_LIMITED');
    });
  });

  it('documents the signing headers and the 401/429 answers in OpenAPI', async () => {
    const doc = (await raw.get('/docs/openapi.json').expect(200)).body;
    const post = doc.paths['/v1/meters'].post;
    const names = (post.parameters as Array<{ name: string; in: string }>)
      .filter((p) => p.in === 'header')
      .map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['X-Gec-Timestamp', 'X-Gec-Nonce', 'X-Gec-Signature']));
    expect(post.responses['401'].description).toContain('SIGNATURE_REPLAYED');
    expect(post.responses['429'].headers['Retry-After']).toBeDefined();
    const get = doc.paths['/v1/meters/{id}'].get;
    expect((get.parameters as Array<{ name: string }>).map((p) => p.name)).not.toContain('X-Gec-Signature');
    expect(doc.paths['/v1/api-keys/{id}/signing-key'].post).toBeDefined();
  });
});
