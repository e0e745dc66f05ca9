/**
 * Meter-reading ingestion benchmark: readings per second through the whole HTTP path (NDJSON body streamed
 * into the gateway, parsed line by line, staged in batches with INSERT … SELECT FROM unnest, classified and
 * merged into the monthly-partitioned `meter_readings` with the monthly totals, in one transaction per
 * request). Starts its own gateway (embedded ledger; embedded PostgreSQL unless DATABASE_URL is set) in a
 * temporary folder and removes it afterwards. Run after `npm run build`:
 *
 *   node gateway/dist/bench/ingest-bench.js
 *
 *   BENCH_READINGS (default 200000)      readings in total (15-minute intervals, ~2,976 per meter and month)
 *   BENCH_REQUEST_LINES (default 50000)  lines per request
 *   BENCH_CONCURRENCY (default 1)        requests in flight
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { createApp } from '../app';
import { hmacSignatureHeaders } from '../auth/request-signing';
import { machineNote, writeBenchmarkRows } from './readme-table';
import { firstAdminKeyFile, loadConfig } from '../config/config';

const SHANGHAI_MS = 8 * 3600_000;
const STEP_MS = 15 * 60_000;
const CREDIT_CODE_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CREDIT_CODE_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

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

/** Request-signing secrets of the keys the bench created (API key → keyId, secret). */
const signers = new Map<string, { keyId: string; secret: string }>();

async function call(
  base: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  type = 'application/json',
): Promise<{ status: number; json: Record<string, unknown> }> {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const signer = signers.get(key);
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      'X-API-Key': key,
      'Content-Type': type,
      ...(signer && method !== 'GET'
        ? hmacSignatureHeaders({ method, target: path, body: text, ...signer })
        : {}),
    },
    body: text,
  });
  const json = (await res.json()) as Record<string, unknown>;
  return { status: res.status, json };
}

async function main(): Promise<void> {
  const total = Number(process.env.BENCH_READINGS ?? 200_000);
  const perRequest = Number(process.env.BENCH_REQUEST_LINES ?? 50_000);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 1);
  const dataDir = await mkdtemp(join(tmpdir(), 'gec-ingest-bench-'));
  // The embedded PostgreSQL runs as the `postgres` user when started as root: it must traverse the folder.
  await chmod(dataDir, 0o755);
  let app: INestApplication | undefined;
  try {
    const config = loadConfig({
      ...process.env,
      GEC_DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      EMBEDDED_PG_PORT: String(await freePort()),
      // The bench measures ingestion, not the per-key rate limit.
      RATE_LIMIT_PER_MINUTE: process.env.RATE_LIMIT_PER_MINUTE ?? '0',
    });
    app = await createApp(config);
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    const base = `http://127.0.0.1:${address.port}`;
    const adminKey = (await readFile(firstAdminKeyFile(config), 'utf8'))
      .split('\n')
      .find((line) => line.startsWith('gec_'))!
      .trim();
    const platform = await call(base, adminKey, 'POST', '/v1/api-keys', {
      label: 'bench',
      role: 'energy-platform',
      actsFor: 'GRID',
    });
    const key = String(platform.json.key);
    const signing = platform.json.signing as { keyId: string; secret: string } | null;
    if (signing) signers.set(key, { keyId: signing.keyId, secret: signing.secret });
    const owner = `BENCH-CON-${randomBytes(3).toString('hex')}`;
    const registered = await call(base, adminKey, 'POST', '/v1/participants', {
      id: owner,
      kind: 'CONSUMER',
      name: 'Bench factory',
      region: '330000',
      creditCode: creditCode(7),
    });
    if (registered.status !== 201) throw new Error(`participant: ${JSON.stringify(registered.json)}`);

    // Readings of the two previous months, meter after meter.
    const months = [monthStart(2), monthStart(1)];
    const perMeter = (months[1] - months[0]) / STEP_MS + (monthStart(0) - months[1]) / STEP_MS;
    const meters = Math.ceil(total / perMeter);
    for (let m = 0; m < meters; m++) {
      // An admin key: a consumption meter is registered on the ledger too.
      const res = await call(base, adminKey, 'POST', '/v1/meters', {
        meterId: `BENCH-M-${m}`,
        kind: 'CONSUMPTION',
        owner,
      });
      if (res.status !== 201) throw new Error(`meter: ${JSON.stringify(res.json)}`);
    }
    const line = (n: number): string => {
      const meter = Math.floor(n / perMeter);
      const ms = months[0] + (n % perMeter) * STEP_MS;
      const wh = (n * 7919) % 2_000_000;
      return `{"meterId":"BENCH-M-${meter}","intervalStart":"${new Date(ms + SHANGHAI_MS).toISOString().slice(0, 19)}+08:00","kwh":"${Math.floor(wh / 1000)}.${String(wh % 1000).padStart(3, '0')}"}\n`;
    };
    const bodies: string[] = [];
    for (let from = 0; from < total; from += perRequest) {
      const lines: string[] = [];
      for (let n = from; n < Math.min(total, from + perRequest); n++) lines.push(line(n));
      bodies.push(lines.join(''));
    }

    const rows: string[] = [];
    const run = async (label: string, field: 'accepted' | 'unchanged'): Promise<void> => {
      let next = 0;
      let counted = 0;
      const started = process.hrtime.bigint();
      const worker = async (): Promise<void> => {
        while (next < bodies.length) {
          const body = bodies[next++];
          const res = await call(base, key, 'POST', '/v1/meter-readings', body, 'application/x-ndjson');
          if (res.status !== 200 || Number(res.json.rejected) !== 0) {
            throw new Error(`ingestion: ${res.status} ${JSON.stringify(res.json).slice(0, 500)}`);
          }
          counted += Number(res.json[field]);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      console.log(
        `${label}: ${counted} readings ${field} in ${seconds.toFixed(2)} s = ` +
          `${Math.round(counted / seconds)} readings/s (${bodies.length} requests of ≤ ${perRequest} lines, ` +
          `concurrency ${concurrency}, ${meters} meters)`,
      );
      rows.push(
        `| meter readings ingested over HTTP (${label}, NDJSON, ${field}) | ${Math.round(counted / seconds)} readings/s | — | ` +
          `${counted} readings in ${bodies.length} requests of ≤ ${perRequest} lines, ${meters} meters, embedded PostgreSQL | ` +
          `${machineNote()} |`,
      );
    };
    await run('first ingestion', 'accepted');
    await run('replay (idempotent)', 'unchanged');
    await writeBenchmarkRows('ingest', rows);
  } finally {
    await app?.close();
    await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
