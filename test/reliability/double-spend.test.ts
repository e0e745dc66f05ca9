/**
 * Reliability stage "double spending": lots of 10 certificates, each wanted whole by ten contenders at once —
 * transfers to different consumers, redemptions, and green-power trades (through the trade pipeline) — all sent
 * concurrently through REST. Only one can have a lot: exactly one contender per lot must win, every other one
 * must be refused cleanly (never a 5xx), and afterwards no serial may be in two places: the lots of every
 * issuance are disjoint and cover exactly what was issued, the lot's state is the winner's, and the projection
 * equals the ledger.
 *
 * Full: 10 lots × 10 contenders = 100 concurrent requests; short (CI): 5 × 10.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { gatewayProcessEnv } from '../../gateway/test/support/gateway-process';
import { readFirstAdminKey, tempDir } from '../../gateway/test/support/harness';
import { Api } from './support/api';
import { spawnGateway, type Gateway } from './support/gateway';
import { conservationDifferences, projectionDifferences, withBooks } from './support/ledger-check';
import { buildMarket, greenPowerTrade } from './support/market';
import {
  eventually,
  FULL,
  killLeftovers,
  projectionSettled,
  random,
  report,
  size,
  stageSeed,
  trackDataDir,
} from './support/stage';

const LOTS = size('RELIABILITY_CONTESTED_LOTS', 10, 5);
const CONTENDERS = 10;

jest.setTimeout(FULL ? 15 * 60_000 : 5 * 60_000);

type Kind = 'transfer' | 'redemption' | 'trade';

interface Contender {
  lot: number;
  kind: Kind;
  id: string;
  /** What the lot looks like on the ledger if this contender won. */
  wins: { owner: string; status: string };
  /** The request's answer (trades: the final state). */
  outcome?: string;
  won?: boolean;
}

