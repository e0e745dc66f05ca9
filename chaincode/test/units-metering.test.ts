/**
 * Units and meter attestations through the real contracts: every rule broken once with its named error and no
 * state change; corrections keep version history and flow into issued months' carries.
 */
import { GecClient, type IssuanceJson, digestOf, expectRefused } from './support/gec-client';

let gec: GecClient;

beforeAll(async () => {
  gec = await GecClient.start({ batch: { batchTimeoutMs: 1 } });
});

afterAll(async () => {
  await gec?.close();
});

interface UnitJson {
  id: string;
  owner: string;
  projectCode: string;
  meterIds: string[];
  status: string;
  statusReason: string;
  carryWh: string;
  lastIssuedMonth: string;
  updatedTxId: string;
  [key: string]: unknown;
}

interface AttestationJson {
  meterId: string;
  period: string;
  version: number;
  totalWh: string;
  digest: string;
  reason: string;
  periodStart: string;
  periodEnd: string;
  versions: Array<{ version: number; totalWh: string; reason: string; txId: string }>;
}

const getUnit = (id: string) => gec.evaluate<UnitJson>('units:GetUnit', id);
const getAttestation = (meterId: string, period: string) =>
  gec.evaluate<AttestationJson>('metering:GetMeterAttestation', { meterId, period });

function unitRequest(owner: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const n = gec.next();
  return {
    id: `u-${n}`,
    owner,
    name: '某风电场',
    projectCode: gec.projectCode(),
    technology: 'SOLAR_PV',
    capacityKw: 20_000,
    province: '620000',
    meterIds: [`mt-${n}-a`, `mt-${n}-b`],
    commissioningDate: '2021-04-30',
    ...extra,
  };
}

