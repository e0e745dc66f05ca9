/**
 * Bad input gets a clear 4xx naming what is wrong, never a 500, and nothing is written: bodies that are not
 * strict JSON (invalid UTF-8, repeated keys, lone surrogate escapes, nesting too deep), form bodies on a JSON
 * API, a declared body over the limit (answered before the body is sent), a trade without its parts, a cursor
 * that is not one.
 */
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { DataSource } from 'typeorm';
import { participant, readFirstAdminKey, startGateway, tempDir, TestGateway } from './support/harness';

describe('hostile input', () => {
  let dataDir: string;
  let gateway: TestGateway;
  let admin: string;
  let tradingCenter: string;
  let port: number;

  beforeAll(async () => {
    dataDir = await tempDir('gec-hostile-');
    gateway = await startGateway({ dataDir, env: { EXPIRY_SWEEP_INTERVAL_MS: '0', BODY_LIMIT: '64kb' } });
    admin = await readFirstAdminKey(dataDir);
    const tc = await gateway.http
      .post('/v1/api-keys')
      .set('X-API-Key', admin)
      .send({ label: 'tc', role: 'trading-center', actsFor: 'TC-1' })
      .expect(201);
    tradingCenter = tc.body.key;
    port = (gateway.app.getHttpServer().address() as { port: number }).port;
  });

  afterAll(async () => {
    await gateway?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const participantsCount = async () =>
    Number(
      (
        (await gateway.app.get(DataSource).query(`SELECT count(*)::int AS n FROM participants`)) as Array<{
          n: number;
        }>
      )[0].n,
    );

  /** The exact bytes, as a client sends them (fetch: no serialisation on the way). */
  const postRaw = async (body: Buffer | string, contentType = 'application/json') => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/participants`, {
      method: 'POST',
      headers: { 'X-API-Key': admin, 'Content-Type': contentType },
      body,
    });
    return {
      status: res.status,
      headers: Object.fromEntries(res.headers),
      body: (await res.json()) as { code: string; detail: string; name?: string },
    };
  };

  it.each([
    [
      'invalid UTF-8',
      Buffer.concat([Buffer.from('{"id":"GEN-1","name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
      'INVALID_JSON',
      /UTF-8/,
    ],
    [
      'a repeated key',
      '{"id":"GEN-1","kind":"GENERATOR","kind":"CONSUMER"}',
      'INVALID_JSON',
      /repeats the key "kind"/,
    ],
    [
      'a lone surrogate escape',
      '{"id":"GEN-1","name":"Wind \\ud800 farm"}',
      'INVALID_JSON',
      /lone UTF-16 surrogate/,
    ],
    [
      'nesting 10,000 deep',
      `${'['.repeat(10000)}${']'.repeat(10000)}`,
      'INVALID_JSON',
      /deeper than 32 levels/,
    ],
    ['broken JSON', '{"id": ', 'MALFORMED_JSON', /not valid JSON/],
  ])('refuses a body with %s (400), writing nothing', async (_what, body, code, detail) => {
    const before = await participantsCount();
    const res = await postRaw(body);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe(code);
    expect(res.body.detail).toMatch(detail);
    expect(await participantsCount()).toBe(before);
  });

  it('still accepts escaped surrogate pairs and the same key in different objects', async () => {
    const body = JSON.stringify(participant('GEN-EMOJI', { name: 'Wind \ud83c\udf2c farm' })).replace(
      '\ud83c\udf2c',
      '\\ud83c\\udf2c',
    );
    const res = await postRaw(body);
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('Wind \ud83c\udf2c farm');
  });

  it('refuses form bodies on the JSON API (415)', async () => {
    const res = await postRaw('id=GEN-2&kind=GENERATOR', 'application/x-www-form-urlencoded');
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 413 to a declared body over the limit before any of it is sent', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          'POST /v1/participants HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
            `X-API-Key: ${admin}\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`,
        );
      });
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString('utf8');
        if (received.includes('\r\n\r\n') && received.includes('}')) {
          socket.destroy();
          resolve(received);
        }
      });
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('PAYLOAD_TOO_LARGE');
  });

  it('refuses a trade without its trade data or check data (400 naming the field)', async () => {
    for (const body of [
      { checkData: { keyId: 'k', alg: 'hmac-sha256', signature: 'AA==' } },
      { trade: {} },
      {},
    ]) {
      const res = await gateway.http
        .post('/v1/trades')
        .set('X-API-Key', tradingCenter)
        .set('Idempotency-Key', `bad-${JSON.stringify(body).length}`)
        .send(body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.errors.length).toBeGreaterThan(0);
    }
  });

  it('refuses a cursor that is not one (400)', async () => {
    for (const path of [
      '/v1/participants?cursor=not-a-cursor',
      '/v1/vouchers?cursor=not-a-cursor',
      '/v1/units?cursor=e30',
      '/v1/api-keys?cursor=e30',
      '/v1/trades?cursor=%7B%7D',
      '/v1/lots?cursor=AAAA',
    ]) {
      const res = await gateway.http.get(path).set('X-API-Key', admin);
      expect({ path, status: res.status, code: res.body.code }).toEqual({
        path,
        status: 400,
        code: 'INVALID_CURSOR',
      });
    }
  });
});
