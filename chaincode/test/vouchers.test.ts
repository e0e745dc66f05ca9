/**
 * Voucher custody (绿电凭证托管) through the real contracts: release, claim as consumption evidence and revoke,
 * each with its event, and every refusal with its named error and nothing changed.
 */
import { GecClient, type LotJson, type PageJson, expectRefused } from './support/gec-client';
import {
  type AttestResult,
  type Buyer,
  type Seller,
  type VoucherJson,
  attestTrade,
  buyer,
  eventOf,
  greenConsumption,
  seller,
  tradeRequest,
  voucher,
} from './support/trade-fixtures';

const MONTH = '2026-09';
let gec: GecClient;
let s: Seller;
let b: Buyer;

beforeAll(async () => {
  gec = await GecClient.start({ batch: { batchTimeoutMs: 1 } });
  s = await seller(gec, MONTH, 50);
  b = await buyer(gec, MONTH, [40_000]);
});

afterAll(async () => {
  await gec?.close();
});

async function trade(volume: number, extra: Record<string, unknown> = {}): Promise<AttestResult> {
  return attestTrade(gec, tradeRequest(gec, s, b, MONTH, [{ lotId: s.lot.id, volume }], extra));
}

const release = (voucherId: string, holder = b.buyer, identity = gec.ids.tradingClient) =>
  gec.submit(identity, 'vouchers:Release', { voucherId, holder });

const claim = (voucherId: string, extra: Record<string, unknown> = {}, identity = gec.ids.tradingClient) =>
  gec.submit(identity, 'vouchers:Claim', {
    voucherId,
    holder: b.buyer,
    purpose: '2026年度可再生能源消纳责任权重核算',
    reportingStartMonth: '2026-01',
    reportingEndMonth: '2026-12',
    ...extra,
  });

const revoke = (voucherId: string, reason = '交易数据争议', identity = gec.ids.gridAdmin) =>
  gec.submit(identity, 'vouchers:Revoke', { voucherId, reason });

/** The voucher and its lots. */
async function state(v: VoucherJson): Promise<unknown> {
  return {
    voucher: await voucher(gec, v.voucherId),
    lots: await Promise.all(v.sourceLots.map((l) => gec.lot(l.lotId))),
  };
}

async function refusedUnchanged(
  v: VoucherJson,
  call: () => Promise<unknown>,
  code: string,
  mentions?: string,
) {
  const before = await state(v);
  await expectRefused(call(), code, mentions);
  expect(await state(v)).toEqual(before);
}

describe('release', () => {
  it('hands the voucher to its holder (IN_CUSTODY → RELEASED) with one event; the certificates stay in custody', async () => {
    const { voucher: v } = await trade(2);
    await refusedUnchanged(v, () => release(v.voucherId, s.seller), 'VOUCHER_NOT_HELD');
    await refusedUnchanged(v, () => release(v.voucherId, b.buyer, gec.ids.gridAdmin), 'ROLE_NOT_PERMITTED');
    await refusedUnchanged(v, () => release(v.voucherId, b.buyer, gec.ids.regulator), 'REGULATOR_READ_ONLY');
    await expectRefused(release('V-none'), 'VOUCHER_NOT_FOUND');

    const tx = await release(v.voucherId);
    const released = await voucher(gec, v.voucherId);
    expect(released).toMatchObject({ status: 'RELEASED', statusChangedAt: expect.any(String) });
    expect(released.history.map((h) => [h.status, h.byMsp])).toEqual([
      ['IN_CUSTODY', 'GridMSP'],
      ['RELEASED', 'TradingCenterMSP'],
    ]);
    expect(released.history[1].txId).toBe(tx.txId);
    expect(await eventOf(gec, tx.txId)).toEqual({
      eventName: 'VoucherReleased',
      payload: { voucher: released },
    });
    expect(await gec.lot(v.sourceLots[0].lotId)).toMatchObject({ status: 'IN_CUSTODY', owner: b.buyer });
    await refusedUnchanged(v, () => release(v.voucherId), 'VOUCHER_STATUS_NOT_PERMITTED', 'RELEASED');
  });

  it('needs an ACTIVE holder', async () => {
    const other = await buyer(gec, MONTH, [5_000]);
    const { voucher: v } = await attestTrade(
      gec,
      tradeRequest(gec, s, other, MONTH, [{ lotId: s.lot.id, volume: 1 }]),
    );
    await gec.submit(gec.ids.tradingAdmin, 'identity:SetParticipantStatus', {
      id: other.buyer,
      status: 'SUSPENDED',
      reason: 'audit',
    });
    await refusedUnchanged(v, () => release(v.voucherId, other.buyer), 'PARTICIPANT_NOT_ACTIVE');
    await refusedUnchanged(
      v,
      () =>
        gec.submit(gec.ids.tradingClient, 'vouchers:Claim', {
          voucherId: v.voucherId,
          holder: other.buyer,
          purpose: 'x',
          reportingStartMonth: MONTH,
          reportingEndMonth: MONTH,
        }),
      'PARTICIPANT_NOT_ACTIVE',
    );
  });
});

