/**
 * Issuance, lots, listings, redemption and exchange through the real contracts: each rule broken once with its
 * named error and the ledger unchanged (read back after), plus serial numbers, queries and events.
 */
import { canonicalJson } from '@gec/chaincode';
import {
  GecClient,
  type IssuanceJson,
  type LotJson,
  type PageJson,
  expectRefused,
  utf8,
} from './support/gec-client';

let gec: GecClient;

beforeAll(async () => {
  gec = await GecClient.start({ batch: { batchTimeoutMs: 1 } });
});

afterAll(async () => {
  await gec?.close();
});

const CURRENT = '2026-03';
const PAST = '2020-01';

interface ListingJson {
  id: string;
  lotId: string;
  seller: string;
  volume: number;
  soldVolume: number;
  unitPriceFen: number;
  status: string;
  closedReason: string;
}

const tc = () => gec.ids.tradingClient;
const transfer = (request: Record<string, unknown>) => gec.submit(tc(), 'certificates:Transfer', request);
const listing = (id: string) => gec.evaluate<ListingJson>('certificates:GetListing', id);

/** Reads the lots back and expects them unchanged. */
async function expectUnchanged(...lots: LotJson[]): Promise<void> {
  for (const lot of lots) expect(await gec.lot(lot.id)).toEqual(lot);
}

describe('certificates:Issue', () => {
  it('issues floor((attested Wh of all meters + carry) / 1,000,000) certificates as one lot with national serials', async () => {
    const owner = await gec.participant('GENERATOR');
    const unit = await gec.unit(owner, { meters: 2, technology: 'SOLAR_PV' });
    await gec.attest(unit.meterIds[0], '2026-02', 1_234_567);
    await gec.attest(unit.meterIds[1], '2026-02', '2000000');
    const tx = await gec.submit(gec.ids.gridAdmin, 'certificates:Issue', {
      unitId: unit.id,
      month: '2026-02',
    });
    const issuance = JSON.parse(utf8(tx.result)) as IssuanceJson;
    const first = `${unit.projectCode}2026020000001ST`;
    expect(issuance).toMatchObject({
      id: `${unit.projectCode}202602`,
      attestedWh: '3234567',
      carryInWh: '0',
      certificates: 3,
      carryOutWh: '234567',
      lotId: first,
      serialStart: first,
      serialEnd: `${unit.projectCode}2026020000003ST`,
      expiresAt: '2028-01-31T16:00:00.000Z', // start of 2028-02 in Asia/Shanghai
      validityMonths: 24,
      tradable: true,
      issuedByMsp: 'GridMSP',
      txId: tx.txId,
    });
    expect(first).toHaveLength(32);
    const lot = await gec.lot(first);
    expect(lot).toMatchObject({
      id: first,
      volume: 3,
      sequenceStart: 1,
      sequenceEnd: 3,
      owner,
      status: 'ACTIVE',
      unitId: unit.id,
      technology: 'SOLAR_PV',
      province: '330000',
      productionMonth: '2026-02',
      productionPeriodStart: '2026-01-31T16:00:00.000Z',
      productionPeriodEnd: '2026-02-28T16:00:00.000Z',
      electricityClass: 'S',
      tradeClass: 'T',
      tradable: true,
      boundToGreenPowerTrade: false,
      parentLotId: '',
      issuanceId: issuance.id,
      createdTxId: tx.txId,
    });

    // The remainder carries: 800,000 + 0 + 234,567 = 1 certificate, 34,567 Wh carried.
    await gec.attest(unit.meterIds[0], '2026-03', 800_000);
    await gec.attest(unit.meterIds[1], '2026-03', 0);
    expect(await gec.issue(unit.id, '2026-03')).toMatchObject({
      certificates: 1,
      carryInWh: '234567',
      carryOutWh: '34567',
      serialStart: `${unit.projectCode}2026030000001ST`,
    });
  });

  it('marks self-consumption certificates not tradable (trade class N)', async () => {
    const lot = await gec.issuedLot(CURRENT, 4, { tradable: false });
    expect(lot).toMatchObject({ tradable: false, tradeClass: 'N' });
    expect(lot.id.endsWith('WN')).toBe(true);
  });

  it('issues at most once per unit and month, month by month (ISSUANCE_EXISTS, ISSUANCE_OUT_OF_ORDER)', async () => {
    const owner = await gec.participant('GENERATOR');
    const unit = await gec.unit(owner);
    await gec.attest(unit.meterIds[0], '2026-01', 2_000_000);
    await gec.attest(unit.meterIds[0], '2026-02', 2_000_000);
    await gec.issue(unit.id, '2026-02');
    const lots = await gec.evaluate<PageJson<LotJson>>('queries:ListLots', { unitId: unit.id });
    await expectRefused(gec.issue(unit.id, '2026-02'), 'ISSUANCE_EXISTS', '2026-02');
    await expectRefused(gec.issue(unit.id, '2026-01'), 'ISSUANCE_OUT_OF_ORDER', '2026-01');
    expect(await gec.evaluate('queries:ListLots', { unitId: unit.id })).toEqual(lots);
    await expectRefused(
      gec.evaluate('certificates:GetIssuance', { unitId: unit.id, month: '2026-01' }),
      'ISSUANCE_NOT_FOUND',
    );
  });

  it('needs every meter of the unit attested for the month (METER_NOT_ATTESTED)', async () => {
    const owner = await gec.participant('GENERATOR');
    const unit = await gec.unit(owner, { meters: 3 });
    await gec.attest(unit.meterIds[1], CURRENT, 5_000_000);
    const message = await expectRefused(gec.issue(unit.id, CURRENT), 'METER_NOT_ATTESTED', unit.meterIds[0]);
    expect(message).toContain(unit.meterIds[2]);
    expect(message).not.toContain(unit.meterIds[1]);
    await expectRefused(
      gec.evaluate('certificates:GetIssuance', { unitId: unit.id, month: CURRENT }),
      'ISSUANCE_NOT_FOUND',
    );
  });

  it('refuses an open month, a month before commissioning, an inactive unit or owner', async () => {
    const owner = await gec.participant('GENERATOR');
    const unit = await gec.unit(owner, { commissioningDate: '2025-07-10' });
    await expectRefused(gec.issue(unit.id, '2099-12'), 'PERIOD_NOT_CLOSED');
    await gec.attest(unit.meterIds[0], '2025-06', 9_000_000);
    await expectRefused(gec.issue(unit.id, '2025-06'), 'MONTH_BEFORE_COMMISSIONING', '2025-07-10');
    await gec.attest(unit.meterIds[0], '2025-07', 9_000_000);
    await gec.submit(gec.ids.gridAdmin, 'units:SetUnitStatus', {
      id: unit.id,
      status: 'SUSPENDED',
      reason: 'x',
    });
    await expectRefused(gec.issue(unit.id, '2025-07'), 'UNIT_NOT_ACTIVE', 'SUSPENDED');
    await gec.submit(gec.ids.gridAdmin, 'units:SetUnitStatus', {
      id: unit.id,
      status: 'ACTIVE',
      reason: 'x',
    });
    await gec.submit(gec.ids.gridAdmin, 'identity:SetParticipantStatus', {
      id: owner,
      status: 'SUSPENDED',
      reason: 'audit',
    });
    await expectRefused(gec.issue(unit.id, '2025-07'), 'PARTICIPANT_NOT_ACTIVE', owner);
    await expectRefused(gec.issue('no-such-unit', '2025-07'), 'UNIT_NOT_FOUND');
    const lots = await gec.evaluate<PageJson<LotJson>>('queries:ListLots', { unitId: unit.id });
    expect(lots.items).toEqual([]);
  });

  it('refuses more certificates than 7-digit sequences hold (SERIAL_SPACE_EXHAUSTED)', async () => {
    const owner = await gec.participant('GENERATOR');
    const unit = await gec.unit(owner);
    await gec.attest(unit.meterIds[0], CURRENT, '10000000000000'); // 10,000,000 MWh
    await expectRefused(gec.issue(unit.id, CURRENT), 'SERIAL_SPACE_EXHAUSTED');
  });

  it('is for the issuer (GridMSP admin) only', async () => {
    const owner = await gec.participant('GENERATOR');
    const unit = await gec.unit(owner);
    await gec.attest(unit.meterIds[0], CURRENT, 3_000_000);
    const request = { unitId: unit.id, month: CURRENT };
    await expectRefused(
      gec.submit(gec.ids.gridPlatform, 'certificates:Issue', request),
      'ROLE_NOT_PERMITTED',
    );
    await expectRefused(
      gec.submit(gec.ids.tradingAdmin, 'certificates:Issue', request),
      'ROLE_NOT_PERMITTED',
    );
    await expectRefused(gec.submit(gec.ids.regulator, 'certificates:Issue', request), 'REGULATOR_READ_ONLY');
    expect((await gec.evaluate<PageJson<LotJson>>('queries:ListLots', { unitId: unit.id })).items).toEqual(
      [],
    );
  });
});

