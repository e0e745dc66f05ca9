/**
 * Meter-reading ingestion benchmark: readings per second through the whole HTTP path (NDJSON body streamed into
 * the gateway and parsed line by line; a first delivery copied into the monthly-partitioned `meter_readings`
 * while it streams, a replay compared with the stored readings, with the monthly totals and the period locks, one
 * transaction per request; see ReadingsIngestionService), against its floor measured in the same run: a raw `COPY` of the same rows into an equivalent table (same columns, primary key, BRIN and monthly
 * partitions) on the same PostgreSQL server. Prints achieved ÷ floor for the first ingestion and for the
 * idempotent replay of the same bodies, and the gateway's peak RSS.
 *
 * The gateway runs in this process (its RSS is the one sampled); the load generator and the floor's COPY run in
 * a separate process (`ingest-load.js`), so building and sending bodies takes nothing from the gateway. Each
 * size uses meters of its own (meter after meter through the two previous Asia/Shanghai months), so each first
 * ingestion stores new readings.
 *
 *   npm run bench:ingest -- [--json FILE]
 *   BENCH_SIZES (200k,1m)            readings per run, each a result suffix (`_200k`, `_1m`); plain numbers too
 *   BENCH_REQUEST_LINES (50000)      lines per request
 *   BENCH_CONCURRENCY (1)            requests in flight
 *   BENCH_README (on; off leaves the README alone)
 *   PORT, EMBEDDED_PG_PORT, DATABASE_URL, …: the gateway's own settings (free ports when unset).
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { createApp } from '../app';
import { hmacSignatureHeaders } from '../auth/request-signing';
import { firstAdminKeyFile, loadConfig } from '../config/config';
import { DATABASE_URL } from '../database/database.module';
import { creditCode, freePort, postgresCpuSeconds, gatewayCpuSeconds } from './bench-process';
import { benchJson, BenchResult, BenchError, jsonFileArgument, setting, runBench } from './bench-json';
import type { IngestLoadJob, IngestLoadResult } from './ingest-load';
import { machineNote, writeBenchmarkRows } from './readme-table';

const SHANGHAI_MS = 8 * 3600_000;
const FLOOR_TABLE = 'bench_ingest_copy_floor';
/** How often the gateway's RSS is sampled while a size runs. */
const RSS_SAMPLE_MS = 50;

/** `200k` → 200000 (suffix `200k`), `1m` → 1000000 (`1m`), `30000` → 30000 (`30000`). */
function sizes(raw: string): Array<{ readings: number; suffix: string }> {
  return raw
    .split(',')
    .map((part) => part.trim().toLowerCase())
    .filter((part) => part !== '')
    .map((part) => {
      const match = /^(\d+)([km]?)$/.exec(part);
      const readings = match ? Number(match[1]) * (match[2] === 'k' ? 1e3 : match[2] === 'm' ? 1e6 : 1) : NaN;
      if (!match || !Number.isSafeInteger(readings) || readings < 1 || readings > 5_000_000) {
        throw new BenchError(`BENCH_SIZES: ${part} is not a number of readings such as 200k or 1m`);
      }
      return { readings, suffix: part };
    });
}

/** The first instant (UTC ms) of the Asia/Shanghai month `back` months before the current one. */
function monthStart(back: number): number {
  const now = new Date(Date.now() + SHANGHAI_MS);
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1) - SHANGHAI_MS;
}

class Api {
  private readonly signers = new Map<string, { keyId: string; secret: string }>();

  constructor(private readonly base: string) {}

