/**
 * trades:AttestTrade through the real contracts on the embedded ledger: a green-power trade attests, moves and
 * binds its certificates and puts its voucher in custody in one transaction with one event; every rule the
 * chaincode re-checks is broken once with its named error and nothing changed.
 */
import { createHash } from 'node:crypto';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import {
  GecContract,
  canonicalJson,
  LotChanges,
  contracts,
  emitEvent,
  moveWithGreenPowerTrade,
  txTime,
} from '@gec/chaincode';
import { GecClient, type LotJson, digestOf, expectRefused } from './support/gec-client';
import {
  type AttestResult,
  type Buyer,
  type Seller,
  type TradeJson,
  attestTrade,
  buyer,
  eventOf,
  greenConsumption,
  seller,
  shanghai,
  snapshot,
  resigned,
  tradeOf,
  tradeRequest,
  voucher,
} from './support/trade-fixtures';

/** Binds certificates to a green-power trade without the trades contract, to get an ACTIVE bound lot. */
@Info({ title: 'testbind', description: 'test stand-in binding certificates to an outside trade' })
class TestBindContract extends GecContract {
  constructor() {
    super('testbind');
  }

  @Transaction()
  @Returns('string')
  async Move(ctx: Context, request: string): Promise<string> {
    const changes = new LotChanges(ctx, txTime(ctx), ctx.stub.getTxID());
    const moved = await moveWithGreenPowerTrade(changes, JSON.parse(request));
    const lots = await changes.flush();
    emitEvent(ctx, 'TestBound', { lots });
    return moved.id;
  }
}

const MONTH = '2026-09';
let gec: GecClient;

beforeAll(async () => {
  gec = await GecClient.start({ batch: { batchTimeoutMs: 1 }, contracts: [...contracts, TestBindContract] });
});

afterAll(async () => {
  await gec?.close();
});

/** `call` is refused with `code` and changes nothing any of `parties` or the trade and voucher lists show. */
async function refusedUnchanged(
  call: () => Promise<unknown>,
  code: string,
  parties: string[],
  mentions?: string,
): Promise<void> {
  const before = await snapshot(gec, parties, MONTH);
  await expectRefused(call(), code, mentions);
  expect(await snapshot(gec, parties, MONTH)).toEqual(before);
}