describe('certificates:Split and Transfer', () => {
  it('splits the highest serials into a child with lineage, and finds each serial in one lot', async () => {
    const lot = await gec.issuedLot(CURRENT, 10);
    const result = await gec.call<{ lotId: string; lots: LotJson[] }>(tc(), 'certificates:Split', {
      lotId: lot.id,
      owner: lot.owner,
      volume: 4,
    });
    const child = `${lot.projectCode}2026030000007WT`;
    expect(result.lotId).toBe(child);
    expect(result.lots.map((l) => [l.id, l.sequenceStart, l.sequenceEnd, l.parentLotId])).toEqual([
      [lot.id, 1, 6, ''],
      [child, 7, 10, lot.id],
    ]);
    expect(
      (await gec.evaluate<LotJson>('certificates:GetLotBySerial', `${lot.projectCode}2026030000006WT`)).id,
    ).toBe(lot.id);
    expect(
      (await gec.evaluate<LotJson>('certificates:GetLotBySerial', `${lot.projectCode}2026030000007WT`)).id,
    ).toBe(child);
    await expectRefused(
      gec.evaluate('certificates:GetLotBySerial', `${lot.projectCode}2026030000011WT`),
      'SERIAL_NOT_FOUND',
    );
    const parent = await gec.lot(lot.id);
    await expectRefused(
      gec.submit(tc(), 'certificates:Split', { lotId: lot.id, owner: lot.owner, volume: 6 }),
      'INVALID_ARGUMENT',
      'volume',
    );
    await expectUnchanged(parent);
  });

  it('transfers a whole lot, and a part with lineage, between ACTIVE market participants', async () => {
    const lot = await gec.issuedLot(CURRENT, 10);
    const buyer = await gec.participant('CONSUMER');
    const part = await gec.call<{ lotId: string }>(tc(), 'certificates:Transfer', {
      lotId: lot.id,
      from: lot.owner,
      to: buyer,
      volume: 3,
    });
    expect(await gec.lot(part.lotId)).toMatchObject({ owner: buyer, volume: 3, parentLotId: lot.id });
    expect(await gec.lot(lot.id)).toMatchObject({ owner: lot.owner, volume: 7 });
    await gec.submit(gec.ids.tradingAdmin, 'certificates:Transfer', {
      lotId: lot.id,
      from: lot.owner,
      to: buyer,
    });
    expect(await gec.lot(lot.id)).toMatchObject({ owner: buyer, volume: 7, parentLotId: '' });
  });

  it('checks the stated holder and the parties (LOT_NOT_OWNED, SAME_PARTY, PARTICIPANT_*, PARTY_KIND_NOT_PERMITTED)', async () => {
    const lot = await gec.issuedLot(CURRENT, 5);
    const consumer = await gec.participant('CONSUMER');
    await expectRefused(
      transfer({ lotId: lot.id, from: consumer, to: lot.owner }),
      'LOT_NOT_OWNED',
      consumer,
    );
    await expectRefused(transfer({ lotId: lot.id, from: lot.owner, to: lot.owner }), 'SAME_PARTY');
    await expectRefused(
      transfer({ lotId: lot.id, from: lot.owner, to: 'ghost' }),
      'PARTICIPANT_NOT_FOUND',
      'ghost',
    );
    const suspended = await gec.participant('CONSUMER');
    await gec.submit(gec.ids.tradingAdmin, 'identity:SetParticipantStatus', {
      id: suspended,
      status: 'SUSPENDED',
      reason: 'x',
    });
    await expectRefused(
      transfer({ lotId: lot.id, from: lot.owner, to: suspended }),
      'PARTICIPANT_NOT_ACTIVE',
    );
    await gec.submit(
      gec.ids.gridAdmin,
      'identity:RegisterParticipant',
      { id: 'issuer-body', kind: 'ISSUER', name: '核发机构', region: '110000' },
      { creditCode: '91110000MA01AB2C3D' },
    );
    await expectRefused(
      transfer({ lotId: lot.id, from: lot.owner, to: 'issuer-body' }),
      'PARTY_KIND_NOT_PERMITTED',
      'ISSUER',
    );
    await expectUnchanged(lot);
  });

  it('checks volumes against the lot and the consortium limits (VOLUME_EXCEEDS_LOT, TRANSFER_BELOW_MINIMUM, TRANSFER_ABOVE_MAXIMUM)', async () => {
    const lot = await gec.issuedLot(CURRENT, 50);
    const to = await gec.participant('CONSUMER');
    await expectRefused(transfer({ lotId: lot.id, from: lot.owner, to, volume: 51 }), 'VOLUME_EXCEEDS_LOT');
    await expectRefused(
      transfer({ lotId: lot.id, from: lot.owner, to, volume: 0 }),
      'INVALID_ARGUMENT',
      'volume',
    );
    await gec.submit(gec.ids.gridAdmin, 'parameters:SetParameters', {
      minTransferVolume: 5,
      maxTransferVolume: 20,
      reason: 'market rules 2026',
    });
    try {
      await expectRefused(
        transfer({ lotId: lot.id, from: lot.owner, to, volume: 4 }),
        'TRANSFER_BELOW_MINIMUM',
      );
      await expectRefused(transfer({ lotId: lot.id, from: lot.owner, to }), 'TRANSFER_ABOVE_MAXIMUM', '20');
      await expectUnchanged(lot);
      await transfer({ lotId: lot.id, from: lot.owner, to, volume: 20 });
    } finally {
      await gec.submit(gec.ids.tradingAdmin, 'parameters:SetParameters', {
        minTransferVolume: 1,
        maxTransferVolume: 9_999_999,
        reason: 'restore',
      });
    }
  });

  it('never moves non-tradable certificates (LOT_NOT_TRADABLE)', async () => {
    const lot = await gec.issuedLot(CURRENT, 5, { tradable: false });
    const to = await gec.participant('CONSUMER');
    await expectRefused(transfer({ lotId: lot.id, from: lot.owner, to }), 'LOT_NOT_TRADABLE');
    await expectUnchanged(lot);
  });

  it('is for the trading center only; unknown lots are named (ROLE_NOT_PERMITTED, REGULATOR_READ_ONLY, LOT_NOT_FOUND)', async () => {
    const lot = await gec.issuedLot(CURRENT, 5);
    const to = await gec.participant('CONSUMER');
    const request = { lotId: lot.id, from: lot.owner, to };
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'certificates:Transfer', request),
      'ROLE_NOT_PERMITTED',
    );
    await expectRefused(
      gec.submit(gec.ids.regulator, 'certificates:Transfer', request),
      'REGULATOR_READ_ONLY',
    );
    await expectRefused(
      transfer({ ...request, lotId: `${lot.projectCode}2026030000002WT` }),
      'LOT_NOT_FOUND',
    );
    await expectRefused(transfer({ ...request, lotId: 'not-a-serial' }), 'INVALID_ARGUMENT', 'lotId');
    await expectUnchanged(lot);
  });
});

