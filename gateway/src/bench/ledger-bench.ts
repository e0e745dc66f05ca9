/**
 * Ledger benchmark: committed transactions per second through the ledger port, measured against the floor
 * the same run measures on this machine. Two workloads:
 *
 *   simple writes   identity:RegisterParticipant, a blind insert (signed proposal → two endorsing peers running
 *                   the real gec chaincode → orderer → validation → fsync'd block store and state);
 *   splits          certificates:Split, a read-modify-write of a lot (each lane splits its own lot, one
 *                   certificate at a time, so lanes never conflict and every split reads the last one's write).
 *
 * The floor (embedded ledger): the ECDSA P-256 operations a transaction needs (signs and verifications, counted
 * in the run, not assumed) × their CPU cost measured here; the floor is the rate the CPU the run had would commit
 * if signatures were all it did, so achieved ÷ floor = signature CPU ÷ CPU per transaction (all threads of the
 * process). That ratio is stable when the machine is busy; absolute figures are not. The rate with every core
 * spent on signatures is printed beside it. Against a real network (`LEDGER=fabric-gateway`, the
 * FABRIC_* settings the gateway reads) the work happens in other processes, so only rates and latency are given.
 *
 *   npm run bench -- [--json FILE]
 *   BENCH_TX (3000)  BENCH_CONCURRENCY (200)  BENCH_SPLIT_LANES (100)  BENCH_SPLITS (20 per lane)
 *   BENCH_README (on; off leaves the README alone)  BENCH_PROFILE=FILE (V8 CPU profile of the simple writes)
 */
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { EmbeddedLedger } from '../ledger/embedded/embedded-ledger';
import { createLedger, ledgerConfigFromEnv, validateLedgerConfig } from '../ledger/factory';
import type { IdentityRef, LedgerPort, TransactionRequest } from '../ledger/port';
import { GRID_ADMIN, issueLot, productionMonth } from './bench-ledger';
import { creditCode, signatureCounter } from './bench-process';
import { benchJson, type BenchResult, BenchError, jsonFileArgument, setting } from './bench-json';
import { machineNote, writeBenchmarkRows } from './readme-table';
import { percentile } from './stats';

const TRADING: IdentityRef = { mspId: 'TradingCenterMSP', name: 'trading' };

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** CPU cost of one P-256 sign and one verify on this machine, now (ms, one thread). */
function signatureCosts(): { signMs: number; verifyMs: number } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // About the size of a proposal or proposal response: the hash is a small part either way.
  const message = randomBytes(1500);
  const rounds = 3000;
  const signature = sign('sha256', message, privateKey);
  const timed = (work: () => void) => {
    for (let i = 0; i < 200; i++) work(); // warm-up
    const before = process.cpuUsage();
    for (let i = 0; i < rounds; i++) work();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000 / rounds;
  };
  return {
    signMs: timed(() => sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
    verifyMs: timed(() => verify('sha256', message, publicKey, signature)),
  };
}

interface Phase {
  name: string;
  transactions: number;
  concurrency: number;
  perS: number;
  p50: number;
  p99: number;
  cpuMsPerTx: number;
  signsPerTx: number;
  verifiesPerTx: number;
  rssMb: number;
}

/** Runs `lanes` concurrent loops until `total` transactions have committed; each lane awaits its own commits. */
async function measure(
  name: string,
  total: number,
  lanes: number,
  next: (lane: number, n: number) => Promise<unknown>,
  counter: ReturnType<typeof signatureCounter>,
): Promise<Phase> {
  const latencies: number[] = [];
  let issued = 0;
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  const signaturesBefore = counter.snapshot();
  const cpuBefore = process.cpuUsage();
  const started = nowMs();
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      while (issued < total) {
        const n = issued++;
        const t0 = nowMs();
        await next(lane, n);
        latencies.push(nowMs() - t0);
      }
    }),
  );
  const seconds = (nowMs() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const signatures = counter.snapshot();
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  latencies.sort((a, b) => a - b);
  const phase: Phase = {
    name,
    transactions: total,
    concurrency: lanes,
    perS: total / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    cpuMsPerTx: (cpu.user + cpu.system) / 1000 / total,
    signsPerTx: (signatures.sign - signaturesBefore.sign) / total,
    verifiesPerTx: (signatures.verify - signaturesBefore.verify) / total,
    rssMb: peakRss / 1024 / 1024,
  };
  console.log(
    `${name}: ${total} tx, ${lanes} in flight: ${phase.perS.toFixed(1)} committed tx/s, p50 ` +
      `${phase.p50.toFixed(1)} ms, p99 ${phase.p99.toFixed(1)} ms, CPU ${phase.cpuMsPerTx.toFixed(2)} ms/tx, ` +
      `${phase.signsPerTx.toFixed(2)} signs + ${phase.verifiesPerTx.toFixed(2)} verifications per tx (this ` +
      `process), peak RSS ${phase.rssMb.toFixed(0)} MB`,
  );
  return phase;
}