describe('a green-power trade', () => {
  let s: Seller;
  let b: Buyer;
  let request: Record<string, unknown>;
  let result: AttestResult;
  let txId: string;

  beforeAll(async () => {
    s = await seller(gec, MONTH, 10);
    b = await buyer(gec, MONTH, [3_000, 2_500.5]);
    request = tradeRequest(gec, s, b, MONTH, [{ lotId: s.lot.id, volume: 4 }], { priceFen: 160_000 });
    const submitted = await gec.submit(gec.ids.gridPlatform, 'trades:AttestTrade', request);
    txId = submitted.txId;
    result = JSON.parse(Buffer.from(submitted.result).toString('utf8')) as AttestResult;
  });

  it('attests the trade with its hashes, checks, months and moved serial ranges', async () => {
    const movedId = `${s.projectCode}2026090000007WT`;
    expect(result.trade).toMatchObject({
      tradeId: tradeOf(request).tradeId,
      kind: 'GREEN_POWER',
      seller: s.seller,
      buyer: b.buyer,
      volumeKwh: 4000,
      priceFen: 160_000,
      currency: 'CNY',
      deliveryStart: '2026-08-31T16:00:00.000Z',
      deliveryEnd: '2026-09-30T16:00:00.000Z',
      months: [{ month: MONTH, volumeKwh: 4000 }],
      sellerUnitIds: [s.unitId],
      buyerMeterIds: [...b.meterIds].sort(),
      lots: [
        {
          lotId: movedId,
          serialStart: movedId,
          serialEnd: `${s.projectCode}2026090000010WT`,
          volume: 4,
          unitId: s.unitId,
          productionMonth: MONTH,
        },
      ],
      tradeDataHash: createHash('sha256').update(canonicalJson(request.trade)).digest('hex'),
      tradingCenter: 'TradingCenterMSP',
      tradeData: canonicalJson(request.trade),
      signature: { ...(request.signature as object), verifiedBy: 'CHAINCODE' },
      checkDataHash: request.checkDataHash,
      meterEvidenceDigest: request.meterEvidenceDigest,
      checksPassed: request.checksPassed,
      voucherId: request.voucherId,
      txId,
      attestedByMsp: 'GridMSP',
    });
    expect(await gec.evaluate<TradeJson>('trades:GetTrade', tradeOf(request).tradeId)).toEqual(result.trade);
    for (const query of [{ buyer: b.buyer }, { seller: s.seller }]) {
      const page = await gec.evaluate<{ items: TradeJson[] }>('trades:ListTrades', query);
      expect(page.items).toEqual([result.trade]);
    }
  });

  it('moves the certificates to the buyer, bound to the trade and held in custody; the rest stays with the seller', async () => {
    const moved = await gec.lot(result.trade.lots[0].lotId);
    expect(moved).toMatchObject({
      owner: b.buyer,
      status: 'IN_CUSTODY',
      volume: 4,
      sequenceStart: 7,
      sequenceEnd: 10,
      boundToGreenPowerTrade: true,
      greenPowerTradeId: tradeOf(request).tradeId,
      parentLotId: s.lot.id,
      updatedTxId: txId,
    });
    expect(await gec.lot(s.lot.id)).toMatchObject({
      owner: s.seller,
      status: 'ACTIVE',
      volume: 6,
      sequenceEnd: 6,
    });
    expect(result.lots.map((l: LotJson) => [l.id, l.owner, l.volume])).toEqual([
      [s.lot.id, s.seller, 6],
      [moved.id, b.buyer, 4],
    ]);
    // In custody: nothing moves it outside the custody contract.
    await expectRefused(
      gec.submit(gec.ids.tradingClient, 'certificates:Transfer', {
        lotId: moved.id,
        from: b.buyer,
        to: s.seller,
      }),
      'LOT_IN_CUSTODY',
    );
    await expectRefused(
      gec.submit(gec.ids.tradingClient, 'redemption:Redeem', {
        redemptionId: 'R-custody',
        owner: b.buyer,
        beneficiary: b.buyer,
        purpose: 'double count',
        consumptionStartMonth: MONTH,
        consumptionEndMonth: MONTH,
        items: [{ lotId: moved.id }],
      }),
      'LOT_IN_CUSTODY',
    );
  });

  it('creates the voucher IN_CUSTODY with exactly the moved serials, and counts the green kWh', async () => {
    const v = await voucher(gec, request.voucherId as string);
    expect(v).toEqual(result.voucher);
    expect(v).toMatchObject({
      voucherId: request.voucherId,
      consumer: b.buyer,
      volumeKwh: 4000,
      periodStart: result.trade.deliveryStart,
      periodEnd: result.trade.deliveryEnd,
      tradeId: tradeOf(request).tradeId,
      tradeKind: 'GREEN_POWER',
      priceFen: 160_000,
      currency: 'CNY',
      status: 'IN_CUSTODY',
      issuedTxId: txId,
      statusReason: '',
    });
    expect(v.claimedFor).toBeUndefined();
    expect(v.sourceLots).toEqual(
      result.trade.lots.map(({ lotId, serialStart, serialEnd, volume }) => ({
        lotId,
        serialStart,
        serialEnd,
        volume,
      })),
    );
    expect(v.history).toEqual([expect.objectContaining({ status: 'IN_CUSTODY', txId })]);
    expect(await gec.evaluate('vouchers:GetVoucherByLot', v.sourceLots[0].lotId)).toEqual(v);
    expect(await greenConsumption(gec, b.buyer, MONTH)).toMatchObject({ greenKwh: 4000, trades: 1 });
    expect(await gec.evaluate('trades:GetGreenGeneration', { unitId: s.unitId, month: MONTH })).toMatchObject(
      { greenKwh: 4000, trades: 1 },
    );
  });

  it('emits one TradeAttested event with the trade, the voucher and every lot written', async () => {
    const event = await eventOf(gec, txId);
    expect(event.eventName).toBe('TradeAttested');
    expect(event.payload).toEqual({ trade: result.trade, voucher: result.voucher, lots: result.lots });
  });

  it('refuses the same trade id again (TRADE_ALREADY_ATTESTED), even with other lots and voucher, changing nothing', async () => {
    await refusedUnchanged(
      () =>
        attestTrade(gec, {
          ...resigned(gec, request, { lots: [{ lotId: s.lot.id, volume: 1 }], volumeKwh: 1000 }),
          voucherId: 'V-other',
        }),
      'TRADE_ALREADY_ATTESTED',
      [s.seller, b.buyer],
      txId,
    );
    await refusedUnchanged(() => attestTrade(gec, request), 'TRADE_ALREADY_ATTESTED', [s.seller, b.buyer]);
  });

  it('refuses a voucher id already used (VOUCHER_EXISTS)', async () => {
    const again = tradeRequest(gec, s, b, MONTH, [{ lotId: s.lot.id, volume: 1 }], {
      voucherId: request.voucherId,
    });
    await refusedUnchanged(() => attestTrade(gec, again), 'VOUCHER_EXISTS', [s.seller, b.buyer]);
  });

  it("refuses a lot already moved with the earlier green-power trade (LOT_IN_CUSTODY, it is the buyer's)", async () => {
    const other = await buyer(gec, MONTH, [5_000]);
    const movedId = result.trade.lots[0].lotId;
    await refusedUnchanged(
      () => attestTrade(gec, tradeRequest(gec, s, other, MONTH, [{ lotId: movedId, volume: 1 }])),
      'LOT_IN_CUSTODY',
      [s.seller, b.buyer, other.buyer],
    );
  });
});

