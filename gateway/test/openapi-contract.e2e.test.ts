/**
 * The OpenAPI document describes what the API answers: every operation of /docs/openapi.json is called over
 * HTTP (real gateway, embedded ledger, real PostgreSQL) for its success and, where it can be provoked, its
 * refusals (400 bad input and bad cursor, 401 no key, 403 wrong role, 404, 409, 413, 415, 422, 429, 502 from a
 * refusing ledger, 503 with PostgreSQL gone), and every answer is checked against the document with Ajv (JSON
 * Schema 2020-12, as OpenAPI 3.1 uses): the status is declared for the operation, the content type is declared
 * for that status, the body is valid (and names no field the document does not), declared headers are sent.
 * The last tests fail if an operation never answered with success, or a declared refusal was never seen.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer, Server } from 'node:net';
import { LEDGER_PORT } from '../src/ledger-module/ledger.tokens';
import { DelegatingLedger } from '../src/ledger/delegating-ledger';
import type { EmbeddedLedger } from '../src/ledger/embedded/embedded-ledger';
import type {
  IdentityRef,
  LedgerPort,
  PreparedTransaction,
  SubmittedTransaction,
  TransactionRequest,
} from '../src/ledger/port';
import { checkedAgent, OpenApiContract, OpenApiDocument } from './support/openapi-contract';
import { isAlive, postmasterPid } from './support/gateway-process';
import {
  freePort,
  participant,
  readFirstAdminKey,
  atLedgerTime,
  startGateway,
  startTestPostgres,
  tempDir,
  TestGateway,
  TestPostgres,
} from './support/harness';
import { interval, Market, MONTH, setupMarket, tradeBody, waitFinal } from './trades-fixture';

jest.setTimeout(300000);

/**
 * Refuses the next submission as peers do that fail to endorse without a rule of ours (no `CODE:` message):
 * the gateway's 502 LEDGER_ENDORSEMENT_FAILED, otherwise out of a test's reach.
 */
class RefusingLedger extends DelegatingLedger {
  refuseNext = false;

  override async submit(input: TransactionRequest | PreparedTransaction): Promise<SubmittedTransaction> {
    if (this.refuseNext) {
      this.refuseNext = false;
      throw Object.assign(new Error('endorsement failed (test)'), {
        name: 'EndorseError',
        chaincodeMessage: 'peer unavailable',
      });
    }
    return super.submit(input);
  }
}

const PLATFORM: IdentityRef = { mspId: 'GridMSP', name: 'platform' };
const OLD_PROJECT = 'P3300002019000031';
const NEW_PROJECT = 'P3300002025000031';