async function startProfile(file: string | undefined): Promise<() => Promise<void>> {
  if (!file) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`CPU profile of the simple writes written to ${file}`);
  };
}

/** One lot per lane, each big enough for its splits: a generator, then per lane a unit, its meter's month, an issuance. */
async function lotsToSplit(
  ledger: LedgerPort,
  tag: string,
  lanes: number,
  splits: number,
): Promise<string[]> {
  const owner = `GEN-${tag}`;
  const month = productionMonth();
  const submit = (
    identity: IdentityRef,
    transaction: string,
    body: unknown,
    transient?: Record<string, string>,
  ) => ledger.submit({ identity, transaction, args: [JSON.stringify(body)], transient });
  await submit(
    GRID_ADMIN,
    'identity:RegisterParticipant',
    { id: owner, kind: 'GENERATOR', name: `Bench wind farm ${tag}`, region: '150000' },
    { creditCode: creditCode(Number.parseInt(tag.slice(-7), 16)) },
  );
  return Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      const unit = {
        unitId: `UNIT-${tag}-${lane}`,
        meterId: `M-${tag}-${lane}`,
        projectCode: `PJ${tag}${String(lane).padStart(7, '0')}`,
        name: `Bench unit ${lane}`,
        owner,
      };
      return issueLot(ledger, unit, month, splits + 2);
    }),
  );
}