describe('listing (绿证售卖)', () => {
  it('lists part of a lot, sells some, delists the rest', async () => {
    const lot = await gec.issuedLot(CURRENT, 10);
    const buyer = await gec.participant('CONSUMER');
    const listed = await gec.call<{ listing: ListingJson; lotId: string }>(tc(), 'certificates:List', {
      listingId: 'lst-1',
      lotId: lot.id,
      owner: lot.owner,
      volume: 6,
      unitPriceFen: 1250,
    });
    expect(listed.listing).toMatchObject({
      lotId: listed.lotId,
      volume: 6,
      status: 'OPEN',
      seller: lot.owner,
    });
    expect(await gec.lot(listed.lotId)).toMatchObject({
      status: 'LISTED',
      listingId: 'lst-1',
      sequenceStart: 5,
    });

    await expectRefused(transfer({ lotId: listed.lotId, from: lot.owner, to: buyer }), 'LOT_LISTED', 'lst-1');
    await expectRefused(
      gec.submit(tc(), 'certificates:List', {
        listingId: 'lst-1',
        lotId: lot.id,
        owner: lot.owner,
        unitPriceFen: 1,
      }),
      'LISTING_EXISTS',
    );
    await expectRefused(
      gec.submit(tc(), 'certificates:SellFromListing', { listingId: 'lst-1', buyer: lot.owner }),
      'SAME_PARTY',
    );

    const sold = await gec.call<{ listing: ListingJson; lotId: string }>(
      tc(),
      'certificates:SellFromListing',
      {
        listingId: 'lst-1',
        buyer,
        volume: 2,
      },
    );
    expect(sold.listing).toMatchObject({ volume: 4, soldVolume: 2, status: 'OPEN' });
    expect(await gec.lot(sold.lotId)).toMatchObject({
      owner: buyer,
      status: 'ACTIVE',
      volume: 2,
      listingId: '',
    });

    await expectRefused(
      gec.submit(tc(), 'certificates:Delist', { listingId: 'lst-1', owner: buyer }),
      'LOT_NOT_OWNED',
    );
    await gec.submit(tc(), 'certificates:Delist', { listingId: 'lst-1', owner: lot.owner });
    expect(await listing('lst-1')).toMatchObject({ status: 'CANCELLED', volume: 0, soldVolume: 2 });
    expect(await gec.lot(listed.lotId)).toMatchObject({ status: 'ACTIVE', listingId: '', volume: 4 });
    const after = await listing('lst-1');
    await expectRefused(
      gec.submit(tc(), 'certificates:Delist', { listingId: 'lst-1', owner: lot.owner }),
      'LISTING_NOT_OPEN',
    );
    await expectRefused(
      gec.submit(tc(), 'certificates:SellFromListing', { listingId: 'lst-1', buyer }),
      'LISTING_NOT_OPEN',
    );
    expect(await listing('lst-1')).toEqual(after);
    await expectRefused(gec.evaluate('certificates:GetListing', 'lst-none'), 'LISTING_NOT_FOUND');
    const open = await gec.evaluate<PageJson<ListingJson>>('certificates:ListListings', {
      status: 'CANCELLED',
    });
    expect(open.items.map((l) => l.id)).toContain('lst-1');
  });

  it('selling the whole listing closes it as SOLD', async () => {
    const lot = await gec.issuedLot(CURRENT, 3);
    const buyer = await gec.participant('CONSUMER');
    await gec.submit(tc(), 'certificates:List', {
      listingId: 'lst-2',
      lotId: lot.id,
      owner: lot.owner,
      unitPriceFen: 900,
    });
    await gec.submit(tc(), 'certificates:SellFromListing', { listingId: 'lst-2', buyer });
    expect(await listing('lst-2')).toMatchObject({ status: 'SOLD', volume: 0, soldVolume: 3 });
    expect(await gec.lot(lot.id)).toMatchObject({ owner: buyer, status: 'ACTIVE', listingId: '' });
  });
});

