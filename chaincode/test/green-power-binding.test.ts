/**
 * Certificates that moved with a green-power trade are bound to it and can never be traded again. The trades
 * contract that binds them comes later; here a test contract calls the helper it will use
 * (`moveWithGreenPowerTrade`), deployed beside the gec contracts on the embedded ledger.
 */
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import {
  GecContract,
  LotChanges,
  contracts,
  emitEvent,
  moveWithGreenPowerTrade,
  txTime,
} from '@gec/chaincode';
import { GecClient, expectRefused } from './support/gec-client';

@Info({ title: 'testtrades', description: 'test stand-in for the trades contract' })
class TestTradesContract extends GecContract {
  constructor() {
    super('testtrades');
  }

  @Transaction()
  @Returns('string')
  async Move(ctx: Context, request: string): Promise<string> {
    const move = JSON.parse(request) as {
      lotId: string;
      from: string;
      to: string;
      volume?: number;
      tradeId: string;
    };
    const changes = new LotChanges(ctx, txTime(ctx), ctx.stub.getTxID());
    const moved = await moveWithGreenPowerTrade(changes, move);
    const lots = await changes.flush();
    emitEvent(ctx, 'TestTradeMoved', { lots });
    return moved.id;
  }
}

let gec: GecClient;

beforeAll(async () => {
  gec = await GecClient.start({
    batch: { batchTimeoutMs: 1 },
    contracts: [...contracts, TestTradesContract],
  });
});

afterAll(async () => {
  await gec?.close();
});

it('binds moved certificates to the trade; they never transfer, list, exchange or move again, but can be redeemed', async () => {
  const lot = await gec.issuedLot('2026-03', 10);
  const buyer = await gec.participant('CONSUMER');
  const other = await gec.participant('CONSUMER');
  const tx = await gec.submit(gec.ids.tradingAdmin, 'testtrades:Move', {
    lotId: lot.id,
    from: lot.owner,
    to: buyer,
    volume: 4,
    tradeId: 'GPT-2026-001',
  });
  const boundId = Buffer.from(tx.result).toString('utf8');
  const bound = await gec.lot(boundId);
  expect(bound).toMatchObject({
    owner: buyer,
    volume: 4,
    parentLotId: lot.id,
    boundToGreenPowerTrade: true,
    greenPowerTradeId: 'GPT-2026-001',
  });
  expect(await gec.lot(lot.id)).toMatchObject({ boundToGreenPowerTrade: false, volume: 6 });

  const code = 'LOT_BOUND_TO_GREEN_POWER_TRADE';
  await expectRefused(
    gec.submit(gec.ids.tradingClient, 'certificates:Transfer', { lotId: boundId, from: buyer, to: other }),
    code,
    'GPT-2026-001',
  );
  await expectRefused(
    gec.submit(gec.ids.tradingClient, 'certificates:List', {
      listingId: 'bound-listing',
      lotId: boundId,
      owner: buyer,
      unitPriceFen: 100,
    }),
    code,
  );
  await expectRefused(
    gec.submit(gec.ids.tradingClient, 'redemption:Exchange', {
      exchangeId: 'bound-exchange',
      owner: buyer,
      electricityReference: 'GE-1',
      items: [{ lotId: boundId }],
    }),
    code,
  );
  await expectRefused(
    gec.submit(gec.ids.tradingAdmin, 'testtrades:Move', {
      lotId: boundId,
      from: buyer,
      to: other,
      tradeId: 'GPT-2',
    }),
    code,
  );
  expect(await gec.lot(boundId)).toEqual(bound);

  await gec.submit(gec.ids.tradingClient, 'redemption:Redeem', {
    redemptionId: 'bound-redemption',
    owner: buyer,
    beneficiary: buyer,
    purpose: '绿电消费凭证',
    consumptionStartMonth: '2026-03',
    consumptionEndMonth: '2026-03',
    items: [{ lotId: boundId }],
  });
  expect(await gec.evaluate('redemption:CheckRedemption', bound.serialEnd)).toMatchObject({
    redeemed: true,
    redemptionId: 'bound-redemption',
  });
});
