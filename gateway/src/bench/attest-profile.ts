/**
 * Where the ledger's CPU per transaction goes: trades:AttestTrade (the trade bench's ceiling, the same shape)
 * and identity:RegisterParticipant (the simple write) straight through the ledger port, with the CPU per
 * transaction of the thread that runs the ledger and a V8 CPU profile of each phase (top functions by self time
 * and by total time, per transaction). No gateway, no PostgreSQL: a setup of P seller/buyer pairs on the ledger
 * alone (units, meters attested, one lot per seller, the trading center's P-256 trade-signing key), then the
 * attestations one in flight per pair, then the simple writes with as many in flight.
 *
 *   npm run build && node gateway/dist/bench/attest-profile.js
 *   BENCH_PAIRS (64)  BENCH_ATTESTATIONS (2000)  BENCH_WRITES (2000)  BENCH_TOP (25)
 *   BENCH_PROFILE=PREFIX  writes PREFIX-attest.cpuprofile and PREFIX-writes.cpuprofile (open them in Chrome's
 *                         DevTools); without it the same profiles are taken in memory for the tables only
 *   BENCH_THREADED=on     the ledger on its own thread, as the gateway runs it (no profile: the inspector sees
 *                         this thread only); CPU per transaction of that thread, as bench:trades reports it
 *
 * The ledger runs on this process's main thread by default, so the profile holds the ledger's work (endorsers
 * running the chaincode, validation, the block store) and the client's (proposal, envelope): the CPU per
 * transaction of the main thread is that, signatures done on libuv's pool excluded (they are in "process").
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { Session } from 'node:inspector/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import { EmbeddedLedger } from '../ledger/embedded/embedded-ledger';
import { ThreadedEmbeddedLedger } from '../ledger/embedded/thread/threaded-ledger';
import type { IdentityRef, LedgerPort, TransactionRequest } from '../ledger/port';
import { GRID_ADMIN, GRID_PLATFORM, issueLot, productionMonth } from './bench-ledger';
import { creditCode, signatureCounter, threadCpuSeconds } from './bench-process';
import { BenchError, setting } from './bench-json';

const TRADING_ADMIN: IdentityRef = { mspId: 'TradingCenterMSP', name: 'admin' };
const TRADING_CLIENT: IdentityRef = { mspId: 'TradingCenterMSP', name: 'trading' };

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self and total time per function (name, file and line), in ms per transaction, the top `n` of each. */
export function topFunctions(profile: CpuProfile, transactions: number, n: number): string {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const label = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '~/');
    const short = file.replace(/^.*\/(gateway|chaincode)\/dist\//, '$1/');
    return `${functionName || '(anonymous)'} ${short ? `${short}:${lineNumber + 1}` : ''}`.trim();
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    let id: number | undefined = profile.samples[i];
    const first = byId.get(id)!;
    self.set(label(first), (self.get(label(first)) ?? 0) + ms);
    const seen = new Set<string>();
    while (id !== undefined) {
      const key = label(byId.get(id)!);
      if (!seen.has(key)) {
        seen.add(key);
        total.set(key, (total.get(key) ?? 0) + ms);
      }
      id = parent.get(id);
    }
  }
  const sampled = [...self.values()].reduce((a, b) => a + b, 0);
  const table = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, ms]) => `  ${(ms / transactions).toFixed(3).padStart(7)} ms  ${key}`)
      .join('\n');
  const idle = self.get('(idle)') ?? 0;
  return (
    `sampled ${(sampled / transactions).toFixed(3)} ms per transaction on the profiled thread, ` +
    `${((sampled - idle) / transactions).toFixed(3)} ms not idle\n` +
    `by self time:\n${table(self)}\nby total time (a function counted once per sample):\n${table(total)}`
  );
}

/** `work` under the V8 profiler when `enabled` (the profiler's start and stop are outside what `work` measures). */
async function profiled<T>(
  enabled: boolean,
  work: () => Promise<T>,
): Promise<{ result: T; profile: CpuProfile | undefined }> {
  if (!enabled) return { result: await work(), profile: undefined };
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  const result = await work();
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  return { result, profile: profile as unknown as CpuProfile };
}

function threadSeconds(tid: number): number {
  return threadCpuSeconds().get(tid) ?? 0;
}