  /** A call that must answer `status`; anything else stops the bench with what the gateway said. */
  async expect(
    status: number,
    what: string,
    key: string,
    path: string,
    body: unknown,
  ): Promise<Record<string, unknown>> {
    const text = JSON.stringify(body);
    const signer = this.signers.get(key);
    const res = await fetch(`${this.base}${path}`, {
      method: 'POST',
      headers: {
        'X-API-Key': key,
        'Content-Type': 'application/json',
        ...(signer ? hmacSignatureHeaders({ method: 'POST', target: path, body: text, ...signer }) : {}),
      },
      body: text,
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status !== status) {
      throw new BenchError(`setup failed at ${what}: ${res.status} ${JSON.stringify(json).slice(0, 800)}`);
    }
    const signing = json.signing as { keyId: string; secret: string } | null | undefined;
    if (path === '/v1/api-keys' && typeof json.key === 'string' && signing) {
      this.signers.set(json.key, signing);
    }
    return json;
  }
}

/** CPU seconds spent in a phase: by this (the gateway's) process and by PostgreSQL (null: not measurable). */
interface PhaseCpu {
  gateway: number;
  postgres: number | null;
}

/**
 * Run the load process on `job`: its result, the peak RSS of this (the gateway's) process meanwhile, and the CPU
 * of each phase (the load process marks their edges).
 */
async function runLoad(
  dataDir: string,
  name: string,
  job: IngestLoadJob,
  pgPidFile: string | undefined,
): Promise<{ result: IngestLoadResult; peakRssMb: number; cpu: Record<string, PhaseCpu> }> {
  const jobFile = join(dataDir, `ingest-load-${name}.json`);
  const resultFile = join(dataDir, `ingest-load-${name}-result.json`);
  await writeFile(jobFile, JSON.stringify(job));
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, RSS_SAMPLE_MS);
  const cpu: Record<string, PhaseCpu> = {};
  const started: Record<string, PhaseCpu> = {};
  try {
    const child = fork(join(__dirname, 'ingest-load.js'), [jobFile, resultFile], { stdio: 'inherit' });
    child.on('message', (message: { phase: string; at: 'start' | 'end' }) => {
      const now = { gateway: gatewayCpuSeconds(), postgres: postgresCpuSeconds(pgPidFile) };
      if (message.at === 'start') started[message.phase] = now;
      else {
        const from = started[message.phase];
        cpu[message.phase] = {
          gateway: now.gateway - from.gateway,
          postgres: now.postgres === null || from.postgres === null ? null : now.postgres - from.postgres,
        };
      }
      child.send('go');
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve(exitCode));
    });
    if (code !== 0) throw new BenchError(`the load process (${name}) exited with ${code}`);
  } finally {
    clearInterval(sampler);
  }
  const result = JSON.parse(await readFile(resultFile, 'utf8')) as IngestLoadResult;
  return { result, peakRssMb: peak / 2 ** 20, cpu };
}

