/**
 * Trade attestation benchmark: trades per second through the whole pipeline (POST /v1/trades stored with its
 * outbox row → claimed by a pipeline worker → ten verification checks against the attested meter data and the
 * ledger → trades:AttestTrade committed on the embedded ledger → COMMITTED recorded in PostgreSQL), with the
 * latency of each trade from its POST to COMMITTED and the 202 acceptance latency of the POST itself.
 *
 * Starts its own gateway (embedded ledger; embedded PostgreSQL unless DATABASE_URL is set) in a temporary
 * folder, sets up a market over the REST API — S generators with one wind unit and one generation meter each,
 * S consumers with one consumption meter each, a full ended month of readings for every meter, every period
 * closed (attested on the ledger), every unit's month issued, one HMAC check key for the trading center — then
 * posts N GREEN_POWER trades of 1–5 MWh, seller i → buyer i round robin, each moving part of the seller's lot,
 * and waits until every trade is final. Every trade is valid: one REJECTED trade fails the bench. Run after
 * `npm run build`:
 *
 *   node gateway/dist/bench/trades-bench.js
 *
 *   BENCH_PAIRS (default 10)             seller/buyer pairs
 *   BENCH_TRADES (default 200)           trades posted
 *   BENCH_CONCURRENCY (default 20)       POST /v1/trades requests in flight
 *   BENCH_INTERVAL_MINUTES (default 15)  reading interval of every meter (15 or 60)
 *   BENCH_TIMEOUT_S (default 300)        how long to wait for every trade to be final
 *   BENCH_README (default on)            off: print the figures, leave the README alone (trial runs)
 *   TRADE_WORKERS, DB_POOL_SIZE, …       the gateway's own settings, as in production
 *
 * Times come from PostgreSQL (the timestamps the pipeline stores, microsecond precision) and from this
 * process's clock (the same machine clock): latency = `finished_at` of the COMMITTED row − the instant the POST
 * was sent. `committed_at` is not used for timing: it is the ledger transaction's timestamp, which (as in
 * Fabric) is chosen when the proposal is prepared, before the transaction is submitted and committed.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { INestApplication } from '@nestjs/common';
import canonicalize from 'canonicalize';
import { Client } from 'pg';
import { createApp } from '../app';
import { hmacSignatureHeaders } from '../auth/request-signing';
import { firstAdminKeyFile, loadConfig } from '../config/config';
import { DATABASE_URL } from '../database/database.module';
import { TradePipeline } from '../trades/trade-pipeline.service';
import { machineNote, writeBenchmarkRows } from './readme-table';
import { percentile } from './stats';

const SHANGHAI_MS = 8 * 3600_000;
const CREDIT_CODE_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CREDIT_CODE_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const TRADING_CENTER = 'TC-BENCH';

class BenchError extends Error {}

function setting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BenchError(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

function creditCode(n: number): string {
  const body = `91330000${String(n).padStart(9, '0')}`;
  const sum = [...body].reduce((t, ch, i) => t + CREDIT_CODE_CHARSET.indexOf(ch) * CREDIT_CODE_WEIGHTS[i], 0);
  return body + CREDIT_CODE_CHARSET[(31 - (sum % 31)) % 31];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The first instant (UTC ms) of the Asia/Shanghai month `back` months before the current one. */
function monthStart(back: number): number {
  const now = new Date(Date.now() + SHANGHAI_MS);
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1) - SHANGHAI_MS;
}

/** An instant as RFC 3339 in Asia/Shanghai time (`2026-10-01T00:00:00+08:00`). */
function shanghai(ms: number): string {
  return `${new Date(ms + SHANGHAI_MS).toISOString().slice(0, 19)}+08:00`;
}

/** Wall-clock now in epoch ms with sub-millisecond resolution. */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

function ms(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;
}

function summary(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] };
}

interface Reply {
  status: number;
  json: Record<string, unknown>;
}