async function main(): Promise<void> {
  const pairCount = setting('BENCH_PAIRS', 64, 1, 500);
  const attestations = setting('BENCH_ATTESTATIONS', 2000, 1, 100_000);
  const writeCount = setting('BENCH_WRITES', 2000, 1, 100_000);
  const top = setting('BENCH_TOP', 25, 1, 500);
  const threaded = process.env.BENCH_THREADED === 'on';
  const profileFile = process.env.BENCH_PROFILE;
  const tag = randomBytes(3).toString('hex').toUpperCase();
  const dataDir = await mkdtemp(join(tmpdir(), 'gec-attest-profile-'));
  let ledger: LedgerPort | undefined;
  try {
    let ledgerTid = process.pid;
    if (threaded) {
      const opened = await ThreadedEmbeddedLedger.open({ dataDir, sync: true });
      if (opened.osThreadId === undefined) throw new BenchError('the ledger thread has no OS thread id');
      ledgerTid = opened.osThreadId;
      ledger = opened;
    } else {
      ledger = await EmbeddedLedger.open({ dataDir, sync: true });
    }
    const port = ledger;
    const submit = (
      identity: IdentityRef,
      transaction: string,
      body: unknown,
      transient?: Record<string, string>,
    ) => port.submit({ identity, transaction, args: [JSON.stringify(body)], transient });

    // ---- Setup: the market on the ledger --------------------------------------------------------------
    const month = productionMonth();
    const [y, m] = month.split('-').map(Number);
    const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
    const deliveryStart = `${month}-01T00:00:00+08:00`;
    const deliveryEnd = `${next}-01T00:00:00+08:00`;
    const perPair = Math.ceil(attestations / pairCount) + 1;
    const mwhOf = (k: number) => 1 + ((k * 7 + Math.floor(k / pairCount) * 3) % 3);
    let serial = 0;
    const participant = (id: string, kind: string) =>
      submit(
        GRID_ADMIN,
        'identity:RegisterParticipant',
        { id, kind, name: `Bench ${kind.toLowerCase()} ${id}`, region: '330000' },
        { creditCode: creditCode(700_000_000 + serial++) },
      );
    const pairs = [];
    for (let i = 0; i < pairCount; i++) {
      const seller = `PG-${tag}-${i}`;
      const buyer = `PC-${tag}-${i}`;
      const unitId = `PU-${tag}-${i}`;
      const meterId = `PGM-${tag}-${i}`;
      const consumptionMeter = `PCM-${tag}-${i}`;
      await participant(seller, 'GENERATOR');
      await participant(buyer, 'CONSUMER');
      const lotId = await issueLot(
        port,
        {
          unitId,
          meterId,
          projectCode: `PP${tag}${String(i).padStart(9, '0')}`,
          name: `unit ${i}`,
          owner: seller,
        },
        month,
        perPair * 3 + 2,
      );
      await submit(GRID_ADMIN, 'metering:RegisterConsumptionMeter', {
        meterId: consumptionMeter,
        consumer: buyer,
      });
      const totalWh = (perPair * 3 + 2) * 1_000_000;
      await submit(GRID_PLATFORM, 'metering:AttestMeterPeriod', {
        meterId: consumptionMeter,
        period: month,
        totalWh,
        digest: createHash('sha256').update(`${consumptionMeter}|${month}|${totalWh}`).digest('hex'),
      });
      pairs.push({ seller, buyer, unitId, consumptionMeter, lotId });
    }

    // Since issue 15 the trading center signs the trade data with its key on the ledger; before, the request
    // carried the trade's fields flat with a tradeDataHash.
    const key = { keyId: `PK-${tag}`, ...generateKeyPairSync('ec', { namedCurve: 'P-256' }) };
    let signed = true;
    try {
      await submit(TRADING_ADMIN, 'consortium:RegisterTradeSigningKey', {
        keyId: key.keyId,
        alg: 'ecdsa-p256-sha256',
        publicKeyPem: key.publicKey.export({ type: 'spki', format: 'pem' }),
      });
    } catch {
      signed = false;
    }
    const digest = createHash('sha256').update('evidence').digest('hex');
    const planned: TransactionRequest[][] = pairs.map(() => []);
    for (let k = 0; k < attestations; k++) {
      const pair = pairs[k % pairCount];
      const mwh = mwhOf(k);
      const trade = {
        tradeId: `PT-${tag}-${String(k + 1).padStart(6, '0')}`,
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
        lots: [{ lotId: pair.lotId, volume: mwh }],
      };
      const rest = {
        checkDataHash: digest,
        meterEvidenceDigest: digest,
        checksPassed: ['parties', 'signature'],
        voucherId: `PV-${trade.tradeId}`,
      };
      const body = signed
        ? {
            tradingCenter: 'TradingCenterMSP',
            trade,
            signature: {
              keyId: key.keyId,
              alg: 'ecdsa-p256-sha256',
              value: sign('sha256', Buffer.from(canonicalize(trade)!, 'utf8'), key.privateKey).toString(
                'base64',
              ),
            },
            ...rest,
          }
        : { ...trade, tradeDataHash: digest, ...rest };
      planned[k % pairCount].push({
        // Before issue 15 the trading center's market system attested; since, the grid's platform.
        identity: signed ? GRID_PLATFORM : TRADING_CLIENT,
        transaction: 'trades:AttestTrade',
        args: [JSON.stringify(body)],
      });
    }
    const writes = Array.from({ length: writeCount + 50 }, (_, n): TransactionRequest => ({
      identity: GRID_ADMIN,
      transaction: 'identity:RegisterParticipant',
      args: [
        JSON.stringify({
          id: `PW-${tag}-${n}`,
          kind: 'CONSUMER',
          name: `Bench consumer ${n}`,
          region: '330000',
        }),
      ],
      transient: { creditCode: creditCode(800_000_000 + n) },
    }));
    // Warm-up: the JIT, the identity caches.
    for (const w of writes.splice(0, 50)) await port.submit(w);
    console.log(
      `setup: ${pairCount} pairs, month ${month}, ${signed ? 'signed trade data (P-256)' : 'flat trade requests (before issue 15)'}; ` +
        `ledger on ${threaded ? 'its own thread' : 'the main thread'}; load average ${loadavg()[0].toFixed(2)}`,
    );

    // Signs and verifications of this thread: every one of the ledger's when it runs here (not when threaded).
    const counter = signatureCounter();
    const phase = async (name: string, count: number, work: () => Promise<unknown>, file: string) => {
      const signatures0 = counter.snapshot();
      let seconds = 0;
      let threadMs = 0;
      let processMs = 0;
      const { profile } = await profiled(!threaded, async () => {
        const cpu0 = process.cpuUsage();
        const thread0 = threadSeconds(ledgerTid);
        const started = performance.now();
        await work();
        seconds = (performance.now() - started) / 1000;
        const cpu = process.cpuUsage(cpu0);
        threadMs = ((threadSeconds(ledgerTid) - thread0) * 1000) / count;
        processMs = (cpu.user + cpu.system) / 1000 / count;
      });
      console.log(
        `\n${name}: ${count} tx, ${(count / seconds).toFixed(1)} tx/s; CPU per tx: ledger's thread ` +
          `${threadMs.toFixed(2)} ms, process ${processMs.toFixed(2)} ms; load average ${loadavg()[0].toFixed(2)}`,
      );
      if (!threaded) {
        const signatures = counter.snapshot();
        console.log(
          `ECDSA per tx (ledger and its clients): ${((signatures.sign - signatures0.sign) / count).toFixed(2)} signs, ` +
            `${((signatures.verify - signatures0.verify) / count).toFixed(2)} verifications`,
        );
      }
      if (profile) {
        if (profileFile) await writeFile(`${profileFile}-${file}.cpuprofile`, JSON.stringify(profile));
        console.log(topFunctions(profile, count, top));
      }
    };

    await phase(
      `trades:AttestTrade, ${pairCount} in flight (one per pair)`,
      attestations,
      () =>
        Promise.all(
          planned.map(async (list) => {
            for (const r of list) await port.submit(r);
          }),
        ),
      'attest',
    );
    let nextWrite = 0;
    await phase(
      `identity:RegisterParticipant, ${pairCount} in flight`,
      writes.length,
      () =>
        Promise.all(
          Array.from({ length: pairCount }, async () => {
            while (nextWrite < writes.length) await port.submit(writes[nextWrite++]);
          }),
        ),
      'writes',
    );
  } finally {
    await ledger?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof BenchError ? `bench: ${err.message}` : err);
  process.exit(1);
});
