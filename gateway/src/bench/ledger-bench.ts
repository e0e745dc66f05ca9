/**
 * Embedded ledger benchmark: committed simple writes per second and latency, through the whole path
 * (signed proposal → two endorsing peers running the real gec chaincode → orderer → validation → fsync'd
 * block store and state). Run with `npm run bench`; it prints the figures and writes them into the README's
 * benchmark table between the `bench:ledger` markers.
 *
 *   BENCH_TX (default 3000)        transactions per run
 *   BENCH_CONCURRENCY (default 50,200) comma-separated numbers of transactions in flight
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLedger } from '../ledger/embedded/embedded-ledger';
import type { TransactionRequest } from '../ledger/port';
import { machineNote, writeBenchmarkRows } from './readme-table';
import { percentile } from './stats';

interface RunResult {
  label: string;
  concurrency: number;
  transactions: number;
  seconds: number;
  tps: number;
  p50: number;
  p99: number;
  blocks: number;
  rssMb: number;
}

/** A valid 统一社会信用代码-shaped value; the bench needs unique participants, not real enterprises. */
function creditCode(n: number): string {
  return `91330000${String(n).padStart(9, '0')}X`;
}

async function run(label: string, concurrency: number, total: number, sync: boolean): Promise<RunResult> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gec-bench-'));
  const ledger = await EmbeddedLedger.open({ dataDir, sync });
  try {
    const request = (n: number): TransactionRequest => ({
      identity: { mspId: 'GridMSP', name: 'admin' },
      transaction: 'identity:RegisterParticipant',
      args: [
        JSON.stringify({ id: `BENCH-${n}`, kind: 'CONSUMER', name: `Bench consumer ${n}`, region: '330000' }),
      ],
      transient: { creditCode: creditCode(n) },
    });
    // Warm up the JIT and the identity caches.
    for (let i = 0; i < 50; i++) await ledger.submit(request(1_000_000 + i));
    const startHeight = (await ledger.getChainInfo()).height;

    const latencies: number[] = [];
    let next = 0;
    const started = process.hrtime.bigint();
    const worker = async () => {
      while (next < total) {
        const n = next++;
        const t0 = process.hrtime.bigint();
        await ledger.submit(request(n));
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    latencies.sort((a, b) => a - b);
    const blocks = (await ledger.getChainInfo()).height - startHeight;
    return {
      label,
      concurrency,
      transactions: total,
      seconds,
      tps: total / seconds,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      blocks,
      rssMb: process.memoryUsage().rss / 1024 / 1024,
    };
  } finally {
    await ledger.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const total = Number(process.env.BENCH_TX ?? 3000);
  const levels = (process.env.BENCH_CONCURRENCY ?? '50,200').split(',').map(Number);
  const results: RunResult[] = [];
  for (const concurrency of levels) {
    results.push(await run('identity:RegisterParticipant, fsync on', concurrency, total, true));
  }
  const machine = machineNote();
  const rows = results.map(
    (r) =>
      `| embedded ledger: committed simple writes (${r.label}), ${r.concurrency} in flight | ` +
      `${r.tps.toFixed(0)} tx/s | p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms | ` +
      `${r.transactions} tx in ${r.blocks} blocks, RSS ${r.rssMb.toFixed(0)} MB | ${machine} |`,
  );
  for (const r of results) {
    console.log(
      `${r.concurrency} in flight: ${r.tps.toFixed(0)} committed tx/s, p50 ${r.p50.toFixed(1)} ms, ` +
        `p99 ${r.p99.toFixed(1)} ms, ${r.blocks} blocks, RSS ${r.rssMb.toFixed(0)} MB`,
    );
  }
  await writeBenchmarkRows('ledger', rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