describe('claim', () => {
  it('files a released voucher as consumption evidence for a reporting period that contains it; final', async () => {
    const { voucher: v } = await trade(3);
    await release(v.voucherId);
    await refusedUnchanged(
      v,
      () => claim(v.voucherId, { reportingStartMonth: '2026-10', reportingEndMonth: '2026-12' }),
      'CLAIM_PERIOD_MISMATCH',
    );
    await refusedUnchanged(
      v,
      () => claim(v.voucherId, { reportingStartMonth: '2026-12', reportingEndMonth: '2026-01' }),
      'INVALID_ARGUMENT',
    );
    await refusedUnchanged(v, () => claim(v.voucherId, { purpose: '' }), 'INVALID_ARGUMENT');
    await refusedUnchanged(v, () => claim(v.voucherId, { holder: s.seller }), 'VOUCHER_NOT_HELD');
    await refusedUnchanged(v, () => claim(v.voucherId, {}, gec.ids.regulator), 'REGULATOR_READ_ONLY');
    await refusedUnchanged(v, () => claim(v.voucherId, {}, gec.ids.gridPlatform), 'ROLE_NOT_PERMITTED');

    const tx = await claim(v.voucherId);
    const claimed = await voucher(gec, v.voucherId);
    expect(claimed).toMatchObject({
      status: 'CLAIMED',
      statusReason: '2026年度可再生能源消纳责任权重核算',
      claimedFor: {
        purpose: '2026年度可再生能源消纳责任权重核算',
        reportingStartMonth: '2026-01',
        reportingEndMonth: '2026-12',
        reportingPeriodStart: '2025-12-31T16:00:00.000Z',
        reportingPeriodEnd: '2026-12-31T16:00:00.000Z',
      },
    });
    expect(claimed.history.map((h) => h.status)).toEqual(['IN_CUSTODY', 'RELEASED', 'CLAIMED']);
    expect(await eventOf(gec, tx.txId)).toEqual({
      eventName: 'VoucherClaimed',
      payload: { voucher: claimed },
    });
    // The certificates stay in custody for good: they are the evidence, never redeemed or moved again.
    expect(await gec.lot(v.sourceLots[0].lotId)).toMatchObject({ status: 'IN_CUSTODY', owner: b.buyer });

    await refusedUnchanged(v, () => claim(v.voucherId), 'VOUCHER_CLAIMED');
    await refusedUnchanged(v, () => release(v.voucherId), 'VOUCHER_CLAIMED');
    await refusedUnchanged(v, () => revoke(v.voucherId), 'VOUCHER_CLAIMED', 'final');
  });

  it('can claim straight from custody', async () => {
    const { voucher: v } = await trade(1);
    await claim(v.voucherId, { reportingStartMonth: MONTH, reportingEndMonth: MONTH });
    expect(await voucher(gec, v.voucherId)).toMatchObject({ status: 'CLAIMED' });
  });
});