describe('reliability: double spending (concurrent transfers, redemptions and trades over the same lots)', () => {
  let dataDir: string;
  let gateway: Gateway | undefined;

  beforeAll(async () => {
    dataDir = await tempDir('gec-reliability-spend-');
    trackDataDir(dataDir);
  });

  afterAll(async () => {
    await gateway?.stop();
    killLeftovers();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('lets exactly one contender have each lot, and puts no serial in two places', async () => {
    const seed = stageSeed('double-spend');
    const rand = random(seed);
    const env = await gatewayProcessEnv(dataDir, {
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_READS_PER_MINUTE: '0',
      EXPIRY_SWEEP_INTERVAL_MS: '0',
    });
    gateway = await spawnGateway(env);
    const api = new Api(`http://127.0.0.1:${env.PORT}`);
    const tag = randomBytes(2).toString('hex').toUpperCase();
    const market = await buildMarket(api, await readFirstAdminKey(dataDir), {
      pairs: LOTS,
      kwhPerInterval: 100,
      tag,
    });
    const tc = market.keys.tradingCenter;

    // One contested lot of 10 per seller, split off its issuance.
    const contested: string[] = [];
    for (const pair of market.pairs) {
      const split = await api.expect(201, `split ${pair.lotId}`, tc, 'POST', `/v1/lots/${pair.lotId}/split`, {
        owner: pair.seller,
        certificates: 10,
      });
      const created = (split.lots as Array<{ id: string }>)
        .map((l) => l.id)
        .filter((id) => id !== pair.lotId);
      expect(created).toHaveLength(1);
      contested.push(created[0]);
    }

    // Ten contenders per lot, kinds in a seeded order.
    const contenders: Contender[] = [];
    for (let lot = 0; lot < LOTS; lot++) {
      const pair = market.pairs[lot];
      for (let c = 0; c < CONTENDERS; c++) {
        const kind: Kind = (['transfer', 'redemption', 'trade'] as const)[Math.floor(rand() * 3)];
        const id = `${kind.slice(0, 3).toUpperCase()}-${tag}-${lot}-${c}`;
        const target = market.pairs[(lot + 1 + (c % (LOTS - 1))) % LOTS].buyer;
        contenders.push({
          lot,
          kind,
          id,
          wins:
            kind === 'transfer'
              ? { owner: target, status: 'ACTIVE' }
              : kind === 'redemption'
                ? { owner: pair.seller, status: 'REDEEMED' }
                : { owner: pair.buyer, status: 'IN_CUSTODY' },
        });
      }
    }
    const send = async (c: Contender) => {
      const pair = market.pairs[c.lot];
      const lotId = contested[c.lot];
      const headers = { 'Idempotency-Key': `spend-${c.id}` };
      if (c.kind === 'transfer') {
        const res = await api.call(
          tc,
          'POST',
          `/v1/lots/${lotId}/transfer`,
          {
            from: pair.seller,
            to: c.wins.owner,
            certificates: 10,
          },
          headers,
        );
        c.outcome = `${res.status} ${String(res.json.code ?? '')}`.trim();
        c.won = res.status === 200;
      } else if (c.kind === 'redemption') {
        const res = await api.call(
          tc,
          'POST',
          '/v1/redemptions',
          {
            id: c.id,
            owner: pair.seller,
            beneficiary: `${pair.seller} 有限公司`,
            purpose: '绿证核销 (reliability)',
            consumptionStartMonth: market.month,
            consumptionEndMonth: market.month,
            items: [{ lotId, certificates: 10 }],
          },
          headers,
        );
        c.outcome = `${res.status} ${String(res.json.code ?? '')}`.trim();
        c.won = res.status === 201;
      } else {
        const trade = greenPowerTrade(market, { tradeId: c.id, pair, mwh: 10, lotId });
        const res = await api.call(tc, 'POST', '/v1/trades', trade.body, headers);
        c.outcome = `${res.status} ${String(res.json.code ?? '')}`.trim();
      }
    };
    await Promise.all(contenders.map(send));

    // Trades: their verdict comes from the pipeline.
    for (const c of contenders.filter((x) => x.kind === 'trade')) {
      if (c.outcome !== '202') continue;
      await eventually(`trade ${c.id} final`, async () => {
        const res = await api.call(tc, 'GET', `/v1/trades/${c.id}`);
        const state = String(res.json.state);
        if (state === 'COMMITTED' || state === 'REJECTED') {
          c.outcome = `${state}${res.json.failure ? ` ${String((res.json.failure as { code: string }).code)}` : ''}`;
          c.won = state === 'COMMITTED';
          return { done: true, state };
        }
        return { done: false, state: res.text.slice(0, 1500) };
      });
    }
    await projectionSettled(api.base);
    expect(await gateway.stop()).toBe(0);
    gateway = undefined;

    // Answers: no 5xx; a refusal is a clean 4xx or a REJECTED trade.
    const serverErrors = contenders.filter((c) => /^5\d\d/.test(c.outcome ?? '') || c.outcome === undefined);
    expect(serverErrors.map((c) => `${c.id}: ${c.outcome}`)).toEqual([]);
    const outcomes = new Map<string, number>();
    for (const c of contenders) {
      const key = `${c.kind} ${c.won ? 'won' : `refused (${c.outcome})`}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }

    const problems = await withBooks(dataDir, async (books) => {
      const found: string[] = [];
      for (let lot = 0; lot < LOTS; lot++) {
        const winners = contenders.filter((c) => c.lot === lot && c.won);
        if (winners.length !== 1) {
          found.push(
            `lot ${contested[lot]}: ${winners.length} winners ${winners.map((w) => w.id).join(', ')}`,
          );
          continue;
        }
        // The lot's serials, wherever they are now, are held as the single winner says.
        // A serial: project code (17), production month YYYYMM (6), sequence (7), two class letters.
        const first = Number(contested[lot].slice(23, 30));
        const holding = books.lots.filter(
          (l) =>
            l.projectCode === contested[lot].slice(0, 17) &&
            l.sequenceEnd >= first &&
            l.sequenceStart <= first + 9,
        );
        const state = holding.map((l) => `${l.owner} ${l.status} ${l.volume}`).join('; ');
        const want = `${winners[0].wins.owner} ${winners[0].wins.status} 10`;
        if (state !== want)
          found.push(
            `lot ${contested[lot]}: won by ${winners[0].id}, ledger holds ${state}, expected ${want}`,
          );
      }
      const redemptions = await books.db.query<{ id: string; volume: string }>(
        'SELECT id, volume FROM redemptions',
      );
      const redeemedWinners = contenders
        .filter((c) => c.kind === 'redemption' && c.won)
        .map((c) => c.id)
        .sort();
      if (JSON.stringify(redemptions.rows.map((r) => r.id).sort()) !== JSON.stringify(redeemedWinners)) {
        found.push(
          `redemptions stored ${JSON.stringify(redemptions.rows)}, won ${JSON.stringify(redeemedWinners)}`,
        );
      }
      const committedTrades = contenders.filter((c) => c.kind === 'trade' && c.won).length;
      if (books.vouchers.length !== committedTrades)
        found.push(`${books.vouchers.length} vouchers for ${committedTrades} committed trades`);
      found.push(...(await projectionDifferences(books)));
      const issued = new Map(market.pairs.map((p) => [`${p.projectCode}/${market.month}`, p.certificates]));
      found.push(...conservationDifferences(books.lots, issued));
      return found;
    });
    expect(problems).toEqual([]);
    report({
      stage: 'double-spend',
      what: `${contenders.length} concurrent whole-lot transfers, redemptions and trades over ${LOTS} lots of 10 (seed ${seed})`,
      figure: [...outcomes]
        .sort()
        .map(([k, n]) => `${n} ${k}`)
        .join(', '),
      survived:
        "exactly one winner per lot; no 5xx; every issuance's serial ranges disjoint and complete; projection = ledger",
    });
  });
});