class Api {
  /** Request-signing secrets of the keys created through this client (API key → keyId, secret). */
  private readonly signers = new Map<string, { keyId: string; secret: string }>();

  constructor(private readonly base: string) {}

  async call(
    key: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const signer = this.signers.get(key);
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        'X-API-Key': key,
        'Content-Type': 'application/json',
        ...(signer && method !== 'GET'
          ? hmacSignatureHeaders({ method, target: path, body: payload, ...signer })
          : {}),
        ...headers,
      },
      body: payload,
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json = { text: text.slice(0, 500) };
    }
    const signing = json.signing as { keyId: string; secret: string } | null | undefined;
    if (method === 'POST' && path === '/v1/api-keys' && typeof json.key === 'string' && signing) {
      this.signers.set(json.key, { keyId: signing.keyId, secret: signing.secret });
    }
    return { status: res.status, json };
  }

  /** A call that must answer `status`; anything else stops the bench with what the gateway said. */
  async expect(
    status: number,
    what: string,
    key: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Record<string, unknown>> {
    const res = await this.call(key, method, path, body, headers);
    if (res.status !== status) {
      throw new BenchError(
        `setup failed at ${what}: ${method} ${path} answered ${res.status} ${JSON.stringify(res.json).slice(0, 800)}`,
      );
    }
    return res.json;
  }
}

interface Pair {
  seller: string;
  buyer: string;
  unitId: string;
  generationMeter: string;
  consumptionMeter: string;
  lotId?: string;
  certificates?: number;
}

interface PlannedTrade {
  tradeId: string;
  pair: Pair;
  mwh: number;
  body: string;
  idempotencyKey: string;
}

interface Posted {
  sentMs: number;
  acceptMs: number;
}

interface TradeTimes {
  trade_id: string;
  state: string;
  failure_code: string | null;
  failure_detail: string | null;
  attempts: number;
  received_ms: string;
  verified_ms: string | null;
  finished_ms: string | null;
}

