/**
 * The certificate lifecycle end to end over HTTP, on the real chaincode (embedded ledger) and a real PostgreSQL:
 * a unit is registered, metered, issued, listed, sold, partly redeemed, checked by serial and partly exchanged.
 * After every step the projection (what the REST API answers) is compared with the ledger (the chaincode's own
 * Get / List functions evaluated directly).
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type {
  CertificateLot,
  Exchange,
  GenerationUnit,
  Issuance,
  LotPage,
  ListingPage,
  Redemption,
  RedemptionCheck,
  UnitPage,
} from '@gec/chaincode';
import { toIssuanceDto, toLotDto, toRedemptionCheckDto } from '../src/certificates/certificates.dto';
import { ExpirySweeper } from '../src/expiry/expiry-sweeper';
import { LEDGER_PORT } from '../src/ledger-module/ledger.tokens';
import type { IdentityRef, LedgerPort } from '../src/ledger/port';
import type { EmbeddedLedger } from '../src/ledger/embedded/embedded-ledger';
import { DataSource } from 'typeorm';
import { toExchangeDto } from '../src/exchanges/exchanges.dto';
import { toListingDto } from '../src/listings/listings.dto';
import { toRedemptionDto } from '../src/redemptions/redemptions.dto';
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
const PROJECT = 'P3300002026000017';
const EXPIRED_PROJECT = 'P3300002020000099';

/** The last month that has ended (Asia/Shanghai). */
function previousMonth(): string {
  const shanghai = new Date(Date.now() + 8 * 3600 * 1000);
  const y = shanghai.getUTCFullYear();
  const m = shanghai.getUTCMonth(); // 0-based: the previous month's 1-based number
  return m === 0 ? `${y - 1}-12` : `${y}-${String(m).padStart(2, '0')}`;
}

const MONTH = previousMonth();
const serial = (project: string, month: string, sequence: number) =>
  `${project}${month.replace('-', '')}${String(sequence).padStart(7, '0')}WT`;
const S = (sequence: number) => serial(PROJECT, MONTH, sequence);
const digest = (text: string) => createHash('sha256').update(text).digest('hex');

