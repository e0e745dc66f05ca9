/**
 * Trade attestation benchmark: trades per second through the whole pipeline (POST /v1/trades stored with its
 * outbox row → claimed in a batch → verified against the attested meter data → trades:AttestTrade committed on
 * the ledger → COMMITTED once projected), at fixed offered rates and at the maximum, against the ceiling the same
 * ledger sets in the same run.
 *
 * The gateway runs in this process (its CPU is measured here; PostgreSQL's from /proc for the embedded server);
 * the load comes from a separate process (`trade-load.js`, autocannon, open loop at a fixed overall rate with
 * enough connections that the rate holds). The market is set up over REST: P seller/buyer pairs, each a wind
 * unit with a generation meter and a consumer with a consumption meter, a month of readings, every period
 * closed and attested, every unit's month issued. Trade k goes to pair k mod P and moves part of the seller's
 * lot: trades of one pair share hot keys (buyer-month, seller-month, lot) and are attested one after the other;
 * P bounds how many are independent at once. Every trade is valid: a REJECTED trade fails the bench.
 *
 * Phases: (1) each offered rate for BENCH_SECONDS; (2) the maximum: BENCH_MAX_TRADES posted as fast as possible;
 * (3) the ceiling: `trades:AttestTrade` transactions of the same shape submitted straight through the ledger
 * port (no HTTP, no verification, one in flight per pair, as the hot keys allow the pipeline); (4) the ledger's
 * simple-write rate (identity:RegisterParticipant, same number in flight). Prints trades/s ÷ each ceiling.
 *
 *   npm run bench:trades -- [--json FILE]
 *   BENCH_PAIRS (64)  BENCH_RATES (100,200,400)  BENCH_SECONDS (6)  BENCH_MAX_TRADES (2000)
 *   BENCH_DIRECT (1000)  BENCH_CONNECTIONS (64)  BENCH_README (on; off leaves the README alone)
 *   LEDGER, FABRIC_*, DATABASE_URL, EMBEDDED_PG_PORT, PORT, TRADE_IN_FLIGHT, …: the gateway's own settings.
 * Ids carry a per-run tag, so the bench reruns on the same Fabric channel.
 */
import { fork } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { Session } from 'node:inspector';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { INestApplication } from '@nestjs/common';
import canonicalize from 'canonicalize';
import { Client } from 'pg';
import { createApp } from '../app';
import { hmacSignatureHeaders } from '../auth/request-signing';
import { firstAdminKeyFile, loadConfig } from '../config/config';
import { DATABASE_URL } from '../database/database.module';
import { openConfiguredLedger } from '../ledger-module/ledger.module';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import { ThreadedEmbeddedLedger } from '../ledger/embedded/thread/threaded-ledger';
import type { LedgerPort, TransactionRequest } from '../ledger/port';
import { voucherIdOf } from '../trades/trade-model';
import {
  creditCode,
  freePort,
  postgresCpuSeconds,
  gatewayCpuSeconds,
  threadCpuSeconds,
} from './bench-process';
import { benchJson, BenchResult, BenchError, jsonFileArgument, setting, runBench } from './bench-json';
import { machineNote, writeBenchmarkRows } from './readme-table';
import { percentile } from './stats';

const SHANGHAI_MS = 8 * 3600_000;
const TRADING_CENTER = 'TC-BENCH';

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

/** Poll `GET /health/ready` until it answers 200 (the projection caught up, the ledger and database answer). */
async function waitUntilReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = nowMs() + timeoutMs;
  let last = '';
  while (nowMs() < deadline) {
    const res = await fetch(`${url}/health/ready`).catch(() => undefined);
    if (res?.status === 200) return;
    last = res ? `${res.status} ${(await res.text()).slice(0, 300)}` : 'no answer';
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new BenchError(`the gateway was not ready within ${timeoutMs} ms: ${last}`);
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
  trade: Record<string, unknown>;
  /** The trading center's ECDSA P-256 signature over the canonical trade data (base64). */
  signature: string;
  body: string;
}

interface TradeTimes {
  trade_id: string;
  state: string;
  failure_code: string | null;
  failure_detail: string | null;
  received_ms: string;
  verified_ms: string | null;
  finished_ms: string | null;
}

interface LoadResult {
  sent: Record<string, number>;
  statuses: Record<string, number>;
  errors: number;
  seconds: number;
}