describe('the OpenAPI document against real answers', () => {
  let postgres: TestPostgres;
  let dataDir: string;
  let gateway: TestGateway;
  let ledger: LedgerPort;
  let embedded: EmbeddedLedger;
  let refusing: RefusingLedger;
  let contract: OpenApiContract;
  let market: Market;
  const violations: string[] = [];
  let http: TestGateway['http'];
  let idem = 0;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-openapi-contract-');
    gateway = await startGateway({
      dataDir,
      databaseUrl: await postgres.newDatabase(),
      // A small body limit so that 413 is cheap to provoke; no sweeps or rate limits in the way.
      env: {
        EXPIRY_SWEEP_INTERVAL_MS: '0',
        RATE_LIMIT_PER_MINUTE: '0',
        RATE_LIMIT_READS_PER_MINUTE: '0',
        BODY_LIMIT: '64kb',
      },
      wrapLedger: (inner) => {
        embedded = inner as EmbeddedLedger;
        return (refusing = new RefusingLedger(inner));
      },
    });
    ledger = gateway.app.get<LedgerPort>(LEDGER_PORT);
    const document = (await gateway.http.get('/docs/openapi.json').expect(200)).body as OpenApiDocument;
    expect(document.openapi).toBe('3.1.0');
    contract = new OpenApiContract(document);
    http = checkedAgent(gateway.http, contract, violations);
    market = await setupMarket(http, gateway.app, await readFirstAdminKey(dataDir), {
      sellers: ['GEN-1'],
      consumers: { 'CON-1': 40 },
    });
  });

  afterEach(() => {
    // Every answer of the test, checked by the agent as it arrived.
    const found = violations.splice(0);
    expect(found).toEqual([]);
  });

  afterAll(async () => {
    await gateway?.close();
    await postgres?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  type Role = keyof Market['keys'];
  const get = (path: string, role: Role | null = 'admin') => {
    const call = http.get(path);
    return role ? call.set('X-API-Key', market.keys[role]) : call;
  };
  const post = (path: string, body: unknown, role: Role | null = 'admin') => {
    const call = http.post(path);
    return (role ? call.set('X-API-Key', market.keys[role]) : call).send(body as object);
  };
  const digest = (text: string) => createHash('sha256').update(text).digest('hex');

  describe('the validator', () => {
    it('rejects a body the document does not describe, and accepts one it does', () => {
      const path = '/v1/parameters';
      const good = {
        validityMonths: 24,
        issuanceWindowMonths: 12,
        minTransferVolume: 1,
        maxTransferVolume: 9999999,
        paused: false,
        pause: null,
        updatedAt: null,
        updatedByMsp: null,
        ledger: null,
      };
      expect(contract.validates('get', path, 200, 'application/json', good)).toBe(true);
      // A pause that is not an object, a missing field, an unnamed field: each refused.
      expect(contract.validates('get', path, 200, 'application/json', { ...good, pause: 'yes' })).toBe(false);
      const { paused: _paused, ...missing } = good;
      expect(contract.validates('get', path, 200, 'application/json', missing)).toBe(false);
      expect(contract.validates('get', path, 200, 'application/json', { ...good, secret: 1 })).toBe(false);
      // Field errors are not the line errors of the meter-readings 422.
      const rejected = {
        type: 'urn:gec-ledger:problem:readings-rejected',
        title: 'Readings rejected',
        status: 422,
        detail: 'x',
        code: 'READINGS_REJECTED',
        accepted: 0,
        unchanged: 0,
        corrected: 0,
        rejected: 1,
        errors: [{ line: 1, code: 'MALFORMED_LINE', message: 'not JSON' }],
        errorsTruncated: false,
      };
      const readings = (body: unknown) =>
        contract.validates('post', '/v1/meter-readings', 422, 'application/problem+json', body);
      expect(readings(rejected)).toBe(true);
      expect(readings({ ...rejected, errors: [{ field: 'kwh', message: 'bad' }] })).toBe(false);
    });

    it('finds an undeclared status, an undeclared content type and an invalid body in an answer', () => {
      const answer = {
        method: 'GET',
        path: '/v1/parameters',
        headers: { 'content-type': 'application/json; charset=utf-8' },
      };
      expect(contract.check({ ...answer, status: 418, text: '{}' })).toEqual([
        expect.stringContaining('status not declared'),
      ]);
      expect(
        contract.check({ ...answer, status: 200, headers: { 'content-type': 'text/html' }, text: '<p>' }),
      ).toEqual([expect.stringContaining('content type text/html not declared')]);
      expect(contract.check({ ...answer, status: 200, text: '{"paused":"no"}' })).toEqual([
        expect.stringContaining('body invalid'),
      ]);
      expect(contract.check({ ...answer, path: '/v1/nowhere', status: 200, text: '{}' })).toEqual([
        expect.stringContaining('no operation'),
      ]);
      // These unit checks are not calls of the API: forget them for the coverage check.
      contract.exercised.delete('GET /v1/parameters');
    });
  });

  describe('refusals every operation shares', () => {
    it('401 without a key or with an unknown one', async () => {
      await get('/v1/participants', null).expect(401);
      await http.get('/v1/lots').set('X-API-Key', 'gec_unknown').expect(401);
      await post('/v1/participants', participant('GEN-9'), null).expect(401);
    });

    it('403 for a role the operation does not allow', async () => {
      await post('/v1/participants', participant('GEN-9'), 'regulator').expect(403);
      await get('/v1/trades', 'energy-platform').expect(403);
      await get('/v1/api-keys', 'trading-center').expect(403);
    });

    it('400 for a cursor the API never returned, a bad limit and malformed JSON', async () => {
      for (const path of ['/v1/participants', '/v1/units', '/v1/lots', '/v1/trades', '/v1/vouchers']) {
        const res = await get(`${path}?cursor=not-a-cursor`).expect(400);
        expect(res.body.code).toBe('INVALID_CURSOR');
      }
      await get('/v1/listings?limit=0').expect(400);
      await http
        .post('/v1/participants')
        .set('X-API-Key', market.keys.admin)
        .set('Content-Type', 'application/json')
        .send('{"id": ')
        .expect(400);
    });

    it('413 for a body over the limit, 415 for a form body or another charset', async () => {
      const big = await post('/v1/participants', { ...participant('GEN-9'), name: 'x'.repeat(70000) });
      expect(big.status).toBe(413);
      await http
        .post('/v1/units')
        .set('X-API-Key', market.keys.admin)
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send('id=U-9')
        .expect(415);
      await http
        .post('/v1/parameters/pause')
        .set('X-API-Key', market.keys.admin)
        .set('Content-Type', 'application/json; charset=latin1')
        .send('{"reason":"x"}')
        .expect(415);
    });
  });

  describe('participants, units, meters and attestations', () => {
    it('registers, reads, lists and changes participants', async () => {
      await post('/v1/participants', participant('GEN-2')).set('Idempotency-Key', `p-${++idem}`).expect(201);
      await post('/v1/participants', participant('GEN-2')).expect(409);
      await post('/v1/participants', { ...participant('GEN-3'), region: 'nowhere' }).expect(400);
      await get('/v1/participants/GEN-2', 'regulator').expect(200);
      await get('/v1/participants/GEN-404').expect(404);
      const page = await get('/v1/participants?limit=2').expect(200);
      expect(page.body.nextCursor).toEqual(expect.any(String));
      await get(`/v1/participants?limit=2&cursor=${page.body.nextCursor}`).expect(200);
      await post('/v1/participants/GEN-2/status', { status: 'SUSPENDED', reason: 'audit' }).expect(200);
      await post('/v1/participants/GEN-2/status', { status: 'SUSPENDED', reason: 'again' }).expect(409);
      await post('/v1/participants/GEN-2/status', { status: 'ACTIVE', reason: 'audit done' }).expect(200);
      await post('/v1/participants/GEN-404/status', { status: 'ACTIVE', reason: 'x' }).expect(404);
    });

    it('registers, reads, lists and changes units', async () => {
      const unit = (id: string, project: string, meter: string, commissioned: string) => ({
        id,
        owner: 'GEN-2',
        name: `${id} 风电`,
        projectCode: project,
        technology: 'WIND',
        capacityKw: 20000,
        province: '330000',
        meterIds: [meter],
        commissioningDate: commissioned,
      });
      await post('/v1/units', unit('U-NEW', NEW_PROJECT, 'M-NEW', '2025-01-01')).expect(201);
      await post('/v1/units', unit('U-OLD', OLD_PROJECT, 'M-OLD', '2019-01-01')).expect(201);
      await post('/v1/units', unit('U-NEW', NEW_PROJECT, 'M-NEW', '2025-01-01')).expect(409);
      await post('/v1/units', { ...unit('U-X', 'P1', 'M-X', '2025-01-01'), owner: 'GEN-404' }).expect(400);
      await post('/v1/units', unit('U-Y', 'P3300002025000032', 'M-Y', '2025-01-01')).expect(201);
      await get('/v1/units/U-NEW').expect(200);
      await get('/v1/units/U-404').expect(404);
      await get('/v1/units?owner=GEN-2').expect(200);
      await post('/v1/units/U-Y/status', { status: 'SUSPENDED', reason: 'maintenance' }).expect(200);
      await post('/v1/units/U-Y/status', { status: 'SUSPENDED', reason: 'again' }).expect(409);
      await post('/v1/units/U-404/status', { status: 'ACTIVE', reason: 'x' }).expect(404);
    });

    it('registers and reads meters, ingests readings and closes a period', async () => {
      await post(
        '/v1/meters',
        { meterId: 'M-NEW', kind: 'GENERATION', owner: 'GEN-2', unitId: 'U-NEW' },
        'energy-platform',
      ).expect(201);
      await post(
        '/v1/meters',
        { meterId: 'M-NEW', kind: 'GENERATION', owner: 'GEN-2', unitId: 'U-NEW' },
        'energy-platform',
      ).expect(409);
      await post(
        '/v1/meters',
        { meterId: 'bad id', kind: 'GENERATION', owner: 'GEN-2' },
        'energy-platform',
      ).expect(400);
      await get('/v1/meters/M-NEW').expect(200);
      await get('/v1/meters/M-404').expect(404);
      await get('/v1/meters/bad%20id').expect(400);

      const ndjson = (lines: unknown[]) =>
        http
          .post('/v1/meter-readings?mode=atomic')
          .set('X-API-Key', market.keys['energy-platform'])
          .set('Content-Type', 'application/x-ndjson')
          .send(`${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`);
      const readings = Array.from({ length: 4 }, (_, i) => ({
        meterId: 'M-NEW',
        intervalStart: interval(i),
        kwh: '1.5',
      }));
      const ok = await ndjson(readings).expect(200);
      expect(ok.body).toMatchObject({ accepted: 4, errors: [] });
      // A partial answer lists the bad lines in a 200.
      const partial = await http
        .post('/v1/meter-readings')
        .set('X-API-Key', market.keys['energy-platform'])
        .set('Content-Type', 'text/csv')
        .send(`meterId,intervalStart,kwh\nM-NEW,${interval(5)},-1\n`)
        .expect(200);
      expect(partial.body.errors[0]).toMatchObject({ line: 2, code: 'NEGATIVE_VALUE' });
      // Atomic with a bad line: 422 READINGS_REJECTED, the bad lines as { line, code, message }.
      const rejected = await ndjson([readings[0], 'not json', { ...readings[1], kwh: '1.2345' }]).expect(422);
      expect(rejected.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(rejected.body.code).toBe('READINGS_REJECTED');
      expect(rejected.body.errors.map((e: { line: number }) => e.line)).toEqual([2, 3]);
      await http
        .post('/v1/meter-readings')
        .set('X-API-Key', market.keys['energy-platform'])
        .set('Content-Type', 'application/xml')
        .send('<readings/>')
        .expect(415);
      // Another value for a stored interval, without correction=true: a bad line (partial mode: 200).
      const conflict = await http
        .post('/v1/meter-readings')
        .set('X-API-Key', market.keys['energy-platform'])
        .set('Content-Type', 'application/x-ndjson')
        .send(`${JSON.stringify({ ...readings[0], kwh: '9' })}\n`)
        .expect(200);
      expect(conflict.body.errors[0]).toMatchObject({ code: 'READING_CONFLICT' });
      await http
        .post('/v1/meter-readings?correction=true')
        .set('X-API-Key', market.keys['energy-platform'])
        .set('Content-Type', 'application/x-ndjson')
        .send(`${JSON.stringify(readings[0])}\n`)
        .expect(400);

      await get(`/v1/meters/M-NEW/completeness?period=${MONTH}`).expect(200);
      await get('/v1/meters/M-NEW/completeness?period=2026-13').expect(400);
      await get('/v1/meters/M-404/completeness?period=2026-10').expect(404);
      await get(`/v1/meters/M-GEN-1/periods/${MONTH}`).expect(200);
      // An open period: no attestation yet (null must be valid for it).
      const open = await get(`/v1/meters/M-NEW/periods/${MONTH}`).expect(200);
      expect(open.body.attestation).toBeNull();
      await get('/v1/meters/M-404/periods/2026-10').expect(404);
      // Intervals missing: refused, naming the gaps.
      const incomplete = await post(`/v1/meters/M-NEW/periods/${MONTH}/close`, {}, 'energy-platform');
      expect(incomplete.status).toBe(422);
      expect(incomplete.body.code).toBe('PERIOD_INCOMPLETE');
      await post('/v1/meters/M-404/periods/2026-10/close', {}, 'energy-platform').expect(404);
    });

    it('closes a complete period and projects meter attestations', async () => {
      const lines = Array.from({ length: 31 * 96 }, (_, i) =>
        JSON.stringify({ meterId: 'M-NEW', intervalStart: interval(i), kwh: '10' }),
      );
      await http
        .post('/v1/meter-readings?correction=true&reason=complete%20the%20month')
        .set('X-API-Key', market.keys['energy-platform'])
        .set('Content-Type', 'application/x-ndjson')
        .send(`${lines.join('\n')}\n`)
        .expect(200);
      await post(`/v1/meters/M-NEW/periods/${MONTH}/close`, {}, 'energy-platform').expect(200);
      const period = await get(`/v1/meters/M-NEW/periods/${MONTH}`).expect(200);
      expect(period.body.attestation).not.toBeNull();
      // The old unit's meter, attested on the ledger directly (a month long past: no readings to ingest).
      await ledger.submit({
        identity: PLATFORM,
        transaction: 'metering:AttestMeterPeriod',
        args: [
          JSON.stringify({ meterId: 'M-OLD', period: '2020-01', totalWh: '5000000', digest: digest('old') }),
        ],
      });
      // Attestations reach the API through the ledger's events: wait until this one is projected.
      for (;;) {
        const page = await get('/v1/meter-attestations?period=2020-01').expect(200);
        if (page.body.items.length === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await get('/v1/meter-attestations?limit=1').expect(200);
      await get('/v1/meter-attestations/M-OLD/2020-01').expect(200);
      await get(`/v1/meter-attestations/M-NEW/${MONTH}`).expect(200);
      await get('/v1/meter-attestations/M-404/2020-01').expect(404);
      await get('/v1/meter-attestations/M-OLD/2020-13').expect(400);
    });
  });

  describe('certificates', () => {
    let newLot = '';
    let oldLot = '';
    // A well-formed serial no lot holds.
    const unknownLot = () => `${newLot.slice(0, 23)}9999999${newLot.slice(30)}`;

    it('issues certificates and lists issuances', async () => {
      const issued = await post('/v1/issuances', { unitId: 'U-NEW', month: MONTH }).expect(201);
      newLot = issued.body.lotId as string;
      await post('/v1/issuances', { unitId: 'U-NEW', month: MONTH }).expect(409);
      await post('/v1/issuances', { unitId: 'U-404', month: MONTH }).expect(404);
      await post('/v1/issuances', { unitId: 'U-NEW', month: 'last month' }).expect(400);
      // Issued when 2020-01 had just closed (its window has long closed since): a lot past its expiry date.
      const old = await atLedgerTime(embedded, new Date('2020-02-02T00:00:00+08:00'), () =>
        post('/v1/issuances', { unitId: 'U-OLD', month: '2020-01' }).expect(201),
      );
      oldLot = old.body.lotId as string;
      await get('/v1/issuances?unitId=U-NEW').expect(200);
      await get('/v1/issuances?limit=1').expect(200);
    });

    it('reads, splits, transfers, expires and withdraws lots', async () => {
      await get(`/v1/lots/${newLot}`).expect(200);
      await get(`/v1/lots/${unknownLot()}`).expect(404);
      await get('/v1/lots?owner=GEN-2').expect(200);
      await get(`/v1/lots/${newLot}/history`).expect(200);
      await get(`/v1/lots/${unknownLot()}/history`).expect(404);
      const split = await post(
        `/v1/lots/${newLot}/split`,
        { owner: 'GEN-2', certificates: 10 },
        'trading-center',
      )
        .set('Idempotency-Key', `split-${++idem}`)
        .expect(201);
      const piece = (split.body.lots as Array<{ id: string }>).find((l) => l.id !== newLot)!.id;
      await post(`/v1/lots/${newLot}/split`, { owner: 'GEN-1', certificates: 1 }, 'trading-center').expect(
        409,
      );
      await post(
        `/v1/lots/${newLot}/split`,
        { owner: 'GEN-2', certificates: 100000 },
        'trading-center',
      ).expect(422);
      await post(
        `/v1/lots/${unknownLot()}/split`,
        { owner: 'GEN-2', certificates: 1 },
        'trading-center',
      ).expect(404);
      await post(
        `/v1/lots/${piece}/transfer`,
        { from: 'GEN-2', to: 'CON-1', certificates: 5 },
        'trading-center',
      )
        .set('Idempotency-Key', `transfer-${++idem}`)
        .expect(200);
      await post(`/v1/lots/${piece}/transfer`, { from: 'GEN-1', to: 'CON-1' }, 'trading-center').expect(409);
      await post(`/v1/lots/${oldLot}/expire`, {}).expect(200);
      await post(`/v1/lots/${oldLot}/expire`, {}).expect(409);
      await post(`/v1/lots/${piece}/expire`, {}).expect(409);
      await post(`/v1/lots/${unknownLot()}/expire`, {}).expect(404);
      await post(`/v1/lots/${piece}/withdraw`, { reason: 'double counted', certificates: 1 }).expect(200);
      await post(`/v1/lots/${oldLot}/withdraw`, { reason: 'x' }).expect(409);
      await post(`/v1/lots/${unknownLot()}/withdraw`, { reason: 'x' }).expect(404);
    });

    it('lists, sells and cancels listings', async () => {
      const listed = await post(
        '/v1/listings',
        { id: 'LST-1', lotId: newLot, owner: 'GEN-2', certificates: 10, unitPriceFen: 1500 },
        'trading-center',
      ).expect(201);
      expect(listed.body.listing).toMatchObject({ id: 'LST-1', status: 'OPEN' });
      await post(
        '/v1/listings',
        { id: 'LST-1', lotId: newLot, owner: 'GEN-2', certificates: 1, unitPriceFen: 1 },
        'trading-center',
      ).expect(409);
      await post(
        '/v1/listings',
        { id: 'LST-2', lotId: unknownLot(), owner: 'GEN-2', unitPriceFen: 1 },
        'trading-center',
      ).expect(404);
      await get('/v1/listings/LST-1').expect(200);
      await get('/v1/listings/LST-404').expect(404);
      await get('/v1/listings?status=OPEN').expect(200);
      await post('/v1/listings/LST-1/sell', { buyer: 'CON-1', certificates: 5 }, 'trading-center').expect(
        201,
      );
      await post('/v1/listings/LST-1/sell', { buyer: 'CON-1', certificates: 1000 }, 'trading-center').expect(
        422,
      );
      await post('/v1/listings/LST-404/sell', { buyer: 'CON-1' }, 'trading-center').expect(404);
      await post('/v1/listings/LST-1/cancel', { owner: 'GEN-2' }, 'trading-center').expect(200);
      await post('/v1/listings/LST-1/cancel', { owner: 'GEN-2' }, 'trading-center').expect(409);
      await post('/v1/listings/LST-404/cancel', { owner: 'GEN-2' }, 'trading-center').expect(404);
    });

    it('redeems, exchanges and answers serial checks and provenance', async () => {
      const held = await get('/v1/lots?owner=CON-1&status=ACTIVE').expect(200);
      const lot = (held.body.items as Array<{ id: string; certificates: number }>).find(
        (l) => l.certificates >= 5,
      )!;
      const redemption = await post(
        '/v1/redemptions',
        {
          id: 'RDM-1',
          owner: 'CON-1',
          beneficiary: '上海某制造有限公司',
          purpose: '2026 年度绿电消费声明',
          consumptionStartMonth: '2026-01',
          consumptionEndMonth: '2026-12',
          items: [{ lotId: lot.id, certificates: 2 }],
        },
        'trading-center',
      ).expect(201);
      await post(
        '/v1/redemptions',
        {
          id: 'RDM-2',
          owner: 'CON-1',
          beneficiary: 'x',
          purpose: 'x',
          consumptionStartMonth: '2026-01',
          consumptionEndMonth: '2026-12',
          items: [{ lotId: unknownLot(), certificates: 1 }],
        },
        'trading-center',
      ).expect(404);
      await get('/v1/redemptions/RDM-1').expect(200);
      await get('/v1/redemptions/RDM-404').expect(404);
      await get('/v1/redemptions?owner=CON-1').expect(200);
      const left = (await get('/v1/lots?owner=CON-1&status=ACTIVE').expect(200)).body.items[0] as {
        id: string;
      };
      await post(
        '/v1/exchanges',
        {
          id: 'EXC-1',
          owner: 'CON-1',
          electricityReference: 'SETTLE-1',
          items: [{ lotId: left.id, certificates: 1 }],
        },
        'trading-center',
      ).expect(201);
      await post(
        '/v1/exchanges',
        {
          id: 'EXC-1',
          owner: 'CON-1',
          electricityReference: 'SETTLE-1',
          items: [{ lotId: left.id, certificates: 1 }],
        },
        'trading-center',
      ).expect(409);
      await get('/v1/exchanges/EXC-1').expect(200);
      await get('/v1/exchanges/EXC-404').expect(404);
      await get('/v1/exchanges?limit=5').expect(200);
      const serial = redemption.body.ranges[0].serialStart as string;
      await get(`/v1/certificates/${serial}/redemption`).expect(200);
      await get(`/v1/certificates/${newLot}/redemption`).expect(200);
      await get('/v1/certificates/NOT-A-SERIAL/redemption').expect(400);
      await get(`/v1/certificates/${serial.slice(0, 23)}9999999WT/redemption`).expect(404);
      await get(`/v1/certificates/${serial}/provenance`).expect(200);
      await get(`/v1/certificates/${serial.slice(0, 23)}9999999WT/provenance`).expect(404);
      await get(`/v1/lots/${newLot}/provenance`, 'regulator').expect(200);
      await get(`/v1/lots/${serial.slice(0, 23)}9999999WT/provenance`).expect(404);
    });
  });

  describe('parameters', () => {
    it('reads and sets parameters, pauses (pause non-null) and resumes (pause null)', async () => {
      const before = await get('/v1/parameters', 'regulator').expect(200);
      expect(before.body.pause).toBeNull();
      await post('/v1/parameters', { validityMonths: 24, reason: 'NEA notice' }).expect(200);
      await post('/v1/parameters', { reason: 'nothing to change' }).expect(400);
      const paused = await post('/v1/parameters/pause', { reason: 'annual audit' }).expect(200);
      expect(paused.body.pause).toMatchObject({ reason: 'annual audit' });
      const during = await get('/v1/parameters').expect(200);
      expect(during.body.pause).not.toBeNull();
      await post('/v1/parameters/pause', { reason: 'again' }).expect(409);
      const refused = await post('/v1/participants', participant('GEN-8')).expect(409);
      expect(refused.body.code).toBe('CONSORTIUM_PAUSED');
      const resumed = await post('/v1/parameters/resume', { reason: 'audit done' }).expect(200);
      expect(resumed.body.pause).toBeNull();
      await post('/v1/parameters/resume', { reason: 'again' }).expect(409);
      refusing.refuseNext = true;
      const failed = await post('/v1/parameters', { validityMonths: 24, reason: 'x' }).expect(502);
      expect(failed.body.code).toBe('LEDGER_ENDORSEMENT_FAILED');
    });
  });

  describe('keys', () => {
    it('creates, lists, rotates and revokes API keys', async () => {
      const created = await post('/v1/api-keys', {
        label: 'reader',
        role: 'regulator',
        actsFor: 'NEA',
      }).expect(201);
      expect(created.body.signing).toBeNull();
      const signer = await post('/v1/api-keys', {
        label: 'platform 2',
        role: 'energy-platform',
        actsFor: 'GRID',
      }).expect(201);
      expect(signer.body.signing).not.toBeNull();
      await post('/v1/api-keys', { label: 'x', role: 'root', actsFor: 'X' }).expect(400);
      const page = await get('/v1/api-keys?limit=2').expect(200);
      await get(`/v1/api-keys?limit=2&cursor=${page.body.nextCursor}`).expect(200);
      await post(`/v1/api-keys/${signer.body.id}/signing-key`, { alg: 'hmac-sha256' }).expect(201);
      await post(`/v1/api-keys/${created.body.id}/signing-key`, { alg: 'hmac-sha256' }).expect(422);
      await post('/v1/api-keys/00000000-0000-4000-8000-000000000000/signing-key', {
        alg: 'hmac-sha256',
      }).expect(404);
      await http.delete(`/v1/api-keys/${created.body.id}`).set('X-API-Key', market.keys.admin).expect(204);
      await http
        .delete('/v1/api-keys/00000000-0000-4000-8000-000000000000')
        .set('X-API-Key', market.keys.admin)
        .expect(404);
      await http.delete('/v1/api-keys/not-a-uuid').set('X-API-Key', market.keys.admin).expect(400);
    });

    it('registers, lists and revokes check keys', async () => {
      const secret = randomBytes(32).toString('base64');
      await post('/v1/trading-centers/TC-1/check-keys', {
        keyId: 'tc-key-2',
        alg: 'hmac-sha256',
        secret,
      }).expect(201);
      await post('/v1/trading-centers/TC-1/check-keys', {
        keyId: 'tc-key-2',
        alg: 'hmac-sha256',
        secret,
      }).expect(409);
      await post('/v1/trading-centers/TC-404/check-keys', { keyId: 'k', alg: 'hmac-sha256', secret }).expect(
        404,
      );
      await get('/v1/trading-centers/TC-1/check-keys', 'trading-center').expect(200);
      await get('/v1/trading-centers/TC-404/check-keys', 'trading-center').expect(404);
      await post('/v1/trading-centers/TC-1/check-keys/tc-key-2/revoke', {}).expect(200);
      await post('/v1/trading-centers/TC-1/check-keys/tc-key-404/revoke', {}).expect(404);
    });
  });

  describe('trades and vouchers', () => {
    const submit = (body: unknown, key = `trade-${++idem}`) =>
      post('/v1/trades', body, 'trading-center').set('Idempotency-Key', key);
    const final = (tradeId: string) => waitFinal((id) => get(`/v1/trades/${id}`, 'trading-center'), tradeId);
    const lot = () => market.lots['GEN-1'].shift()!;

    it('accepts trades (202) and answers their status: committed, and rejected with the checks', async () => {
      const accepted = await submit(
        tradeBody(market, { tradeId: 'T-OK', seller: 'GEN-1', buyer: 'CON-1', lots: [{ lotId: lot() }] }),
      ).expect(202);
      expect(accepted.headers.location).toBe('/v1/trades/T-OK');
      const committed = await final('T-OK');
      expect(committed.state).toBe('COMMITTED');
      // Check inputs are objects for some checks and lists for others: both must be valid.
      const inputs = (committed.checks as Array<{ inputs: unknown }>).map((c) => c.inputs);
      expect(inputs.some((i) => Array.isArray(i))).toBe(true);
      expect(inputs.some((i) => typeof i === 'object' && i !== null && !Array.isArray(i))).toBe(true);

      const forged = { ...tradeBody(market, { tradeId: 'T-BAD', seller: 'GEN-1', buyer: 'CON-1' }) };
      forged.checkData = { ...forged.checkData, signature: Buffer.alloc(32).toString('base64') };
      await submit(forged).expect(202);
      const rejected = await final('T-BAD');
      expect(rejected.state).toBe('REJECTED');
      expect(rejected.failure).not.toBeNull();

      await submit({ trade: { tradeId: 'T-X' } }).expect(400);
      await submit(tradeBody(market, { tradeId: 'T-OK', seller: 'GEN-1', buyer: 'CON-1' })).expect(409);
      await get('/v1/trades?state=COMMITTED', 'regulator').expect(200);
      await get('/v1/trades/T-404').expect(404);
      await get('/v1/trades/T-OK/evidence', 'regulator').expect(200);
      await get('/v1/trades/T-BAD/evidence', 'regulator').expect(409);
      await get('/v1/trades/T-404/evidence').expect(404);
    });

    it('shows, prints, releases, claims and revokes vouchers', async () => {
      await get('/v1/vouchers?consumer=CON-1', 'regulator').expect(200);
      await get('/v1/vouchers/VCH-T-OK').expect(200);
      await get('/v1/vouchers/VCH-404').expect(404);
      const printed = await get('/v1/vouchers/VCH-T-OK/print').expect(200);
      expect(printed.headers['content-type']).toMatch(/^text\/html/);
      await get('/v1/vouchers/VCH-404/print').expect(404);
      // The public verification page its QR code links to: no key; refusals as problem or, for a browser, page.
      const link = /id="verify-url">([^<]+)</.exec(printed.text)?.[1];
      const verify = new URL(link!).pathname;
      expect(verify).toMatch(/^\/verify\/VCH-T-OK\/[0-9a-f]{32}$/);
      const page = await http.get(verify).expect(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      const forged = verify.replace(/[0-9a-f]{32}$/, 'f'.repeat(32));
      await http.get(forged).expect(404);
      const forgedPage = await http.get(forged).set('Accept', 'text/html').expect(404);
      expect(forgedPage.headers['content-type']).toMatch(/^text\/html/);
      await http.get('/verify/VCH-T-OK/not-hex').expect(400);
      await http.get('/verify/VCH-T-OK/not-hex').set('Accept', 'text/html').expect(400);
      await get('/v1/vouchers/VCH-T-OK/provenance', 'regulator').expect(200);
      await get('/v1/vouchers/VCH-404/provenance').expect(404);
      await post('/v1/vouchers/VCH-T-OK/release', {}, 'trading-center').expect(200);
      await post('/v1/vouchers/VCH-404/release', {}, 'trading-center').expect(404);
      await post(
        '/v1/vouchers/VCH-T-OK/claim',
        { purpose: '2026 年度绿电消费核算', reportingStartMonth: '2026-01', reportingEndMonth: '2026-12' },
        'trading-center',
      ).expect(200);
      await post('/v1/vouchers/VCH-T-OK/release', {}, 'trading-center').expect(409);
      const claimed = await get('/v1/vouchers/VCH-T-OK').expect(200);
      expect(claimed.body.claimedFor).not.toBeNull();
      await post(
        '/v1/vouchers/VCH-404/claim',
        {
          purpose: 'x',
          reportingStartMonth: '2026-01',
          reportingEndMonth: '2026-12',
        },
        'trading-center',
      ).expect(404);
      await post('/v1/vouchers/VCH-T-OK/revoke', { reason: 'dispute' }).expect(409);
      await post('/v1/vouchers/VCH-404/revoke', { reason: 'dispute' }).expect(404);

      await submit(
        tradeBody(market, { tradeId: 'T-OK-2', seller: 'GEN-1', buyer: 'CON-1', lots: [{ lotId: lot() }] }),
      ).expect(202);
      expect((await final('T-OK-2')).state).toBe('COMMITTED');
      const revoked = await post('/v1/vouchers/VCH-T-OK-2/revoke', { reason: 'trade disputed' }).expect(200);
      expect(revoked.body.status).toBe('REVOKED');
    });
  });

  describe('audit', () => {
    it('verifies the chain and checks the projection for regulators and admins; refuses others and bad input', async () => {
      const chain = await get('/v1/audit/chain', 'regulator').expect(200);
      expect(chain.body).toMatchObject({ ok: true, failureCount: 0 });
      await get('/v1/audit/chain?from=1&to=0', 'admin').expect(400);
      await get('/v1/audit/chain', 'trading-center').expect(403);
      // Everything the tests above did, from lots expired and withdrawn to vouchers revoked: the projection
      // holds what the ledger holds.
      const check = await get('/v1/audit/projection', 'regulator').expect(200);
      expect(check.body.differences).toEqual([]);
      expect(check.body.ok).toBe(true);
      await get('/v1/audit/projection?tables=api_keys', 'admin').expect(400);
      await get('/v1/audit/projection', 'energy-platform').expect(403);
    });

    it('lists the regulator audit log for regulators only', async () => {
      const log = await get('/v1/audit/log?limit=5', 'regulator').expect(200);
      expect(log.body.items.length).toBeGreaterThan(0);
      await get('/v1/audit/log?status=42', 'regulator').expect(400);
      await get('/v1/audit/log', 'admin').expect(403);
    });
  });

  describe('statistics and exports', () => {
    it('answers statistics as JSON and streams them as CSV and NDJSON; refuses bad ranges and other roles', async () => {
      const range = 'from=2020-01&to=2100-01';
      for (const statistic of [
        `certificates?${range}&groupBy=month,province,technology,participant`,
        `green-consumption?${range}`,
        `rejected-trades?${range}`,
      ]) {
        const json = await get(`/v1/statistics/${statistic}`, 'regulator').expect(200);
        expect(json.body.rows.length).toBeGreaterThan(0);
        await get(`/v1/statistics/${statistic}&format=csv`, 'admin').expect(200);
        await get(`/v1/statistics/${statistic}`, 'regulator')
          .set('Accept', 'application/x-ndjson')
          .expect(200);
        await get(`/v1/statistics/${statistic.replace('to=2100-01', 'to=2019-01')}`, 'regulator').expect(400);
        await get(`/v1/statistics/${statistic}`, 'trading-center').expect(403);
      }
    });

    it('streams every list export as CSV and NDJSON; refuses bad filters and other roles', async () => {
      for (const list of [
        'lots',
        'issuances',
        'trades',
        'vouchers',
        'redemptions',
        'exchanges',
        'participants',
        'units',
        'listings',
        'meter-attestations',
        'audit-log',
      ]) {
        const csv = await get(`/v1/exports/${list}`, 'regulator').expect(200);
        expect(csv.text.split('\r\n').length).toBeGreaterThan(2);
        // The audit log's export is the regulators' alone, as the log itself.
        const other = list === 'audit-log' ? 'regulator' : 'admin';
        await get(`/v1/exports/${list}?format=ndjson`, other).expect(200);
        await get(`/v1/exports/${list}?format=xlsx`, 'regulator').expect(400);
        await get(`/v1/exports/${list}`, 'energy-platform').expect(403);
      }
      await get('/v1/exports/audit-log', 'admin').expect(403);
    });
  });

  describe('health', () => {
    it('answers liveness and readiness', async () => {
      await http.get('/health').expect(200);
      await http.get('/health/ready').expect(200);
    });
  });

  describe('pages', () => {
    it('serves the regulator page without a key (it holds no data)', async () => {
      const page = await http.get('/regulator').expect(200);
      expect(page.headers['content-security-policy']).toMatch(/default-src 'none'/);
    });
  });

  describe('with a rate limit, and while the database is away', () => {
    let lossDir = '';
    let lossGateway: TestGateway | undefined;
    let blocker: Server | undefined;

    afterAll(async () => {
      blocker?.close();
      await lossGateway?.close();
      const pid = lossDir ? postmasterPid(lossDir) : undefined;
      if (pid && isAlive(pid)) process.kill(pid, 'SIGINT');
      if (lossDir) await rm(lossDir, { recursive: true, force: true });
    });

    /**
     * Kill the gateway's own embedded PostgreSQL and hold its port with a server that drops every connection,
     * so the supervisor's restarts fail until the port is released (as database-loss.e2e.test.ts does).
     */
    async function holdPort(port: number): Promise<Server> {
      for (;;) {
        const pid = postmasterPid(lossDir);
        if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
        while (pid && isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 10));
        const server = createServer((socket) => socket.destroy());
        const bound = await new Promise<boolean>((resolve) => {
          server.once('error', () => resolve(false));
          server.listen(port, '127.0.0.1', () => resolve(true));
        });
        if (bound) return server;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }

    it('429 with Retry-After, and 503 with Retry-After (readiness 503 with its checks)', async () => {
      lossDir = await tempDir('gec-openapi-contract-loss-');
      const pgPort = await freePort();
      // One write a minute: the second write of the test is refused.
      lossGateway = await startGateway({
        dataDir: lossDir,
        env: { EMBEDDED_PG_PORT: String(pgPort), EXPIRY_SWEEP_INTERVAL_MS: '0', RATE_LIMIT_PER_MINUTE: '1' },
      });
      const agent = checkedAgent(lossGateway.http, contract, violations);
      const admin = await readFirstAdminKey(lossDir);
      await agent.post('/v1/participants').set('X-API-Key', admin).send(participant('GEN-1')).expect(201);
      const limited = await agent
        .post('/v1/participants')
        .set('X-API-Key', admin)
        .send(participant('GEN-2'))
        .expect(429);
      expect(limited.headers['retry-after']).toMatch(/^\d+$/);

      blocker = await holdPort(pgPort);
      await agent.get('/v1/participants').set('X-API-Key', admin).expect(503);
      // An unknown key is looked up in the database (a known one may be answered from a short cache, and the
      // admin key's write budget is spent).
      await agent.get('/v1/parameters').set('X-API-Key', 'gec_not_cached').expect(503);
      await agent
        .post('/v1/participants')
        .set('X-API-Key', 'gec_not_cached')
        .set('Idempotency-Key', 'during-outage')
        .send(participant('GEN-3'))
        .expect(503);
      const ready = await agent.get('/health/ready').expect(503);
      expect(ready.body.checks.database.status).toBe('down');

      // Let PostgreSQL come back before the gateway closes (a close mid-outage would wait on the supervisor).
      await new Promise((resolve) => blocker!.close(resolve));
      blocker = undefined;
      for (;;) {
        const res = await lossGateway.http.get('/health/ready');
        if (res.status === 200) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await lossGateway.close();
      lossGateway = undefined;
    });
  });

  it('called every operation of the document, each with a success answer', () => {
    const missing = contract.operations().filter((op) => !contract.exercised.has(op));
    expect(missing).toEqual([]);
    const neverSucceeded = contract
      .operations()
      .filter((op) => ![...(contract.exercised.get(op) ?? [])].some((status) => status < 300));
    expect(neverSucceeded).toEqual([]);
  });

  it('saw every refusal the document declares', () => {
    const seen = new Set([...contract.exercised.values()].flatMap((statuses) => [...statuses]));
    for (const status of [400, 401, 403, 404, 409, 413, 415, 422, 429, 502, 503]) {
      expect({ status, seen: seen.has(status) }).toEqual({ status, seen: true });
    }
  });
});
