/**
 * Generation units and the meter-attestation read side, end to end: registration rules, status changes, the
 * projection of attestations and of their corrections (which also move issuances' carries), field-named errors.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { GenerationUnit, Issuance } from '@gec/chaincode';
import { toIssuanceDto } from '../src/certificates/certificates.dto';
import { LEDGER_PORT } from '../src/ledger-module/ledger.tokens';
import type { IdentityRef, LedgerPort } from '../src/ledger/port';
import type { EmbeddedLedger } from '../src/ledger/embedded/embedded-ledger';
import { toUnitDto } from '../src/units/units.dto';
import {
  participant,
  readFirstAdminKey,
  atLedgerTime,
  startGateway,
  startTestPostgres,
  tempDir,
  TestGateway,
  TestPostgres,
} from './support/harness';

const PLATFORM: IdentityRef = { mspId: 'GridMSP', name: 'platform' };
const REGULATOR: IdentityRef = { mspId: 'RegulatorMSP', name: 'regulator' };
const digest = (text: string) => createHash('sha256').update(text).digest('hex');

const unit = (id: string, overrides: Record<string, unknown> = {}) => ({
  id,
  owner: 'GEN-1',
  name: `${id} 光伏电站`,
  projectCode: `P33000020250${id.replace(/\D/g, '').padStart(5, '0')}`,
  technology: 'SOLAR_PV',
  capacityKw: 2000,
  province: '330000',
  meterIds: [`${id}-M1`],
  commissioningDate: '2020-01-15',
  ...overrides,
});

describe('units and meter attestations', () => {
  let postgres: TestPostgres;
  let dataDir: string;
  let gateway: TestGateway;
  let ledger: LedgerPort;
  let embedded: EmbeddedLedger;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-units-');
    // The scheduled sweep runs here, often: the 2024 certificates issued below are past their date.
    gateway = await startGateway({
      dataDir,
      databaseUrl: await postgres.newDatabase(),
      env: { EXPIRY_SWEEP_INTERVAL_MS: '300', EXPIRY_SWEEP_START_DELAY_MS: '100' },
      wrapLedger: (opened) => (embedded = opened as EmbeddedLedger),
    });
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
    // The trading center's admin (a trading-center key is a client identity, which may not register units).
    const tradingAdmin = await gateway.http
      .post('/v1/api-keys')
      .set('X-API-Key', keys.admin)
      .send({ label: 'trading center admin', role: 'admin', actsFor: 'TC-1', mspId: 'TradingCenterMSP' })
      .expect(201);
    keys['trading-admin'] = tradingAdmin.body.key;
    await gateway.http
      .post('/v1/participants')
      .set('X-API-Key', keys.admin)
      .send(participant('GEN-1'))
      .expect(201);
    await gateway.http
      .post('/v1/participants')
      .set('X-API-Key', keys.admin)
      .send(participant('CON-1', { kind: 'CONSUMER' }))
      .expect(201);
  }, 60000);

  afterAll(async () => {
    await gateway?.close();
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const post = (path: string, body: object, role = 'admin') =>
    gateway.http.post(path).set('X-API-Key', keys[role]).send(body);
  const get = (path: string, role = 'energy-platform') => gateway.http.get(path).set('X-API-Key', keys[role]);

  async function evaluate<T>(transaction: string, ...args: string[]): Promise<T> {
    const bytes = await ledger.evaluate({ identity: REGULATOR, transaction, args });
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  }

  async function submitAsPlatform(transaction: string, request: object) {
    return ledger.submit({ identity: PLATFORM, transaction, args: [JSON.stringify(request)] });
  }

  async function waitFor(check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('timed out waiting for the projection');
  }

  it('registers units through either admin key and reads them back from the projection', async () => {
    const byGrid = await post('/v1/units', unit('U-1')).expect(201);
    expect(byGrid.body).toMatchObject({ id: 'U-1', owner: 'GEN-1', status: 'ACTIVE', statusReason: null });
    const byTradingCenter = await post('/v1/units', unit('U-2'), 'trading-admin').expect(201);
    expect(byTradingCenter.body.registeredByMsp).toBe('TradingCenterMSP');
    expect(byTradingCenter.body.id).toBe('U-2');
    for (const id of ['U-1', 'U-2']) {
      const chain = await evaluate<GenerationUnit>('units:GetUnit', id);
      const rest = await get(`/v1/units/${id}`).expect(200);
      expect(rest.body).toEqual(toUnitDto(chain, rest.body.ledger.blockNumber));
      expect(rest.body.ledger.blockNumber).toBe(
        (await ledger.getTransaction(chain.updatedTxId))?.blockNumber,
      );
    }
  });

  it('enforces the registration rules with named errors', async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [unit('U-1', { projectCode: 'P3300002025009999', meterIds: ['X-1'] }), 409, 'UNIT_EXISTS'],
      [unit('U-3', { projectCode: unit('U-1').projectCode, meterIds: ['X-2'] }), 409, 'PROJECT_CODE_EXISTS'],
      [unit('U-4', { meterIds: ['U-1-M1'] }), 409, 'METER_ALREADY_ASSIGNED'],
      [unit('U-5', { owner: 'CON-1' }), 422, 'OWNER_NOT_GENERATOR'],
      [unit('U-6', { owner: 'NOBODY' }), 404, 'PARTICIPANT_NOT_FOUND'],
    ];
    for (const [body, status, code] of cases) {
      const res = await post('/v1/units', body).expect(status);
      expect(res.body.code).toBe(code);
    }
    const invalid = await post('/v1/units', unit('U-7', { projectCode: 'short', meterIds: [] })).expect(400);
    expect(invalid.body.code).toBe('VALIDATION_FAILED');
    expect(invalid.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'meterIds',
      'projectCode',
    ]);
    await get('/v1/units/U-404').expect(404);
    await get('/v1/units/bad%20id')
      .expect(400)
      .expect((r) => expect(r.body.errors[0].field).toBe('id'));
    await post('/v1/units', unit('U-8'), 'energy-platform').expect(403);
  });

  it('lists units by owner and status with a cursor', async () => {
    await post('/v1/units', unit('U-3')).expect(201);
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await get(
        `/v1/units?owner=GEN-1&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      ).expect(200);
      ids.push(...res.body.items.map((u) => u.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(ids).toEqual(['U-1', 'U-2', 'U-3']);
    await get('/v1/units?cursor=garbage')
      .expect(400)
      .expect((r) => expect(r.body.code).toBe('INVALID_CURSOR'));
  });

  it('changes a unit’s status; a suspended unit is not issued; decommissioning is final', async () => {
    const suspended = await post('/v1/units/U-3/status', {
      status: 'SUSPENDED',
      reason: 'inspection',
    }).expect(200);
    expect(suspended.body).toMatchObject({ status: 'SUSPENDED', statusReason: 'inspection' });
    expect(
      (await get('/v1/units?status=SUSPENDED').expect(200)).body.items.map((u: { id: string }) => u.id),
    ).toEqual(['U-3']);
    await submitAsPlatform('metering:AttestMeterPeriod', {
      meterId: 'U-3-M1',
      period: '2024-01',
      totalWh: '3000000',
      digest: digest('u3'),
    });
    const refused = await post('/v1/issuances', { unitId: 'U-3', month: '2024-01' }).expect(409);
    expect(refused.body.code).toBe('UNIT_NOT_ACTIVE');
    await post('/v1/units/U-3/status', { status: 'SUSPENDED', reason: 'again' })
      .expect(409)
      .expect((r) => expect(r.body.code).toBe('STATUS_UNCHANGED'));
    await post('/v1/units/U-3/status', { status: 'DECOMMISSIONED', reason: 'end of life' }).expect(200);
    await post('/v1/units/U-3/status', { status: 'ACTIVE', reason: 'x' })
      .expect(409)
      .expect((r) => expect(r.body.code).toBe('UNIT_DECOMMISSIONED'));
    await post('/v1/units/U-3/status', { status: 'ACTIVE', reason: 'x' }, 'regulator').expect(403);
  });

  it('projects attestations and their corrections, and the corrected issuance carries', async () => {
    await submitAsPlatform('metering:AttestMeterPeriod', {
      meterId: 'U-1-M1',
      period: '2024-03',
      totalWh: '2500000',
      digest: digest('v1'),
    });
    await waitFor(
      async () => (await get('/v1/meter-attestations?meterId=U-1-M1').expect(200)).body.items.length === 1,
    );
    // Issued when 2024-03 had just closed (the issuance window has long closed since).
    const issued = await atLedgerTime(embedded, new Date('2024-04-02T00:00:00+08:00'), () =>
      post('/v1/issuances', { unitId: 'U-1', month: '2024-03' }).expect(201),
    );
    expect(issued.body).toMatchObject({ certificates: 2, carryOutKwh: '500.000' });

    const correction = await submitAsPlatform('metering:CorrectMeterPeriod', {
      meterId: 'U-1-M1',
      period: '2024-03',
      totalWh: '2700000',
      digest: digest('v2'),
      reason: 'CT ratio fixed',
      version: 2,
    });
    await waitFor(
      async () => (await get('/v1/meter-attestations/U-1-M1/2024-03').expect(200)).body.version === 2,
    );
    const attestation = (await get('/v1/meter-attestations/U-1-M1/2024-03').expect(200)).body;
    expect(attestation).toMatchObject({ version: 2, totalKwh: '2700.000' });
    expect(attestation.ledger).toMatchObject({ txId: correction.txId, blockNumber: correction.blockNumber });
    expect(
      attestation.versions.map((v: { version: number; reason: string | null }) => [v.version, v.reason]),
    ).toEqual([
      [1, null],
      [2, 'CT ratio fixed'],
    ]);
    expect(attestation.versions[1].blockNumber).toBe(correction.blockNumber);

    const chain = await evaluate<Issuance>(
      'certificates:GetIssuance',
      JSON.stringify({ unitId: 'U-1', month: '2024-03' }),
    );
    const rest = await get('/v1/issuances?unitId=U-1&month=2024-03').expect(200);
    expect(rest.body.items).toEqual([toIssuanceDto(chain, correction.blockNumber)]);
    expect(rest.body.items[0]).toMatchObject({
      certificates: 2,
      carryOutKwh: '700.000',
      attestedKwh: '2700.000',
    });
    expect((await get('/v1/units/U-1').expect(200)).body.carryKwh).toBe('700.000');

    const byPeriod = await get('/v1/meter-attestations?period=2024-03').expect(200);
    expect(byPeriod.body.items.map((a: { meterId: string }) => a.meterId)).toEqual(['U-1-M1']);
    await get('/v1/meter-attestations/U-1-M1/2024-13')
      .expect(400)
      .expect((r) => expect(r.body.errors[0].field).toBe('period'));
  });
  it('refuses to issue certificates that would be born expired (422 ISSUANCE_WINDOW_CLOSED), storing nothing', async () => {
    await post('/v1/units', unit('U-12', { commissioningDate: '2011-06-30' })).expect(201);
    await submitAsPlatform('metering:AttestMeterPeriod', {
      meterId: 'U-12-M1',
      period: '2012-01',
      totalWh: '13654000000',
      digest: digest('u12'),
    });
    const refused = await post('/v1/issuances', { unitId: 'U-12', month: '2012-01' }).expect(422);
    expect(refused.body).toMatchObject({ code: 'ISSUANCE_WINDOW_CLOSED' });
    expect(refused.body.detail).toContain('would expire at 2013-12-31T16:00:00.000Z');
    expect((await get('/v1/issuances?unitId=U-12').expect(200)).body.items).toEqual([]);
    expect((await get('/v1/lots?unitId=U-12').expect(200)).body.items).toEqual([]);
    expect((await get('/v1/units/U-12').expect(200)).body).toMatchObject({ lastIssuedMonth: null });
    // The window is a consortium parameter, kept below the validity.
    const parameters = (await get('/v1/parameters').expect(200)).body;
    expect(parameters).toMatchObject({ validityMonths: 24, issuanceWindowMonths: 12 });
    const tooLong = await post('/v1/parameters', { issuanceWindowMonths: 30, reason: 'x' }).expect(400);
    expect(tooLong.body.detail).toContain('issuanceWindowMonths 30 must be below validityMonths 24');
  });

  it('expires past-date lots by the scheduled sweep, shortly after issuance', async () => {
    const lotId = (await get('/v1/issuances?unitId=U-1&month=2024-03').expect(200)).body.items[0]
      .lotId as string;
    await waitFor(async () => (await get(`/v1/lots/${lotId}`).expect(200)).body.status === 'EXPIRED');
    const chain = await evaluate<{ status: string; updatedTxId: string }>('certificates:GetLot', lotId);
    expect(chain.status).toBe('EXPIRED');
    expect((await get(`/v1/lots/${lotId}`).expect(200)).body.ledger.txId).toBe(chain.updatedTxId);
  });
});