describe('units:RegisterUnit', () => {
  it('registers an ACTIVE unit with its meters sorted, readable by every member and listed by owner', async () => {
    const owner = await gec.participant('GENERATOR');
    const request = unitRequest(owner, { meterIds: ['zz-meter', 'aa-meter'] });
    const unit = await gec.call<UnitJson>(gec.ids.tradingAdmin, 'units:RegisterUnit', request);
    expect(unit).toMatchObject({
      ...request,
      meterIds: ['aa-meter', 'zz-meter'],
      status: 'ACTIVE',
      carryWh: '0',
      lastIssuedMonth: '',
      registeredByMsp: 'TradingCenterMSP',
    });
    for (const identity of Object.values(gec.ids)) {
      expect(await gec.evaluate<UnitJson>('units:GetUnit', unit.id, identity)).toEqual(unit);
    }
    const second = await gec.call<UnitJson>(gec.ids.gridAdmin, 'units:RegisterUnit', unitRequest(owner));
    const page = await gec.evaluate<{ items: UnitJson[]; bookmark: string }>('units:ListUnits', {
      owner,
      pageSize: 1,
    });
    expect(page.items.map((u) => u.id)).toEqual([unit.id]);
    const next = await gec.evaluate<{ items: UnitJson[] }>('units:ListUnits', {
      owner,
      pageSize: 1,
      bookmark: page.bookmark,
    });
    expect(next.items.map((u) => u.id)).toEqual([second.id]);
  });

  it('refuses an owner that is not a GENERATOR (OWNER_NOT_GENERATOR)', async () => {
    const consumer = await gec.participant('CONSUMER');
    const request = unitRequest(consumer);
    await expectRefused(gec.submit(gec.ids.gridAdmin, 'units:RegisterUnit', request), 'OWNER_NOT_GENERATOR');
    await expectRefused(getUnit(request.id as string), 'UNIT_NOT_FOUND');
  });

  it('refuses an unknown or suspended owner (PARTICIPANT_NOT_FOUND, PARTICIPANT_NOT_ACTIVE)', async () => {
    const request = unitRequest('nobody-here');
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'units:RegisterUnit', request),
      'PARTICIPANT_NOT_FOUND',
    );
    const owner = await gec.participant('GENERATOR');
    await gec.submit(gec.ids.gridAdmin, 'identity:SetParticipantStatus', {
      id: owner,
      status: 'SUSPENDED',
      reason: 'audit',
    });
    const suspended = unitRequest(owner);
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'units:RegisterUnit', suspended),
      'PARTICIPANT_NOT_ACTIVE',
      'SUSPENDED',
    );
    await expectRefused(getUnit(request.id as string), 'UNIT_NOT_FOUND');
    await expectRefused(getUnit(suspended.id as string), 'UNIT_NOT_FOUND');
  });

  it('keeps unit ids, project codes and meters unique (UNIT_EXISTS, PROJECT_CODE_EXISTS, METER_ALREADY_ASSIGNED)', async () => {
    const owner = await gec.participant('GENERATOR');
    const first = unitRequest(owner);
    const unit = await gec.call<UnitJson>(gec.ids.gridAdmin, 'units:RegisterUnit', first);
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'units:RegisterUnit', unitRequest(owner, { id: first.id })),
      'UNIT_EXISTS',
    );
    const sameCode = unitRequest(owner, { projectCode: first.projectCode });
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'units:RegisterUnit', sameCode),
      'PROJECT_CODE_EXISTS',
      unit.id,
    );
    const sameMeter = unitRequest(owner, { meterIds: ['fresh-meter-1', (first.meterIds as string[])[1]] });
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'units:RegisterUnit', sameMeter),
      'METER_ALREADY_ASSIGNED',
      (first.meterIds as string[])[1],
    );
    expect(await getUnit(unit.id)).toEqual(unit);
    await expectRefused(getUnit(sameCode.id as string), 'UNIT_NOT_FOUND');
    // The refused registration claimed neither its project code nor its free meter.
    await gec.submit(
      gec.ids.gridAdmin,
      'units:RegisterUnit',
      unitRequest(owner, { projectCode: sameMeter.projectCode, meterIds: ['fresh-meter-1'] }),
    );
  });

  it.each([
    ['projectCode', { projectCode: 'SHORT' }],
    ['projectCode', { projectCode: 'pj0000000000000001' }],
    ['technology', { technology: 'NUCLEAR' }],
    ['capacityKw', { capacityKw: 0 }],
    ['province', { province: '330100' }],
    ['meterIds', { meterIds: [] }],
    ['meterIds', { meterIds: ['m1', 'm1'] }],
    ['meterIds[0]', { meterIds: ['bad meter'] }],
    ['commissioningDate', { commissioningDate: '2021-02-30' }],
    ['color', { color: 'green' }],
  ])('refuses an invalid %s (INVALID_ARGUMENT)', async (field, extra) => {
    const owner = await gec.participant('GENERATOR');
    const request = unitRequest(owner, extra);
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'units:RegisterUnit', request),
      'INVALID_ARGUMENT',
      field,
    );
    await expectRefused(getUnit(request.id as string), 'UNIT_NOT_FOUND');
  });

  it('refuses the grid platform, a trading client and the regulator', async () => {
    const owner = await gec.participant('GENERATOR');
    const request = unitRequest(owner);
    await expectRefused(
      gec.submit(gec.ids.gridPlatform, 'units:RegisterUnit', request),
      'ROLE_NOT_PERMITTED',
    );
    await expectRefused(
      gec.submit(gec.ids.tradingClient, 'units:RegisterUnit', request),
      'ROLE_NOT_PERMITTED',
    );
    await expectRefused(gec.submit(gec.ids.regulator, 'units:RegisterUnit', request), 'REGULATOR_READ_ONLY');
    await expectRefused(getUnit(request.id as string), 'UNIT_NOT_FOUND');
  });
});

describe('units:SetUnitStatus', () => {
  it('suspends and reactivates; decommissioning is final (UNIT_DECOMMISSIONED); same status refused (STATUS_UNCHANGED)', async () => {
    const owner = await gec.participant('GENERATOR');
    const unit = await gec.call<UnitJson>(gec.ids.gridAdmin, 'units:RegisterUnit', unitRequest(owner));
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'units:SetUnitStatus', { id: unit.id, status: 'ACTIVE', reason: 'x' }),
      'STATUS_UNCHANGED',
    );
    const suspended = await gec.call<UnitJson>(gec.ids.gridAdmin, 'units:SetUnitStatus', {
      id: unit.id,
      status: 'SUSPENDED',
      reason: '并网检查',
    });
    expect(suspended).toMatchObject({ status: 'SUSPENDED', statusReason: '并网检查' });
    await gec.submit(gec.ids.gridAdmin, 'units:SetUnitStatus', {
      id: unit.id,
      status: 'DECOMMISSIONED',
      reason: 'retired',
    });
    const before = await getUnit(unit.id);
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'units:SetUnitStatus', {
        id: unit.id,
        status: 'ACTIVE',
        reason: 'again',
      }),
      'UNIT_DECOMMISSIONED',
    );
    expect(await getUnit(unit.id)).toEqual(before);
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'units:SetUnitStatus', { id: 'no-unit', status: 'ACTIVE', reason: 'x' }),
      'UNIT_NOT_FOUND',
    );
  });
});

