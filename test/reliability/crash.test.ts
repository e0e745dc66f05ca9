/**
 * Reliability stage "crash": trades posted through REST with Idempotency-Keys while the gateway process is
 * killed with SIGKILL at seeded random moments (measured in trades committed, so they fall while the pipeline
 * works, often just after a ledger commit and before the trade row records it); the client retries every request
 * with its key until it is answered. Then the idempotency window of issue 9 item 1 is aimed at on purpose: a
 * 1-certificate transfer is killed after the ledger committed it and before its key was marked done.
 *
 * At the end, with the gateway stopped, the books are read straight from its ledger and database: every trade
 * COMMITTED once (one VALID attestation, its voucher) or REJECTED with reasons (nothing on the ledger), vouchers
 * = committed trades, certificates conserved (each issuance's lots disjoint and covering what was issued), the
 * buyers holding exactly what their trades moved, and the PostgreSQL projection equal to the ledger.
 *
 * Full (RELIABILITY=full): 2,000 trades, 10 kills, 3 aimed kills; short (CI): 200 trades, 3 kills, 1 aimed kill.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { gatewayProcessEnv } from '../../gateway/test/support/gateway-process';
import { creditCode, readFirstAdminKey, tempDir } from '../../gateway/test/support/harness';
import { Api, retryable } from './support/api';
import { spawnGateway, type Gateway } from './support/gateway';
import { conservationDifferences, projectionDifferences, withBooks } from './support/ledger-check';
import { buildMarket, greenPowerTrade, type Market, type TradeRequest } from './support/market';
import {
  eventually,
  FULL,
  killLeftovers,
  projectionSettled,
  random,
  report,
  size,
  sleep,
  stageSeed,
  trackDataDir,
} from './support/stage';

const TRADES = size('RELIABILITY_TRADES', 2000, 200);
const KILLS = size('RELIABILITY_KILLS', 10, 3);
const AIMED = size('RELIABILITY_AIMED_KILLS', 3, 1);
const PAIRS = size('RELIABILITY_PAIRS', 32, 8);
const CLIENTS = 16;
/**
 * Trades posted ahead of the pipeline: trade k is posted once fewer than k − WINDOW trades are finished. So the
 * posting lasts as long as the work on any machine, and kills also land while requests are in flight (their
 * retries must be answered from the stored trade), with enough waiting for the pipeline to fill its batches.
 */
const WINDOW = size('RELIABILITY_WINDOW', 300, 100);

jest.setTimeout(FULL ? 40 * 60_000 : 8 * 60_000);

interface Planned extends TradeRequest {
  pair: number;
  mwh: number;
  /** Why it must be rejected, if it must. */
  bad?: 'signature' | 'lot';
}

interface Kill {
  n: number;
  /** Good trades whose ledger commit had been logged when the kill came. */
  committedSeen: number;
  posted: number;
  jitterMs: number;
  restartMs: number;
}