describe('certificate lifecycle over HTTP', () => {
  let postgres: TestPostgres;
  let dataDir: string;
  let gateway: TestGateway;
  let ledger: LedgerPort;
  let embedded: EmbeddedLedger;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-lifecycle-');
    // The schedule is off here: the test drives the sweep itself, with its own clock.
    gateway = await startGateway({
      dataDir,
      databaseUrl: await postgres.newDatabase(),
      env: { EXPIRY_SWEEP_INTERVAL_MS: '0' },
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
  }, 60000);

  afterAll(async () => {
    await gateway?.close();
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const post = (path: string, body: object, role = 'trading-center') =>
    gateway.http.post(path).set('X-API-Key', keys[role]).send(body);
  const get = (path: string, role = 'regulator') => gateway.http.get(path).set('X-API-Key', keys[role]);

  async function evaluate<T>(transaction: string, ...args: string[]): Promise<T> {
    const bytes = await ledger.evaluate({ identity: REGULATOR, transaction, args });
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  }

  async function blockOf(txId: string): Promise<number> {
    const info = await ledger.getTransaction(txId);
    if (!info) throw new Error(`the ledger does not know tx ${txId}`);
    return info.blockNumber;
  }

  async function attest(meterId: string, period: string, totalWh: string): Promise<void> {
    await ledger.submit({
      identity: PLATFORM,
      transaction: 'metering:AttestMeterPeriod',
      args: [JSON.stringify({ meterId, period, totalWh, digest: digest(`${meterId}/${period}/${totalWh}`) })],
    });
  }

  /** Every projected unit, lot, issuance and listing equals the ledger's (same mapping, same block). */
  async function expectProjectionAgrees(): Promise<void> {
    const lots = await evaluate<LotPage>('queries:ListLots', JSON.stringify({ pageSize: 1000 }));
    const restLots = await get('/v1/lots?limit=1000').expect(200);
    const expectedLots = await Promise.all(
      lots.items.map(async (lot) => toLotDto(lot, await blockOf(lot.updatedTxId))),
    );
    expect(restLots.body.items).toEqual(expectedLots);

    const units = await evaluate<UnitPage>('units:ListUnits', '{}');
    const restUnits = await get('/v1/units?limit=1000').expect(200);
    expect(restUnits.body.items).toEqual(
      await Promise.all(units.items.map(async (u) => toUnitDto(u, await blockOf(u.updatedTxId)))),
    );

    for (const unit of units.items) {
      const issuances = await evaluate<{ items: Issuance[] }>(
        'certificates:ListIssuances',
        JSON.stringify({ unitId: unit.id }),
      );
      const rest = await get(`/v1/issuances?unitId=${unit.id}`).expect(200);
      expect(rest.body.items).toEqual(
        await Promise.all(issuances.items.map(async (i) => toIssuanceDto(i, await blockOf(i.updatedTxId)))),
      );
      // Conservation: the lots of each issuance add up to what it issued, with no serial twice.
      for (const issuance of issuances.items) {
        const mine = lots.items
          .filter((l) => l.issuanceId === issuance.id)
          .sort((a, b) => a.sequenceStart - b.sequenceStart);
        expect(mine.reduce((sum, l) => sum + l.volume, 0)).toBe(issuance.certificates);
        mine.forEach((l, i) => expect(l.sequenceStart).toBe(i === 0 ? 1 : mine[i - 1].sequenceEnd + 1));
      }
    }

    const listings = await evaluate<ListingPage>('certificates:ListListings', '{}');
    const restListings = await get('/v1/listings?limit=1000').expect(200);
    expect(restListings.body.items).toEqual(
      await Promise.all(listings.items.map(async (l) => toListingDto(l, await blockOf(l.updatedTxId)))),
    );
  }

  async function expectCheckAgrees(sequenceOrSerial: number | string) {
    const s = typeof sequenceOrSerial === 'number' ? S(sequenceOrSerial) : sequenceOrSerial;
    const rest = await get(`/v1/certificates/${s}/redemption`).expect(200);
    const chain = await evaluate<RedemptionCheck>('redemption:CheckRedemption', s);
    expect(rest.body).toEqual(toRedemptionCheckDto(chain));
    return rest.body as { redeemed: boolean; exchanged: boolean; lotId: string; status: string };
  }

  let unitLot = ''; // the lot the issuance created (sequences 1..)
  let listedLot = '';
  let soldLot = '';
  let redeemedRange = { serialStart: '', serialEnd: '' };

  it('registers a generator, two consumers and a unit with two meters', async () => {
    await post('/v1/participants', participant('GEN-1'), 'admin').expect(201);
    await post('/v1/participants', participant('CON-1', { kind: 'CONSUMER' }), 'admin').expect(201);
    await post('/v1/participants', participant('CON-2', { kind: 'CONSUMER' }), 'admin').expect(201);
    const unit = {
      id: 'UNIT-1',
      owner: 'GEN-1',
      name: '舟山海上风电一期',
      projectCode: PROJECT,
      technology: 'WIND',
      capacityKw: 50000,
      province: '330000',
      meterIds: ['M-2', 'M-1'],
      commissioningDate: '2019-06-30',
    };
    // Registering a unit is an admin's transaction on the ledger (a trading-center key is a client identity).
    const res = await post('/v1/units', unit, 'admin').set('Idempotency-Key', 'unit-1').expect(201);
    expect(res.headers.location).toBe('/v1/units/UNIT-1');
    expect(res.body).toMatchObject({
      id: 'UNIT-1',
      status: 'ACTIVE',
      meterIds: ['M-1', 'M-2'],
      carryKwh: '0.000',
    });
    // Replay: same answer, nothing submitted again.
    const replay = await post('/v1/units', unit, 'admin').set('Idempotency-Key', 'unit-1').expect(201);
    expect(replay.body).toEqual(res.body);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    await post('/v1/units', unit, 'admin')
      .expect(409)
      .expect((r) => expect(r.body.code).toBe('UNIT_EXISTS'));
    const chain = await evaluate<GenerationUnit>('units:GetUnit', 'UNIT-1');
    expect((await get('/v1/units/UNIT-1').expect(200)).body).toEqual(
      toUnitDto(chain, res.body.ledger.blockNumber),
    );
    expect(
      (await get('/v1/units?owner=GEN-1').expect(200)).body.items.map((u: { id: string }) => u.id),
    ).toEqual(['UNIT-1']);
    await expectProjectionAgrees();
  });

  it('refuses writes to roles that may not make them', async () => {
    const regulator = await post('/v1/units', { id: 'X' }, 'regulator').expect(403);
    expect(regulator.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(regulator.body.code).toBe('ROLE_NOT_ALLOWED');
    const platform = await post(
      '/v1/issuances',
      { unitId: 'UNIT-1', month: MONTH },
      'energy-platform',
    ).expect(403);
    expect(platform.body.code).toBe('ROLE_NOT_ALLOWED');
    await post('/v1/issuances', { unitId: 'UNIT-1', month: MONTH }, 'trading-center').expect(403);
    await post('/v1/parameters/pause', { reason: 'x' }, 'regulator').expect(403);
  });

  it('projects the attestation of both meters, and issues only once both are attested', async () => {
    await attest('M-1', MONTH, '60000500'); // 60,000.5 kWh
    const missing = await post('/v1/issuances', { unitId: 'UNIT-1', month: MONTH }, 'admin').expect(409);
    expect(missing.body.code).toBe('METER_NOT_ATTESTED');
    await attest('M-2', MONTH, '60500000'); // 60,500 kWh
    // Attestations come from the ledger's events: wait until both are projected.
    for (let i = 0; i < 50; i++) {
      const page = await get(`/v1/meter-attestations?period=${MONTH}`).expect(200);
      if (page.body.items.length === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const one = await get(`/v1/meter-attestations/M-1/${MONTH}`).expect(200);
    expect(one.body).toMatchObject({ meterId: 'M-1', period: MONTH, version: 1, totalKwh: '60000.500' });
    expect(one.body.versions).toHaveLength(1);
    const chain = await evaluate<{ txId: string; totalWh: string }>(
      'metering:GetMeterAttestation',
      JSON.stringify({ meterId: 'M-1', period: MONTH }),
    );
    expect(one.body.ledger.txId).toBe(chain.txId);
    expect(one.body.ledger.blockNumber).toBe(await blockOf(chain.txId));
    await get('/v1/meter-attestations/M-9/2020-01').expect(404);
  });

  it('issues the month into one lot of serials and carries the remainder', async () => {
    const res = await post('/v1/issuances', { unitId: 'UNIT-1', month: MONTH }, 'admin')
      .set('Idempotency-Key', 'issue-1')
      .expect(201);
    expect(res.body).toMatchObject({
      unitId: 'UNIT-1',
      productionMonth: MONTH,
      certificates: 120,
      volumeKwh: 120000,
      attestedKwh: '120500.500',
      carryOutKwh: '500.500',
      serialStart: S(1),
      serialEnd: S(120),
      validityMonths: 24,
    });
    unitLot = res.body.lotId;
    expect(unitLot).toBe(S(1));
    expect(res.headers.location).toBe(`/v1/lots/${unitLot}`);
    const again = await post('/v1/issuances', { unitId: 'UNIT-1', month: MONTH }, 'admin').expect(409);
    expect(again.body.code).toBe('ISSUANCE_EXISTS');
    const lot = await get(`/v1/lots/${unitLot}`).expect(200);
    expect(lot.body).toMatchObject({
      owner: 'GEN-1',
      status: 'ACTIVE',
      certificates: 120,
      volumeKwh: 120000,
    });
    expect((await get('/v1/units/UNIT-1').expect(200)).body).toMatchObject({
      carryKwh: '500.500',
      lastIssuedMonth: MONTH,
    });
    await expectProjectionAgrees();
  });

  it('lists part of the lot and sells part of the listing', async () => {
    const listed = await post('/v1/listings', {
      id: 'LST-1',
      lotId: unitLot,
      owner: 'GEN-1',
      certificates: 100,
      unitPriceFen: 1500,
    }).expect(201);
    expect(listed.body.listing).toMatchObject({
      id: 'LST-1',
      status: 'OPEN',
      certificates: 100,
      unitPriceFen: 1500,
      currency: 'CNY',
    });
    listedLot = listed.body.lotId;
    expect((await get(`/v1/lots/${listedLot}`).expect(200)).body).toMatchObject({
      status: 'LISTED',
      certificates: 100,
      listingId: 'LST-1',
    });
    expect((await get('/v1/listings?status=OPEN').expect(200)).body.items).toHaveLength(1);
    await expectProjectionAgrees();

    const sold = await post('/v1/listings/LST-1/sell', { buyer: 'CON-1', certificates: 60 }).expect(201);
    expect(sold.body.sale).toEqual({
      buyer: 'CON-1',
      certificates: 60,
      volumeKwh: 60000,
      unitPriceFen: 1500,
      amountFen: 90000,
      currency: 'CNY',
    });
    expect(sold.body.listing).toMatchObject({ status: 'OPEN', certificates: 40, soldCertificates: 60 });
    soldLot = sold.body.lotId;
    expect((await get(`/v1/lots/${soldLot}`).expect(200)).body).toMatchObject({
      owner: 'CON-1',
      status: 'ACTIVE',
      certificates: 60,
      parentLotId: listedLot,
    });
    const mine = await get('/v1/lots?owner=CON-1').expect(200);
    expect(mine.body.items.map((l: { id: string }) => l.id)).toEqual([soldLot]);
    await expectProjectionAgrees();
  });

  it('redeems part of a lot and answers the redemption check for any serial', async () => {
    const res = await post('/v1/redemptions', {
      id: 'RDM-1',
      owner: 'CON-1',
      beneficiary: '上海某制造有限公司',
      purpose: '2026 年度绿电消费声明',
      consumptionStartMonth: '2026-01',
      consumptionEndMonth: '2026-12',
      items: [{ lotId: soldLot, certificates: 30 }],
    })
      .set('Idempotency-Key', 'rdm-1')
      .expect(201);
    expect(res.body).toMatchObject({ id: 'RDM-1', certificates: 30, volumeKwh: 30000, owner: 'CON-1' });
    expect(res.body.ranges).toHaveLength(1);
    redeemedRange = res.body.ranges[0];
    expect((await get('/v1/redemptions/RDM-1').expect(200)).body).toEqual(res.body);
    const chainRedemption = await evaluate<Redemption>('redemption:GetRedemption', 'RDM-1');
    expect(res.body).toEqual(toRedemptionDto(chainRedemption, await blockOf(chainRedemption.txId)));
    const redeemedLot = await get(`/v1/lots/${res.body.ranges[0].lotId}`).expect(200);
    expect(redeemedLot.body).toMatchObject({ status: 'REDEEMED', redemptionId: 'RDM-1', certificates: 30 });
    await expectProjectionAgrees();

    const start = Number(redeemedRange.serialStart.slice(23, 30));
    const end = Number(redeemedRange.serialEnd.slice(23, 30));
    expect(end - start + 1).toBe(30);
    // First and last serial of the issuance, inside a lot, both edges of the redeemed range and beside them.
    const answers: Record<number, { redeemed: boolean }> = {};
    for (const sequence of [1, 120, 50, start, end, start - 1, Math.floor((start + end) / 2)]) {
      answers[sequence] = await expectCheckAgrees(sequence);
    }
    expect(answers[start].redeemed).toBe(true);
    expect(answers[end].redeemed).toBe(true);
    expect(answers[start - 1].redeemed).toBe(false);
    expect(answers[1].redeemed).toBe(false);
    const check = (await get(`/v1/certificates/${redeemedRange.serialStart}/redemption`).expect(200)).body;
    expect(check).toMatchObject({
      redeemed: true,
      redemptionId: 'RDM-1',
      beneficiary: '上海某制造有限公司',
      purpose: '2026 年度绿电消费声明',
      consumedTxId: res.body.ledger.txId,
    });
    // The check is the ledger's answer, never the projection's: a projected row edited to say the lot is ACTIVE
    // again (a lagging or tampered read model) does not make a redeemed serial look unredeemed.
    const db = gateway.app.get(DataSource);
    const redeemedLotId = res.body.ranges[0].lotId as string;
    await db.query(
      `UPDATE certificate_lots SET status = 'ACTIVE', doc = jsonb_set(doc, '{status}', '"ACTIVE"') WHERE id = $1`,
      [redeemedLotId],
    );
    try {
      expect((await get(`/v1/lots/${redeemedLotId}`).expect(200)).body.status).toBe('ACTIVE');
      const despite = (await get(`/v1/certificates/${redeemedRange.serialStart}/redemption`).expect(200))
        .body;
      expect(despite).toMatchObject({ redeemed: true, status: 'REDEEMED', redemptionId: 'RDM-1' });
    } finally {
      await db.query(
        `UPDATE certificate_lots SET status = 'REDEEMED', doc = jsonb_set(doc, '{status}', '"REDEEMED"') WHERE id = $1`,
        [redeemedLotId],
      );
    }
    // No lot holds these: beyond the issuance, or the right sequence with the wrong class.
    const unknown = await get(`/v1/certificates/${S(121)}/redemption`).expect(404);
    expect(unknown.body.code).toBe('SERIAL_NOT_FOUND');
    await get(`/v1/certificates/${S(5).slice(0, 30)}SN/redemption`).expect(404);
    await get('/v1/certificates/NOT-A-SERIAL/redemption')
      .expect(400)
      .expect((r) => expect(r.body.errors[0].field).toBe('serial'));
    // The serial filter finds the one lot holding it.
    const bySerial = await get(`/v1/lots?serial=${S(100)}`).expect(200);
    expect(bySerial.body.items).toHaveLength(1);
    expect(bySerial.body.items[0].sequenceStart).toBeLessThanOrEqual(100);
    expect(bySerial.body.items[0].sequenceEnd).toBeGreaterThanOrEqual(100);
    // Redeemed serials never move again.
    const move = await post(`/v1/lots/${redeemedLot.body.id}/transfer`, {
      from: 'CON-1',
      to: 'CON-2',
    }).expect(409);
    expect(move.body.code).toBe('LOT_REDEEMED');
  });

  it('exchanges part of a lot for green electricity', async () => {
    const res = await post('/v1/exchanges', {
      id: 'EXC-1',
      owner: 'CON-1',
      electricityReference: 'SETTLE-2026-11-000123',
      items: [{ lotId: soldLot, certificates: 10 }],
    }).expect(201);
    expect(res.body).toMatchObject({ id: 'EXC-1', certificates: 10, purpose: null });
    expect((await get('/v1/exchanges/EXC-1').expect(200)).body).toEqual(res.body);
    const chainExchange = await evaluate<Exchange>('redemption:GetExchange', 'EXC-1');
    expect(res.body).toEqual(toExchangeDto(chainExchange, await blockOf(chainExchange.txId)));
    const exchanged = await expectCheckAgrees(res.body.ranges[0].serialStart);
    expect(exchanged).toMatchObject({ exchanged: true, redeemed: false, status: 'EXCHANGED' });
    expect((await get('/v1/lots?status=EXCHANGED').expect(200)).body.items).toHaveLength(1);
    await expectProjectionAgrees();
  });

  it('traces a serial’s provenance and a lot’s history', async () => {
    const provenance = await get(`/v1/certificates/${redeemedRange.serialEnd}/provenance`).expect(200);
    expect(provenance.body.steps[0].lotId).toBe(unitLot);
    expect(provenance.body.status).toBe('REDEEMED');
    for (const step of provenance.body.steps) {
      for (const entry of step.entries) expect(entry.blockNumber).toBe(await blockOf(entry.txId));
    }
    const history = await get(`/v1/lots/${unitLot}/history`).expect(200);
    const chain = await evaluate<{ entries: Array<{ txId: string }> }>('queries:GetLotHistory', unitLot);
    expect(history.body.versions.map((v: { txId: string }) => v.txId)).toEqual(
      chain.entries.map((e) => e.txId),
    );
  });

  it('lets exactly one of 20 concurrent transfers of a lot commit; the rest answer 409 and change nothing', async () => {
    const before = (await get(`/v1/lots/${unitLot}`).expect(200)).body;
    expect(before).toMatchObject({ owner: 'GEN-1', status: 'ACTIVE', certificates: 20 });
    const lotCount = (await evaluate<LotPage>('queries:ListLots', '{"pageSize":1000}')).items.length;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post(`/v1/lots/${unitLot}/transfer`, { from: 'GEN-1', to: i % 2 === 0 ? 'CON-1' : 'CON-2' }),
      ),
    );
    const ok = answers.filter((a) => a.status >= 200 && a.status < 300);
    const conflicts = answers.filter((a) => a.status === 409);
    expect(ok).toHaveLength(1);
    expect(conflicts).toHaveLength(19);
    for (const c of conflicts) expect(['LEDGER_CONFLICT', 'LOT_NOT_OWNED']).toContain(c.body.code);
    const winner = ok[0].body;
    const after = await evaluate<CertificateLot>('certificates:GetLot', unitLot);
    expect(after).toMatchObject({ owner: winner.lots[0].owner, volume: 20, status: 'ACTIVE' });
    expect((await evaluate<LotPage>('queries:ListLots', '{"pageSize":1000}')).items).toHaveLength(lotCount);
    await expectProjectionAgrees();
  });

  it('pauses every write, naming the pause, while reads stay open', async () => {
    const paused = await post('/v1/parameters/pause', { reason: 'annual audit' }, 'admin').expect(200);
    expect(paused.body).toMatchObject({
      paused: true,
      pause: { reason: 'annual audit', pausedByMsp: 'GridMSP' },
    });
    const refused = await post(`/v1/lots/${unitLot}/split`, { owner: 'CON-1', certificates: 1 }).expect(409);
    expect(refused.body.code).toBe('CONSORTIUM_PAUSED');
    expect(refused.body.detail).toContain('annual audit');
    const refusedIssue = await post('/v1/issuances', { unitId: 'UNIT-1', month: '2030-01' }, 'admin').expect(
      409,
    );
    expect(refusedIssue.body.code).toBe('CONSORTIUM_PAUSED');
    await get(`/v1/lots/${unitLot}`).expect(200);
    await get(`/v1/certificates/${S(1)}/redemption`).expect(200);
    expect((await get('/v1/parameters').expect(200)).body.paused).toBe(true);
    const resumed = await post('/v1/parameters/resume', { reason: 'audit done' }, 'admin').expect(200);
    expect(resumed.body).toMatchObject({ paused: false, pause: null });
    await post('/v1/parameters/resume', { reason: 'again' }, 'admin')
      .expect(409)
      .expect((r) => expect(r.body.code).toBe('NOT_PAUSED'));
  });

  it('sweeps lots past their expiry date (injected clock), tolerating lots that are not yet expired', async () => {
    await post(
      '/v1/units',
      {
        id: 'UNIT-OLD',
        owner: 'GEN-1',
        name: '老电站',
        projectCode: EXPIRED_PROJECT,
        technology: 'WIND',
        capacityKw: 1000,
        province: '330000',
        meterIds: ['M-OLD'],
        commissioningDate: '2019-01-01',
      },
      'admin',
    ).expect(201);
    await attest('M-OLD', '2020-01', '5000000');
    // Issued when 2020-01 had just closed; the certificates expired at the end of 2021.
    const issued = await atLedgerTime(embedded, new Date('2020-02-02T00:00:00+08:00'), () =>
      post('/v1/issuances', { unitId: 'UNIT-OLD', month: '2020-01' }, 'admin').expect(201),
    );
    const oldLot = issued.body.lotId as string;
    expect(issued.body.expiresAt).toBe('2021-12-31T16:00:00.000Z');

    const sweeper = gateway.app.get(ExpirySweeper);
    // Before the expiry date by the sweep's clock: nothing is a candidate.
    sweeper.clock = () => new Date('2021-12-31T15:59:59.000Z');
    expect(await sweeper.sweep()).toMatchObject({ ran: true, candidates: 0, expired: [] });
    expect((await get(`/v1/lots/${oldLot}`).expect(200)).body.status).toBe('ACTIVE');

    // The chaincode decides by the transaction time: a lot the projection wrongly thinks expired is skipped.
    sweeper.clock = () => new Date('2100-01-01T00:00:00.000Z');
    const report = await sweeper.sweep();
    expect(report.expired).toEqual([oldLot]);
    expect(report.skipped.every((s) => s.code === 'LOT_NOT_EXPIRED')).toBe(true);
    expect(report.skipped.length).toBeGreaterThan(0);
    expect((await get(`/v1/lots/${oldLot}`).expect(200)).body.status).toBe('EXPIRED');
    expect(
      (await get('/v1/lots?status=EXPIRED').expect(200)).body.items.map((l: { id: string }) => l.id),
    ).toEqual([oldLot]);
    sweeper.clock = () => new Date();
    expect((await sweeper.sweep()).candidates).toBe(0);
    await expectProjectionAgrees();
  });
});