async function main(): Promise<void> {
  const jsonFile = jsonFileArgument();
  const total = setting('BENCH_TX', 3000, 100, 1_000_000);
  const concurrency = setting('BENCH_CONCURRENCY', 200, 1, 5000);
  const lanes = setting('BENCH_SPLIT_LANES', 100, 1, 2000);
  const splits = setting('BENCH_SPLITS', 20, 1, 10_000);
  const kind = process.env.LEDGER?.trim() || 'embedded';
  // Ids unique to this run: against a real channel the bench runs again on the same ledger.
  const tag = randomBytes(4).toString('hex').toUpperCase();

  let ledger: LedgerPort;
  let dataDir: string | undefined;
  if (kind === 'embedded') {
    dataDir = await mkdtemp(join(tmpdir(), 'gec-bench-'));
    ledger = await EmbeddedLedger.open({ dataDir, sync: true });
  } else {
    const config = ledgerConfigFromEnv(process.env, {});
    const problems = validateLedgerConfig(config);
    if (problems.length > 0) throw new BenchError(`ledger settings:\n  - ${problems.join('\n  - ')}`);
    ledger = await createLedger(config);
  }
  console.log(`ledger: ${kind}; ${machineNote()}`);

  const counter = signatureCounter();
  try {
    const write = (n: number): TransactionRequest => ({
      identity: GRID_ADMIN,
      transaction: 'identity:RegisterParticipant',
      args: [
        JSON.stringify({
          id: `BENCH-${tag}-${n}`,
          kind: 'CONSUMER',
          name: `Bench consumer ${n}`,
          region: '330000',
        }),
      ],
      transient: { creditCode: creditCode(n) },
    });
    // Warm up the JIT and the identity caches.
    for (let i = 0; i < 50; i++) await ledger.submit(write(10_000_000 + i));

    const stopProfile = await startProfile(process.env.BENCH_PROFILE);
    const simple = await measure(
      'simple writes (identity:RegisterParticipant)',
      total,
      concurrency,
      (_, n) => ledger.submit(write(n)),
      counter,
    );
    await stopProfile();

    const lots = await lotsToSplit(ledger, tag, lanes, splits);
    const split = await measure(
      'certificate splits (certificates:Split, read-modify-write)',
      lanes * splits,
      lanes,
      (lane) =>
        ledger.submit({
          identity: TRADING,
          transaction: 'certificates:Split',
          args: [JSON.stringify({ lotId: lots[lane], owner: `GEN-${tag}`, volume: 1 })],
        }),
      counter,
    );

    const results: BenchResult[] = [
      { name: 'simple_write_tx_per_s', value: simple.perS, unit: 'tx/s' },
      { name: 'simple_write_p50_ms', value: simple.p50, unit: 'ms' },
      { name: 'simple_write_p99_ms', value: simple.p99, unit: 'ms' },
      { name: 'split_tx_per_s', value: split.perS, unit: 'tx/s' },
      { name: 'split_p50_ms', value: split.p50, unit: 'ms' },
      { name: 'peak_rss_mb', value: Math.max(simple.rssMb, split.rssMb), unit: 'MB' },
    ];
    const machine = machineNote();
    const rows = [simple, split].map(
      (p) =>
        `| ${kind} ledger: ${p.name}, ${p.concurrency} in flight | ${p.perS.toFixed(0)} tx/s | p50 ` +
        `${p.p50.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms |`,
    );
    if (kind === 'embedded') {
      const cores = availableParallelism();
      const { signMs, verifyMs } = signatureCosts();
      const floorOf = (p: Phase) => {
        const signatureMs = p.signsPerTx * signMs + p.verifiesPerTx * verifyMs;
        // The CPU this process had during the phase (ms per second), spent on nothing but signatures. On a
        // busy machine the process gets less CPU and the rate falls with it: the ratio stays.
        const cpuPerS = p.cpuMsPerTx * p.perS;
        return {
          signatureMs,
          floor: cpuPerS / signatureMs,
          ratio: p.perS / (cpuPerS / signatureMs),
          allCores: (cores * 1000) / signatureMs,
        };
      };
      const s = floorOf(simple);
      const t = floorOf(split);
      console.log(
        `floor: P-256 sign ${(signMs * 1000).toFixed(0)} µs, verify ${(verifyMs * 1000).toFixed(0)} µs on this ` +
          `machine; a simple write needs ${simple.signsPerTx.toFixed(2)} + ${simple.verifiesPerTx.toFixed(2)} of ` +
          `them = ${s.signatureMs.toFixed(3)} ms; the CPU the run had, spent on signatures alone, commits ` +
          `${s.floor.toFixed(0)} tx/s (all ${cores} cores: ${s.allCores.toFixed(0)} tx/s)`,
      );
      console.log(
        `simple writes ${simple.perS.toFixed(0)} tx/s ÷ floor ${s.floor.toFixed(0)} = ${s.ratio.toFixed(2)} ` +
          `(CPU ${simple.cpuMsPerTx.toFixed(2)} ms/tx = ${(1 / s.ratio).toFixed(2)} × its signatures; ÷ all cores ` +
          `${(simple.perS / s.allCores).toFixed(2)}); splits ${split.perS.toFixed(0)} tx/s ÷ floor ` +
          `${t.floor.toFixed(0)} = ${t.ratio.toFixed(2)} (CPU ${split.cpuMsPerTx.toFixed(2)} ms/tx)`,
      );
      results.push(
        { name: 'signature_floor_tx_per_s', value: s.floor, unit: 'tx/s' },
        { name: 'signature_floor_all_cores_tx_per_s', value: s.allCores, unit: 'tx/s' },
        { name: 'simple_write_floor_ratio', value: s.ratio, unit: 'ratio' },
        { name: 'simple_write_all_cores_ratio', value: simple.perS / s.allCores, unit: 'ratio' },
        { name: 'split_floor_ratio', value: t.ratio, unit: 'ratio' },
        { name: 'cpu_ms_per_tx', value: simple.cpuMsPerTx, unit: 'ms' },
        { name: 'split_cpu_ms_per_tx', value: split.cpuMsPerTx, unit: 'ms' },
        { name: 'signature_ms_per_tx', value: s.signatureMs, unit: 'ms' },
      );
      rows[0] +=
        ` ÷ signature floor ${s.floor.toFixed(0)} tx/s = ${s.ratio.toFixed(2)}: CPU ${simple.cpuMsPerTx.toFixed(2)} ` +
        `ms/tx, ${(1 / s.ratio).toFixed(2)} × its ${(simple.signsPerTx + simple.verifiesPerTx).toFixed(0)} ` +
        `signatures (${s.signatureMs.toFixed(2)} ms) |`;
      rows[1] += ` ÷ signature floor ${t.floor.toFixed(0)} tx/s = ${t.ratio.toFixed(2)}: CPU ${split.cpuMsPerTx.toFixed(2)} ms/tx |`;
    } else {
      rows[0] += ` Raft orderer, three peers, two-org endorsement (\`network/\`) |`;
      rows[1] += ` the same network |`;
    }
    for (let i = 0; i < rows.length; i++) rows[i] += ` ${machine} |`;
    if (jsonFile) await benchJson(jsonFile, kind, results);
    const marker = kind === 'embedded' ? 'ledger' : `ledger-${kind}`;
    if (process.env.BENCH_README === 'off')
      console.log(`README left alone (BENCH_README=off):\n${rows.join('\n')}`);
    else await writeBenchmarkRows(marker, rows);
  } finally {
    counter.restore();
    await ledger.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof BenchError ? `bench: ${err.message}` : err);
  process.exit(1);
});