describe('expiry', () => {
  it('acts on nothing past its date, and lets any writer but the regulator expire it', async () => {
    const lot = await gec.issuedLot(PAST, 5);
    expect(lot.expiresAt).toBe('2021-12-31T16:00:00.000Z');
    const to = await gec.participant('CONSUMER');
    await expectRefused(transfer({ lotId: lot.id, from: lot.owner, to }), 'LOT_EXPIRED', 'past its expiry');
    await expectRefused(
      gec.submit(tc(), 'certificates:List', {
        listingId: 'lst-exp',
        lotId: lot.id,
        owner: lot.owner,
        unitPriceFen: 1,
      }),
      'LOT_EXPIRED',
    );
    await expectRefused(
      gec.submit(tc(), 'redemption:Redeem', {
        redemptionId: 'red-exp',
        owner: lot.owner,
        beneficiary: 'x',
        purpose: 'y',
        consumptionStartMonth: '2020-01',
        consumptionEndMonth: '2020-01',
        items: [{ lotId: lot.id }],
      }),
      'LOT_EXPIRED',
    );
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'certificates:Withdraw', { lotId: lot.id, reason: 'x' }),
      'LOT_EXPIRED',
    );
    await expectRefused(
      gec.submit(gec.ids.regulator, 'certificates:Expire', { lotId: lot.id }),
      'REGULATOR_READ_ONLY',
    );
    await expectUnchanged(lot);

    await gec.submit(gec.ids.gridPlatform, 'certificates:Expire', { lotId: lot.id });
    expect(await gec.lot(lot.id)).toMatchObject({ status: 'EXPIRED' });
    await expectRefused(gec.submit(tc(), 'certificates:Expire', { lotId: lot.id }), 'LOT_EXPIRED');
  });

  it('refuses to expire a lot before its date (LOT_NOT_EXPIRED)', async () => {
    const lot = await gec.issuedLot(CURRENT, 2);
    await expectRefused(
      gec.submit(tc(), 'certificates:Expire', { lotId: lot.id }),
      'LOT_NOT_EXPIRED',
      lot.expiresAt,
    );
    await expectUnchanged(lot);
  });

  it('uses the validityMonths in force at issuance', async () => {
    await gec.submit(gec.ids.gridAdmin, 'parameters:SetParameters', {
      validityMonths: 2,
      issuanceWindowMonths: 1,
      reason: 'test',
    });
    try {
      // Issued when the month had just closed; two months of validity have passed since.
      const lot = await gec.at(new Date('2026-04-02T00:00:00+08:00'), () => gec.issuedLot(CURRENT, 2));
      expect(lot.expiresAt).toBe('2026-04-30T16:00:00.000Z');
      await gec.submit(tc(), 'certificates:Expire', { lotId: lot.id });
    } finally {
      await gec.submit(gec.ids.gridAdmin, 'parameters:SetParameters', {
        validityMonths: 24,
        issuanceWindowMonths: 12,
        reason: 'restore',
      });
    }
  });

  it('never issues a certificate born expired: the issuance window closes first (ISSUANCE_WINDOW_CLOSED)', async () => {
    const owner = await gec.participant('GENERATOR');
    const unit = await gec.unit(owner, { commissioningDate: '2011-06-30' });
    await gec.attest(unit.meterIds[0], '2012-01', 13_654_000_000);
    const issue = () =>
      gec.submit(gec.ids.gridAdmin, 'certificates:Issue', { unitId: unit.id, month: '2012-01' });
    // Today: fourteen years late, certificates that would have expired at the start of 2014.
    await expectRefused(issue(), 'ISSUANCE_WINDOW_CLOSED', 'would expire at 2013-12-31T16:00:00.000Z');
    // The last instant of the default 12-month window, and the first instant after it.
    await expectRefused(
      gec.at(new Date('2013-02-01T00:00:00+08:00'), issue),
      'ISSUANCE_WINDOW_CLOSED',
      'could be issued until 2013-01-31T16:00:00.000Z',
    );
    expect(await gec.evaluate('certificates:ListIssuances', { unitId: unit.id })).toMatchObject({
      items: [],
    });
    const issued = await gec.at(new Date('2013-01-31T23:59:59+08:00'), issue);
    expect(issued.validationCode).toBe('VALID');

    // The window is the consortium's, and never reaches the validity.
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'parameters:SetParameters', { issuanceWindowMonths: 24, reason: 'x' }),
      'INVALID_ARGUMENT',
      'issuanceWindowMonths 24 must be below validityMonths 24',
    );
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'parameters:SetParameters', { validityMonths: 12, reason: 'x' }),
      'INVALID_ARGUMENT',
      'issuanceWindowMonths 12 must be below validityMonths 12',
    );
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'parameters:SetParameters', { issuanceWindowMonths: 0, reason: 'x' }),
      'INVALID_ARGUMENT',
    );
    expect(await gec.evaluate('parameters:GetParameters', undefined)).toMatchObject({
      validityMonths: 24,
      issuanceWindowMonths: 12,
    });
  });
});

