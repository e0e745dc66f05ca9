/**
 * API keys end to end: the first admin key, keys per role, the global guard (401/403 as problem+json),
 * revocation; and the public operational endpoints (health, metrics, OpenAPI).
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import {
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  TestGateway,
  TestPostgres,
} from './support/harness';

const PROBLEM = /^application\/problem\+json/;

describe('auth: API keys and roles', () => {
  let postgres: TestPostgres;
  let dataDir: string;
  let gateway: TestGateway;
  let adminKey: string;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-auth-');
    gateway = await startGateway({ dataDir, databaseUrl: await postgres.newDatabase() });
    adminKey = await readFirstAdminKey(dataDir);
  });

  afterAll(async () => {
    await gateway?.close();
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const createKey = (role: string, key = adminKey) =>
    gateway.http
      .post('/v1/api-keys')
      .set('X-API-Key', key)
      .send({ label: `${role} key`, role, actsFor: `${role.toUpperCase()}-ORG` });

  it('creates a first admin key on first start, in a 0600 file', async () => {
    const info = await stat(join(dataDir, 'first-admin-key.txt'));
    expect(info.mode & 0o777).toBe(0o600);
    expect(adminKey).toMatch(/^gec_[A-Za-z0-9_-]{43}$/);
    const res = await gateway.http.get('/v1/api-keys').set('X-API-Key', adminKey).expect(200);
    expect(res.body.items).toHaveLength(1);
    expect(res.body.items[0]).toMatchObject({
      role: 'admin',
      fabricIdentity: { mspId: 'GridMSP', name: 'admin' },
      revokedAt: null,
    });
    expect(JSON.stringify(res.body)).not.toContain(adminKey);
  });

  it('creates keys per role with the default Fabric identity, showing the secret once', async () => {
    const expected = {
      'trading-center': { mspId: 'TradingCenterMSP', name: 'trading' },
      'energy-platform': { mspId: 'GridMSP', name: 'platform' },
      regulator: { mspId: 'RegulatorMSP', name: 'regulator' },
      admin: { mspId: 'GridMSP', name: 'admin' },
    };
    for (const [role, identity] of Object.entries(expected)) {
      const res = await createKey(role).expect(201);
      expect(res.body).toMatchObject({
        role,
        fabricIdentity: identity,
        actsFor: `${role.toUpperCase()}-ORG`,
      });
      expect(res.body.key).toMatch(/^gec_/);
      const list = await gateway.http.get('/v1/api-keys?limit=1000').set('X-API-Key', adminKey).expect(200);
      expect(JSON.stringify(list.body)).not.toContain(res.body.key);
    }
  });

  it('pages the key list with a cursor', async () => {
    const first = await gateway.http.get('/v1/api-keys?limit=2').set('X-API-Key', adminKey).expect(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await gateway.http
      .get(`/v1/api-keys?limit=2&cursor=${first.body.nextCursor}`)
      .set('X-API-Key', adminKey)
      .expect(200);
    const ids = [...first.body.items, ...second.body.items].map((k: { id: string }) => k.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('refuses a missing or unknown key with 401 problem+json', async () => {
    const missing = await gateway.http.get('/v1/participants').expect(401);
    expect(missing.headers['content-type']).toMatch(PROBLEM);
    expect(missing.body).toMatchObject({ status: 401, code: 'API_KEY_MISSING' });
    const unknown = await gateway.http.get('/v1/participants').set('X-API-Key', 'gec_nope').expect(401);
    expect(unknown.body).toMatchObject({ status: 401, code: 'API_KEY_INVALID' });
  });

  it.each(['trading-center', 'energy-platform', 'regulator'])(
    'refuses key management to %s (403)',
    async (role) => {
      const { body } = await createKey(role).expect(201);
      const res = await createKey('admin', body.key).expect(403);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body).toMatchObject({ code: 'ROLE_NOT_ALLOWED', status: 403 });
      await gateway.http.get('/v1/api-keys').set('X-API-Key', body.key).expect(403);
      await gateway.http.delete(`/v1/api-keys/${body.id}`).set('X-API-Key', body.key).expect(403);
    },
  );

  it('revokes a key: it is refused with 401 from then on', async () => {
    const { body } = await createKey('regulator').expect(201);
    await gateway.http.get('/v1/participants').set('X-API-Key', body.key).expect(200);
    await gateway.http.delete(`/v1/api-keys/${body.id}`).set('X-API-Key', adminKey).expect(204);
    const res = await gateway.http.get('/v1/participants').set('X-API-Key', body.key).expect(401);
    expect(res.body.code).toBe('API_KEY_INVALID');
    await gateway.http.delete(`/v1/api-keys/${body.id}`).set('X-API-Key', adminKey).expect(204);
  });

  it('keeps the last active admin key', async () => {
    const list = await gateway.http.get('/v1/api-keys?limit=1000').set('X-API-Key', adminKey).expect(200);
    const admins = list.body.items.filter(
      (k: { role: string; revokedAt: unknown }) => k.role === 'admin' && !k.revokedAt,
    );
    const [first, ...others] = admins as Array<{ id: string; keyPrefix: string }>;
    for (const other of others) {
      await gateway.http.delete(`/v1/api-keys/${other.id}`).set('X-API-Key', adminKey).expect(204);
    }
    expect(adminKey.startsWith(first.keyPrefix)).toBe(true);
    const res = await gateway.http.delete(`/v1/api-keys/${first.id}`).set('X-API-Key', adminKey).expect(409);
    expect(res.body.code).toBe('LAST_ADMIN_KEY');
  });

  it('answers 404 for an unknown key id and 400 for a malformed one', async () => {
    const missing = await gateway.http
      .delete('/v1/api-keys/00000000-0000-4000-8000-000000000000')
      .set('X-API-Key', adminKey)
      .expect(404);
    expect(missing.body.code).toBe('API_KEY_NOT_FOUND');
    const bad = await gateway.http.delete('/v1/api-keys/not-a-uuid').set('X-API-Key', adminKey).expect(400);
    expect(bad.body.errors).toEqual([{ field: 'id', message: 'id must be a UUID' }]);
  });

  it('names every invalid field of a key request (400)', async () => {
    const res = await gateway.http
      .post('/v1/api-keys')
      .set('X-API-Key', adminKey)
      .send({ label: '', role: 'root', actsFor: 'has space', mspId: 'EvilMSP', extra: 1 })
      .expect(400);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    const fields = new Set(res.body.errors.map((e: { field: string }) => e.field));
    expect(fields).toEqual(new Set(['label', 'role', 'actsFor', 'mspId', 'extra']));
  });

  describe('least privilege', () => {
    const create = (body: Record<string, unknown>) =>
      gateway.http
        .post('/v1/api-keys')
        .set('X-API-Key', adminKey)
        .send({ label: 'least privilege', actsFor: 'ORG-LP', ...body });

    it.each([
      ['trading-center', 'TradingCenterMSP', 'TradingCenterMSP/trading'],
      ['energy-platform', 'GridMSP', 'GridMSP/platform'],
      ['regulator', 'TradingCenterMSP', 'TradingCenterMSP/trading'],
    ])('refuses a %s key naming the admin identity of %s (422)', async (role, mspId, client) => {
      const res = await create({ role, mspId, identityName: 'admin' }).expect(422);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body).toMatchObject({ code: 'ADMIN_IDENTITY_NOT_ALLOWED', status: 422 });
      expect(res.body.detail).toContain(`use a client identity such as ${client}`);
      expect(res.body.errors).toEqual([
        { field: 'identityName', message: `${mspId}/admin is an admin identity` },
      ]);
    });

    it('lets an admin key name any organisation’s admin identity in the development consortium', async () => {
      const res = await create({ role: 'admin', mspId: 'TradingCenterMSP' }).expect(201);
      expect(res.body.fabricIdentity).toEqual({ mspId: 'TradingCenterMSP', name: 'admin' });
    });

    it('gives a key naming only an organisation that organisation’s identity for the role', async () => {
      const res = await create({ role: 'trading-center', mspId: 'GridMSP' }).expect(201);
      expect(res.body.fabricIdentity).toEqual({ mspId: 'GridMSP', name: 'platform' });
    });

    it('refuses an identity the gateway does not hold (422 IDENTITY_NOT_HELD)', async () => {
      const res = await create({ role: 'regulator', mspId: 'RegulatorMSP', identityName: 'auditor' }).expect(
        422,
      );
      expect(res.body.code).toBe('IDENTITY_NOT_HELD');
      expect(res.body.detail).toBe(
        'this gateway holds no identity RegulatorMSP/auditor (RegulatorMSP identities it holds: regulator)',
      );
    });

    it('moves stored non-admin keys off admin identities (migration), leaving admin keys as they are', async () => {
      const { LeastPrivilegeKeys1795264000000 } =
        await import('../../migrations/1795264000000-LeastPrivilegeKeys');
      const dataSource = gateway.app.get<DataSource>(getDataSourceToken());
      const stored: Array<[string, string, string]> = [
        ['trading-center', 'TradingCenterMSP', 'admin'],
        ['energy-platform', 'GridMSP', 'admin'],
        ['regulator', 'RegulatorMSP', 'admin'],
        ['admin', 'TradingCenterMSP', 'admin'],
        ['trading-center', 'TradingCenterMSP', 'trading'],
      ];
      const ids: string[] = [];
      for (const [role, mspId, name] of stored) {
        const id = randomUUID();
        ids.push(id);
        await dataSource.query(
          `INSERT INTO api_keys (id, label, role, acts_for, msp_id, identity_name, key_hash, key_prefix,
                                 require_signature, created_at)
           VALUES ($1, 'stored before issue 15', $2, 'ORG-OLD', $3, $4, $5, 'gec_old', false, now())`,
          [id, role, mspId, name, randomUUID().replace(/-/g, '').padEnd(64, '0')],
        );
      }
      const runner = dataSource.createQueryRunner();
      try {
        await new LeastPrivilegeKeys1795264000000().up(runner);
      } finally {
        await runner.release();
      }
      const rows = (await dataSource.query(
        `SELECT id, msp_id, identity_name FROM api_keys WHERE id = ANY($1)`,
        [ids],
      )) as Array<{ id: string; msp_id: string; identity_name: string }>;
      const after = ids
        .map((id) => rows.find((row) => row.id === id)!)
        .map((r) => `${r.msp_id}/${r.identity_name}`);
      expect(after).toEqual([
        'TradingCenterMSP/trading',
        'GridMSP/platform',
        'RegulatorMSP/regulator',
        'TradingCenterMSP/admin',
        'TradingCenterMSP/trading',
      ]);
    });
  });

  it('does not create another admin key on the next start', async () => {
    const before = await stat(join(dataDir, 'first-admin-key.txt'));
    const databaseUrl = gateway.config.databaseUrl;
    await gateway.close();
    gateway = await startGateway({ dataDir, databaseUrl });
    const after = await stat(join(dataDir, 'first-admin-key.txt'));
    expect(after.mtimeMs).toBe(before.mtimeMs);
    await gateway.http.get('/v1/api-keys').set('X-API-Key', adminKey).expect(200);
  });
});

describe('operations: health, metrics, OpenAPI', () => {
  let postgres: TestPostgres;
  let dataDir: string;
  let gateway: TestGateway;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-ops-');
    gateway = await startGateway({ dataDir, databaseUrl: await postgres.newDatabase() });
  });

  afterAll(async () => {
    await gateway?.close();
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers liveness and readiness without a key', async () => {
    expect((await gateway.http.get('/health').expect(200)).body).toEqual({ status: 'ok' });
    const ready = await gateway.http.get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({
      status: 'ready',
      checks: { ledger: { status: 'up', height: expect.any(Number) }, database: { status: 'up' } },
    });
  });

  it('exposes Prometheus metrics with HTTP and ledger histograms', async () => {
    await gateway.http.get('/health').expect(200);
    const res = await gateway.http.get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toContain('process_cpu_user_seconds_total');
    expect(res.text).toContain(
      'http_request_duration_seconds_bucket{le="0.005",method="GET",route="/health"',
    );
    expect(res.text).toContain('# TYPE ledger_submit_duration_seconds histogram');
  });

  it('counts refusals by code and shows the database pool and the projection against the ledger', async () => {
    const value = (text: string, series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? NaN : Number(line.slice(series.length + 1));
    };
    const refused = 'gec_http_problems_total{status="401",code="API_KEY_INVALID"}';
    const before = value((await gateway.http.get('/metrics').expect(200)).text, refused);
    await gateway.http.get('/v1/participants').set('X-API-Key', 'gec_wrong').expect(401);
    await gateway.http.get('/v1/participants').set('X-API-Key', 'gec_wrong').expect(401);
    const text = (await gateway.http.get('/metrics').expect(200)).text;
    expect(value(text, refused)).toBe((Number.isNaN(before) ? 0 : before) + 2);
    expect(value(text, 'gec_db_pool_connections{state="total"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'gec_db_pool_connections{state="waiting"}')).toBeGreaterThanOrEqual(0);
    const height = value(text, 'gec_ledger_height_blocks');
    expect(height).toBeGreaterThanOrEqual(1);
    expect(value(text, 'gec_projection_checkpoint_block')).toBeLessThan(height);
    expect(value(text, 'gec_projection_lag_blocks')).toBeGreaterThanOrEqual(0);
    for (const name of ['gec_meter_readings_total', 'gec_trade_callbacks_total', 'gec_expiry_sweeps_total']) {
      expect(text).toContain(`# TYPE ${name} counter`);
    }
  });

  it('serves the OpenAPI 3.1 document with every endpoint and the API-key scheme', async () => {
    const res = await gateway.http.get('/docs/openapi.json').expect(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.apiKey).toEqual(
      expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
    );
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/health',
        '/health/ready',
        '/v1/api-keys',
        '/v1/api-keys/{id}',
        '/v1/participants',
        '/v1/participants/{id}',
        '/v1/participants/{id}/status',
      ]),
    );
    // Every operation of every module is documented and, under /v1, secured by the API key.
    for (const [path, operations] of Object.entries(
      doc.paths as Record<string, Record<string, Record<string, unknown>>>,
    )) {
      for (const [method, operation] of Object.entries(operations)) {
        expect({ path, method, summary: typeof operation.summary }).toEqual({
          path,
          method,
          summary: 'string',
        });
        if (path.startsWith('/v1/'))
          expect({ path, method, security: operation.security }).toEqual({
            path,
            method,
            security: [{ apiKey: [] }],
          });
      }
    }
    expect(doc.paths['/v1/participants'].post.security).toEqual([{ apiKey: [] }]);
    expect(doc.components.schemas.ProblemDto).toBeDefined();
    expect(JSON.stringify(doc)).not.toContain('"nullable"');
    const ui = await gateway.http.get('/docs').expect(200);
    expect(ui.text).toContain('swagger');
  });

  it('answers unknown routes with 404 problem+json', async () => {
    const res = await gateway.http.get('/v1/nothing-here').expect(404);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('gives every response a request id, and takes the caller’s', async () => {
    const res = await gateway.http.get('/health').set('X-Request-Id', 'trace-42').expect(200);
    expect(res.headers['x-request-id']).toBe('trace-42');
    const problem = await gateway.http.get('/v1/participants').expect(401);
    expect(problem.body.requestId).toBe(problem.headers['x-request-id']);
  });
});