describe('green consumption per consumer and month', () => {
  it('refuses a trade that would take the consumer beyond its attested consumption (GREEN_CONSUMPTION_EXCEEDS_ATTESTED)', async () => {
    const s = await seller(gec, MONTH, 10);
    const b = await buyer(gec, MONTH, [3_000, 2_000]); // 5,000 kWh attested
    await attestTrade(gec, tradeRequest(gec, s, b, MONTH, [{ lotId: s.lot.id, volume: 4 }]));
    // 4,000 + 2,000 > 5,000: refused, and counted over both meters of the consumer.
    await refusedUnchanged(
      () =>
        attestTrade(
          gec,
          tradeRequest(gec, s, b, MONTH, [{ lotId: s.lot.id, volume: 2 }], {
            buyerMeterIds: [b.meterIds[0]],
          }),
        ),
      'GREEN_CONSUMPTION_EXCEEDS_ATTESTED',
      [s.seller, b.buyer],
      '4000 kWh already attested green',
    );
    // Exactly up to the attestation is fine.
    await attestTrade(gec, tradeRequest(gec, s, b, MONTH, [{ lotId: s.lot.id, volume: 1 }]));
    expect(await greenConsumption(gec, b.buyer, MONTH)).toMatchObject({ greenKwh: 5000, trades: 2 });
    await refusedUnchanged(
      () => attestTrade(gec, tradeRequest(gec, s, b, MONTH, [{ lotId: s.lot.id, volume: 1 }])),
      'GREEN_CONSUMPTION_EXCEEDS_ATTESTED',
      [s.seller, b.buyer],
    );
  });

  it('refuses a meter correction that would leave the consumption below the green kWh attested (ATTESTATION_BELOW_CLAIMED)', async () => {
    const s = await seller(gec, MONTH, 5);
    const b = await buyer(gec, MONTH, [4_000]);
    await attestTrade(gec, tradeRequest(gec, s, b, MONTH, [{ lotId: s.lot.id, volume: 3 }]));
    const correct = (kwh: number, version: number) =>
      gec.submit(gec.ids.gridPlatform, 'metering:CorrectMeterPeriod', {
        meterId: b.meterIds[0],
        period: MONTH,
        totalWh: kwh * 1000,
        digest: digestOf(`corrected ${kwh}`),
        reason: 'meter replaced',
        version,
      });
    await expectRefused(correct(2_999.999, 2), 'ATTESTATION_BELOW_CLAIMED', '3000 kWh');
    await correct(3_000, 2);
    expect(
      await gec.evaluate('metering:GetMeterAttestation', { meterId: b.meterIds[0], period: MONTH }),
    ).toMatchObject({
      version: 2,
      totalWh: '3000000',
    });
  });

  it('refuses a generation meter correction below the green kWh sold from the unit (ATTESTATION_BELOW_CLAIMED)', async () => {
    const s = await seller(gec, MONTH, 3);
    const b = await buyer(gec, MONTH, [5_000]);
    await attestTrade(gec, tradeRequest(gec, s, b, MONTH, [{ lotId: s.lot.id, volume: 3 }]));
    await expectRefused(
      gec.submit(gec.ids.gridPlatform, 'metering:CorrectMeterPeriod', {
        meterId: s.meterIds[0],
        period: MONTH,
        totalWh: 2_500_000,
        digest: digestOf('generation corrected'),
        reason: 'CT ratio fixed',
        version: 2,
      }),
      'ATTESTATION_BELOW_CLAIMED',
      `generation of unit ${s.unitId}`,
    );
  });

  it("refuses green generation beyond the unit's generation of the month, e.g. certificates made of carried Wh (GREEN_GENERATION_EXCEEDS_ATTESTED)", async () => {
    const owner = await gec.participant('GENERATOR');
    const unit = await gec.unit(owner);
    await gec.attest(unit.meterIds[0], '2026-07', 600_000); // 0.6 MWh: nothing issued, 600 kWh carried
    await gec.issue(unit.id, '2026-07');
    await gec.attest(unit.meterIds[0], '2026-08', 600_000); // 0.6 + 0.6: one certificate of 2026-08
    const issuance = await gec.issue(unit.id, '2026-08');
    expect(issuance.certificates).toBe(1);
    const s: Seller = {
      seller: owner,
      unitId: unit.id,
      projectCode: unit.projectCode,
      meterIds: unit.meterIds,
      lot: await gec.lot(issuance.lotId),
    };
    const b = await buyer(gec, '2026-08', [5_000]);
    await refusedUnchanged(
      () => attestTrade(gec, tradeRequest(gec, s, b, '2026-08', [{ lotId: s.lot.id, volume: 1 }])),
      'GREEN_GENERATION_EXCEEDS_ATTESTED',
      [owner, b.buyer],
      '600000 Wh',
    );
  });
});