async function main(): Promise<void> {
  const jsonFile = jsonFileArgument();
  const runs = sizes(process.env.BENCH_SIZES ?? '200k,1m');
  const perRequest = setting('BENCH_REQUEST_LINES', 50_000, 1, 5_000_000);
  const concurrency = setting('BENCH_CONCURRENCY', 1, 1, 64);
  const ledgerKind = process.env.LEDGER ?? 'embedded';

  const dataDir = await mkdtemp(join(tmpdir(), 'gec-ingest-bench-'));
  // The embedded PostgreSQL runs as the `postgres` user when started as root: it must traverse the folder.
  await chmod(dataDir, 0o755);
  let app: INestApplication | undefined;
  let db: Client | undefined;
  try {
    const config = loadConfig({
      ...process.env,
      GEC_DATA_DIR: dataDir,
      PORT: process.env.PORT ?? '0',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      EMBEDDED_PG_PORT: process.env.EMBEDDED_PG_PORT ?? String(await freePort()),
      // The bench measures ingestion, not the per-key rate limit.
      RATE_LIMIT_PER_MINUTE: process.env.RATE_LIMIT_PER_MINUTE ?? '0',
    });
    app = await createApp(config);
    await app.listen(config.port, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    const url = `http://127.0.0.1:${address.port}`;
    const api = new Api(url);
    const databaseUrl = app.get<string>(DATABASE_URL, { strict: false });
    db = new Client({ connectionString: databaseUrl });
    await db.connect();
    const embedded = !config.databaseUrl;
    const pgPidFile = embedded ? join(dataDir, 'postgres', 'postmaster.pid') : undefined;

    const adminKey = (await readFile(firstAdminKeyFile(config), 'utf8'))
      .split('\n')
      .find((line) => line.startsWith('gec_'))
      ?.trim();
    if (!adminKey) throw new BenchError(`no admin key in ${firstAdminKeyFile(config)}`);
    const platform = await api.expect(201, 'API key', adminKey, '/v1/api-keys', {
      label: 'bench',
      role: 'energy-platform',
      actsFor: 'GRID',
    });
    const runTag = randomBytes(3).toString('hex').toUpperCase();
    const owner = `BENCH-CON-${runTag}`;
    await api.expect(201, 'participant', adminKey, '/v1/participants', {
      id: owner,
      kind: 'CONSUMER',
      name: 'Bench factory',
      region: '330000',
      creditCode: creditCode(7),
    });

    // Readings of the two previous months, meter after meter.
    const months = [monthStart(2), monthStart(1)];
    const monthEndMs = monthStart(0);
    const perMeter = (monthEndMs - months[0]) / (15 * 60_000);
    const results: BenchResult[] = [];
    const rows: string[] = [];
    const machine = `${machineNote()}, ${ledgerKind} ledger`;
    for (const run of runs) {
      const meterPrefix = `BENCH-${runTag}-${run.suffix.toUpperCase()}-M-`;
      const meters = Math.ceil(run.readings / perMeter);
      for (let m = 0; m < meters; m++) {
        // An admin key: a consumption meter is registered on the ledger too.
        await api.expect(201, 'meter', adminKey, '/v1/meters', {
          meterId: `${meterPrefix}${m}`,
          kind: 'CONSUMPTION',
          owner,
        });
      }
      // The floor's table: shaped like meter_readings (columns, defaults, primary key, BRIN, monthly partitions
      // with the same bounds) and empty, as the readings' partitions are for these new meters. Not vacuumed: it
      // is dropped after its COPY, and autovacuum's work on it would be counted in the HTTP phases that follow.
      // (meter_readings is vacuumed as usual, and that work counts for ingestion: it is part of its cost.)
      await db.query(`DROP TABLE IF EXISTS ${FLOOR_TABLE}`);
      await db.query(
        `CREATE TABLE ${FLOOR_TABLE} (LIKE meter_readings INCLUDING ALL) PARTITION BY RANGE (interval_start)`,
      );
      const bounds = [...months, monthEndMs];
      for (let i = 0; i < months.length; i++) {
        await db.query(
          `CREATE TABLE ${FLOOR_TABLE}_${i} PARTITION OF ${FLOOR_TABLE}
           FOR VALUES FROM ('${new Date(bounds[i]).toISOString()}') TO ('${new Date(bounds[i + 1]).toISOString()}')
           WITH (autovacuum_enabled = false)`,
        );
      }
      const signing = platform.signing as { keyId: string; secret: string } | null;
      const { result, peakRssMb, cpu } = await runLoad(
        dataDir,
        run.suffix,
        {
          url,
          apiKey: String(platform.key),
          signing,
          databaseUrl,
          floorTable: FLOOR_TABLE,
          meterPrefix,
          months,
          monthEndMs,
          total: run.readings,
          perRequest,
          concurrency,
        },
        pgPidFile,
      );
      await db.query(`DROP TABLE ${FLOOR_TABLE}`);
      // CPU per reading (µs): the gateway's and PostgreSQL's for the HTTP phases, PostgreSQL's for the floor
      // (its client's work is only handing over prepared bytes). Unlike the rates, these hardly move when other
      // work shares the machine.
      const perReading = (phase: string): { gateway: number; postgres: number | null } => ({
        gateway: (cpu[phase].gateway * 1e6) / run.readings,
        postgres: cpu[phase].postgres === null ? null : (cpu[phase].postgres! * 1e6) / run.readings,
      });
      const cpuCopy = perReading('copy').postgres;
      const cpuFirst = perReading('first');
      const cpuReplay = perReading('replay');
      const cpuNote = (c: { gateway: number; postgres: number | null }): string =>
        `CPU per reading: gateway ${c.gateway.toFixed(1)} µs, PostgreSQL ${c.postgres === null ? 'n/a' : `${c.postgres.toFixed(1)} µs`}`;

      const copyPerS = run.readings / result.copySeconds;
      const firstPerS = result.first.readings / result.first.seconds;
      const replayPerS = result.replay.readings / result.replay.seconds;
      if (result.first.readings !== run.readings || result.replay.readings !== run.readings) {
        throw new BenchError(
          `${run.suffix}: ${result.first.readings} readings accepted and ${result.replay.readings} unchanged ` +
            `of ${run.readings}`,
        );
      }
      const shape =
        `${run.readings} readings, ${result.requests} requests of ≤ ${perRequest} lines, ${result.meters} meters, ` +
        `concurrency ${concurrency}, ${embedded ? 'embedded' : 'external'} PostgreSQL`;
      console.log(`${run.suffix}: ${shape}`);
      console.log(
        `  raw COPY of the same rows (floor): ${result.copySeconds.toFixed(2)} s = ${Math.round(copyPerS)} readings/s` +
          (cpuCopy === null ? '' : `; PostgreSQL CPU per reading ${cpuCopy.toFixed(1)} µs`),
      );
      console.log(
        `  first ingestion over HTTP: ${result.first.seconds.toFixed(2)} s = ${Math.round(firstPerS)} readings/s ` +
          `= ${(firstPerS / copyPerS).toFixed(2)} × COPY; ${cpuNote(cpuFirst)}`,
      );
      console.log(
        `  replay (idempotent) over HTTP: ${result.replay.seconds.toFixed(2)} s = ${Math.round(replayPerS)} ` +
          `readings/s = ${(replayPerS / copyPerS).toFixed(2)} × COPY; ${cpuNote(cpuReplay)}`,
      );
      console.log(`  peak RSS of the gateway process: ${peakRssMb.toFixed(0)} MB`);
      results.push(
        { name: `first_ingest_readings_per_s_${run.suffix}`, value: firstPerS, unit: 'readings/s' },
        { name: `replay_readings_per_s_${run.suffix}`, value: replayPerS, unit: 'readings/s' },
        { name: `copy_readings_per_s_${run.suffix}`, value: copyPerS, unit: 'readings/s' },
        { name: `first_ingest_copy_ratio_${run.suffix}`, value: firstPerS / copyPerS, unit: 'ratio' },
        { name: `replay_copy_ratio_${run.suffix}`, value: replayPerS / copyPerS, unit: 'ratio' },
        { name: `peak_rss_mb_${run.suffix}`, value: peakRssMb, unit: 'MB' },
        {
          name: `first_ingest_gateway_cpu_us_per_reading_${run.suffix}`,
          value: cpuFirst.gateway,
          unit: 'µs',
        },
        { name: `replay_gateway_cpu_us_per_reading_${run.suffix}`, value: cpuReplay.gateway, unit: 'µs' },
        ...(cpuCopy === null || cpuFirst.postgres === null || cpuReplay.postgres === null
          ? []
          : [
              { name: `copy_postgres_cpu_us_per_reading_${run.suffix}`, value: cpuCopy, unit: 'µs' },
              {
                name: `first_ingest_postgres_cpu_us_per_reading_${run.suffix}`,
                value: cpuFirst.postgres,
                unit: 'µs',
              },
              {
                name: `replay_postgres_cpu_us_per_reading_${run.suffix}`,
                value: cpuReplay.postgres,
                unit: 'µs',
              },
            ]),
      );
      rows.push(
        `| meter readings over HTTP, first ingestion (NDJSON, ${run.suffix}) | ${Math.round(firstPerS)} readings/s | — | ` +
          `${(firstPerS / copyPerS).toFixed(2)} × raw COPY of the same rows (${Math.round(copyPerS)}/s, same run); ` +
          `${shape}; ${cpuNote(cpuFirst)} (COPY: PostgreSQL ${cpuCopy === null ? 'n/a' : `${cpuCopy.toFixed(1)} µs`}); ` +
          `gateway peak RSS ${peakRssMb.toFixed(0)} MB | ${machine} |`,
        `| meter readings over HTTP, idempotent replay (NDJSON, ${run.suffix}, all unchanged) | ` +
          `${Math.round(replayPerS)} readings/s | — | ${(replayPerS / copyPerS).toFixed(2)} × the same COPY; ` +
          `${cpuNote(cpuReplay)} | ${machine} |`,
      );
    }
    if (jsonFile) await benchJson(jsonFile, ledgerKind, results);
    if (process.env.BENCH_README === 'off') {
      console.log(`README left alone (BENCH_README=off):\n${rows.join('\n')}`);
    } else {
      await writeBenchmarkRows('ingest', rows);
    }
  } finally {
    try {
      await db?.end().catch(() => undefined);
      await app?.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
    }
  }
}

runBench('ingest', main);
