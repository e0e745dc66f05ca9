/**
 * The consumer-month green total is a hot key: two trades for the same consumer and month endorsed concurrently
 * read the same version of it, so exactly one commits and the other is invalidated with MVCC_READ_CONFLICT and
 * changes nothing. Each alone fits the consumer's attested consumption, together they would not: the total never
 * exceeds the attestation. (The gateway serialises trades per consumer-month so this stays the exception.)
 */
import { GecClient, type LotJson, type PageJson, expectRefused } from './support/gec-client';
import {
  type VoucherJson,
  attestTrade,
  buyer,
  greenConsumption,
  seller,
  tradeOf,
  tradeRequest,
} from './support/trade-fixtures';

const MONTH = '2026-09';
let gec: GecClient;

beforeAll(async () => {
  gec = await GecClient.start({ batch: { batchTimeoutMs: 20 } });
});

afterAll(async () => {
  await gec?.close();
});

it('commits one of two concurrent trades for one consumer-month; the other fails MVCC_READ_CONFLICT', async () => {
  const sellers = [await seller(gec, MONTH, 5), await seller(gec, MONTH, 5)];
  const b = await buyer(gec, MONTH, [5_000]);
  const requests = sellers.map((s) => tradeRequest(gec, s, b, MONTH, [{ lotId: s.lot.id, volume: 3 }]));

  const outcomes = await Promise.allSettled(
    requests.map((request) => gec.submit(gec.ids.gridPlatform, 'trades:AttestTrade', request)),
  );
  const committed = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
  expect(committed).toHaveLength(1);
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
  const error = failed.reason as { name?: string; status?: { validationCode?: string } };
  expect(error.name).toBe('CommitError');
  expect(error.status?.validationCode).toBe('MVCC_READ_CONFLICT');

  const winner = committed[0];
  const loser = 1 - winner;
  expect(await greenConsumption(gec, b.buyer, MONTH)).toMatchObject({ greenKwh: 3000, trades: 1 });
  const vouchers = await gec.evaluate<PageJson<VoucherJson>>('vouchers:ListVouchers', { consumer: b.buyer });
  expect(vouchers.items.map((v) => v.tradeId)).toEqual([tradeOf(requests[winner]).tradeId]);
  await expectRefused(gec.evaluate('trades:GetTrade', tradeOf(requests[loser]).tradeId), 'TRADE_NOT_FOUND');
  // The loser's certificates never moved.
  expect(await gec.lot(sellers[loser].lot.id)).toMatchObject({
    owner: sellers[loser].seller,
    volume: 5,
    status: 'ACTIVE',
  });
  const loserLots = await gec.evaluate<PageJson<LotJson>>('queries:ListLots', {
    unitId: sellers[loser].unitId,
  });
  expect(loserLots.items).toHaveLength(1);

  // Submitted again, after the winner committed, it is refused by the rule itself.
  await expectRefused(attestTrade(gec, requests[loser]), 'GREEN_CONSUMPTION_EXCEEDS_ATTESTED');
  expect(await greenConsumption(gec, b.buyer, MONTH)).toMatchObject({ greenKwh: 3000, trades: 1 });
});

it('lets trades of different consumers for the same month commit side by side', async () => {
  const s = await seller(gec, MONTH, 6);
  const s2 = await seller(gec, MONTH, 6);
  const b1 = await buyer(gec, MONTH, [5_000]);
  const b2 = await buyer(gec, MONTH, [5_000]);
  const outcomes = await Promise.allSettled([
    gec.submit(
      gec.ids.gridPlatform,
      'trades:AttestTrade',
      tradeRequest(gec, s, b1, MONTH, [{ lotId: s.lot.id, volume: 3 }]),
    ),
    gec.submit(
      gec.ids.gridPlatform,
      'trades:AttestTrade',
      tradeRequest(gec, s2, b2, MONTH, [{ lotId: s2.lot.id, volume: 3 }]),
    ),
  ]);
  expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
});