describe('rules re-checked on chain, each refused with its named error and nothing changed', () => {
  let s: Seller;
  let b: Buyer;
  const parties = () => [s.seller, b.buyer];
  const valid = (
    extra: Record<string, unknown> = {},
    lots: Array<{ lotId: string; volume?: number }> = [{ lotId: s.lot.id, volume: 1 }],
  ) => tradeRequest(gec, s, b, MONTH, lots, extra);

  beforeAll(async () => {
    s = await seller(gec, MONTH, 20);
    b = await buyer(gec, MONTH, [50_000]);
  });

  it('only the platform (energy-platform or admin) attests, never the trading center itself; the regulator never writes', async () => {
    await refusedUnchanged(
      () => gec.submit(gec.ids.tradingClient, 'trades:AttestTrade', valid()),
      'ROLE_NOT_PERMITTED',
      parties(),
    );
    await refusedUnchanged(
      () => gec.submit(gec.ids.tradingAdmin, 'trades:AttestTrade', valid()),
      'ROLE_NOT_PERMITTED',
      parties(),
    );
    await refusedUnchanged(
      () => gec.submit(gec.ids.regulator, 'trades:AttestTrade', valid()),
      'REGULATOR_READ_ONLY',
      parties(),
    );
    await gec.submit(gec.ids.gridAdmin, 'trades:AttestTrade', valid());
  });

  it('seller not holding the lot (LOT_NOT_OWNED)', async () => {
    const other = await seller(gec, MONTH, 3);
    await refusedUnchanged(
      () => attestTrade(gec, valid({}, [{ lotId: other.lot.id, volume: 1 }])),
      'LOT_NOT_OWNED',
      [...parties(), other.seller],
    );
  });

  it('lot bound to an earlier green-power trade (LOT_BOUND_TO_GREEN_POWER_TRADE)', async () => {
    const first = await seller(gec, MONTH, 4);
    // A second generator holds certificates bound to an outside green-power trade, from a unit of its own month.
    const second = await seller(gec, MONTH, 1);
    const boundId = Buffer.from(
      (
        await gec.submit(gec.ids.tradingAdmin, 'testbind:Move', {
          lotId: first.lot.id,
          from: first.seller,
          to: second.seller,
          volume: 2,
          tradeId: 'GPT-EARLIER',
        })
      ).result,
    ).toString('utf8');
    const request = tradeRequest(gec, second, b, MONTH, [{ lotId: boundId }], {
      volumeKwh: 2000,
      sellerUnitIds: [second.unitId, first.unitId].sort(),
    });
    await expectRefused(attestTrade(gec, request), 'UNIT_NOT_OWNED', first.unitId);
    await refusedUnchanged(
      () => attestTrade(gec, resigned(gec, request, { sellerUnitIds: [second.unitId] })),
      'LOT_BOUND_TO_GREEN_POWER_TRADE',
      [second.seller, b.buyer],
      'GPT-EARLIER',
    );
  });

  it('consumer SUSPENDED (PARTICIPANT_NOT_ACTIVE); reactivated, the trade passes', async () => {
    const b2 = await buyer(gec, MONTH, [5_000]);
    await gec.submit(gec.ids.tradingAdmin, 'identity:SetParticipantStatus', {
      id: b2.buyer,
      status: 'SUSPENDED',
      reason: '欠费',
    });
    const request = tradeRequest(gec, s, b2, MONTH, [{ lotId: s.lot.id, volume: 1 }]);
    await refusedUnchanged(
      () => attestTrade(gec, request),
      'PARTICIPANT_NOT_ACTIVE',
      [s.seller, b2.buyer],
      'SUSPENDED',
    );
    await gec.submit(gec.ids.tradingAdmin, 'identity:SetParticipantStatus', {
      id: b2.buyer,
      status: 'ACTIVE',
      reason: '已缴清',
    });
    await attestTrade(gec, request);
  });

  it('seller SUSPENDED, parties of the wrong kind or unknown', async () => {
    const other = await seller(gec, MONTH, 2);
    await gec.submit(gec.ids.tradingAdmin, 'identity:SetParticipantStatus', {
      id: other.seller,
      status: 'SUSPENDED',
      reason: 'audit',
    });
    await refusedUnchanged(
      () => attestTrade(gec, tradeRequest(gec, other, b, MONTH, [{ lotId: other.lot.id, volume: 1 }])),
      'PARTICIPANT_NOT_ACTIVE',
      [other.seller, b.buyer],
    );
    await refusedUnchanged(
      () => attestTrade(gec, valid({ buyer: s.seller })),
      'PARTY_KIND_NOT_PERMITTED',
      parties(),
      'CONSUMER',
    );
    await refusedUnchanged(
      () => attestTrade(gec, valid({ seller: b.buyer })),
      'PARTY_KIND_NOT_PERMITTED',
      parties(),
      'GENERATOR',
    );
    await refusedUnchanged(
      () => attestTrade(gec, valid({ buyer: 'nobody' })),
      'PARTICIPANT_NOT_FOUND',
      parties(),
    );
  });

  it('expired lot (LOT_EXPIRED)', async () => {
    const old = await seller(gec, '2019-12', 3);
    expect(old.lot.expiresAt).toBe('2021-11-30T16:00:00.000Z'); // start of 2021-12, Asia/Shanghai
    const oldBuyer = await buyer(gec, '2019-12', [5_000]);
    await refusedUnchanged(
      () => attestTrade(gec, tradeRequest(gec, old, oldBuyer, '2019-12', [{ lotId: old.lot.id, volume: 1 }])),
      'LOT_EXPIRED',
      [old.seller, oldBuyer.buyer],
      'past its expiry',
    );
  });

  it('lot not tradable (LOT_NOT_TRADABLE)', async () => {
    const own = await seller(gec, MONTH, 2, { tradable: false });
    const request = tradeRequest(gec, own, b, MONTH, [{ lotId: own.lot.id, volume: 1 }]);
    await refusedUnchanged(() => attestTrade(gec, request), 'LOT_NOT_TRADABLE', [own.seller, b.buyer]);
  });

  it('green-power lot from another unit of the seller, or produced outside the delivery period', async () => {
    const unit2 = await gec.unit(s.seller);
    await gec.attest(unit2.meterIds[0], MONTH, 2_000_000);
    const issuance = await gec.issue(unit2.id, MONTH);
    await refusedUnchanged(
      () => attestTrade(gec, valid({}, [{ lotId: issuance.lotId, volume: 1 }])),
      'LOT_NOT_FROM_SELLER_UNIT',
      parties(),
    );
    await gec.attest(s.meterIds[0], '2026-10', 3_000_000);
    const october = await gec.issue(s.unitId, '2026-10');
    await refusedUnchanged(
      () => attestTrade(gec, valid({}, [{ lotId: october.lotId, volume: 1 }])),
      'LOT_OUTSIDE_DELIVERY_PERIOD',
      parties(),
      '2026-10',
    );
  });

  it('certificates not covering the volume exactly (CERTIFICATES_DO_NOT_COVER_VOLUME)', async () => {
    await refusedUnchanged(
      () => attestTrade(gec, valid({ volumeKwh: 2000 })),
      'CERTIFICATES_DO_NOT_COVER_VOLUME',
      parties(),
    );
    await refusedUnchanged(
      () => attestTrade(gec, valid({ volumeKwh: 1500 })),
      'CERTIFICATES_DO_NOT_COVER_VOLUME',
      parties(),
      'whole MWh',
    );
    await refusedUnchanged(
      () => attestTrade(gec, valid({ volumeKwh: 999 })),
      'CERTIFICATES_DO_NOT_COVER_VOLUME',
      parties(),
    );
  });

  it("seller units: another generator's (UNIT_NOT_OWNED), suspended (UNIT_NOT_ACTIVE), unknown (UNIT_NOT_FOUND)", async () => {
    const other = await seller(gec, MONTH, 1);
    await refusedUnchanged(
      () => attestTrade(gec, valid({ sellerUnitIds: [other.unitId] })),
      'UNIT_NOT_OWNED',
      parties(),
    );
    await refusedUnchanged(
      () => attestTrade(gec, valid({ sellerUnitIds: ['unit-none'] })),
      'UNIT_NOT_FOUND',
      parties(),
    );
    const s2 = await seller(gec, MONTH, 2);
    const b2 = await buyer(gec, MONTH, [5_000]);
    await gec.submit(gec.ids.gridAdmin, 'units:SetUnitStatus', {
      id: s2.unitId,
      status: 'SUSPENDED',
      reason: '检修',
    });
    await refusedUnchanged(
      () => attestTrade(gec, tradeRequest(gec, s2, b2, MONTH, [{ lotId: s2.lot.id, volume: 1 }])),
      'UNIT_NOT_ACTIVE',
      [s2.seller, b2.buyer],
    );
  });

  it("buyer meters: unregistered (METER_NOT_REGISTERED), another consumer's (METER_NOT_OWNED), not attested for the month (METER_NOT_ATTESTED)", async () => {
    const other = await buyer(gec, MONTH, [1_000]);
    await refusedUnchanged(
      () => attestTrade(gec, valid({ buyerMeterIds: ['cm-none'] })),
      'METER_NOT_REGISTERED',
      parties(),
    );
    await refusedUnchanged(
      () => attestTrade(gec, valid({ buyerMeterIds: other.meterIds })),
      'METER_NOT_OWNED',
      parties(),
    );
    // A generation meter is not a consumption meter.
    await refusedUnchanged(
      () => attestTrade(gec, valid({ buyerMeterIds: s.meterIds })),
      'METER_NOT_REGISTERED',
      parties(),
    );
    const meterId = `cm-late-${gec.next()}`;
    await gec.submit(gec.ids.tradingAdmin, 'metering:RegisterConsumptionMeter', {
      meterId,
      consumer: b.buyer,
    });
    await refusedUnchanged(
      () => attestTrade(gec, valid({ buyerMeterIds: [...b.meterIds, meterId] })),
      'METER_NOT_ATTESTED',
      parties(),
      meterId,
    );
  });

  it('delivery period not ended (PERIOD_NOT_CLOSED), not whole months, or malformed (INVALID_ARGUMENT)', async () => {
    await refusedUnchanged(
      () => attestTrade(gec, valid({ deliveryStart: shanghai('2099-01'), deliveryEnd: shanghai('2099-02') })),
      'PERIOD_NOT_CLOSED',
      parties(),
    );
    for (const extra of [
      { deliveryStart: '2026-09-01T00:00:00Z' }, // 08:00 in Shanghai: not a month start
      { deliveryStart: '2026-09-15T00:00:00+08:00' },
      { deliveryEnd: shanghai(MONTH) }, // empty period
      { deliveryStart: '2026-09-01' },
      { currency: 'USD' },
      { kind: 'SPOT' },
      { priceFen: 1.5 },
      { tradeDataHash: 'ABC' },
      { checksPassed: [] },
      { monthlyKwh: [{ month: MONTH, volumeKwh: 1000 }] }, // green power: months follow the certificates
      { surprise: true },
    ]) {
      await refusedUnchanged(() => attestTrade(gec, valid(extra)), 'INVALID_ARGUMENT', parties());
    }
    await refusedUnchanged(
      () =>
        attestTrade(
          gec,
          valid({}, [
            { lotId: s.lot.id, volume: 1 },
            { lotId: s.lot.id, volume: 1 },
          ]),
        ),
      'INVALID_ARGUMENT',
      parties(),
      'repeat',
    );
    // The same instant written in UTC is accepted.
    const utc = await attestTrade(
      gec,
      valid({ deliveryStart: '2026-08-31T16:00:00Z', deliveryEnd: '2026-09-30T16:00:00.000Z' }),
    );
    expect(utc.trade.deliveryStart).toBe('2026-08-31T16:00:00.000Z');
  });

  it('reads: unknown trade (TRADE_NOT_FOUND); seller and buyer cannot be combined', async () => {
    await expectRefused(gec.evaluate('trades:GetTrade', 'no-such-trade'), 'TRADE_NOT_FOUND');
    await expectRefused(
      gec.evaluate('trades:ListTrades', { seller: s.seller, buyer: b.buyer }),
      'INVALID_ARGUMENT',
    );
  });
});