describe('certificates:Withdraw', () => {
  it('withdraws part or all of a lot with a reason, closing its listing; withdrawn is final', async () => {
    const lot = await gec.issuedLot(CURRENT, 10);
    const part = await gec.call<{ lotId: string }>(gec.ids.gridAdmin, 'certificates:Withdraw', {
      lotId: lot.id,
      volume: 3,
      reason: '计量争议',
    });
    expect(await gec.lot(part.lotId)).toMatchObject({
      status: 'WITHDRAWN',
      statusReason: '计量争议',
      volume: 3,
    });
    await gec.submit(tc(), 'certificates:List', {
      listingId: 'lst-w',
      lotId: lot.id,
      owner: lot.owner,
      unitPriceFen: 1,
    });
    await gec.submit(gec.ids.gridAdmin, 'certificates:Withdraw', { lotId: lot.id, reason: '重复注册' });
    expect(await listing('lst-w')).toMatchObject({ status: 'CLOSED', volume: 0 });
    expect(await gec.lot(lot.id)).toMatchObject({ status: 'WITHDRAWN', listingId: '' });
    const to = await gec.participant('CONSUMER');
    await expectRefused(transfer({ lotId: lot.id, from: lot.owner, to }), 'LOT_WITHDRAWN', '重复注册');
  });

  it('needs the issuer and a reason, and never touches redeemed certificates (LOT_REDEEMED)', async () => {
    const lot = await gec.issuedLot(CURRENT, 4);
    await expectRefused(
      gec.submit(gec.ids.tradingAdmin, 'certificates:Withdraw', { lotId: lot.id, reason: 'x' }),
      'ROLE_NOT_PERMITTED',
    );
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'certificates:Withdraw', { lotId: lot.id }),
      'INVALID_ARGUMENT',
      'reason',
    );
    await expectUnchanged(lot);
    await gec.submit(tc(), 'redemption:Redeem', {
      redemptionId: `red-w-${lot.id}`,
      owner: lot.owner,
      beneficiary: 'x',
      purpose: 'y',
      consumptionStartMonth: '2026-03',
      consumptionEndMonth: '2026-03',
      items: [{ lotId: lot.id }],
    });
    const redeemed = await gec.lot(lot.id);
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'certificates:Withdraw', { lotId: lot.id, reason: 'x' }),
      'LOT_REDEEMED',
    );
    await expectUnchanged(redeemed);
  });
});