describe('revoke', () => {
  it('voids a green-power voucher; its certificates are WITHDRAWN, never freed; the green kWh stay counted', async () => {
    const { voucher: v, trade: t } = await trade(4);
    const green = await greenConsumption(gec, b.buyer, MONTH);
    await refusedUnchanged(
      v,
      () => revoke(v.voucherId, '交易数据争议', gec.ids.tradingAdmin),
      'ROLE_NOT_PERMITTED',
    );
    await refusedUnchanged(
      v,
      () => revoke(v.voucherId, '交易数据争议', gec.ids.regulator),
      'REGULATOR_READ_ONLY',
    );
    await refusedUnchanged(v, () => revoke(v.voucherId, '  '), 'INVALID_ARGUMENT');

    const tx = await revoke(v.voucherId);
    const revoked = await voucher(gec, v.voucherId);
    expect(revoked).toMatchObject({ status: 'REVOKED', statusReason: '交易数据争议' });
    expect(revoked.history.map((h) => [h.status, h.byMsp, h.reason])).toEqual([
      ['IN_CUSTODY', 'GridMSP', `trade ${t.tradeId} attested`],
      ['REVOKED', 'GridMSP', '交易数据争议'],
    ]);
    const lot = await gec.lot(v.sourceLots[0].lotId);
    expect(lot).toMatchObject({
      status: 'WITHDRAWN',
      owner: b.buyer,
      boundToGreenPowerTrade: true,
      statusReason: `voucher ${v.voucherId} revoked: 交易数据争议`,
    });
    expect(await eventOf(gec, tx.txId)).toEqual({
      eventName: 'VoucherRevoked',
      payload: { voucher: revoked, lots: [lot] },
    });
    expect(await greenConsumption(gec, b.buyer, MONTH)).toEqual(green);
    await expectRefused(
      gec.submit(gec.ids.tradingClient, 'certificates:Transfer', {
        lotId: lot.id,
        from: b.buyer,
        to: s.seller,
      }),
      'LOT_WITHDRAWN',
    );

    await refusedUnchanged(v, () => revoke(v.voucherId), 'VOUCHER_STATUS_NOT_PERMITTED', 'REVOKED');
    await refusedUnchanged(v, () => release(v.voucherId), 'VOUCHER_STATUS_NOT_PERMITTED');
    await refusedUnchanged(v, () => claim(v.voucherId), 'VOUCHER_STATUS_NOT_PERMITTED');
  });

  it('voids a released certificate-only voucher; its certificates return to the buyer, ACTIVE and redeemable once', async () => {
    const cs = await seller(gec, '2026-06', 5);
    const { voucher: v } = await attestTrade(
      gec,
      tradeRequest(gec, cs, b, MONTH, [{ lotId: cs.lot.id, volume: 2 }], { kind: 'CERTIFICATE_ONLY' }),
    );
    await release(v.voucherId);
    await revoke(v.voucherId, '凭证信息有误');
    const lot = await gec.lot(v.sourceLots[0].lotId);
    expect(lot).toMatchObject({ status: 'ACTIVE', owner: b.buyer, boundToGreenPowerTrade: false });
    await gec.submit(gec.ids.tradingClient, 'redemption:Redeem', {
      redemptionId: `R-${gec.next()}`,
      owner: b.buyer,
      beneficiary: b.buyer,
      purpose: '绿证核销',
      consumptionStartMonth: MONTH,
      consumptionEndMonth: MONTH,
      items: [{ lotId: lot.id }],
    });
    expect(await gec.lot(lot.id)).toMatchObject({ status: 'REDEEMED' });
  });
});

describe('reads', () => {
  it('gets by id and by lot, lists by consumer and status', async () => {
    await expectRefused(gec.evaluate('vouchers:GetVoucher', 'V-none'), 'VOUCHER_NOT_FOUND');
    await expectRefused(gec.evaluate('vouchers:GetVoucherByLot', s.lot.id), 'VOUCHER_NOT_FOUND');
    const { voucher: v } = await trade(1);
    expect(await gec.evaluate('vouchers:GetVoucherByLot', v.sourceLots[0].lotId)).toEqual(v);
    const all = await gec.evaluate<PageJson<VoucherJson>>('vouchers:ListVouchers', {
      consumer: b.buyer,
      pageSize: 1000,
    });
    const byStatus: Record<string, string[]> = {};
    for (const item of all.items) (byStatus[item.status] ??= []).push(item.voucherId);
    for (const [status, ids] of Object.entries(byStatus)) {
      const mine = await gec.evaluate<PageJson<VoucherJson>>('vouchers:ListVouchers', {
        consumer: b.buyer,
        status,
      });
      expect(mine.items.map((i) => i.voucherId).sort()).toEqual([...ids].sort());
      const any = await gec.evaluate<PageJson<VoucherJson>>('vouchers:ListVouchers', {
        status,
        pageSize: 1000,
      });
      expect(any.items.every((i) => i.status === status)).toBe(true);
    }
    expect(Object.keys(byStatus).sort()).toEqual(['CLAIMED', 'IN_CUSTODY', 'RELEASED', 'REVOKED']);
    const page = await gec.evaluate<PageJson<VoucherJson>>('vouchers:ListVouchers', { pageSize: 2 });
    expect(page.items).toHaveLength(2);
    expect(page.bookmark).not.toBe('');
    await expectRefused(gec.evaluate('vouchers:ListVouchers', { status: 'LOST' }), 'INVALID_ARGUMENT');
    // The buyer's lots in custody are exactly the lots of its vouchers in custody, released or claimed.
    const held = await gec.evaluate<PageJson<LotJson>>('queries:ListLots', {
      owner: b.buyer,
      status: 'IN_CUSTODY',
      pageSize: 1000,
    });
    const live = all.items
      .filter((i) => i.status !== 'REVOKED' && i.consumer === b.buyer)
      .flatMap((i) => i.sourceLots.map((l) => l.lotId));
    expect(held.items.map((l) => l.id).sort()).toEqual(live.sort());
  });
});