describe('a certificate-only trade', () => {
  it('transfers the certificates (not bound) into custody with the voucher; several months need monthlyKwh', async () => {
    const s = await seller(gec, '2026-05', 10);
    const b = await buyer(gec, '2026-07', [3_000]);
    await gec.attest(b.meterIds[0], '2026-08', 4_000_000);
    const base = {
      kind: 'CERTIFICATE_ONLY',
      volumeKwh: 5000,
      deliveryStart: shanghai('2026-07'),
      deliveryEnd: shanghai('2026-09'),
    };
    const lots = [{ lotId: s.lot.id, volume: 5 }];
    await refusedUnchanged(
      () => attestTrade(gec, tradeRequest(gec, s, b, '2026-07', lots, base)),
      'INVALID_ARGUMENT',
      [s.seller, b.buyer],
      'monthlyKwh',
    );
    const over = {
      ...base,
      monthlyKwh: [
        { month: '2026-07', volumeKwh: 3500 },
        { month: '2026-08', volumeKwh: 1500 },
      ],
    };
    await refusedUnchanged(
      () => attestTrade(gec, tradeRequest(gec, s, b, '2026-07', lots, over)),
      'GREEN_CONSUMPTION_EXCEEDS_ATTESTED',
      [s.seller, b.buyer],
      '2026-07',
    );
    const monthly = {
      ...base,
      monthlyKwh: [
        { month: '2026-08', volumeKwh: 2000 },
        { month: '2026-07', volumeKwh: 3000 },
      ],
    };
    const result = await attestTrade(gec, tradeRequest(gec, s, b, '2026-07', lots, monthly));
    expect(result.trade.months).toEqual([
      { month: '2026-07', volumeKwh: 3000 },
      { month: '2026-08', volumeKwh: 2000 },
    ]);
    const moved = await gec.lot(result.trade.lots[0].lotId);
    expect(moved).toMatchObject({
      owner: b.buyer,
      status: 'IN_CUSTODY',
      volume: 5,
      boundToGreenPowerTrade: false,
    });
    expect(result.voucher).toMatchObject({
      tradeKind: 'CERTIFICATE_ONLY',
      status: 'IN_CUSTODY',
      volumeKwh: 5000,
    });
    expect(await greenConsumption(gec, b.buyer, '2026-08')).toMatchObject({ greenKwh: 2000 });
    expect(
      await gec.evaluate('trades:GetGreenGeneration', { unitId: s.unitId, month: '2026-05' }),
    ).toMatchObject({ greenKwh: 0 });
  });
});