interface PhaseResult {
  label: string;
  /**
   * The gateway process's CPU per trade by thread (ms): its main thread (HTTP, pipeline, projection, the
   * PostgreSQL client), the embedded ledger's thread, and the rest (V8's garbage-collector and compiler threads,
   * libuv's pool: signatures, file writes). Null where /proc or the ledger's thread is not there.
   */
  threads: ThreadCpu | null;
  /** The machine's 1-minute load average at the phase's end (2 cores: above 2, other work shared them). */
  loadAverage: number;
  offered: number | null;
  trades: number;
  tradesPerS: number;
  p50: number;
  p99: number;
  gatewayCpuMs: number;
  postgresCpuMs: number | null;
}

/**
 * BENCH_PROFILE=FILE: a V8 CPU profile of this process (the gateway, with the embedded ledger) during the
 * maximum phase only, for `node --cpu-prof`-style analysis without the setup in it.
 */
async function startProfile(file: string | undefined): Promise<() => Promise<void>> {
  if (!file) return async () => undefined;
  const session = new Session();
  session.connect();
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, (error, result) => (error ? reject(error) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`CPU profile of the maximum phase written to ${file}`);
  };
}

/**
 * Statements the gateway sends to PostgreSQL (every pg client of this process), by their first words: counted
 * between `start` and `stop` to print statements per trade.
 */
function statementCounter(): { start(): void; stop(): Map<string, number> } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require('pg') as { Client: { prototype: { query: (...args: unknown[]) => unknown } } };
  const original = pg.Client.prototype.query;
  const counts = new Map<string, number>();
  return {
    start() {
      pg.Client.prototype.query = function (this: unknown, ...args: unknown[]) {
        const first = args[0];
        const text = typeof first === 'string' ? first : ((first as { text?: string })?.text ?? '?');
        const key = text.replace(/\s+/g, ' ').trim().slice(0, 60);
        counts.set(key, (counts.get(key) ?? 0) + 1);
        return original.apply(this, args);
      };
    },
    stop() {
      pg.Client.prototype.query = original;
      return counts;
    },
  };
}

interface ThreadCpu {
  main: number;
  ledger: number;
  other: number;
}

/** CPU ms per item by thread between two readings of `threadCpuSeconds` (process total from `cpuSeconds`). */
function threadCpu(
  before: Map<number, number>,
  after: Map<number, number>,
  cpuSeconds: number,
  ledgerTid: number | undefined,
  items: number,
): ThreadCpu | null {
  const mainTid = process.pid;
  if (ledgerTid === undefined || !after.has(mainTid) || !after.has(ledgerTid)) return null;
  const delta = (tid: number) => (after.get(tid) ?? 0) - (before.get(tid) ?? 0);
  const main = delta(mainTid);
  const ledger = delta(ledgerTid);
  const perItem = (seconds: number) => (Math.max(0, seconds) * 1000) / items;
  return { main: perItem(main), ledger: perItem(ledger), other: perItem(cpuSeconds - main - ledger) };
}

function threadText(t: ThreadCpu): string {
  return `gateway thread ${t.main.toFixed(2)}, ledger thread ${t.ledger.toFixed(2)}, other threads ${t.other.toFixed(2)}`;
}