async function main(): Promise<void> {
  const pairCount = setting('BENCH_PAIRS', 10, 1, 500);
  const tradeCount = setting('BENCH_TRADES', 200, 1, 100_000);
  const concurrency = setting('BENCH_CONCURRENCY', 20, 1, 1000);
  const intervalMinutes = setting('BENCH_INTERVAL_MINUTES', 15, 1, 60);
  if (![15, 30, 60].includes(intervalMinutes)) {
    throw new BenchError(`BENCH_INTERVAL_MINUTES must be 15, 30 or 60 (got ${intervalMinutes})`);
  }
  const timeoutMs = setting('BENCH_TIMEOUT_S', 300, 1, 86_400) * 1000;

  const dataDir = await mkdtemp(join(tmpdir(), 'gec-trades-bench-'));
  // The embedded PostgreSQL runs as the `postgres` user when started as root: it must traverse the folder.
  await chmod(dataDir, 0o755);
  let app: INestApplication | undefined;
  let db: Client | undefined;
  try {
    const setupStarted = nowMs();
    const config = loadConfig({
      ...process.env,
      GEC_DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      EMBEDDED_PG_PORT: String(await freePort()),
      // The bench measures the trade pipeline, not the per-key rate limit.
      RATE_LIMIT_PER_MINUTE: process.env.RATE_LIMIT_PER_MINUTE ?? '0',
      RATE_LIMIT_READS_PER_MINUTE: process.env.RATE_LIMIT_READS_PER_MINUTE ?? '0',
    });
    app = await createApp(config);
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    const api = new Api(`http://127.0.0.1:${address.port}`);
    const workers = Reflect.get(app.get(TradePipeline), 'workers') as unknown;
    const workerNote = typeof workers === 'number' ? String(workers) : '?';
    db = new Client({ connectionString: app.get<string>(DATABASE_URL, { strict: false }) });
    await db.connect();
    const bootMs = nowMs() - setupStarted;

    // ---- The market ------------------------------------------------------------------------------------
    const adminKey = (await readFile(firstAdminKeyFile(config), 'utf8'))
      .split('\n')
      .find((line) => line.startsWith('gec_'))
      ?.trim();
    if (!adminKey) throw new BenchError(`no admin key in ${firstAdminKeyFile(config)}`);
    const newKey = async (role: string, actsFor: string): Promise<string> =>
      String(
        (
          await api.expect(201, `API key ${role}`, adminKey, 'POST', '/v1/api-keys', {
            label: role,
            role,
            actsFor,
          })
        ).key,
      );
    const tcKey = await newKey('trading-center', TRADING_CENTER);
    const platformKey = await newKey('energy-platform', 'GRID');

    let creditSerial = 500;
    const participant = (id: string, kind: string) =>
      api.expect(201, `participant ${id}`, adminKey, 'POST', '/v1/participants', {
        id,
        kind,
        name: `${id} 有限公司`,
        region: '330000',
        creditCode: creditCode(creditSerial++),
      });
    await participant(TRADING_CENTER, 'TRADING_CENTER');
    const secret = randomBytes(32);
    const keyId = 'bench-hmac-1';
    await api.expect(201, 'check key', adminKey, 'POST', `/v1/trading-centers/${TRADING_CENTER}/check-keys`, {
      keyId,
      alg: 'hmac-sha256',
      secret: secret.toString('base64'),
    });

    const monthFrom = monthStart(1);
    const monthTo = monthStart(0);
    const month = new Date(monthFrom + SHANGHAI_MS).toISOString().slice(0, 7);
    const intervals = (monthTo - monthFrom) / (intervalMinutes * 60_000);
    const pairs: Pair[] = Array.from({ length: pairCount }, (_, i) => {
      const n = String(i + 1).padStart(3, '0');
      return {
        seller: `BENCH-GEN-${n}`,
        buyer: `BENCH-CON-${n}`,
        unitId: `BENCH-UNIT-WIND-${n}`,
        generationMeter: `BENCH-MTR-G-${n}`,
        consumptionMeter: `BENCH-MTR-C-${n}`,
      };
    });

    // The trades, planned first so generation and consumption are sized to cover them (with 20 % to spare).
    const runTag = randomBytes(3).toString('hex').toUpperCase();
    const mwhOf = (k: number) => 1 + ((k * 7 + Math.floor(k / pairCount) * 3) % 5);
    const neededMwh = new Map<Pair, number>();
    for (let k = 0; k < tradeCount; k++) {
      const pair = pairs[k % pairCount];
      neededMwh.set(pair, (neededMwh.get(pair) ?? 0) + mwhOf(k));
    }
    const mostMwh = Math.max(...neededMwh.values());
    const kwhPerInterval = Math.max(10, Math.ceil((mostMwh * 1000 * 1.2 + 1000) / intervals));

    for (const [i, pair] of pairs.entries()) {
      await participant(pair.seller, 'GENERATOR');
      await participant(pair.buyer, 'CONSUMER');
      await api.expect(201, `unit ${pair.unitId}`, adminKey, 'POST', '/v1/units', {
        id: pair.unitId,
        owner: pair.seller,
        name: `${pair.seller} 风电场`,
        projectCode: `P3309002024${String(100000 + i).padStart(6, '0')}`,
        technology: 'WIND',
        capacityKw: 50000,
        province: '330000',
        meterIds: [pair.generationMeter],
        commissioningDate: '2024-06-30',
      });
      await api.expect(201, `meter ${pair.generationMeter}`, platformKey, 'POST', '/v1/meters', {
        meterId: pair.generationMeter,
        kind: 'GENERATION',
        owner: pair.seller,
        unitId: pair.unitId,
        intervalMinutes,
      });
      // An admin key: a consumption meter is registered on the ledger too.
      await api.expect(201, `meter ${pair.consumptionMeter}`, adminKey, 'POST', '/v1/meters', {
        meterId: pair.consumptionMeter,
        kind: 'CONSUMPTION',
        owner: pair.buyer,
        intervalMinutes,
      });
    }
    const registeredMs = nowMs();

    // A month of readings for every meter: one request per meter pair, all good lines or nothing.
    let readings = 0;
    for (const pair of pairs) {
      const lines: string[] = [];
      for (const meterId of [pair.generationMeter, pair.consumptionMeter]) {
        for (let i = 0; i < intervals; i++) {
          // A little variation per interval; every value is at least kwhPerInterval.
          const wh = kwhPerInterval * 1000 + ((i * 7919) % 1000);
          const at = shanghai(monthFrom + i * intervalMinutes * 60_000);
          lines.push(
            `{"meterId":"${meterId}","intervalStart":"${at}","kwh":"${Math.floor(wh / 1000)}.${String(wh % 1000).padStart(3, '0')}"}`,
          );
        }
      }
      const res = await api.call(
        platformKey,
        'POST',
        '/v1/meter-readings?mode=atomic',
        `${lines.join('\n')}\n`,
        {
          'Content-Type': 'application/x-ndjson',
        },
      );
      if (res.status !== 200 || Number(res.json.accepted) !== lines.length) {
        throw new BenchError(
          `setup failed at readings of ${pair.seller}/${pair.buyer}: ${res.status} ${JSON.stringify(res.json).slice(0, 800)}`,
        );
      }
      readings += lines.length;
    }
    const ingestedMs = nowMs();

    for (const pair of pairs) {
      for (const meterId of [pair.generationMeter, pair.consumptionMeter]) {
        await api.expect(
          200,
          `close ${meterId} ${month}`,
          platformKey,
          'POST',
          `/v1/meters/${meterId}/periods/${month}/close`,
          {},
        );
      }
    }
    const closedMs = nowMs();

    for (const pair of pairs) {
      const issued = await api.expect(
        201,
        `issuance ${pair.unitId} ${month}`,
        adminKey,
        'POST',
        '/v1/issuances',
        {
          unitId: pair.unitId,
          month,
        },
      );
      pair.lotId = String(issued.lotId);
      pair.certificates = Number(issued.certificates);
      const needed = neededMwh.get(pair) ?? 0;
      if (!(pair.certificates >= needed)) {
        throw new BenchError(
          `setup failed: ${pair.unitId} was issued ${issued.certificates} certificates, the run needs ${needed}`,
        );
      }
    }
    const setupEnd = nowMs();
    const setupSeconds = (setupEnd - setupStarted) / 1000;
    console.log(
      `setup: ${setupSeconds.toFixed(1)} s (gateway start ${ms(bootMs)}, participants/units/meters ` +
        `${ms(registeredMs - setupStarted - bootMs)}, ${readings} readings at ${intervalMinutes}-minute intervals ` +
        `${ms(ingestedMs - registeredMs)}, ${pairCount * 2} periods closed ${ms(closedMs - ingestedMs)}, ` +
        `${pairCount} issuances ${ms(setupEnd - closedMs)}); month ${month}, ${kwhPerInterval}+ kWh per interval, ` +
        `${pairs[0].certificates} certificates per seller, ${pairCount} pairs, TRADE_WORKERS=${workerNote}`,
    );

    // ---- The trades ------------------------------------------------------------------------------------
    const deliveryStart = shanghai(monthFrom);
    const deliveryEnd = shanghai(monthTo);
    const planned: PlannedTrade[] = [];
    for (let k = 0; k < tradeCount; k++) {
      const pair = pairs[k % pairCount];
      const mwh = mwhOf(k);
      const trade = {
        tradeId: `BT-${runTag}-${String(k + 1).padStart(6, '0')}`,
        kind: 'GREEN_POWER',
        seller: pair.seller,
        buyer: pair.buyer,
        volumeKwh: mwh * 1000,
        priceFen: mwh * 42_000,
        currency: 'CNY',
        deliveryStart,
        deliveryEnd,
        sellerUnitIds: [pair.unitId],
        buyerMeterIds: [pair.consumptionMeter],
        lots: [{ lotId: pair.lotId!, volume: mwh }],
      };
      const signature = createHmac('sha256', secret)
        .update(Buffer.from(canonicalize(trade) as string, 'utf8'))
        .digest('base64');
      planned.push({
        tradeId: trade.tradeId,
        pair,
        mwh,
        body: JSON.stringify({ trade, checkData: { keyId, alg: 'hmac-sha256', signature } }),
        idempotencyKey: `bench-${trade.tradeId}`,
      });
    }

    const posted = new Map<string, Posted>();
    let next = 0;
    const postStarted = nowMs();
    const poster = async (): Promise<void> => {
      while (next < planned.length) {
        const item = planned[next++];
        const sentMs = nowMs();
        const res = await api.call(tcKey, 'POST', '/v1/trades', item.body, {
          'Idempotency-Key': item.idempotencyKey,
        });
        const acceptMs = nowMs() - sentMs;
        if (res.status !== 202) {
          throw new BenchError(
            `POST /v1/trades ${item.tradeId} answered ${res.status} (expected 202): ${JSON.stringify(res.json).slice(0, 800)}`,
          );
        }
        posted.set(item.tradeId, { sentMs, acceptMs });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, planned.length) }, poster));
    const postSeconds = (nowMs() - postStarted) / 1000;
    console.log(
      `posted ${planned.length} trades in ${postSeconds.toFixed(2)} s (${Math.round(planned.length / postSeconds)} accepted/s, ` +
        `${concurrency} in flight)`,
    );

    // Wait until every trade is final, from the trades table (no HTTP polling load on the gateway).
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states: Record<string, number> = {};
      for (const r of (
        await db.query<{ state: string; n: number }>(
          `SELECT state, count(*)::int AS n FROM trades WHERE trade_id LIKE $1 GROUP BY state`,
          [`BT-${runTag}-%`],
        )
      ).rows)
        states[r.state] = r.n;
      const finals = (states.COMMITTED ?? 0) + (states.REJECTED ?? 0);
      if (finals >= planned.length) break;
      if (Date.now() > deadline) {
        throw new BenchError(
          `only ${finals} of ${planned.length} trades final after ${timeoutMs / 1000} s: ${JSON.stringify(states)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const rows = (
      await db.query<TradeTimes>(
        `SELECT trade_id, state, failure_code, failure_detail, attempts,
                (extract(epoch FROM received_at) * 1000)::float8::text AS received_ms,
                (extract(epoch FROM verified_at) * 1000)::float8::text AS verified_ms,
                (extract(epoch FROM finished_at) * 1000)::float8::text AS finished_ms
         FROM trades WHERE trade_id LIKE $1 ORDER BY trade_id`,
        [`BT-${runTag}-%`],
      )
    ).rows;
    const rejected = rows.filter((r) => r.state === 'REJECTED');
    if (rejected.length > 0) {
      const reasons = new Map<string, string[]>();
      for (const r of rejected) {
        const reason = `${r.failure_code}: ${(r.failure_detail ?? '').slice(0, 300)}`;
        reasons.set(reason, [...(reasons.get(reason) ?? []), r.trade_id]);
      }
      for (const [reason, ids] of reasons) {
        console.error(
          `REJECTED ×${ids.length} (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}): ${reason}`,
        );
      }
      throw new BenchError(
        `${rejected.length} of ${rows.length} valid trades were REJECTED; no README rows written`,
      );
    }
    const committed = rows.filter((r) => r.state === 'COMMITTED');
    if (committed.length !== planned.length) {
      throw new BenchError(`${committed.length} of ${planned.length} trades COMMITTED`);
    }

    // A committed trade reads back over HTTP with its ledger proof and voucher.
    const sample = await api.expect(
      200,
      'read back',
      tcKey,
      'GET',
      `/v1/trades/${planned[planned.length - 1].tradeId}`,
    );
    if (sample.state !== 'COMMITTED' || !sample.voucherId || !sample.txId) {
      throw new BenchError(
        `GET /v1/trades/${planned[planned.length - 1].tradeId}: ${JSON.stringify(sample)}`,
      );
    }

    // ---- Figures ---------------------------------------------------------------------------------------
    const received = committed.map((r) => Number(r.received_ms));
    const finished = committed.map((r) => Number(r.finished_ms));
    const firstReceived = Math.min(...received);
    const lastFinished = Math.max(...finished);
    const windowSeconds = (lastFinished - firstReceived) / 1000;
    const throughput = committed.length / windowSeconds;
    const latency = summary(committed.map((r) => Number(r.finished_ms) - posted.get(r.trade_id)!.sentMs));
    const acceptance = summary([...posted.values()].map((p) => p.acceptMs));
    const toVerified = summary(committed.map((r) => Number(r.verified_ms) - Number(r.received_ms)));
    const toCommitted = summary(committed.map((r) => Number(r.finished_ms) - Number(r.verified_ms)));
    const retried = committed.filter((r) => r.attempts > 1).length;
    // Ledger transactions prepared for the trades (more than one per trade: an MVCC conflict was retried).
    const [ledgerTx] = (
      await db.query<{ prepared: number; valid: number }>(
        `SELECT count(*)::int AS prepared, count(*) FILTER (WHERE outcome = 'VALID')::int AS valid
         FROM trade_transactions WHERE trade_id LIKE $1`,
        [`BT-${runTag}-%`],
      )
    ).rows;

    console.log(
      `committed ${committed.length} trades (${rejected.length} rejected) in ${windowSeconds.toFixed(2)} s from the ` +
        `first received to the last COMMITTED = ${throughput.toFixed(1)} trades/s`,
    );
    console.log(
      `POST → COMMITTED: p50 ${ms(latency.p50)}, p99 ${ms(latency.p99)}, max ${ms(latency.max)}; ` +
        `acceptance (202): p50 ${ms(acceptance.p50)}, p99 ${ms(acceptance.p99)}, max ${ms(acceptance.max)}`,
    );
    console.log(
      `stages: received → verified (queue + checks) p50 ${ms(toVerified.p50)}, p99 ${ms(toVerified.p99)}; ` +
        `verified → COMMITTED (ledger) p50 ${ms(toCommitted.p50)}, p99 ${ms(toCommitted.p99)}; ` +
        `trades verified more than once: ${retried}; ledger transactions prepared ${ledgerTx.prepared}, ` +
        `VALID ${ledgerTx.valid}`,
    );

    const what = `trades verified and attested (POST → COMMITTED, GREEN_POWER, ${pairCount} seller/buyer pairs, ${concurrency} in flight)`;
    const row =
      `| ${what} | ${throughput.toFixed(1)} trades/s | p50 ${ms(latency.p50)}, p99 ${ms(latency.p99)} | ` +
      `${committed.length} trades of 1–5 MWh, 0 rejected, acceptance (202) p50 ${ms(acceptance.p50)}, p99 ` +
      `${ms(acceptance.p99)}, TRADE_WORKERS=${workerNote}, setup ${setupSeconds.toFixed(0)} s (${readings} ` +
      `${intervalMinutes}-minute readings), embedded PostgreSQL | ${machineNote()} |`;
    if (process.env.BENCH_README === 'off') console.log(`README left alone (BENCH_README=off):\n${row}`);
    else await writeBenchmarkRows('trades', [row]);
  } finally {
    try {
      await db?.end().catch(() => undefined);
      await app?.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(
      `trades bench failed: ${err instanceof Error ? (err instanceof BenchError ? err.message : err.stack) : err}`,
    );
    process.exit(1);
  },
);