describe('redemption (兑付/核销) and exchange (绿电兑换)', () => {
  const redeem = (request: Record<string, unknown>) =>
    gec.submit(tc(), 'redemption:Redeem', {
      beneficiary: '某数据中心',
      purpose: 'RE100 2026',
      consumptionStartMonth: '2026-01',
      consumptionEndMonth: '2026-06',
      ...request,
    });

  it('redeems parts of several lots into one statement, and the check answers for every serial', async () => {
    const consumer = await gec.participant('CONSUMER');
    const a = await gec.issuedLot(CURRENT, 10);
    const b = await gec.issuedLot(CURRENT, 5);
    for (const lot of [a, b]) await transfer({ lotId: lot.id, from: lot.owner, to: consumer });
    const tx = await redeem({
      redemptionId: 'red-1',
      owner: consumer,
      items: [{ lotId: a.id, volume: 4 }, { lotId: b.id }],
    });
    const redemption = JSON.parse(utf8(tx.result));
    expect(redemption).toMatchObject({
      id: 'red-1',
      owner: consumer,
      beneficiary: '某数据中心',
      volume: 9,
      consumptionPeriodStart: '2025-12-31T16:00:00.000Z',
      consumptionPeriodEnd: '2026-06-30T16:00:00.000Z',
      ranges: [
        {
          lotId: `${a.projectCode}2026030000007WT`,
          serialStart: `${a.projectCode}2026030000007WT`,
          serialEnd: `${a.projectCode}2026030000010WT`,
          volume: 4,
        },
        { lotId: b.id, serialStart: b.serialStart, serialEnd: b.serialEnd, volume: 5 },
      ],
    });
    expect(await gec.evaluate('redemption:GetRedemption', 'red-1')).toEqual(redemption);

    const check = (serial: string) =>
      gec.evaluate<Record<string, unknown>>('redemption:CheckRedemption', serial);
    expect(await check(`${a.projectCode}2026030000008WT`)).toMatchObject({
      redeemed: true,
      exchanged: false,
      redemptionId: 'red-1',
      beneficiary: '某数据中心',
      purpose: 'RE100 2026',
      consumedTxId: tx.txId,
      lotId: `${a.projectCode}2026030000007WT`,
    });
    expect(await check(`${a.projectCode}2026030000006WT`)).toMatchObject({
      redeemed: false,
      redemptionId: '',
      beneficiary: '',
      lotId: a.id,
      status: 'ACTIVE',
    });
    for (const identity of [gec.ids.gridPlatform, gec.ids.tradingClient]) {
      expect(
        await gec.evaluate<{ redeemed: boolean }>('redemption:CheckRedemption', b.serialEnd, identity),
      ).toMatchObject({ redeemed: true });
    }
    await expectRefused(check(`${a.projectCode}2026030000011WT`), 'SERIAL_NOT_FOUND');
    await expectRefused(check(`${a.projectCode}2026030000001WN`), 'SERIAL_NOT_FOUND');
    await expectRefused(check('PJ999999999999999202603000000' + '1WT'), 'SERIAL_NOT_FOUND');
    await expectRefused(check(`${a.projectCode}2026030000000WT`), 'INVALID_ARGUMENT', 'serial');
    await expectRefused(check('short'), 'INVALID_ARGUMENT', 'serial');

    // Redeemed serials never move, list or redeem again.
    const redeemedLot = await gec.lot(b.id);
    await expectRefused(
      redeem({ redemptionId: 'red-2', owner: consumer, items: [{ lotId: b.id }] }),
      'LOT_REDEEMED',
    );
    await expectRefused(transfer({ lotId: b.id, from: consumer, to: a.owner }), 'LOT_REDEEMED');
    await expectRefused(
      gec.submit(tc(), 'certificates:List', {
        listingId: 'lst-r',
        lotId: b.id,
        owner: consumer,
        unitPriceFen: 1,
      }),
      'LOT_REDEEMED',
    );
    await expectRefused(
      redeem({ redemptionId: 'red-1', owner: consumer, items: [{ lotId: a.id }] }),
      'REDEMPTION_EXISTS',
    );
    await expectUnchanged(redeemedLot);
  });

  it('is all or nothing: one bad item refuses the whole redemption', async () => {
    const lot = await gec.issuedLot(CURRENT, 6);
    const other = await gec.issuedLot(CURRENT, 6);
    await expectRefused(
      redeem({
        redemptionId: 'red-atomic',
        owner: lot.owner,
        items: [{ lotId: lot.id, volume: 2 }, { lotId: other.id }],
      }),
      'LOT_NOT_OWNED',
      other.id,
    );
    await expectUnchanged(lot, other);
    await expectRefused(gec.evaluate('redemption:GetRedemption', 'red-atomic'), 'REDEMPTION_NOT_FOUND');
    await expectRefused(
      redeem({ redemptionId: 'red-dup', owner: lot.owner, items: [{ lotId: lot.id }, { lotId: lot.id }] }),
      'INVALID_ARGUMENT',
      'items',
    );
    await expectRefused(
      redeem({
        redemptionId: 'red-months',
        owner: lot.owner,
        consumptionEndMonth: '2025-12',
        items: [{ lotId: lot.id }],
      }),
      'INVALID_ARGUMENT',
      'consumptionEndMonth',
    );
    await gec.submit(tc(), 'certificates:List', {
      listingId: 'lst-red',
      lotId: lot.id,
      owner: lot.owner,
      unitPriceFen: 1,
    });
    const listed = await gec.lot(lot.id);
    await expectRefused(
      redeem({ redemptionId: 'red-listed', owner: lot.owner, items: [{ lotId: lot.id }] }),
      'LOT_LISTED',
    );
    await expectUnchanged(listed);
  });

  it('exchanges certificates for green electricity; exchanged serials are final', async () => {
    const lot = await gec.issuedLot(CURRENT, 8);
    const exchange = await gec.call<Record<string, unknown>>(gec.ids.tradingAdmin, 'redemption:Exchange', {
      exchangeId: 'ex-1',
      owner: lot.owner,
      electricityReference: 'GE-2026-0042',
      items: [{ lotId: lot.id, volume: 3 }],
    });
    expect(exchange).toMatchObject({
      id: 'ex-1',
      volume: 3,
      electricityReference: 'GE-2026-0042',
      purpose: '',
    });
    const exchanged = `${lot.projectCode}2026030000006WT`;
    expect(await gec.evaluate('redemption:CheckRedemption', lot.serialEnd)).toMatchObject({
      redeemed: false,
      exchanged: true,
      exchangeId: 'ex-1',
      electricityReference: 'GE-2026-0042',
      lotId: exchanged,
      status: 'EXCHANGED',
    });
    expect(await gec.evaluate('redemption:GetExchange', 'ex-1')).toEqual(exchange);
    const to = await gec.participant('CONSUMER');
    await expectRefused(transfer({ lotId: exchanged, from: lot.owner, to }), 'LOT_EXCHANGED');
    await expectRefused(
      gec.submit(tc(), 'redemption:Exchange', {
        exchangeId: 'ex-1',
        owner: lot.owner,
        electricityReference: 'again',
        items: [{ lotId: lot.id }],
      }),
      'EXCHANGE_EXISTS',
    );
    const selfUse = await gec.issuedLot(CURRENT, 2, { tradable: false });
    await expectRefused(
      gec.submit(tc(), 'redemption:Exchange', {
        exchangeId: 'ex-2',
        owner: selfUse.owner,
        electricityReference: 'GE',
        items: [{ lotId: selfUse.id }],
      }),
      'LOT_NOT_TRADABLE',
    );
    await expectUnchanged(selfUse);
    await expectRefused(gec.evaluate('redemption:GetExchange', 'ex-2'), 'EXCHANGE_NOT_FOUND');
  });
});