async function main(): Promise<void> {
  const jsonFile = jsonFileArgument();
  const pairCount = setting('BENCH_PAIRS', 64, 1, 500);
  const rates = (process.env.BENCH_RATES ?? '100,200,400')
    .split(',')
    .filter((r) => r.trim() !== '')
    .map((r) => {
      const rate = Number(r);
      if (!Number.isInteger(rate) || rate < 1) throw new BenchError(`BENCH_RATES: ${r} is not a rate`);
      return rate;
    });
  const seconds = setting('BENCH_SECONDS', 6, 1, 600);
  const maxTrades = setting('BENCH_MAX_TRADES', 2000, 1, 100_000);
  const directCount = setting('BENCH_DIRECT', 1000, 1, 100_000);
  const connections = setting('BENCH_CONNECTIONS', 64, 1, 1000);
  const timeoutMs = setting('BENCH_TIMEOUT_S', 600, 1, 86_400) * 1000;
  const ledgerKind = process.env.LEDGER ?? 'embedded';

  const dataDir = await mkdtemp(join(tmpdir(), 'gec-trades-bench-'));
  // The embedded PostgreSQL runs as the `postgres` user when started as root: it must traverse the folder.
  await chmod(dataDir, 0o755);
  let app: INestApplication | undefined;
  let db: Client | undefined;
  let ledgerThread: ThreadedEmbeddedLedger | undefined;
  try {
    const setupStarted = nowMs();
    const config = loadConfig({
      ...process.env,
      GEC_DATA_DIR: dataDir,
      PORT: process.env.PORT ?? '0',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      EMBEDDED_PG_PORT: process.env.EMBEDDED_PG_PORT ?? String(await freePort()),
      // The bench measures the trade pipeline, not the per-key rate limit.
      RATE_LIMIT_PER_MINUTE: process.env.RATE_LIMIT_PER_MINUTE ?? '0',
      RATE_LIMIT_READS_PER_MINUTE: process.env.RATE_LIMIT_READS_PER_MINUTE ?? '0',
    });
    // The ledger as opened (before the gateway wraps it), to read its thread's utilization per phase.
    app = await createApp(config, {
      ledgerFactory: async (options) => {
        const opened = await openConfiguredLedger(options);
        if (opened instanceof ThreadedEmbeddedLedger) ledgerThread = opened;
        return opened;
      },
    });
    await app.listen(config.port, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    const url = `http://127.0.0.1:${address.port}`;
    const api = new Api(url);
    const ledger = app.get<LedgerPort>(LEDGER_PORT);
    db = new Client({ connectionString: app.get<string>(DATABASE_URL, { strict: false }) });
    await db.connect();
    const pgPidFile = config.databaseUrl ? undefined : join(dataDir, 'postgres', 'postmaster.pid');
    const bootMs = nowMs() - setupStarted;
    // A fresh gateway on a long channel (a real network the bench ran on before) projects it from block 0 first:
    // wait until it says it is ready, so that the setup's writes are not waiting for that, and say how long.
    const catchUpStarted = nowMs();
    await waitUntilReady(url, timeoutMs);
    const catchUpMs = nowMs() - catchUpStarted;
    const projected = (await db.query('SELECT count(*)::int AS n FROM projected_events')).rows[0] as {
      n: number;
    };
    console.log(
      `projection caught up with the ledger's ${(await ledger.getChainInfo()).height} blocks (${projected.n} ` +
        `events) in ${ms(catchUpMs)} after the gateway started`,
    );

    // ---- The market ------------------------------------------------------------------------------------
    const adminKey = (await readFile(firstAdminKeyFile(config), 'utf8'))
      .split('\n')
      .find((line) => line.startsWith('gec_'))
      ?.trim();
    if (!adminKey) throw new BenchError(`no admin key in ${firstAdminKeyFile(config)}`);
    const runTag = randomBytes(3).toString('hex').toUpperCase();
    const tradingCenter = `${TRADING_CENTER}-${runTag}`;
    const newKey = async (role: string, actsFor: string) =>
      await api.expect(201, `API key ${role}`, adminKey, 'POST', '/v1/api-keys', {
        label: role,
        role,
        actsFor,
      });
    const tcKeyReply = await newKey('trading-center', tradingCenter);
    const tcKey = String(tcKeyReply.key);
    const tcSigning = tcKeyReply.signing as { keyId: string; secret: string };
    const platformKey = String((await newKey('energy-platform', 'GRID')).key);

    let creditSerial = Number.parseInt(runTag, 16) % 1_000_000_000;
    const participant = (id: string, kind: string) =>
      api.expect(201, `participant ${id}`, adminKey, 'POST', '/v1/participants', {
        id,
        kind,
        name: `${id} 有限公司`,
        region: '330000',
        creditCode: creditCode(creditSerial++ % 1_000_000_000),
      });
    await participant(tradingCenter, 'TRADING_CENTER');
    // The trading center signs with ECDSA P-256: the gateway verifies it and the chaincode verifies it again on
    // every endorsing peer (one verification each), as production trades are proven on chain.
    const tradeKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyId = 'bench-p256-1';
    await api.expect(201, 'check key', adminKey, 'POST', `/v1/trading-centers/${tradingCenter}/check-keys`, {
      keyId,
      alg: 'ecdsa-p256-sha256',
      publicKeyPem: tradeKey.publicKey.export({ type: 'spki', format: 'pem' }),
    });

    const monthFrom = monthStart(1);
    const monthTo = monthStart(0);
    const month = new Date(monthFrom + SHANGHAI_MS).toISOString().slice(0, 7);
    const intervals = (monthTo - monthFrom) / (15 * 60_000);
    const pairs: Pair[] = Array.from({ length: pairCount }, (_, i) => {
      const n = `${runTag}-${String(i + 1).padStart(3, '0')}`;
      return {
        seller: `BG-${n}`,
        buyer: `BC-${n}`,
        unitId: `BU-${n}`,
        generationMeter: `BMG-${n}`,
        consumptionMeter: `BMC-${n}`,
      };
    });

    // Every trade of the run, planned first so generation, consumption and certificates cover them.
    const phaseSizes = [...rates.map((rate) => rate * seconds), maxTrades];
    const pipelineTrades = phaseSizes.reduce((a, b) => a + b, 0);
    const mwhOf = (k: number) => 1 + ((k * 7 + Math.floor(k / pairCount) * 3) % 3);
    const perPairMwh = Math.ceil(((pipelineTrades + directCount) / pairCount + 2) * 3);
    const kwhPerInterval = Math.max(10, Math.ceil((perPairMwh * 1000 * 1.1 + 1000) / intervals));

    for (const [i, pair] of pairs.entries()) {
      await participant(pair.seller, 'GENERATOR');
      await participant(pair.buyer, 'CONSUMER');
      await api.expect(201, `unit ${pair.unitId}`, adminKey, 'POST', '/v1/units', {
        id: pair.unitId,
        owner: pair.seller,
        name: `${pair.seller} 风电场`,
        projectCode: `P33${runTag}${String(i).padStart(8, '0')}`,
        technology: 'WIND',
        capacityKw: 500000,
        province: '330000',
        meterIds: [pair.generationMeter],
        commissioningDate: '2024-06-30',
      });
      await api.expect(201, `meter ${pair.generationMeter}`, platformKey, 'POST', '/v1/meters', {
        meterId: pair.generationMeter,
        kind: 'GENERATION',
        owner: pair.seller,
        unitId: pair.unitId,
      });
      // An admin key: a consumption meter is registered on the ledger too.
      await api.expect(201, `meter ${pair.consumptionMeter}`, adminKey, 'POST', '/v1/meters', {
        meterId: pair.consumptionMeter,
        kind: 'CONSUMPTION',
        owner: pair.buyer,
      });
    }
    let readings = 0;
    for (const pair of pairs) {
      const lines: string[] = [];
      for (const meterId of [pair.generationMeter, pair.consumptionMeter]) {
        for (let i = 0; i < intervals; i++) {
          const at = shanghai(monthFrom + i * 15 * 60_000);
          lines.push(`{"meterId":"${meterId}","intervalStart":"${at}","kwh":"${kwhPerInterval}"}`);
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
          `setup failed at readings of ${pair.seller}: ${res.status} ${JSON.stringify(res.json).slice(0, 800)}`,
        );
      }
      readings += lines.length;
      for (const meterId of [pair.generationMeter, pair.consumptionMeter]) {
        await api.expect(
          200,
          `close ${meterId}`,
          platformKey,
          'POST',
          `/v1/meters/${meterId}/periods/${month}/close`,
          {},
        );
      }
      const issued = await api.expect(201, `issuance ${pair.unitId}`, adminKey, 'POST', '/v1/issuances', {
        unitId: pair.unitId,
        month,
      });
      pair.lotId = String(issued.lotId);
      pair.certificates = Number(issued.certificates);
      if (pair.certificates < perPairMwh) {
        throw new BenchError(
          `setup: ${pair.unitId} got ${pair.certificates} certificates, the run needs ${perPairMwh}`,
        );
      }
    }
    const setupSeconds = (nowMs() - setupStarted) / 1000;
    console.log(
      `setup: ${setupSeconds.toFixed(1)} s (gateway start ${ms(bootMs)}); ${ledgerKind} ledger, ${pairCount} pairs, ` +
        `${readings} readings, month ${month}, ${pairs[0].certificates} certificates per seller, run ${runTag}`,
    );

    // ---- The trades ------------------------------------------------------------------------------------
    const deliveryStart = shanghai(monthFrom);
    const deliveryEnd = shanghai(monthTo);
    let tradeSerial = 0;
    const plan = (count: number, prefix: string): PlannedTrade[] =>
      Array.from({ length: count }, () => {
        const k = tradeSerial++;
        const pair = pairs[k % pairCount];
        const mwh = mwhOf(k);
        const trade = {
          tradeId: `${prefix}-${runTag}-${String(k + 1).padStart(6, '0')}`,
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
        const signature = sign(
          'sha256',
          Buffer.from(canonicalize(trade) as string, 'utf8'),
          tradeKey.privateKey,
        ).toString('base64');
        return {
          tradeId: trade.tradeId,
          pair,
          mwh,
          trade,
          signature,
          body: JSON.stringify({ trade, checkData: { keyId, alg: 'ecdsa-p256-sha256', signature } }),
        };
      });

    /** Post `trades` from the load process at `rate` (0: as fast as possible); wait until all are final. */
    const phase = async (label: string, rate: number, trades: PlannedTrade[]): Promise<PhaseResult> => {
      const file = label.replace(/[^a-z0-9]+/gi, '-');
      const jobFile = join(dataDir, `load-${file}.json`);
      const resultFile = join(dataDir, `load-${file}-result.json`);
      await writeFile(
        jobFile,
        JSON.stringify({
          url,
          apiKey: tcKey,
          signing: tcSigning,
          rate,
          connections,
          trades: trades.map((t) => ({ tradeId: t.tradeId, body: t.body })),
        }),
      );
      const cpu0 = gatewayCpuSeconds();
      const pg0 = postgresCpuSeconds(pgPidFile);
      const threads0 = threadCpuSeconds();
      const child = fork(join(__dirname, 'trade-load.js'), [jobFile, resultFile], { stdio: 'inherit' });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const ids = trades.map((t) => t.tradeId);
      const deadline = Date.now() + timeoutMs;
      let loadDone = false;
      void exited.then(() => (loadDone = true));
      for (;;) {
        // The phase's ids share a prefix: a range of the primary key, a small query for the gateway's database.
        const prefix = ids[0].slice(0, ids[0].lastIndexOf('-') + 1);
        const [{ n }] = (
          await db!.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM trades WHERE trade_id >= $1 AND trade_id < $2
               AND state IN ('COMMITTED', 'REJECTED')`,
            [prefix, `${prefix.slice(0, -1)}.`],
          )
        ).rows;
        if (n >= ids.length && loadDone) break;
        if (Date.now() > deadline)
          throw new BenchError(`${label}: ${n} of ${ids.length} trades final after ${timeoutMs / 1000} s`);
        // Latencies come from the rows' own timestamps: polling only finds the phase's end, and each poll is
        // PostgreSQL work counted in the phase's CPU per trade, so it stays rare.
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const cpu = gatewayCpuSeconds() - cpu0;
      const pg1 = postgresCpuSeconds(pgPidFile);
      const threads1 = threadCpuSeconds();
      if ((await exited) !== 0) throw new BenchError(`${label}: the load generator failed`);
      const load = JSON.parse(await readFile(resultFile, 'utf8')) as LoadResult;
      if ((load.statuses['202'] ?? 0) !== trades.length || load.errors > 0) {
        throw new BenchError(
          `${label}: answers ${JSON.stringify(load.statuses)}, ${load.errors} errors (all must be 202)`,
        );
      }
      const rows = (
        await db!.query<TradeTimes>(
          `SELECT trade_id, state, failure_code, failure_detail,
                  (extract(epoch FROM received_at) * 1000)::float8::text AS received_ms,
                  (extract(epoch FROM verified_at) * 1000)::float8::text AS verified_ms,
                  (extract(epoch FROM finished_at) * 1000)::float8::text AS finished_ms
           FROM trades WHERE trade_id = ANY($1)`,
          [ids],
        )
      ).rows;
      const rejected = rows.filter((r) => r.state !== 'COMMITTED');
      if (rejected.length > 0) {
        for (const r of rejected.slice(0, 5))
          console.error(
            `REJECTED ${r.trade_id}: ${r.failure_code}: ${(r.failure_detail ?? '').slice(0, 300)}`,
          );
        throw new BenchError(`${label}: ${rejected.length} of ${rows.length} valid trades were REJECTED`);
      }
      const first = Math.min(...rows.map((r) => Number(r.received_ms)));
      const last = Math.max(...rows.map((r) => Number(r.finished_ms)));
      const latency = summary(rows.map((r) => Number(r.finished_ms) - load.sent[r.trade_id]));
      const accepted = summary(rows.map((r) => Number(r.received_ms) - load.sent[r.trade_id]));
      const verifying = summary(rows.map((r) => Number(r.verified_ms) - Number(r.received_ms)));
      const committing = summary(rows.map((r) => Number(r.finished_ms) - Number(r.verified_ms)));
      const result: PhaseResult = {
        label,
        threads: threadCpu(threads0, threads1, cpu, ledgerThread?.osThreadId, rows.length),
        loadAverage: loadavg()[0],
        offered: rate || null,
        trades: rows.length,
        tradesPerS: rows.length / ((last - first) / 1000),
        p50: latency.p50,
        p99: latency.p99,
        gatewayCpuMs: (cpu * 1000) / rows.length,
        postgresCpuMs: pg0 === null || pg1 === null ? null : ((pg1 - pg0) * 1000) / rows.length,
      };
      console.log(
        `${label}: ${result.trades} trades, ${result.tradesPerS.toFixed(1)} trades/s` +
          `${rate ? ` (offered ${rate}/s, posted in ${load.seconds.toFixed(1)} s)` : ''}, POST → COMMITTED p50 ` +
          `${ms(result.p50)}, p99 ${ms(result.p99)}; CPU per trade: gateway ${result.gatewayCpuMs.toFixed(2)} ms, ` +
          `PostgreSQL ${result.postgresCpuMs === null ? 'n/a' : `${result.postgresCpuMs.toFixed(2)} ms`}`,
      );
      console.log(
        `  stages p50/p99: sent → stored ${ms(accepted.p50)}/${ms(accepted.p99)}, stored → verified (queue, ` +
          `checks) ${ms(verifying.p50)}/${ms(verifying.p99)}, verified → COMMITTED (ledger, projection) ` +
          `${ms(committing.p50)}/${ms(committing.p99)}`,
      );
      if (result.threads) console.log(`  CPU per trade by thread (ms): ${threadText(result.threads)}`);
      return result;
    };

    const phases: PhaseResult[] = [];
    for (const rate of rates)
      phases.push(await phase(`at ${rate}/s`, rate, plan(rate * seconds, `BR${rate}`)));
    const profile = await startProfile(process.env.BENCH_PROFILE);
    const statements = statementCounter();
    statements.start();
    const maxPhase = await phase('maximum', 0, plan(maxTrades, 'BM'));
    const counted = statements.stop();
    await profile();
    // The bench's own polling of the trades table is not the gateway's work.
    const own = [...counted].filter(([sql]) => sql.startsWith('SELECT count(*)::int AS n FROM trades WHERE'));
    const gatewayStatements =
      [...counted.values()].reduce((a, b) => a + b, 0) - own.reduce((a, [, n]) => a + n, 0);
    const statementsPerTrade = gatewayStatements / maxPhase.trades;
    console.log(`SQL statements per trade (gateway, maximum phase): ${statementsPerTrade.toFixed(1)}`);
    if (process.env.BENCH_STATEMENTS === 'on') {
      for (const [sql, n] of [...counted].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
        console.log(`  ${(n / maxPhase.trades).toFixed(2).padStart(6)}  ${sql}`);
      }
    }
    phases.push(maxPhase);

    // ---- The ceiling: the same attestations straight through the ledger port ------------------------------
    // The identity the pipeline attests with: the energy internet platform's (GridMSP).
    const attester = { mspId: 'GridMSP', name: 'platform' };
    const direct = plan(directCount, 'BD');
    const byPair = new Map<Pair, PlannedTrade[]>();
    for (const t of direct) byPair.set(t.pair, [...(byPair.get(t.pair) ?? []), t]);
    const digest = createHash('sha256').update('evidence').digest('hex');
    const attestation = (t: PlannedTrade): TransactionRequest => ({
      identity: attester,
      transaction: 'trades:AttestTrade',
      args: [
        JSON.stringify({
          tradingCenter: 'TradingCenterMSP',
          trade: t.trade,
          signature: { keyId, alg: 'ecdsa-p256-sha256', value: t.signature },
          checkDataHash: digest,
          meterEvidenceDigest: digest,
          checksPassed: ['parties', 'signature'],
          voucherId: voucherIdOf(t.tradeId),
        }),
      ],
    });
    const directThreads0 = threadCpuSeconds();
    const directCpu0 = gatewayCpuSeconds();
    const directStarted = nowMs();
    await Promise.all(
      [...byPair.values()].map(async (trades) => {
        for (const t of trades) await ledger.submit(attestation(t));
      }),
    );
    const directPerS = direct.length / ((nowMs() - directStarted) / 1000);
    const directThreads = threadCpu(
      directThreads0,
      threadCpuSeconds(),
      gatewayCpuSeconds() - directCpu0,
      ledgerThread?.osThreadId,
      direct.length,
    );
    console.log(
      `ceiling: ${direct.length} trades:AttestTrade straight through the ledger port, ${byPair.size} in flight: ` +
        `${directPerS.toFixed(1)} tx/s` +
        (directThreads === null ? '' : `; CPU per attestation (ms): ${threadText(directThreads)}`),
    );

    const writes = Array.from({ length: directCount }, (_, n): TransactionRequest => ({
      identity: { mspId: 'GridMSP', name: 'admin' },
      transaction: 'identity:RegisterParticipant',
      args: [
        JSON.stringify({
          id: `BW-${runTag}-${n}`,
          kind: 'CONSUMER',
          name: `Bench consumer ${n}`,
          region: '330000',
        }),
      ],
      transient: { creditCode: creditCode((creditSerial++ + 500_000_000) % 1_000_000_000) },
    }));
    let nextWrite = 0;
    const writesStarted = nowMs();
    await Promise.all(
      Array.from({ length: byPair.size }, async () => {
        while (nextWrite < writes.length) await ledger.submit(writes[nextWrite++]);
      }),
    );
    const writesPerS = writes.length / ((nowMs() - writesStarted) / 1000);
    console.log(
      `ledger simple writes (identity:RegisterParticipant), ${byPair.size} in flight: ${writesPerS.toFixed(1)} tx/s`,
    );

    const ceilingRatio = maxPhase.tradesPerS / directPerS;
    const writeRatio = maxPhase.tradesPerS / writesPerS;
    console.log(
      `pipeline ${maxPhase.tradesPerS.toFixed(1)} trades/s ÷ direct AttestTrade ${directPerS.toFixed(1)}/s = ` +
        `${ceilingRatio.toFixed(2)}; ÷ simple writes ${writesPerS.toFixed(1)}/s = ${writeRatio.toFixed(2)}`,
    );
    const rss = process.resourceUsage().maxRSS / 1024;
    console.log(`peak RSS (gateway process, setup included) ${rss.toFixed(0)} MB`);

    // What proving the trading center's consent on chain costs: one ECDSA P-256 verification per trade in the
    // gateway's check and one in each endorsing peer's chaincode (two endorsers here), measured now.
    const sample = direct[0];
    const signedBytes = Buffer.from(canonicalize(sample.trade) as string, 'utf8');
    const signatureBytes = Buffer.from(sample.signature, 'base64');
    const verifications = 2000;
    const verifyStarted = process.cpuUsage();
    for (let i = 0; i < verifications; i++) verify('sha256', signedBytes, tradeKey.publicKey, signatureBytes);
    const verifyUsage = process.cpuUsage(verifyStarted);
    const verifyMs = (verifyUsage.user + verifyUsage.system) / 1000 / verifications;
    const signatureCpuMs = verifyMs * 3;
    console.log(
      `trade signature verification: ${verifyMs.toFixed(3)} ms CPU per ECDSA P-256 verify × 3 per trade ` +
        `(gateway + 2 endorsing peers) = ${signatureCpuMs.toFixed(2)} ms per trade`,
    );

    // ---- Results ---------------------------------------------------------------------------------------
    const at = (rate: number) => phases.find((p) => p.offered === rate);
    const cpuTotal = maxPhase.gatewayCpuMs + (maxPhase.postgresCpuMs ?? 0);
    const results: BenchResult[] = [
      { name: 'sustained_trades_per_s', value: maxPhase.tradesPerS, unit: 'trades/s' },
      { name: 'p50_ms_at_max', value: maxPhase.p50, unit: 'ms' },
      { name: 'p99_ms_at_max', value: maxPhase.p99, unit: 'ms' },
      ...rates.flatMap((rate) => [
        { name: `trades_per_s_at_${rate}`, value: at(rate)!.tradesPerS, unit: 'trades/s' },
        { name: `p50_ms_at_${rate}`, value: at(rate)!.p50, unit: 'ms' },
        { name: `p99_ms_at_${rate}`, value: at(rate)!.p99, unit: 'ms' },
      ]),
      { name: 'cpu_ms_per_trade', value: cpuTotal, unit: 'ms' },
      { name: 'gateway_cpu_ms_per_trade', value: maxPhase.gatewayCpuMs, unit: 'ms' },
      ...(maxPhase.postgresCpuMs === null
        ? []
        : [{ name: 'postgres_cpu_ms_per_trade', value: maxPhase.postgresCpuMs, unit: 'ms' }]),
      { name: 'sql_statements_per_trade', value: statementsPerTrade, unit: 'statements' },
      { name: 'direct_attest_tx_per_s', value: directPerS, unit: 'tx/s' },
      { name: 'ledger_write_tx_per_s', value: writesPerS, unit: 'tx/s' },
      { name: 'ceiling_ratio', value: ceilingRatio, unit: 'ratio' },
      { name: 'ledger_write_ratio', value: writeRatio, unit: 'ratio' },
      { name: 'peak_rss_mb', value: rss, unit: 'MB' },
      { name: 'trade_signature_verify_cpu_ms_per_trade', value: signatureCpuMs, unit: 'ms' },
      ...(maxPhase.threads
        ? [
            { name: 'gateway_thread_cpu_ms_per_trade', value: maxPhase.threads.main, unit: 'ms' },
            { name: 'ledger_thread_cpu_ms_per_trade', value: maxPhase.threads.ledger, unit: 'ms' },
            { name: 'other_threads_cpu_ms_per_trade', value: maxPhase.threads.other, unit: 'ms' },
          ]
        : []),
      ...(directThreads === null
        ? []
        : [
            { name: 'direct_ledger_thread_cpu_ms_per_tx', value: directThreads.ledger, unit: 'ms' },
            {
              name: 'direct_cpu_ms_per_tx',
              value: directThreads.main + directThreads.ledger + directThreads.other,
              unit: 'ms',
            },
          ]),
      { name: 'load_average_at_max', value: maxPhase.loadAverage, unit: 'load' },
    ];
    if (jsonFile) await benchJson(jsonFile, ledgerKind, results);

    const machine = `${machineNote()}, ${ledgerKind} ledger`;
    const rows = [
      ...phases.map(
        (p) =>
          `| trades POST → COMMITTED ${p.offered ? `at ${p.offered}/s offered` : 'at the maximum'} (GREEN_POWER, ` +
          `${pairCount} seller/buyer pairs) | ${p.tradesPerS.toFixed(1)} trades/s | p50 ${ms(p.p50)}, p99 ${ms(p.p99)} | ` +
          `${p.trades} trades, CPU per trade: gateway ${p.gatewayCpuMs.toFixed(2)} ms, PostgreSQL ` +
          `${p.postgresCpuMs === null ? 'n/a' : `${p.postgresCpuMs.toFixed(2)} ms`}` +
          `${p.threads ? ` (${threadText(p.threads)})` : ''}; load average ${p.loadAverage.toFixed(1)} | ${machine} |`,
      ),
      `| trades:AttestTrade straight through the ledger port (the ceiling; ${byPair.size} in flight) | ` +
        `${directPerS.toFixed(1)} tx/s | — | pipeline ÷ ceiling ${ceilingRatio.toFixed(2)}; simple writes ` +
        `${writesPerS.toFixed(1)} tx/s, pipeline ÷ simple writes ${writeRatio.toFixed(2)}` +
        `${directThreads === null ? '' : `; CPU per attestation (ms): ${threadText(directThreads)}`}; peak RSS ` +
        `${rss.toFixed(0)} MB | ${machine} |`,
    ];
    if (process.env.BENCH_README === 'off')
      console.log(`README left alone (BENCH_README=off):\n${rows.join('\n')}`);
    else await writeBenchmarkRows(ledgerKind === 'embedded' ? 'trades' : `trades-${ledgerKind}`, rows);
  } finally {
    try {
      await db?.end().catch(() => undefined);
      await app?.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
    }
  }
}

runBench('trades', main);