describe('metering:AttestMeterPeriod', () => {
  it('attests a closed month once, with totals beyond 2^53 as strings', async () => {
    const big = '123456789012345678';
    const tx = await gec.submit(gec.ids.gridPlatform, 'metering:AttestMeterPeriod', {
      meterId: 'big-meter',
      period: '2026-01',
      totalWh: big,
      digest: digestOf('readings'),
    });
    const attestation = await getAttestation('big-meter', '2026-01');
    expect(attestation).toMatchObject({
      version: 1,
      totalWh: big,
      digest: digestOf('readings'),
      reason: '',
      periodStart: '2025-12-31T16:00:00.000Z',
      periodEnd: '2026-01-31T16:00:00.000Z',
    });
    expect(attestation.versions).toEqual([
      expect.objectContaining({ version: 1, totalWh: big, txId: tx.txId }),
    ]);
    await expectRefused(gec.attest('big-meter', '2026-01', 1), 'ATTESTATION_EXISTS', 'CorrectMeterPeriod');
    expect(await getAttestation('big-meter', '2026-01')).toEqual(attestation);
  });

  it('refuses a month that has not ended (PERIOD_NOT_CLOSED)', async () => {
    await expectRefused(gec.attest('future-meter', '2099-01', 5), 'PERIOD_NOT_CLOSED');
    await expectRefused(getAttestation('future-meter', '2099-01'), 'ATTESTATION_NOT_FOUND');
  });

  it.each([
    ['totalWh', { totalWh: -1 }],
    ['totalWh', { totalWh: 1.5 }],
    ['totalWh', { totalWh: '12a' }],
    ['digest', { digest: 'ABC' }],
    ['period', { period: '2026-13' }],
    ['meterId', { meterId: 'a b' }],
  ])('refuses an invalid %s (INVALID_ARGUMENT)', async (field, extra) => {
    const request = {
      meterId: 'valid-meter',
      period: '2026-01',
      totalWh: 5,
      digest: digestOf('x'),
      ...extra,
    };
    await expectRefused(
      gec.submit(gec.ids.gridPlatform, 'metering:AttestMeterPeriod', request),
      'INVALID_ARGUMENT',
      field,
    );
  });

  it('is for the grid platform or a grid admin only', async () => {
    const request = { meterId: 'guarded-meter', period: '2026-01', totalWh: 5, digest: digestOf('x') };
    await expectRefused(
      gec.submit(gec.ids.tradingAdmin, 'metering:AttestMeterPeriod', request),
      'ROLE_NOT_PERMITTED',
    );
    await expectRefused(
      gec.submit(gec.ids.regulator, 'metering:AttestMeterPeriod', request),
      'REGULATOR_READ_ONLY',
    );
    await expectRefused(getAttestation('guarded-meter', '2026-01'), 'ATTESTATION_NOT_FOUND');
    await gec.submit(gec.ids.gridAdmin, 'metering:AttestMeterPeriod', request);
  });
});

