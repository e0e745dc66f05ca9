/**
 * Lot operations and the contract of the certificates API: split, partial transfer with lineage, listing
 * cancellation, withdrawal, transfer size limits, field-named errors (gateway and chaincode), lot search and
 * pagination, the HTTP mapping of every chaincode error code, the OpenAPI document, and the expiry sweep's lock.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { ERROR_CODES } from '@gec/chaincode';
import type { CertificateLot } from '@gec/chaincode';
import { Client } from 'pg';
import { toLotDto } from '../src/certificates/certificates.dto';
import { CHAINCODE_ERROR_STATUS } from '../src/common/ledger-errors';
import { ExpirySweeper, msUntilNextDailyRun } from '../src/expiry/expiry-sweeper';
import { LEDGER_PORT } from '../src/ledger-module/ledger.tokens';
import type { IdentityRef, LedgerPort } from '../src/ledger/port';
import {
  participant,
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  TestGateway,
  TestPostgres,
} from './support/harness';

const PLATFORM: IdentityRef = { mspId: 'GridMSP', name: 'platform' };
const REGULATOR: IdentityRef = { mspId: 'RegulatorMSP', name: 'regulator' };
const PROJECT = 'P3300002025000042';

function previousMonth(): string {
  const shanghai = new Date(Date.now() + 8 * 3600 * 1000);
  const y = shanghai.getUTCFullYear();
  const m = shanghai.getUTCMonth();
  return m === 0 ? `${y - 1}-12` : `${y}-${String(m).padStart(2, '0')}`;
}
const MONTH = previousMonth();
const S = (sequence: number) => `${PROJECT}${MONTH.replace('-', '')}${String(sequence).padStart(7, '0')}ST`;

describe('certificates API', () => {
  let postgres: TestPostgres;
  let databaseUrl: string;
  let dataDir: string;
  let gateway: TestGateway;
  let ledger: LedgerPort;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-certificates-');
    databaseUrl = await postgres.newDatabase();
    gateway = await startGateway({ dataDir, databaseUrl, env: { EXPIRY_SWEEP_INTERVAL_MS: '0' } });
    ledger = gateway.app.get<LedgerPort>(LEDGER_PORT);
    keys.admin = await readFirstAdminKey(dataDir);
    for (const role of ['trading-center', 'energy-platform', 'regulator']) {
      const res = await gateway.http
        .post('/v1/api-keys')
        .set('X-API-Key', keys.admin)
        .send({ label: role, role, actsFor: 'ORG-1' })
        .expect(201);
      keys[role] = res.body.key;
    }
    const admin = (path: string, body: object) =>
      gateway.http.post(path).set('X-API-Key', keys.admin).send(body).expect(201);
    await admin('/v1/participants', participant('GEN-1'));
    await admin('/v1/participants', participant('CON-1', { kind: 'CONSUMER' }));
    await admin('/v1/participants', participant('CON-2', { kind: 'CONSUMER' }));
    await admin('/v1/units', {
      id: 'U-1',
      owner: 'GEN-1',
      name: '光伏一期',
      projectCode: PROJECT,
      technology: 'SOLAR_PV',
      capacityKw: 30000,
      province: '330000',
      meterIds: ['M-1'],
      commissioningDate: '2021-01-01',
    });
    await ledger.submit({
      identity: PLATFORM,
      transaction: 'metering:AttestMeterPeriod',
      args: [
        JSON.stringify({
          meterId: 'M-1',
          period: MONTH,
          totalWh: '50000000',
          digest: createHash('sha256').update('m1').digest('hex'),
        }),
      ],
    });
    await admin('/v1/issuances', { unitId: 'U-1', month: MONTH });
  }, 60000);

  afterAll(async () => {
    await gateway?.close();
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const post = (path: string, body: object, role = 'trading-center') =>
    gateway.http.post(path).set('X-API-Key', keys[role]).send(body);
  const get = (path: string, role = 'regulator') => gateway.http.get(path).set('X-API-Key', keys[role]);

  async function chainLot(id: string): Promise<CertificateLot> {
    const bytes = await ledger.evaluate({
      identity: REGULATOR,
      transaction: 'certificates:GetLot',
      args: [id],
    });
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as CertificateLot;
  }

  async function expectLotAgrees(id: string): Promise<void> {
    const rest = await get(`/v1/lots/${id}`).expect(200);
    const chain = await chainLot(id);
    expect(rest.body).toEqual(toLotDto(chain, (await ledger.getTransaction(chain.updatedTxId))!.blockNumber));
  }

  it('maps every chaincode error code to an HTTP status explicitly', () => {
    const missing = ERROR_CODES.filter((code) => CHAINCODE_ERROR_STATUS[code] === undefined);
    expect(missing).toEqual([]);
    for (const [code, status] of Object.entries(CHAINCODE_ERROR_STATUS)) {
      if (code.endsWith('_NOT_FOUND')) expect(status).toBe(404);
      if (code.endsWith('_EXISTS')) expect(status).toBe(409);
    }
  });

  it('splits a lot, keeping its id and handing the highest serials to a child', async () => {
    const res = await post(`/v1/lots/${S(1)}/split`, { owner: 'GEN-1', certificates: 10 }).expect(201);
    expect(res.body.lotId).toBe(S(41));
    const child = res.body.lots.find((l: { id: string }) => l.id === S(41));
    expect(child).toMatchObject({ sequenceStart: 41, sequenceEnd: 50, certificates: 10, parentLotId: S(1) });
    await expectLotAgrees(S(1));
    await expectLotAgrees(S(41));
    // The chaincode's own argument check comes back naming the REST field.
    const whole = await post(`/v1/lots/${S(1)}/split`, { owner: 'GEN-1', certificates: 40 }).expect(400);
    expect(whole.body).toMatchObject({ code: 'INVALID_ARGUMENT', errors: [{ field: 'certificates' }] });
    const notOwner = await post(`/v1/lots/${S(1)}/split`, { owner: 'CON-1', certificates: 1 }).expect(409);
    expect(notOwner.body.code).toBe('LOT_NOT_OWNED');
  });

  it('transfers part of a lot with lineage, within the consortium’s size limits', async () => {
    await post('/v1/parameters', { minTransferVolume: 5, reason: 'test limits' }, 'admin').expect(200);
    const small = await post(`/v1/lots/${S(1)}/transfer`, {
      from: 'GEN-1',
      to: 'CON-1',
      certificates: 2,
    }).expect(422);
    expect(small.body.code).toBe('TRANSFER_BELOW_MINIMUM');
    const tooMuch = await post(`/v1/lots/${S(1)}/transfer`, {
      from: 'GEN-1',
      to: 'CON-1',
      certificates: 41,
    }).expect(422);
    expect(tooMuch.body.code).toBe('VOLUME_EXCEEDS_LOT');
    const self = await post(`/v1/lots/${S(1)}/transfer`, { from: 'GEN-1', to: 'GEN-1' }).expect(422);
    expect(self.body.code).toBe('SAME_PARTY');
    const bad = await post(`/v1/lots/${S(1)}/transfer`, {
      from: 'GEN-1',
      to: 'CON-1',
      certificates: 0,
    }).expect(400);
    expect(bad.body.errors[0].field).toBe('certificates');

    const res = await post(`/v1/lots/${S(1)}/transfer`, {
      from: 'GEN-1',
      to: 'CON-1',
      certificates: 15,
    }).expect(200);
    expect(res.body.lotId).toBe(S(26));
    expect((await get(`/v1/lots/${S(26)}`).expect(200)).body).toMatchObject({
      owner: 'CON-1',
      certificates: 15,
      parentLotId: S(1),
    });
    await expectLotAgrees(S(1));
    await expectLotAgrees(S(26));
    const params = await post('/v1/parameters', { minTransferVolume: 1, reason: 'reset' }, 'admin').expect(
      200,
    );
    expect(params.body).toMatchObject({ minTransferVolume: 1, validityMonths: 24 });
    expect((await get('/v1/parameters').expect(200)).body).toEqual(params.body);
  });

  it('cancels a listing, returning its lot to ACTIVE', async () => {
    const listed = await post('/v1/listings', {
      id: 'LST-9',
      lotId: S(26),
      owner: 'CON-1',
      unitPriceFen: 2000,
    })
      .set('Idempotency-Key', 'lst-9')
      .expect(201);
    expect(listed.body.lotId).toBe(S(26));
    // Same key, other body: refused.
    const reused = await post('/v1/listings', { id: 'LST-9', lotId: S(26), owner: 'CON-1', unitPriceFen: 1 })
      .set('Idempotency-Key', 'lst-9')
      .expect(409);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const moving = await post(`/v1/lots/${S(26)}/transfer`, { from: 'CON-1', to: 'CON-2' }).expect(409);
    expect(moving.body.code).toBe('LOT_LISTED');
    const cancelled = await post('/v1/listings/LST-9/cancel', { owner: 'CON-1' }).expect(200);
    expect(cancelled.body.listing).toMatchObject({ status: 'CANCELLED', certificates: 0 });
    expect((await get('/v1/listings/LST-9').expect(200)).body.status).toBe('CANCELLED');
    expect((await get(`/v1/lots/${S(26)}`).expect(200)).body).toMatchObject({
      status: 'ACTIVE',
      listingId: null,
    });
    await post('/v1/listings/LST-9/cancel', { owner: 'CON-1' })
      .expect(409)
      .expect((r) => expect(r.body.code).toBe('LISTING_NOT_OPEN'));
    await post('/v1/listings/NOPE/sell', { buyer: 'CON-2' })
      .expect(404)
      .expect((r) => expect(r.body.code).toBe('LISTING_NOT_FOUND'));
    await expectLotAgrees(S(26));
  });

  it('withdraws certificates as the issuer, with a reason; a withdrawn lot never acts again', async () => {
    await post(`/v1/lots/${S(41)}/withdraw`, { reason: 'x' }, 'trading-center').expect(403);
    const res = await post(
      `/v1/lots/${S(41)}/withdraw`,
      { reason: 'metering dispute', certificates: 4 },
      'admin',
    ).expect(200);
    const withdrawn = res.body.lots.find((l: { id: string }) => l.id === res.body.lotId);
    expect(withdrawn).toMatchObject({
      status: 'WITHDRAWN',
      statusReason: 'metering dispute',
      certificates: 4,
    });
    const again = await post(`/v1/lots/${res.body.lotId}/transfer`, { from: 'GEN-1', to: 'CON-1' }).expect(
      409,
    );
    expect(again.body.code).toBe('LOT_WITHDRAWN');
    const check = await get(`/v1/certificates/${withdrawn.serialEnd}/redemption`).expect(200);
    expect(check.body).toMatchObject({ status: 'WITHDRAWN', redeemed: false, exchanged: false });
    await expectLotAgrees(res.body.lotId);
    await post(`/v1/lots/${S(1)}/expire`, {}, 'energy-platform')
      .expect(409)
      .expect((r) => expect(r.body.code).toBe('LOT_NOT_EXPIRED'));
  });

  it('searches lots by owner, unit, status, month and serial, page by page', async () => {
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(
        `/v1/lots?unitId=U-1&productionMonth=${MONTH}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      all.push(...res.body.items.map((l: { id: string }) => l.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(all).toEqual([...all].sort());
    expect(new Set(all).size).toBe(all.length);
    expect(all).toHaveLength(4); // 1-25, 26-40, 41-46, 47-50
    const volumes = await Promise.all(all.map(async (id) => (await get(`/v1/lots/${id}`)).body.certificates));
    expect(volumes.reduce((a, b) => a + b, 0)).toBe(50);

    expect(
      (await get('/v1/lots?owner=CON-1&status=ACTIVE').expect(200)).body.items.map(
        (l: { id: string }) => l.id,
      ),
    ).toEqual([S(26)]);
    expect(
      (await get(`/v1/lots?serial=${S(30)}`).expect(200)).body.items.map((l: { id: string }) => l.id),
    ).toEqual([S(26)]);
    expect((await get(`/v1/lots?serial=${S(30)}&owner=GEN-1`).expect(200)).body.items).toEqual([]);
    expect((await get(`/v1/lots?serial=${S(51)}`).expect(200)).body.items).toEqual([]);
    await get('/v1/lots?status=GONE')
      .expect(400)
      .expect((r) => expect(r.body.errors[0].field).toBe('status'));
    await get(`/v1/lots/${S(2)}`)
      .expect(404)
      .expect((r) => expect(r.body.code).toBe('LOT_NOT_FOUND'));
    await get('/v1/redemptions/NOPE').expect(404);
    await get('/v1/exchanges/NOPE').expect(404);
    const issuances = await get(`/v1/issuances?month=${MONTH}`).expect(200);
    expect(issuances.body.items).toHaveLength(1);
  });

  it('documents every lifecycle endpoint in OpenAPI with summaries and examples', async () => {
    const doc = (await gateway.http.get('/docs/openapi.json').expect(200)).body;
    const expected: Array<[string, string]> = [
      ['/v1/units', 'post'],
      ['/v1/units', 'get'],
      ['/v1/units/{id}', 'get'],
      ['/v1/units/{id}/status', 'post'],
      ['/v1/meter-attestations', 'get'],
      ['/v1/meter-attestations/{meterId}/{period}', 'get'],
      ['/v1/issuances', 'post'],
      ['/v1/issuances', 'get'],
      ['/v1/lots', 'get'],
      ['/v1/lots/{lotId}', 'get'],
      ['/v1/lots/{lotId}/history', 'get'],
      ['/v1/lots/{lotId}/split', 'post'],
      ['/v1/lots/{lotId}/transfer', 'post'],
      ['/v1/lots/{lotId}/expire', 'post'],
      ['/v1/lots/{lotId}/withdraw', 'post'],
      ['/v1/listings', 'post'],
      ['/v1/listings', 'get'],
      ['/v1/listings/{id}/cancel', 'post'],
      ['/v1/listings/{id}/sell', 'post'],
      ['/v1/redemptions', 'post'],
      ['/v1/redemptions/{id}', 'get'],
      ['/v1/certificates/{serial}/redemption', 'get'],
      ['/v1/certificates/{serial}/provenance', 'get'],
      ['/v1/exchanges', 'post'],
      ['/v1/exchanges/{id}', 'get'],
      ['/v1/parameters', 'get'],
      ['/v1/parameters', 'post'],
      ['/v1/parameters/pause', 'post'],
      ['/v1/parameters/resume', 'post'],
    ];
    for (const [path, method] of expected) {
      const operation = doc.paths[path]?.[method];
      expect({ path, method, summary: operation?.summary }).toEqual({
        path,
        method,
        summary: expect.any(String),
      });
      expect(operation['x-gec-roles'].length).toBeGreaterThan(0);
    }
    const schemas = doc.components.schemas as Record<
      string,
      { properties?: Record<string, { example?: unknown }> }
    >;
    for (const name of [
      'LotDto',
      'IssuanceDto',
      'ListingDto',
      'RedemptionDto',
      'ExchangeDto',
      'UnitDto',
      'RegisterUnitDto',
      'MeterAttestationDto',
      'RedemptionCheckDto',
      'ProvenanceDto',
      'LotChangeDto',
      'ListingChangeDto',
      'CreateListingDto',
      'CreateRedemptionDto',
      'CreateExchangeDto',
      'TransferLotDto',
      'IssueDto',
      'ParametersDto',
    ]) {
      expect({ name, description: typeof (schemas[name] as { description?: string })?.description }).toEqual({
        name,
        description: 'string',
      });
      const properties = schemas[name]?.properties ?? {};
      expect(Object.keys(properties).length).toBeGreaterThan(0);
      const withoutExample = Object.entries(properties)
        .filter(
          ([, p]) =>
            p.example === undefined &&
            !('$ref' in p) &&
            !('allOf' in p) &&
            !('oneOf' in p) &&
            // Arrays of documented objects: their items' schema carries the examples.
            !('items' in p && '$ref' in (p as { items: object }).items),
        )
        .map(([key]) => `${name}.${key}`);
      expect(withoutExample).toEqual([]);
    }
  });

  it('lets one gateway instance sweep at a time (PostgreSQL advisory lock)', async () => {
    expect(msUntilNextDailyRun(new Date('2026-11-21T16:00:00.000Z'))).toBe(10 * 60 * 1000);
    expect(msUntilNextDailyRun(new Date('2026-11-21T16:10:00.000Z'))).toBe(24 * 3600 * 1000);
    const other = new Client({ connectionString: databaseUrl });
    await other.connect();
    try {
      await other.query("SELECT pg_advisory_lock(hashtext('gec-ledger.expiry-sweep'))");
      const sweeper = gateway.app.get(ExpirySweeper);
      expect(await sweeper.sweep()).toMatchObject({ ran: false, candidates: 0 });
      await other.query("SELECT pg_advisory_unlock(hashtext('gec-ledger.expiry-sweep'))");
      expect(await sweeper.sweep()).toMatchObject({ ran: true, candidates: 0 });
    } finally {
      await other.end();
    }
  });
});