describe('reliability: crash (gateway SIGKILL under trade load)', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let gateway: Gateway | undefined;
  /** Set when the test ends, passed or not: the client loops stop instead of retrying into the void. */
  let ended = false;

  beforeAll(async () => {
    dataDir = await tempDir('gec-reliability-crash-');
    trackDataDir(dataDir);
    env = await gatewayProcessEnv(dataDir, {
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_READS_PER_MINUTE: '0',
      EXPIRY_SWEEP_INTERVAL_MS: '0',
    });
  });

  afterAll(async () => {
    ended = true;
    await gateway?.stop();
    killLeftovers();
    await sleep(500);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('commits every trade once or rejects it with reasons, and loses or doubles nothing', async () => {
    const seed = stageSeed('crash');
    const rand = random(seed);
    const committedSeen = new Set<string>();
    const rejectedSeen = new Set<string>();
    const onLine = (line: string) => {
      const r = /trade (\S+) REJECTED \(/.exec(line);
      if (r) rejectedSeen.add(r[1]);
      const m = /trade (\S+): ledger committed tx/.exec(line);
      if (m) committedSeen.add(m[1]);
    };
    const start = async (extra: Record<string, string> = {}) => {
      gateway = await spawnGateway({ ...env, ...extra }, onLine);
      return gateway;
    };
    await start();
    const api = new Api(`http://127.0.0.1:${env.PORT}`);
    const tag = randomBytes(2).toString('hex').toUpperCase();
    const market: Market = await buildMarket(api, await readFirstAdminKey(dataDir), {
      pairs: PAIRS,
      kwhPerInterval: 100,
      tag,
    });
    // Consumers for the aimed kills: each must end up holding exactly the 1 certificate sent to it.
    const windowConsumers: string[] = [];
    for (let i = 0; i < AIMED; i++) {
      const id = `CW-${tag}-${i}`;
      await api.expect(201, `participant ${id}`, market.keys.admin, 'POST', '/v1/participants', {
        id,
        kind: 'CONSUMER',
        name: `${id} 有限公司`,
        region: '330000',
        creditCode: creditCode(9_000 + i),
      });
      windowConsumers.push(id);
    }

    // ---- The plan: seeded, 1–3 MWh each, about 1 in 20 bad (a forged signature, or another seller's lot).
    const plan: Planned[] = [];
    const used = new Array<number>(PAIRS).fill(0);
    for (let k = 0; k < TRADES; k++) {
      const pair = k % PAIRS;
      const mwh = 1 + Math.floor(rand() * 3);
      const roll = rand();
      const bad = roll < 0.025 ? 'signature' : roll < 0.05 ? 'lot' : undefined;
      const tradeId = `T-${tag}-${String(k + 1).padStart(5, '0')}`;
      const request = greenPowerTrade(market, {
        tradeId,
        pair: market.pairs[pair],
        mwh,
        badSignature: bad === 'signature',
        lotId: bad === 'lot' ? market.pairs[(pair + 1) % PAIRS].lotId : undefined,
      });
      if (!bad) used[pair] += mwh;
      plan.push({ ...request, pair, mwh, bad });
    }
    // Leave each seller a certificate for the aimed transfer; the plan must fit what was issued.
    for (const [i, pair] of market.pairs.entries()) {
      if (used[i] + 1 > pair.certificates)
        throw new Error(`plan needs ${used[i] + 1} of ${pair.unitId}'s ${pair.certificates}`);
    }
    const good = plan.filter((p) => !p.bad).length;

    // ---- The kill moments: seeded fractions of the good trades committed, each with a seeded jitter.
    const killAt = Array.from({ length: KILLS }, () => Math.floor((0.03 + rand() * 0.92) * good)).sort(
      (a, b) => a - b,
    );
    const jitters = killAt.map(() => (rand() < 0.5 ? 0 : Math.floor(rand() * 300)));
    process.stdout.write(
      `[reliability] crash: ${TRADES} trades (${good} good), kills after ${killAt.join(', ')} commits\n`,
    );

    // ---- The client: CLIENTS workers post every trade until it is answered, retrying with the same key.
    const answers = new Map<string, { status: number; code?: unknown }>();
    let retries = 0;
    let replays = 0;
    let posted = 0;
    let nextTrade = 0;
    const client = async () => {
      for (;;) {
        const k = nextTrade++;
        const t = plan[k];
        if (!t) return;
        while (k >= committedSeen.size + rejectedSeen.size + WINDOW && !ended) await sleep(20);
        while (!ended) {
          try {
            const res = await api.call(market.keys.tradingCenter, 'POST', '/v1/trades', t.body, {
              'Idempotency-Key': `idem-${t.tradeId}`,
            });
            if (retryable(res.status, res.json)) {
              retries++;
              await sleep(100);
              continue;
            }
            if (res.headers.get('idempotent-replayed') === 'true') replays++;
            answers.set(t.tradeId, { status: res.status, code: res.json.code });
            posted++;
            break;
          } catch {
            // No answer: the gateway was killed under the request, or is starting again. Same key, same body.
            retries++;
            await sleep(150);
          }
        }
      }
    };
    const clients = Promise.all(Array.from({ length: CLIENTS }, client));

    // ---- The killer.
    const kills: Kill[] = [];
    for (const [n, threshold] of killAt.entries()) {
      await eventually(
        `kill ${n + 1}: ${threshold} commits logged`,
        async () => ({
          done: committedSeen.size >= threshold,
          state: `${committedSeen.size} commits logged`,
        }),
        600_000,
        5,
      );
      if (jitters[n]) await sleep(jitters[n]);
      const at = { committedSeen: committedSeen.size, posted };
      await gateway!.kill();
      const restarted = await start();
      kills.push({ n: n + 1, ...at, jitterMs: jitters[n], restartMs: Math.round(restarted.readyMs) });
    }
    await clients;

    // Every trade final (the pipeline works on without the client).
    await eventually(
      'every trade final',
      async () => {
        const open = await Promise.all(
          ['RECEIVED', 'VERIFYING', 'COMMITTING'].map(async (state) => {
            const res = await api.call(market.keys.admin, 'GET', `/v1/trades?state=${state}&limit=1000`);
            expect(res.status).toBe(200);
            return (res.json.items as Array<{ tradeId: string; state: string }>).map(
              (t) => `${t.tradeId} ${t.state}`,
            );
          }),
        );
        return { done: open.flat().length === 0, state: open.flat().slice(0, 20).join(', ') };
      },
      600_000,
      500,
    );

    // ---- Issue 9 item 1 aimed at: killed between the ledger commit of a 1-certificate transfer and its key done.
    const aimed: Array<{ consumer: string; txId: string }> = [];
    for (const [i, consumer] of windowConsumers.entries()) {
      const pair = market.pairs[i % PAIRS];
      const path = `/v1/lots/${pair.lotId}/transfer`;
      const body = { from: pair.seller, to: consumer, certificates: 1 };
      const key = `window-${tag}-${i}`;
      await gateway!.stop();
      const slow = await start({ IDEMPOTENCY_COMPLETE_DELAY_MS: '60000' });
      const done = slow.nextLine(new RegExp(`Idempotency-Key ${key}: done; storing its answer`));
      const lost = api
        .call(market.keys.tradingCenter, 'POST', path, body, { 'Idempotency-Key': key })
        .then((r) => `answered ${r.status}`)
        .catch(() => 'no answer');
      await done;
      await slow.kill();
      expect(await lost).toBe('no answer');
      await start();
      let retried = await api.call(market.keys.tradingCenter, 'POST', path, body, { 'Idempotency-Key': key });
      while (retryable(retried.status, retried.json)) {
        await sleep(200);
        retried = await api.call(market.keys.tradingCenter, 'POST', path, body, { 'Idempotency-Key': key });
      }
      expect({ key, status: retried.status }).toEqual({ key, status: 200 });
      const replayed = await api.call(market.keys.tradingCenter, 'POST', path, body, {
        'Idempotency-Key': key,
      });
      expect(replayed.headers.get('idempotent-replayed')).toBe('true');
      expect(replayed.json).toEqual(retried.json);
      aimed.push({ consumer, txId: String((retried.json.ledger as { txId: string }).txId) });
    }

    // Stop once the projector is idle (the comparison below is of what it left).
    await projectionSettled(api.base);
    expect(await gateway!.stop()).toBe(0);
    gateway = undefined;

    // ---- The answers the client got.
    const wrongAnswers = plan.filter((t) => answers.get(t.tradeId)?.status !== 202);
    expect(wrongAnswers.map((t) => `${t.tradeId} → ${JSON.stringify(answers.get(t.tradeId))}`)).toEqual([]);

    // ---- The books.
    const outcome = await withBooks(dataDir, async (books) => {
      const problems: string[] = [];
      const rows = await books.db.query<{
        trade_id: string;
        state: string;
        tx_id: string | null;
        voucher_id: string | null;
        failure_code: string | null;
        checks: Array<{ name: string; passed: boolean }>;
      }>('SELECT trade_id, state, tx_id, voucher_id, failure_code, checks FROM trades');
      const stored = new Map(rows.rows.map((r) => [r.trade_id, r]));
      if (rows.rows.length !== plan.length)
        problems.push(`${rows.rows.length} trades stored, ${plan.length} posted`);
      const prepared = await books.db.query<{ trade_id: string; tx_id: string }>(
        'SELECT trade_id, tx_id FROM trade_transactions',
      );
      const txIdsOf = new Map<string, string[]>();
      for (const p of prepared.rows) txIdsOf.set(p.trade_id, [...(txIdsOf.get(p.trade_id) ?? []), p.tx_id]);
      const outbox = await books.db.query<{ n: number }>('SELECT count(*)::int AS n FROM trade_outbox');
      if (outbox.rows[0].n !== 0) problems.push(`${outbox.rows[0].n} trades left in the outbox`);

      const vouchersByTrade = new Map<string, number>();
      for (const v of books.vouchers)
        vouchersByTrade.set(v.tradeId, (vouchersByTrade.get(v.tradeId) ?? 0) + 1);
      const heldBy = new Map<string, number>();
      for (const lot of books.lots) heldBy.set(lot.owner, (heldBy.get(lot.owner) ?? 0) + lot.volume);
      const expectedHeld = new Map<string, number>();
      let committed = 0;
      let rejected = 0;
      for (const t of plan) {
        const row = stored.get(t.tradeId);
        if (!row) {
          problems.push(`${t.tradeId}: lost (not stored)`);
          continue;
        }
        let onLedger: { txId: string; voucherId: string } | undefined;
        try {
          onLedger = JSON.parse(
            Buffer.from(
              await books.ledger.evaluate({
                identity: { mspId: 'RegulatorMSP', name: 'regulator' },
                transaction: 'trades:GetTrade',
                args: [t.tradeId],
              }),
            ).toString('utf8'),
          ) as { txId: string; voucherId: string };
        } catch (error) {
          if (!/TRADE_NOT_FOUND/.test((error as Error).message)) throw error;
        }
        const valid: string[] = [];
        for (const txId of txIdsOf.get(t.tradeId) ?? []) {
          if ((await books.ledger.getTransaction(txId))?.validationCode === 'VALID') valid.push(txId);
        }
        if (t.bad) {
          rejected++;
          if (row.state !== 'REJECTED')
            problems.push(`${t.tradeId} (bad: ${t.bad}): ${row.state}, expected REJECTED`);
          if (!row.failure_code || !row.checks.some((c) => !c.passed))
            problems.push(`${t.tradeId}: rejected without reasons`);
          if (onLedger || valid.length > 0 || vouchersByTrade.has(t.tradeId))
            problems.push(`${t.tradeId}: rejected but on the ledger`);
          continue;
        }
        committed++;
        const buyer = market.pairs[t.pair].buyer;
        expectedHeld.set(buyer, (expectedHeld.get(buyer) ?? 0) + t.mwh);
        if (row.state !== 'COMMITTED')
          problems.push(`${t.tradeId}: ${row.state} (${row.failure_code}), expected COMMITTED`);
        if (valid.length !== 1 || valid[0] !== row.tx_id) {
          problems.push(`${t.tradeId}: VALID attestations ${JSON.stringify(valid)}, recorded ${row.tx_id}`);
        }
        if (onLedger?.txId !== row.tx_id || onLedger?.voucherId !== row.voucher_id) {
          problems.push(
            `${t.tradeId}: ledger says ${JSON.stringify(onLedger)}, trade row ${row.tx_id} ${row.voucher_id}`,
          );
        }
        if (vouchersByTrade.get(t.tradeId) !== 1)
          problems.push(`${t.tradeId}: ${vouchersByTrade.get(t.tradeId) ?? 0} vouchers`);
      }
      if (books.vouchers.length !== committed)
        problems.push(`${books.vouchers.length} vouchers for ${committed} committed trades`);
      for (const a of aimed) expectedHeld.set(a.consumer, 1);
      for (const [owner, certificates] of expectedHeld) {
        if (heldBy.get(owner) !== certificates)
          problems.push(`${owner} holds ${heldBy.get(owner) ?? 0}, expected ${certificates}`);
      }
      for (const a of aimed) {
        if ((await books.ledger.getTransaction(a.txId))?.validationCode !== 'VALID')
          problems.push(`${a.consumer}: transfer not VALID`);
      }
      problems.push(...(await projectionDifferences(books)));
      const issued = new Map(market.pairs.map((p) => [`${p.projectCode}/${market.month}`, p.certificates]));
      problems.push(...conservationDifferences(books.lots, issued));
      return { problems, committed, rejected, height: books.height, lots: books.lots.length };
    });
    for (const k of kills) {
      process.stdout.write(
        `[reliability] crash: kill ${k.n}: after ${k.committedSeen} commits logged (+${k.jitterMs} ms), ${k.posted} trades answered; restart ready in ${k.restartMs} ms\n`,
      );
    }
    expect(outcome.problems).toEqual([]);
    report({
      stage: 'crash',
      what: `trades through REST, gateway SIGKILLed ${kills.length}× at seeded moments (seed ${seed})`,
      figure: `${plan.length} trades: ${outcome.committed} COMMITTED once, ${outcome.rejected} REJECTED with reasons; ${retries} client retries, ${replays} replayed answers`,
      survived: `nothing lost or doubled; vouchers = committed; ${outcome.lots} lots conserve every serial; projection = ledger (${outcome.height} blocks)`,
    });
    report({
      stage: 'crash',
      what: 'kill -9 between the ledger commit of a 1-certificate transfer and its Idempotency-Key done',
      figure: `${aimed.length} aimed kills, retried with the same key`,
      survived:
        'each buyer holds exactly 1 certificate; the retry answered 200 from the committed transaction',
    });
  });
});
