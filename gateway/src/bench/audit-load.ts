/**
 * The audit benchmark's client, in its own process (the gateway's CPU is not shared with the timing loop): GETs
 * each path one after another over a keep-alive connection, after a warm-up, and records each answer's latency.
 *
 *   node gateway/dist/bench/audit-load.js JOB.json RESULT.json
 *
 * JOB: { url, apiKey, paths: [{ name, path, apiKey?, requests?, warmup? }], requests, warmup }
 * RESULT: { [name]: { latenciesMs: number[], status: { [code]: count }, bytes } } (bytes: of the last answer)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface AuditLoadJob {
  url: string;
  apiKey: string;
  /** Each path's own `requests` and `warmup` override the job's. */
  paths: Array<{ name: string; path: string; apiKey?: string; requests?: number; warmup?: number }>;
  requests: number;
  warmup: number;
}

export type AuditLoadResult = Record<
  string,
  { latenciesMs: number[]; status: Record<string, number>; bytes: number }
>;

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** GET `url` and read the whole answer (discarding it): its status and length. */
function get(url: string, apiKey: string): Promise<{ code: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent, headers: { 'X-API-Key': apiKey } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const [jobFile, resultFile] = process.argv.slice(2);
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as AuditLoadJob;
  const result: AuditLoadResult = {};
  for (const { name, path, apiKey = job.apiKey, requests = job.requests, warmup = job.warmup } of job.paths) {
    const url = `${job.url}${path}`;
    for (let i = 0; i < warmup; i++) await get(url, apiKey);
    const latenciesMs: number[] = [];
    const status: Record<string, number> = {};
    let bytes = 0;
    for (let i = 0; i < requests; i++) {
      const started = performance.now();
      const answer = await get(url, apiKey);
      latenciesMs.push(performance.now() - started);
      status[answer.code] = (status[answer.code] ?? 0) + 1;
      bytes = answer.bytes;
    }
    result[name] = { latenciesMs, status, bytes };
  }
  writeFileSync(resultFile, JSON.stringify(result));
  agent.destroy();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`audit load failed: ${err instanceof Error ? err.stack : err}`);
    process.exit(1);
  },
);