describe('metering:CorrectMeterPeriod', () => {
  const correct = (
    meterId: string,
    period: string,
    totalWh: number,
    version: number,
    reason = 'meter replaced',
  ) =>
    gec.submit(gec.ids.gridPlatform, 'metering:CorrectMeterPeriod', {
      meterId,
      period,
      totalWh,
      digest: digestOf(`${meterId}:${totalWh}:v${version}`),
      reason,
      version,
    });

  it('adds a version with its reason and keeps every earlier one', async () => {
    await gec.attest('corr-meter', '2026-02', 1000);
    await correct('corr-meter', '2026-02', 1500, 2);
    await correct('corr-meter', '2026-02', 1400, 3, 'second fix');
    const attestation = await getAttestation('corr-meter', '2026-02');
    expect(attestation).toMatchObject({ version: 3, totalWh: '1400', reason: 'second fix' });
    expect(attestation.versions.map((v) => [v.version, v.totalWh, v.reason])).toEqual([
      [1, '1000', ''],
      [2, '1500', 'meter replaced'],
      [3, '1400', 'second fix'],
    ]);
  });

  it('requires the next version number, a reason and an existing attestation', async () => {
    await gec.attest('corr-meter-2', '2026-02', 1000);
    const before = await getAttestation('corr-meter-2', '2026-02');
    await expectRefused(
      correct('corr-meter-2', '2026-02', 2000, 3),
      'ATTESTATION_VERSION_CONFLICT',
      'version 2',
    );
    await expectRefused(correct('corr-meter-2', '2026-02', 2000, 2, ' '), 'INVALID_ARGUMENT', 'reason');
    await expectRefused(correct('no-such-meter', '2026-02', 2000, 2), 'ATTESTATION_NOT_FOUND');
    expect(await getAttestation('corr-meter-2', '2026-02')).toEqual(before);
  });

  it('moves a correction of an issued month into the carries, and refuses one below what was issued (ATTESTATION_BELOW_ISSUED)', async () => {
    const owner = await gec.participant('GENERATOR');
    const unit = await gec.unit(owner, { meters: 2 });
    const [m1, m2] = unit.meterIds;
    // March: 1,600,000 + 900,000 Wh = 2 certificates, 500,000 Wh carried.
    await gec.attest(m1, '2026-03', 1_600_000);
    await gec.attest(m2, '2026-03', 900_000);
    const march = await gec.issue(unit.id, '2026-03');
    expect(march).toMatchObject({
      certificates: 2,
      attestedWh: '2500000',
      carryInWh: '0',
      carryOutWh: '500000',
    });
    // April: 300,000 + 0 Wh + 500,000 carried = 0 certificates, 800,000 carried.
    await gec.attest(m1, '2026-04', 300_000);
    await gec.attest(m2, '2026-04', 0);
    const april = await gec.issue(unit.id, '2026-04');
    expect(april).toMatchObject({ certificates: 0, lotId: '', carryInWh: '500000', carryOutWh: '800000' });

    // Lowering March by 400,000 Wh: March keeps 100,000 Wh spare, April's carry drops to 400,000.
    await correct(m1, '2026-03', 1_200_000, 2);
    const getIssuance = (month: string) =>
      gec.evaluate<IssuanceJson>('certificates:GetIssuance', { unitId: unit.id, month });
    expect(await getIssuance('2026-03')).toMatchObject({ attestedWh: '2100000', carryOutWh: '100000' });
    expect((await getIssuance('2026-03')).meters).toEqual([
      { meterId: m1, version: 2, totalWh: '1200000' },
      { meterId: m2, version: 1, totalWh: '900000' },
    ]);
    expect(await getIssuance('2026-04')).toMatchObject({ carryInWh: '100000', carryOutWh: '400000' });
    expect((await getUnit(unit.id)).carryWh).toBe('400000');

    // Lowering March by another 100,001 Wh would leave its 2 certificates short.
    const marchBefore = await getIssuance('2026-03');
    const aprilBefore = await getIssuance('2026-04');
    const unitBefore = await getUnit(unit.id);
    const attestationBefore = await getAttestation(m2, '2026-03');
    await expectRefused(correct(m2, '2026-03', 799_999, 2), 'ATTESTATION_BELOW_ISSUED', march.id);
    expect(await getIssuance('2026-03')).toEqual(marchBefore);
    expect(await getIssuance('2026-04')).toEqual(aprilBefore);
    expect(await getUnit(unit.id)).toEqual(unitBefore);
    expect(await getAttestation(m2, '2026-03')).toEqual(attestationBefore);

    // Raising April adds to the carry the next issuance uses.
    await correct(m2, '2026-04', 700_000, 2);
    expect((await getUnit(unit.id)).carryWh).toBe('1100000');
    await gec.attest(m1, '2026-05', 0);
    await gec.attest(m2, '2026-05', 0);
    expect(await gec.issue(unit.id, '2026-05')).toMatchObject({
      certificates: 1,
      carryInWh: '1100000',
      carryOutWh: '100000',
    });
  });
});
