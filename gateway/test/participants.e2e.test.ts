/**
 * Participants end to end: writes through the ledger port to the real identity chaincode on the embedded
 * ledger, reads from the PostgreSQL projection fed by its events.
 */
import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import {
  creditCode,
  participant,
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  TestGateway,
  TestPostgres,
} from './support/harness';

const PROBLEM = /^application\/problem\+json/;

describe('participants', () => {
  let postgres: TestPostgres;
  let dataDir: string;
  let gateway: TestGateway;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-participants-');
    gateway = await startGateway({ dataDir, databaseUrl: await postgres.newDatabase() });
    keys.admin = await readFirstAdminKey(dataDir);
    for (const role of ['trading-center', 'energy-platform', 'regulator']) {
      const res = await gateway.http
        .post('/v1/api-keys')
        .set('X-API-Key', keys.admin)
        .send({ label: role, role, actsFor: 'ORG-1' })
        .expect(201);
      keys[role] = res.body.key;
    }
    // The trading center's admin: registering participants is an admin's transaction on chain (least
    // privilege: a trading-center key runs as the trading center's client identity).
    const tradingAdmin = await gateway.http
      .post('/v1/api-keys')
      .set('X-API-Key', keys.admin)
      .send({ label: 'trading center admin', role: 'admin', actsFor: 'TC-1', mspId: 'TradingCenterMSP' })
      .expect(201);
    expect(tradingAdmin.body.fabricIdentity).toEqual({ mspId: 'TradingCenterMSP', name: 'admin' });
    keys['trading-admin'] = tradingAdmin.body.key;
  });

  afterAll(async () => {
    await gateway?.close();
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const register = (body: Record<string, unknown>, role = 'admin') =>
    gateway.http.post('/v1/participants').set('X-API-Key', keys[role]).send(body);
  const get = (path: string, role = 'admin') => gateway.http.get(path).set('X-API-Key', keys[role]);
  const setStatus = (id: string, body: Record<string, unknown>, role = 'admin') =>
    gateway.http.post(`/v1/participants/${id}/status`).set('X-API-Key', keys[role]).send(body);

  it('registers a participant and answers with the ledger proof', async () => {
    const res = await register(participant('GEN-001')).expect(201);
    expect(res.headers.location).toBe('/v1/participants/GEN-001');
    expect(res.body).toMatchObject({
      id: 'GEN-001',
      kind: 'GENERATOR',
      region: '330000',
      status: 'ACTIVE',
      statusReason: null,
      registeredByMsp: 'GridMSP',
      ledger: { txId: expect.stringMatching(/^[0-9a-f]{64}$/), validationCode: 'VALID' },
    });
    expect(res.body.ledger.blockNumber).toBeGreaterThan(0);
    expect(JSON.stringify(res.body)).not.toContain('creditCode');
  });

  it('reads a registered participant back from the projection right after the write', async () => {
    const created = await register(participant('GEN-002')).expect(201);
    const res = await get('/v1/participants/GEN-002').expect(200);
    expect(res.body).toEqual(created.body);
  });

  it('lets every role read', async () => {
    for (const role of ['admin', 'trading-center', 'energy-platform', 'regulator']) {
      await get('/v1/participants/GEN-001', role).expect(200);
      await get('/v1/participants', role).expect(200);
    }
  });

  it('lists with filters and a cursor, each participant once', async () => {
    await register(participant('CON-101', { kind: 'CONSUMER', region: '320000' })).expect(201);
    await register(participant('CON-102', { kind: 'CONSUMER' })).expect(201);
    await register(participant('CON-103', { kind: 'CONSUMER' })).expect(201);
    const consumers: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const path: string = `/v1/participants?kind=CONSUMER&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await get(path).expect(200);
      const page = res.body as { items: Array<{ id: string }>; nextCursor: string | null };
      consumers.push(...page.items.map((p) => p.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(consumers).toEqual(['CON-101', 'CON-102', 'CON-103']);
    expect(pages).toBe(2);
    const generators = await get('/v1/participants?kind=GENERATOR&status=ACTIVE').expect(200);
    expect(generators.body.items.every((p: { kind: string }) => p.kind === 'GENERATOR')).toBe(true);
    expect(generators.body.nextCursor).toBeNull();
  });

  it('changes a status, and the projection follows', async () => {
    await register(participant('GEN-010')).expect(201);
    const res = await setStatus('GEN-010', { status: 'SUSPENDED', reason: 'meter audit' }).expect(200);
    expect(res.body).toMatchObject({ id: 'GEN-010', status: 'SUSPENDED', statusReason: 'meter audit' });
    const read = await get('/v1/participants/GEN-010').expect(200);
    expect(read.body).toEqual(res.body);
    const suspended = await get('/v1/participants?status=SUSPENDED').expect(200);
    expect(suspended.body.items.map((p: { id: string }) => p.id)).toContain('GEN-010');
  });

  it('maps chaincode rule errors to stable codes', async () => {
    const duplicate = await register(participant('GEN-001')).expect(409);
    expect(duplicate.headers['content-type']).toMatch(PROBLEM);
    expect(duplicate.body).toMatchObject({ code: 'PARTICIPANT_EXISTS', status: 409 });

    const missing = await setStatus('NOPE-1', { status: 'SUSPENDED', reason: 'x' }).expect(404);
    expect(missing.body.code).toBe('PARTICIPANT_NOT_FOUND');

    await register(participant('GEN-020')).expect(201);
    const unchanged = await setStatus('GEN-020', { status: 'ACTIVE', reason: 'again' }).expect(409);
    expect(unchanged.body.code).toBe('STATUS_UNCHANGED');

    await setStatus('GEN-020', { status: 'REVOKED', reason: 'licence withdrawn' }).expect(200);
    const revoked = await setStatus('GEN-020', { status: 'ACTIVE', reason: 'undo' }).expect(409);
    expect(revoked.body.code).toBe('PARTICIPANT_REVOKED');
  });

  it('answers 404 for a participant that is not registered', async () => {
    const res = await get('/v1/participants/GEN-404').expect(404);
    expect(res.body).toMatchObject({ code: 'PARTICIPANT_NOT_FOUND', status: 404 });
  });

  describe('roles', () => {
    it.each(['energy-platform', 'regulator'])('refuses writes to %s at the gateway (403)', async (role) => {
      const res = await register(participant('GEN-030'), role).expect(403);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body.code).toBe('ROLE_NOT_ALLOWED');
      const status = await setStatus('GEN-001', { status: 'SUSPENDED', reason: 'x' }, role).expect(403);
      expect(status.body.code).toBe('ROLE_NOT_ALLOWED');
    });

    it('lets the trading center register consumers and generators only (chaincode rule, 403)', async () => {
      await register(participant('CON-201', { kind: 'CONSUMER' }), 'trading-admin').expect(201);
      const res = await register(participant('GRID-1', { kind: 'GRID_OPERATOR' }), 'trading-admin').expect(
        403,
      );
      expect(res.body.code).toBe('KIND_NOT_PERMITTED');
    });

    it('refuses a regulator key even when it would run as a writer identity (chaincode, 403)', async () => {
      const key = await gateway.http
        .post('/v1/api-keys')
        .set('X-API-Key', keys.admin)
        .send({
          label: 'odd',
          role: 'trading-center',
          actsFor: 'REG',
          mspId: 'RegulatorMSP',
          identityName: 'regulator',
        })
        .expect(201);
      const res = await gateway.http
        .post('/v1/participants')
        .set('X-API-Key', key.body.key)
        .send(participant('CON-301', { kind: 'CONSUMER' }))
        .expect(403);
      expect(res.body.code).toBe('REGULATOR_READ_ONLY');
    });
  });

  describe('malformed requests', () => {
    it('names every invalid field (400)', async () => {
      const res = await register({
        id: 'bad id!',
        kind: 'WIZARD',
        name: '',
        region: '999999',
        creditCode: '91330000000000001X',
        color: 'blue',
      }).expect(400);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      const fields = new Set(res.body.errors.map((e: { field: string }) => e.field));
      expect(fields).toEqual(new Set(['id', 'kind', 'name', 'region', 'creditCode', 'color']));
      expect(JSON.stringify(res.body)).not.toContain('91330000000000001X');
    });

    it('names missing fields (400)', async () => {
      const res = await register({}).expect(400);
      const fields = new Set(res.body.errors.map((e: { field: string }) => e.field));
      expect(fields).toEqual(new Set(['id', 'kind', 'name', 'region', 'creditCode']));
      const status = await setStatus('GEN-001', { status: 'GONE' }).expect(400);
      expect(status.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['reason', 'status']);
    });

    it('refuses a body that is not JSON (400 MALFORMED_JSON)', async () => {
      const res = await gateway.http
        .post('/v1/participants')
        .set('X-API-Key', keys.admin)
        .set('Content-Type', 'application/json')
        .send('{"id":')
        .expect(400);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body.code).toBe('MALFORMED_JSON');
      expect(res.body.requestId).toEqual(expect.any(String));
    });

    it('refuses bad query parameters and cursors (400)', async () => {
      const limit = await get('/v1/participants?limit=0&kind=X').expect(400);
      expect(limit.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['kind', 'limit']);
      const cursor = await get('/v1/participants?cursor=garbage').expect(400);
      expect(cursor.body.code).toBe('INVALID_CURSOR');
      const tooMany = await get('/v1/participants?limit=1001').expect(400);
      expect(tooMany.body.errors[0].field).toBe('limit');
    });

    it('refuses a bad id in the path (400)', async () => {
      const res = await get('/v1/participants/bad%20id').expect(400);
      expect(res.body.errors).toEqual([{ field: 'id', message: expect.any(String) }]);
    });
  });

  describe('Idempotency-Key', () => {
    it('replays the first answer for the same key and body', async () => {
      const body = participant('GEN-040');
      const first = await register(body).set('Idempotency-Key', 'k-040').expect(201);
      const again = await register(body).set('Idempotency-Key', 'k-040').expect(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
    });

    it('refuses the same key with another body (409 IDEMPOTENCY_KEY_REUSED)', async () => {
      await register(participant('GEN-041')).set('Idempotency-Key', 'k-041').expect(201);
      const res = await register(participant('GEN-042')).set('Idempotency-Key', 'k-041').expect(409);
      expect(res.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    });

    it('replays a refusal too', async () => {
      const body = participant('GEN-001');
      const first = await register(body).set('Idempotency-Key', 'k-dup').expect(409);
      const again = await register(body).set('Idempotency-Key', 'k-dup').expect(409);
      expect(again.body.code).toBe(first.body.code);
    });

    it('scopes keys to the API key', async () => {
      await register(participant('CON-050', { kind: 'CONSUMER' }))
        .set('Idempotency-Key', 'shared')
        .expect(201);
      await register(participant('CON-051', { kind: 'CONSUMER' }), 'trading-admin')
        .set('Idempotency-Key', 'shared')
        .expect(201);
    });
  });

  it('never stores the credit code off-chain', async () => {
    const code = creditCode(777);
    await register(participant('GEN-777', { creditCode: code }))
      .set('Idempotency-Key', 'k-777')
      .expect(201);
    const client = new Client({ connectionString: gateway.config.databaseUrl });
    await client.connect();
    try {
      const tables = await client.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
      );
      for (const { table_name } of tables.rows as Array<{ table_name: string }>) {
        const hits = await client.query(
          `SELECT count(*)::int AS n FROM ${client.escapeIdentifier(table_name)} t WHERE t::text LIKE $1`,
          [`%${code}%`],
        );
        expect({ table: table_name, hits: hits.rows[0].n }).toEqual({ table: table_name, hits: 0 });
      }
    } finally {
      await client.end();
    }
  });
});
