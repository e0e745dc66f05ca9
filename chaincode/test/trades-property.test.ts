/**
 * Property test of trade attestation against a model: random sequences of trades (green-power and
 * certificate-only, whole or part lots, repeated trade ids, lots already moved, volumes beyond the lot or beyond
 * the consumer's consumption) for one consumer. Every trade succeeds or is refused exactly as the model predicts,
 * and after every run:
 * - Σ green kWh of the consumer's month ≤ its attested consumption, and equals the trades attested;
 * - no certificate is in two trades (the trades' serial ranges are disjoint);
 * - every voucher's source serials are exactly the serials its trade moved, and those lots are the buyer's, in
 *   custody (and bound to the trade for green power).
 */
import fc from 'fast-check';
import { GecClient, type LotJson, type PageJson, refusal } from './support/gec-client';
import {
  type Seller,
  type TradeJson,
  type VoucherJson,
  attestTrade,
  buyer,
  greenConsumption,
  seller,
  tradeOf,
  tradeRequest,
} from './support/trade-fixtures';

jest.setTimeout(60_000);

const MONTH = '2026-09';
let gec: GecClient;

beforeAll(async () => {
  gec = await GecClient.start({ batch: { batchTimeoutMs: 1 } });
});

afterAll(async () => {
  await gec?.close();
});

interface Step {
  seller: number;
  /** Which lot of the seller: 0 = its issued lot, 1 = a lot moved by an earlier trade (if any). */
  lot: number;
  volume: number;
  kind: 'GREEN_POWER' | 'CERTIFICATE_ONLY';
  /** Reuse the trade id of an earlier step (index into earlier steps), or a fresh one. */
  reuse: number | null;
}

const step: fc.Arbitrary<Step> = fc.record({
  seller: fc.integer({ min: 0, max: 1 }),
  lot: fc.integer({ min: 0, max: 4 }).map((n) => (n === 4 ? 1 : 0)),
  volume: fc.integer({ min: 1, max: 6 }),
  kind: fc.constantFrom('GREEN_POWER' as const, 'CERTIFICATE_ONLY' as const),
  reuse: fc.option(fc.integer({ min: 0, max: 20 }), { freq: 6 }),
});

it('keeps green consumption within the attestation, lots in one trade, and vouchers exact', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 12 }), // consumer's attested MWh
      fc.array(step, { minLength: 1, maxLength: 8 }),
      async (consumptionMwh, steps) => {
        const sellers: Seller[] = [await seller(gec, MONTH, 6), await seller(gec, MONTH, 6)];
        const b = await buyer(gec, MONTH, [consumptionMwh * 1000]);
        const remaining = [6, 6]; // certificates each seller still holds in its issued lot
        const moved: string[] = []; // lots already moved by a trade (held in custody by the buyer)
        const tradeIds: string[] = [];
        let green = 0;
        const attested: string[] = [];

        for (const st of steps) {
          const s = sellers[st.seller];
          const lotId = st.lot === 1 && moved.length > 0 ? moved[moved.length - 1] : s.lot.id;
          const reused =
            st.reuse !== null && tradeIds.length > 0 ? { tradeId: tradeIds[st.reuse % tradeIds.length] } : {};
          const request = tradeRequest(gec, s, b, MONTH, [{ lotId, volume: st.volume }], {
            kind: st.kind,
            ...reused,
          });
          const tradeId = tradeOf(request).tradeId as string;
          tradeIds.push(tradeId);

          let expected: string | null = null;
          if (attested.includes(tradeId)) expected = 'TRADE_ALREADY_ATTESTED';
          // A moved lot, or the issued lot itself once all of it moved, is the buyer's and in custody.
          else if (lotId !== s.lot.id || remaining[st.seller] === 0) expected = 'LOT_IN_CUSTODY';
          else if (st.volume > remaining[st.seller]) expected = 'VOLUME_EXCEEDS_LOT';
          else if (green + st.volume * 1000 > consumptionMwh * 1000)
            expected = 'GREEN_CONSUMPTION_EXCEEDS_ATTESTED';

          if (expected === null) {
            // Whole lot: the lot itself moves; a part: the highest serials split off.
            const result = await attestTrade(gec, request);
            remaining[st.seller] -= st.volume;
            green += st.volume * 1000;
            attested.push(tradeId);
            moved.push(result.trade.lots[0].lotId);
          } else {
            const message = await refusal(attestTrade(gec, request));
            expect(message.split(':')[0]).toBe(expected);
          }
        }

        const total = await greenConsumption(gec, b.buyer, MONTH);
        expect(total.greenKwh).toBe(green);
        expect(total.greenKwh).toBeLessThanOrEqual(consumptionMwh * 1000);

        const trades = (
          await gec.evaluate<PageJson<TradeJson>>('trades:ListTrades', { buyer: b.buyer, pageSize: 1000 })
        ).items;
        expect(trades.map((t) => t.tradeId).sort()).toEqual([...attested].sort());
        const seen = new Map<string, string>();
        for (const t of trades) {
          for (const l of t.lots) {
            const start = Number(l.serialStart.slice(23, 30));
            const end = Number(l.serialEnd.slice(23, 30));
            expect(end - start + 1).toBe(l.volume);
            for (let q = start; q <= end; q++) {
              const key = `${l.serialStart.slice(0, 23)}:${q}`;
              expect(seen.get(key)).toBeUndefined();
              seen.set(key, t.tradeId);
            }
            const lot = await gec.lot(l.lotId);
            expect(lot).toMatchObject({
              serialStart: l.serialStart,
              serialEnd: l.serialEnd,
              volume: l.volume,
              owner: b.buyer,
              status: 'IN_CUSTODY',
              boundToGreenPowerTrade: t.kind === 'GREEN_POWER',
              greenPowerTradeId: t.kind === 'GREEN_POWER' ? t.tradeId : '',
            });
          }
          const v = await gec.evaluate<VoucherJson>('vouchers:GetVoucher', t.voucherId);
          expect(v.sourceLots).toEqual(
            t.lots.map(({ lotId, serialStart, serialEnd, volume }) => ({
              lotId,
              serialStart,
              serialEnd,
              volume,
            })),
          );
          expect(v).toMatchObject({
            consumer: b.buyer,
            tradeId: t.tradeId,
            volumeKwh: t.volumeKwh,
            status: 'IN_CUSTODY',
          });
        }
        // Conservation: what left the sellers is exactly what the trades moved.
        for (const [i, s] of sellers.entries()) {
          const lots = (
            await gec.evaluate<PageJson<LotJson>>('queries:ListLots', { unitId: s.unitId, pageSize: 1000 })
          ).items;
          expect(lots.reduce((sum, l) => sum + l.volume, 0)).toBe(6);
          expect(lots.filter((l) => l.owner === s.seller).reduce((sum, l) => sum + l.volume, 0)).toBe(
            remaining[i],
          );
        }
      },
    ),
    { numRuns: Number(process.env.GEC_PROPERTY_RUNS ?? 20) },
  );
});