describe('consumption meters', () => {
  it("registers a consumer's meter once; never a generation meter; only for an ACTIVE CONSUMER", async () => {
    const b = await buyer(gec, MONTH, [1]);
    const s = await seller(gec, MONTH, 1);
    expect(await gec.evaluate('metering:GetConsumptionMeter', b.meterIds[0])).toMatchObject({
      meterId: b.meterIds[0],
      consumer: b.buyer,
    });
    expect(
      await gec.evaluate<{ items: unknown[] }>('metering:ListConsumptionMeters', { consumer: b.buyer }),
    ).toMatchObject({
      items: [{ meterId: b.meterIds[0] }],
    });
    const register = (meterId: string, consumer: string, identity = gec.ids.gridAdmin) =>
      gec.submit(identity, 'metering:RegisterConsumptionMeter', { meterId, consumer });
    await expectRefused(register(b.meterIds[0], b.buyer), 'METER_ALREADY_ASSIGNED');
    await expectRefused(register(s.meterIds[0], b.buyer), 'METER_ALREADY_ASSIGNED', s.unitId);
    await expectRefused(register('cm-x', s.seller), 'PARTY_KIND_NOT_PERMITTED');
    await expectRefused(register('cm-x', b.buyer, gec.ids.tradingClient), 'ROLE_NOT_PERMITTED');
    await expectRefused(register('cm-x', b.buyer, gec.ids.regulator), 'REGULATOR_READ_ONLY');
    await expectRefused(gec.evaluate('metering:GetConsumptionMeter', 'cm-x'), 'METER_NOT_REGISTERED');
    // The energy platform, which operates the meters and attests them, registers a consumer's meter itself.
    await register('cm-x', b.buyer, gec.ids.gridPlatform);
    expect(await gec.evaluate('metering:GetConsumptionMeter', 'cm-x')).toMatchObject({ consumer: b.buyer });
    // A consumption meter cannot become a generation meter either.
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'units:RegisterUnit', {
        id: `u-cm-${gec.next()}`,
        owner: s.seller,
        name: '某风电场',
        projectCode: gec.projectCode(),
        technology: 'WIND',
        capacityKw: 1000,
        province: '330000',
        meterIds: [b.meterIds[0]],
        commissioningDate: '2020-01-01',
      }),
      'METER_ALREADY_ASSIGNED',
      'consumption meter',
    );
  });
});
