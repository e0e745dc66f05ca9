/**
 * The ingestion benchmark's load generator and floor, in their own process (the gateway's CPU and memory are
 * not shared with them): builds the readings of one size, then
 *   1. the floor: one raw `COPY … FROM STDIN` of the same rows (meter, interval start, Wh) into `floorTable`,
 *      an empty table shaped like `meter_readings` (same columns, primary key, BRIN, monthly partitions) on the
 *      same PostgreSQL server;
 *   2. the first ingestion: the same rows as NDJSON bodies POSTed to `/v1/meter-readings`, signed;
 *   3. the replay: the same bodies again (every line must come back `unchanged`).
 * Bodies and COPY data are built before each clock starts, so neither measurement pays for making its input.
 * Around each phase it tells the parent (IPC `{ phase, at: 'start' | 'end' }`) and waits for its answer, so the
 * parent can read the gateway's and PostgreSQL's CPU time at the phase's edges.
 *
 *   node gateway/dist/bench/ingest-load.js JOB.json RESULT.json
 *
 * JOB: { url, apiKey, signing, databaseUrl, floorTable, meterPrefix, months: [startMs], monthEndMs, total,
 *        perRequest, concurrency }
 * RESULT: { copySeconds, first: { seconds, readings }, replay: { seconds, readings }, requests, meters }
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { hmacSignatureHeaders } from '../auth/request-signing';
import { copyTextRow } from '../database/copy-text';

export interface IngestLoadJob {
  url: string;
  apiKey: string;
  signing: { keyId: string; secret: string } | null;
  databaseUrl: string;
  floorTable: string;
  meterPrefix: string;
  /** First instant (UTC ms) of each month the readings fill, in order; readings run up to monthEndMs. */
  months: number[];
  monthEndMs: number;
  total: number;
  perRequest: number;
  concurrency: number;
}

export interface IngestLoadResult {
  copySeconds: number;
  first: { seconds: number; readings: number };
  replay: { seconds: number; readings: number };
  requests: number;
  meters: number;
}

const SHANGHAI_MS = 8 * 3600_000;
const STEP_MS = 15 * 60_000;

/** The n-th reading of the run: meter after meter, each through every interval of the months. */
function reading(
  job: IngestLoadJob,
  perMeter: number,
  n: number,
): { meterId: string; ms: number; wh: number } {
  return {
    meterId: `${job.meterPrefix}${Math.floor(n / perMeter)}`,
    ms: job.months[0] + (n % perMeter) * STEP_MS,
    wh: (n * 7919) % 2_000_000,
  };
}

function ndjsonLine(r: { meterId: string; ms: number; wh: number }): string {
  const local = `${new Date(r.ms + SHANGHAI_MS).toISOString().slice(0, 19)}+08:00`;
  const kwh = `${Math.floor(r.wh / 1000)}.${String(r.wh % 1000).padStart(3, '0')}`;
  return `{"meterId":"${r.meterId}","intervalStart":"${local}","kwh":"${kwh}"}\n`;
}

/** POST one body over a kept-alive connection; the answer's JSON. */
function post(
  agentUrl: URL,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: agentUrl.hostname,
        port: agentUrl.port,
        method: 'POST',
        path,
        headers: { ...headers, 'content-length': String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> });
          } catch {
            resolve({ status: res.statusCode ?? 0, json: { text: text.slice(0, 500) } });
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Tell the parent a phase starts or ends; resolves once it has answered (it measures meanwhile). */
function mark(phase: string, at: 'start' | 'end'): Promise<void> {
  if (!process.send) return Promise.resolve();
  return new Promise((resolve) => {
    process.once('message', () => resolve());
    process.send!({ phase, at });
  });
}

async function copyFloor(job: IngestLoadJob, perMeter: number): Promise<number> {
  // The COPY data, built first: the clock measures PostgreSQL taking the rows in, as it does for the gateway.
  const chunks: Buffer[] = [];
  let text = '';
  for (let n = 0; n < job.total; n++) {
    const r = reading(job, perMeter, n);
    text += copyTextRow([r.meterId, new Date(r.ms).toISOString(), r.wh]);
    if ((n + 1) % 2000 === 0) {
      chunks.push(Buffer.from(text, 'utf8'));
      text = '';
    }
  }
  if (text) chunks.push(Buffer.from(text, 'utf8'));
  const db = new Client({ connectionString: job.databaseUrl });
  await db.connect();
  try {
    await mark('copy', 'start');
    const started = performance.now();
    await pipeline(
      Readable.from(chunks),
      db.query(copyFrom(`COPY ${job.floorTable} (meter_id, interval_start, wh) FROM STDIN`)),
    );
    const seconds = (performance.now() - started) / 1000;
    await mark('copy', 'end');
    return seconds;
  } finally {
    await db.end();
  }
}

async function ingest(
  job: IngestLoadJob,
  bodies: Buffer[],
  field: 'accepted' | 'unchanged',
): Promise<{ seconds: number; readings: number }> {
  const url = new URL(job.url);
  const path = '/v1/meter-readings';
  let next = 0;
  let counted = 0;
  const phase = field === 'accepted' ? 'first' : 'replay';
  await mark(phase, 'start');
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const headers: Record<string, string> = {
        'x-api-key': job.apiKey,
        'content-type': 'application/x-ndjson',
        // Signed when sent, not when built: the signature's timestamp must be within the gateway's window.
        ...(job.signing ? hmacSignatureHeaders({ method: 'POST', target: path, body, ...job.signing }) : {}),
      };
      const res = await post(url, path, headers, body);
      if (res.status !== 200 || Number(res.json.rejected) !== 0) {
        throw new Error(`ingestion answered ${res.status}: ${JSON.stringify(res.json).slice(0, 500)}`);
      }
      counted += Number(res.json[field]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(job.concurrency, bodies.length) }, worker));
  const seconds = (performance.now() - started) / 1000;
  await mark(phase, 'end');
  return { seconds, readings: counted };
}

async function main(): Promise<void> {
  const [jobFile, resultFile] = process.argv.slice(2);
  if (!jobFile || !resultFile) throw new Error('usage: ingest-load.js JOB.json RESULT.json');
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as IngestLoadJob;
  const perMeter = (job.monthEndMs - job.months[0]) / STEP_MS;

  const copySeconds = await copyFloor(job, perMeter);
  const bodies: Buffer[] = [];
  for (let from = 0; from < job.total; from += job.perRequest) {
    let text = '';
    for (let n = from; n < Math.min(job.total, from + job.perRequest); n++) {
      text += ndjsonLine(reading(job, perMeter, n));
    }
    bodies.push(Buffer.from(text, 'utf8'));
  }
  const first = await ingest(job, bodies, 'accepted');
  const replay = await ingest(job, bodies, 'unchanged');
  const result: IngestLoadResult = {
    copySeconds,
    first,
    replay,
    requests: bodies.length,
    meters: Math.ceil(job.total / perMeter),
  };
  writeFileSync(resultFile, JSON.stringify(result));
  // The IPC channel would keep this process alive.
  process.disconnect?.();
}

main().catch((error: unknown) => {
  console.error(`ingest load failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