describe('queries', () => {
  it('lists lots by owner, status and unit with pages, and gives history and provenance of a serial', async () => {
    const owner = await gec.participant('GENERATOR');
    const buyer = await gec.participant('CONSUMER');
    const lot = await gec.issuedLot(CURRENT, 20, { owner });
    const first = await gec.call<{ lotId: string }>(tc(), 'certificates:Transfer', {
      lotId: lot.id,
      from: owner,
      to: buyer,
      volume: 8,
    });
    const second = await gec.call<{ lotId: string }>(tc(), 'certificates:Transfer', {
      lotId: first.lotId,
      from: buyer,
      to: owner,
      volume: 3,
    });
    await gec.submit(tc(), 'redemption:Redeem', {
      redemptionId: 'red-prov',
      owner,
      beneficiary: 'b',
      purpose: 'p',
      consumptionStartMonth: '2026-03',
      consumptionEndMonth: '2026-03',
      items: [{ lotId: second.lotId }],
    });

    const page1 = await gec.evaluate<PageJson<LotJson>>('queries:ListLots', { owner, pageSize: 1 });
    const page2 = await gec.evaluate<PageJson<LotJson>>('queries:ListLots', {
      owner,
      pageSize: 1,
      bookmark: page1.bookmark,
    });
    expect([...page1.items, ...page2.items].map((l) => [l.id, l.status])).toEqual([
      [lot.id, 'ACTIVE'],
      [second.lotId, 'REDEEMED'],
    ]);
    const redeemed = await gec.evaluate<PageJson<LotJson>>('queries:ListLots', { owner, status: 'REDEEMED' });
    expect(redeemed.items.map((l) => l.id)).toEqual([second.lotId]);
    const byUnit = await gec.evaluate<PageJson<LotJson>>('queries:ListLots', {
      unitId: lot.unitId,
      month: CURRENT,
    });
    expect(byUnit.items.map((l) => l.id).sort()).toEqual([lot.id, first.lotId, second.lotId].sort());
    await expectRefused(gec.evaluate('queries:ListLots', { month: CURRENT }), 'INVALID_ARGUMENT', 'unitId');

    const history = await gec.evaluate<{ entries: Array<{ txId: string; lot: LotJson }> }>(
      'queries:GetLotHistory',
      first.lotId,
    );
    expect(history.entries.map((e) => [e.lot.owner, e.lot.volume])).toEqual([
      [buyer, 8],
      [buyer, 5],
    ]);

    const provenance = await gec.evaluate<{
      lotId: string;
      status: string;
      steps: Array<{ lotId: string; createdTxId: string; entries: Array<{ txId: string; lot: LotJson }> }>;
    }>('queries:GetSerialProvenance', lot.serialEnd);
    expect(provenance).toMatchObject({ lotId: second.lotId, status: 'REDEEMED' });
    expect(provenance.steps.map((s) => s.lotId)).toEqual([lot.id, first.lotId, second.lotId]);
    expect(provenance.steps[0].entries.map((e) => e.lot.owner)).toEqual([owner]);
    expect(provenance.steps[2].entries.map((e) => e.lot.status)).toEqual(['ACTIVE', 'REDEEMED']);
    for (const step of provenance.steps) expect(step.entries[0].txId).toBe(step.createdTxId);
  });

  it('gives a serial’s moves only: the splits that took its siblings away are not on its path', async () => {
    const owner = await gec.participant('GENERATOR');
    const buyer = await gec.participant('CONSUMER');
    const lot = await gec.issuedLot(CURRENT, 30, { owner });
    const children: string[] = [];
    for (let i = 0; i < 12; i++) {
      const split = await gec.call<{ lotId: string }>(tc(), 'certificates:Split', {
        lotId: lot.id,
        owner,
        volume: 2,
      });
      children.push(split.lotId);
    }
    await gec.submit(tc(), 'certificates:Transfer', { lotId: children[5], from: owner, to: buyer });
    type Provenance = {
      lotId: string;
      issuances: Array<{ unitId: string }>;
      steps: Array<{
        lotId: string;
        source: string;
        entries: Array<{ txId: string; mspId: string; lot: LotJson }>;
      }>;
    };
    // A serial of the sixth child: the issuance, the split that created the child, the transfer.
    const moved = await gec.evaluate<Provenance>('queries:GetSerialProvenance', children[5]);
    expect(moved.steps.map((s) => [s.lotId, s.source, s.entries.length])).toEqual([
      [lot.id, 'moves', 1],
      [children[5], 'moves', 2],
    ]);
    expect(moved.steps[1].entries.map((e) => [e.lot.owner, e.mspId])).toEqual([
      [owner, 'TradingCenterMSP'],
      [buyer, 'TradingCenterMSP'],
    ]);
    expect(moved.issuances.map((i) => i.unitId)).toEqual([lot.unitId]);
    // A serial the issued lot kept through the 12 splits: one move, its issuance.
    const kept = await gec.evaluate<Provenance>('queries:GetSerialProvenance', lot.id);
    expect(kept.steps.map((s) => [s.lotId, s.entries.length])).toEqual([[lot.id, 1]]);
    // The lot's key history still has every version.
    const history = await gec.evaluate<{ entries: unknown[] }>('queries:GetLotHistory', lot.id);
    expect(history.entries).toHaveLength(13);
    const byLot = await gec.evaluate<Provenance>('queries:GetLotProvenance', children[5]);
    expect(byLot.steps.map((s) => s.lotId)).toEqual([lot.id, children[5]]);
  });
});

