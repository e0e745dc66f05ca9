/**
 * The audit benchmark's client, in its own process (the gateway's CPU is not shared with the timing loop): GETs
 * each path one after another over a keep-alive connection, after a warm-up, and records each answer's latency.
 *
 *   node gateway/dist/bench/audit-load.js JOB.json RESULT.json
 *
 * JOB: { url, apiKey, paths: [{ name, path, apiKey? }], requests, warmup }
 * RESULT: { [name]: { latenciesMs: number[], status: { [code]: count } } }
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface AuditLoadJob {
  url: string;
  apiKey: string;
  paths: Array<{ name: string; path: string; apiKey?: string }>;
  requests: number;
  warmup: number;
}

export type AuditLoadResult = Record<string, { latenciesMs: number[]; status: Record<string, number> }>;

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function get(url: string, apiKey: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent, headers: { 'X-API-Key': apiKey } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
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
  for (const { name, path, apiKey = job.apiKey } of job.paths) {
    const url = `${job.url}${path}`;
    for (let i = 0; i < job.warmup; i++) await get(url, apiKey);
    const latenciesMs: number[] = [];
    const status: Record<string, number> = {};
    for (let i = 0; i < job.requests; i++) {
      const started = performance.now();
      const code = await get(url, apiKey);
      latenciesMs.push(performance.now() - started);
      status[code] = (status[code] ?? 0) + 1;
    }
    result[name] = { latenciesMs, status };
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