describe('events', () => {
  it('emits exactly one canonical event per valid transaction, none for refused ones, carrying every changed lot', async () => {
    const marker = await gec.issuedLot(CURRENT, 7);
    const buyer = await gec.participant('CONSUMER');
    const last = await transfer({ lotId: marker.id, from: marker.owner, to: buyer, volume: 2 });
    const events: Array<{ txId: string; eventName: string; payload: Uint8Array }> = [];
    const stream = gec.ledger.chaincodeEvents({ start: { blockNumber: 0 } });
    try {
      for await (const event of stream) {
        events.push(event);
        if (event.txId === last.txId) break;
      }
    } finally {
      stream.close();
    }
    const byTx = new Map<string, number>();
    for (const event of events) byTx.set(event.txId, (byTx.get(event.txId) ?? 0) + 1);
    expect(gec.validTxIds.length).toBeGreaterThan(100);
    for (const txId of gec.validTxIds) expect(byTx.get(txId)).toBe(1);
    for (const txId of gec.failedTxIds) expect(byTx.has(txId)).toBe(false);
    for (const event of events)
      expect(utf8(event.payload)).toBe(canonicalJson(JSON.parse(utf8(event.payload))));

    const transferred = JSON.parse(utf8(events[events.length - 1].payload));
    expect(events[events.length - 1].eventName).toBe('LotTransferred');
    expect(transferred).toMatchObject({ from: marker.owner, to: buyer, volume: 2 });
    expect(transferred.lots.map((l: LotJson) => [l.id, l.owner, l.volume])).toEqual([
      [marker.id, marker.owner, 5],
      [`${marker.projectCode}2026030000006WT`, buyer, 2],
    ]);
    const names = new Set(events.map((e) => e.eventName));
    for (const name of [
      'CertificatesIssued',
      'LotSplit',
      'LotTransferred',
      'LotListed',
      'LotDelisted',
      'ListingSold',
      'LotExpired',
      'LotWithdrawn',
      'CertificatesRedeemed',
      'CertificatesExchanged',
      'UnitRegistered',
      'MeterPeriodAttested',
      'ParametersChanged',
    ]) {
      expect([name, names.has(name)]).toEqual([name, true]);
    }
  });
});
