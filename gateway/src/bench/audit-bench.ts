/**
 * `npm run bench:audit`: provenance latency over HTTP for a lot split many times, on the embedded ledger.
 *
 * Builds the history on a fresh gateway (its embedded ledger and PostgreSQL in a temporary folder): a generator,
 * a unit, its attested month, one issuance of BENCH_SPLITS + 2 certificates, then BENCH_SPLITS splits of one
 * certificate each off that issued lot (one after the other: each reads the lot the one before changed), and a
 * transfer of one split-off lot to a consumer. Then a client in its own process (`audit-load.js`) GETs, one
 * request at a time over a keep-alive connection, after a warm-up:
 *   - the provenance of a serial in a lot split off in the middle (issuance → split → transfer),
 *   - the provenance of a serial the issued lot kept through every split (its only move: the issuance),
 *   - the provenance of that issued lot by lot id,
 * each with the regulator's key (every request recorded in the audit log before it is answered) and again with
 * the admin key (not recorded), and reports p50 and p99 of each. For comparison it times, in the gateway's process, what the former provenance
 * read for the kept serial: the issued lot's whole key history (queries:GetLotHistory).
 *
 *
 * Before that it seeds the gateway's PostgreSQL with a registry (`seed-registry.ts`: BENCH_SEED_LOTS lots and their
 * issuances, sales, vouchers and transfers, BENCH_SEED_READINGS meter readings), so the provenance is asked with
 * those loaded, and then measures on them, from the same client process:
 *   - the monthly certificate statistic over the last 12 months by province, by technology and by participant
 *     (`groupBy=month,province`, `month,technology`, `month,participant`), regulator key, BENCH_STAT_REQUESTS times
 *     each; PostgreSQL's own execution time of each from EXPLAIN ANALYZE (its second run) beside it;
 *   - an export of BENCH_EXPORT_ROWS lots as CSV (`/v1/exports/lots`), BENCH_EXPORT_REPEATS times: the time to
 *     the last byte and the gateway process's peak RSS while it streams (sampled every 20 ms).
 *
 * Settings: BENCH_SPLITS (10000), BENCH_REQUESTS (1000 per path), BENCH_WARMUP (50), BENCH_SEED_LOTS (1000000),
 * BENCH_SEED_READINGS (10000000), BENCH_STAT_REQUESTS (200), BENCH_EXPORT_ROWS (100000), BENCH_EXPORT_REPEATS (3),
 * BENCH_PLAN=on prints the statistics' query plans, BENCH_README=off leaves the README alone, `--json FILE` writes
 * the results; PORT, EMBEDDED_PG_PORT, DATABASE_URL as for the gateway.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { createApp } from '../app';
import { DATABASE_URL } from '../database/database.module';
import { certificateStatisticsSql, type Dimension } from '../statistics/certificate-statistics';
import { parseDateRange } from '../statistics/date-range';
import { firstAdminKeyFile, loadConfig } from '../config/config';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { IdentityRef, LedgerPort } from '../ledger/port';
import type { AuditLoadJob, AuditLoadResult } from './audit-load';
import { GRID_ADMIN, issueLot, productionMonth } from './bench-ledger';
import { creditCode, freePort } from './bench-process';
import { benchJson, type BenchResult, BenchError, jsonFileArgument, setting, runBench } from './bench-json';
import { machineNote, writeBenchmarkRows } from './readme-table';
import { seedRegistry, type SeedReport } from './seed-registry';
import { percentile } from './stats';

const TRADING: IdentityRef = { mspId: 'TradingCenterMSP', name: 'trading' };

/** The certificate statistics measured, each over the last 12 months: the groupings and what answers them. */
const STATISTIC_GROUPINGS: Array<{ name: string; groupBy: Dimension[]; describe: string; source: string }> = [
  {
    name: 'statistic-month-province',
    groupBy: ['month', 'province'],
    describe: 'monthly certificate statistic by province',
    source: 'certificate_statistics_monthly',
  },
  {
    name: 'statistic-month-technology',
    groupBy: ['month', 'technology'],
    describe: 'monthly certificate statistic by technology',
    source: 'certificate_statistics_monthly',
  },
  {
    name: 'statistic-month-participant',
    groupBy: ['month', 'participant'],
    describe: 'monthly certificate statistic by participant (with names)',
    source: 'certificate_statistics_monthly_participant',
  },
];

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

interface History {
  rootLot: string;
  rootSerial: string;
  middleLot: string;
  middleSerial: string;
  buildSeconds: number;
}

async function buildHistory(ledger: LedgerPort, splits: number): Promise<History> {
  const tag = randomBytes(4).toString('hex').toUpperCase();
  const submit = async (
    identity: IdentityRef,
    transaction: string,
    body: unknown,
    transient?: Record<string, string>,
  ) => {
    const tx = await ledger.submit({ identity, transaction, args: [JSON.stringify(body)], transient });
    return JSON.parse(Buffer.from(tx.result).toString('utf8')) as Record<string, unknown>;
  };
  const started = nowMs();
  const owner = `GEN-${tag}`;
  const buyer = `CON-${tag}`;
  const month = productionMonth();
  await submit(
    GRID_ADMIN,
    'identity:RegisterParticipant',
    { id: owner, kind: 'GENERATOR', name: `Bench wind farm ${tag}`, region: '150000' },
    { creditCode: creditCode(Number.parseInt(tag.slice(-7), 16)) },
  );
  await submit(
    GRID_ADMIN,
    'identity:RegisterParticipant',
    { id: buyer, kind: 'CONSUMER', name: `Bench factory ${tag}`, region: '330000' },
    { creditCode: creditCode(Number.parseInt(tag.slice(-7), 16) + 1) },
  );
  const unit = {
    unitId: `UNIT-${tag}`,
    meterId: `M-${tag}`,
    projectCode: `PJ${tag}0000000`,
    name: 'Bench unit',
    owner,
  };
  const rootLot = await issueLot(ledger, unit, month, splits + 2);
  const children: string[] = [];
  let last = nowMs();
  for (let i = 0; i < splits; i++) {
    const split = await submit(TRADING, 'certificates:Split', { lotId: rootLot, owner, volume: 1 });
    children.push(split.lotId as string);
    if (nowMs() - last > 10_000) {
      last = nowMs();
      console.log(`  ${i + 1} of ${splits} splits (${((nowMs() - started) / 1000).toFixed(0)} s)`);
    }
  }
  const middleLot = children[Math.floor(children.length / 2)];
  await submit(TRADING, 'certificates:Transfer', { lotId: middleLot, from: owner, to: buyer });
  return {
    rootLot,
    rootSerial: rootLot,
    middleLot,
    middleSerial: middleLot,
    buildSeconds: (nowMs() - started) / 1000,
  };
}

/** Run the load client (`audit-load.js`) in its own process on `job`; its results. */
async function runLoad(dataDir: string, job: AuditLoadJob, tag: string): Promise<AuditLoadResult> {
  const jobFile = join(dataDir, `${tag}-job.json`);
  const resultFile = join(dataDir, `${tag}-result.json`);
  await writeFile(jobFile, JSON.stringify(job));
  await new Promise<void>((resolve, reject) => {
    const child = fork(join(__dirname, 'audit-load.js'), [jobFile, resultFile], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new BenchError(`audit-load exited ${code}`)),
    );
  });
  return JSON.parse(await readFile(resultFile, 'utf8')) as AuditLoadResult;
}

/** The last 12 Asia/Shanghai months, this one included: `[from, to)` as `YYYY-MM`. */
function lastTwelveMonths(): { from: string; to: string } {
  const shanghai = new Date(Date.now() + 8 * 3_600_000);
  const month = (offset: number) =>
    new Date(Date.UTC(shanghai.getUTCFullYear(), shanghai.getUTCMonth() + offset, 1))
      .toISOString()
      .slice(0, 7);
  return { from: month(-11), to: month(1) };
}

/** Gives `rows` seeded redeemed lots to one holder, so that one export filter (`owner=`) matches exactly them. */
async function exportOwner(db: Client, rows: number): Promise<{ owner: string; rows: number }> {
  const owner = 'CON-EXPORT';
  const updated = await db.query(
    `UPDATE certificate_lots SET owner = $1::text, doc = doc || jsonb_build_object('owner', $1::text)
      WHERE id IN (SELECT id FROM certificate_lots WHERE project_code LIKE 'PS%' AND status = 'REDEEMED'
                    ORDER BY id LIMIT $2)`,
    [owner, rows],
  );
  await db.query('VACUUM ANALYZE certificate_lots');
  return { owner, rows: updated.rowCount ?? 0 };
}

/** PostgreSQL's execution time of the statistic's statement grouped by `groupBy` (EXPLAIN ANALYZE), and the plan. */
async function statisticPlan(
  db: Client,
  range: { from: string; to: string },
  groupBy: Dimension[],
): Promise<{ ms: number; plan: string }> {
  const sql = certificateStatisticsSql(parseDateRange(range.from, range.to), groupBy);
  const rows = (await db.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql.text}`, sql.params)).rows as Array<{
    'QUERY PLAN': string;
  }>;
  const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
  const ms = Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? NaN);
  return { ms, plan };
}

async function main(): Promise<void> {
  const jsonFile = jsonFileArgument();
  const splits = setting('BENCH_SPLITS', 10_000, 1, 1_000_000);
  const requests = setting('BENCH_REQUESTS', 1_000, 10, 1_000_000);
  const warmup = setting('BENCH_WARMUP', 50, 0, 100_000);
  const seedLots = setting('BENCH_SEED_LOTS', 1_000_000, 0, 100_000_000);
  const seedReadings = setting('BENCH_SEED_READINGS', 10_000_000, 0, 1_000_000_000);
  const statRequests = setting('BENCH_STAT_REQUESTS', 200, 1, 1_000_000);
  const exportRows = setting('BENCH_EXPORT_ROWS', 100_000, 1, 10_000_000);
  const exportRepeats = setting('BENCH_EXPORT_REPEATS', 3, 1, 100);
  const dataDir = await mkdtemp(join(tmpdir(), 'gec-audit-bench-'));
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
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_READS_PER_MINUTE: '0',
      EXPIRY_SWEEP_INTERVAL_MS: '0',
    });
    if (config.ledger !== 'embedded')
      throw new BenchError('bench:audit builds its history on the embedded ledger');
    app = await createApp(config);
    await app.listen(config.port, '127.0.0.1');
    const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    const adminKey = (await readFile(firstAdminKeyFile(config), 'utf8'))
      .split('\n')
      .find((line) => line.startsWith('gec_'))
      ?.trim();
    if (!adminKey) throw new BenchError(`no admin key in ${firstAdminKeyFile(config)}`);
    const created = await fetch(`${url}/v1/api-keys`, {
      method: 'POST',
      headers: { 'X-API-Key': adminKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ label: 'bench regulator', role: 'regulator', actsFor: 'NEA' }),
    });
    const regulatorKey = ((await created.json()) as { key?: string }).key;
    if (created.status !== 201 || !regulatorKey) throw new BenchError(`regulator key: ${created.status}`);

    db = new Client({ connectionString: app.get<string>(DATABASE_URL, { strict: false }) });
    await db.connect();
    const seed: SeedReport = await seedRegistry(db, {
      lots: seedLots,
      readings: seedReadings,
      log: (line) => console.log(line),
    });
    const exported = await exportOwner(db, exportRows);
    if (exported.rows < exportRows) {
      console.log(`only ${exported.rows} redeemed lots seeded: the export streams ${exported.rows} rows`);
    }
    const range = lastTwelveMonths();
    const plans = new Map<string, { ms: number; plan: string }>();
    for (const grouping of STATISTIC_GROUPINGS) {
      // Twice: the first execution also reads the pages into PostgreSQL's cache; the second is the one reported.
      await statisticPlan(db, range, grouping.groupBy);
      const plan = await statisticPlan(db, range, grouping.groupBy);
      plans.set(grouping.name, plan);
      if (process.env.BENCH_PLAN === 'on') console.log(plan.plan);
      console.log(
        `statistic (${grouping.groupBy.join(' × ')}, ${range.from}..${range.to}): PostgreSQL ${plan.ms.toFixed(1)} ms`,
      );
    }

    const ledger = app.get<LedgerPort>(LEDGER_PORT);
    console.log(`building the history: one issued lot split ${splits} times …`);
    const history = await buildHistory(ledger, splits);
    console.log(`history built in ${history.buildSeconds.toFixed(1)} s`);

    // What the former provenance read for the kept serial: every version of the issued lot.
    const formerMs: number[] = [];
    let versions = 0;
    for (let i = 0; i < 5; i++) {
      const t = nowMs();
      const bytes = await ledger.evaluate({
        identity: { mspId: 'RegulatorMSP', name: 'regulator' },
        transaction: 'queries:GetLotHistory',
        args: [history.rootLot],
      });
      formerMs.push(nowMs() - t);
      versions = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { entries: unknown[] }).entries.length;
    }
    formerMs.sort((a, b) => a - b);

    const paths: AuditLoadJob['paths'] = [
      { name: 'serial-split-off', path: `/v1/certificates/${history.middleSerial}/provenance` },
      { name: 'serial-kept', path: `/v1/certificates/${history.rootSerial}/provenance` },
      { name: 'lot-issued', path: `/v1/lots/${history.rootLot}/provenance` },
    ];
    // The same three asked with an admin key: the same answers without the regulator audit log's INSERT (a
    // synchronous commit before each answer), to show what the provenance itself costs and what the log adds.
    paths.push(...paths.map((p) => ({ ...p, name: `${p.name}-admin`, apiKey: adminKey })));
    for (const grouping of STATISTIC_GROUPINGS) {
      paths.push({
        name: grouping.name,
        path: `/v1/statistics/certificates?from=${range.from}&to=${range.to}&groupBy=${grouping.groupBy.join(',')}`,
        requests: statRequests,
        warmup: Math.min(warmup, 10),
      });
    }
    const result = await runLoad(dataDir, { url, apiKey: regulatorKey, paths, requests, warmup }, 'audit');

    // The export, alone, with the gateway's RSS sampled while it streams.
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
    const exportPath = `/v1/exports/lots?owner=${exported.owner}&format=csv`;
    const exportResult = await runLoad(
      dataDir,
      {
        url,
        apiKey: regulatorKey,
        paths: [{ name: 'export', path: exportPath }],
        requests: exportRepeats,
        warmup: 0,
      },
      'export',
    ).finally(() => clearInterval(sampler));
    const results: BenchResult[] = [
      { name: 'splits', value: splits, unit: 'count' },
      { name: 'history_build_s', value: history.buildSeconds, unit: 's' },
      { name: 'former_lot_history_read_p50_ms', value: percentile(formerMs, 0.5), unit: 'ms' },
    ];
    const rows: string[] = [];
    const describe: Record<string, string> = {
      'serial-split-off':
        'provenance of a serial split off in the middle, then transferred (3 steps), regulator key',
      'serial-kept': 'provenance of a serial the issued lot kept through every split (1 step), regulator key',
      'lot-issued': 'provenance of the issued lot by lot id, regulator key',
      'serial-split-off-admin': 'the same split-off serial, admin key (no audit-log write)',
      'serial-kept-admin': 'the same kept serial, admin key (no audit-log write)',
      'lot-issued-admin': 'the same lot, admin key (no audit-log write)',
    };
    const seeded =
      `${seed.lots.toLocaleString('en')} lots and ${seed.readings.toLocaleString('en')} meter readings seeded ` +
      'in PostgreSQL';
    const summary = (name: string, answers: AuditLoadResult) => {
      const { latenciesMs, status } = answers[name];
      const sorted = [...latenciesMs].sort((a, b) => a - b);
      const p50 = percentile(sorted, 0.5);
      const p99 = percentile(sorted, 0.99);
      const bad = Object.entries(status).filter(([code]) => code !== '200');
      if (bad.length > 0) throw new BenchError(`${name}: answers other than 200: ${JSON.stringify(status)}`);
      console.log(
        `${name}: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (${latenciesMs.length} requests)`,
      );
      results.push(
        { name: `${name}_p50_ms`, value: p50, unit: 'ms' },
        { name: `${name}_p99_ms`, value: p99, unit: 'ms' },
      );
      const perSecond = 1000 / (latenciesMs.reduce((a, b) => a + b, 0) / latenciesMs.length);
      return { latenciesMs, p50, p99, perSecond };
    };
    for (const { name } of paths.filter((p) => describe[p.name] !== undefined)) {
      const { latenciesMs, p50, p99 } = summary(name, result);
      rows.push(
        `| ${describe[name]}, lot split ${splits.toLocaleString('en')} times, GET over HTTP one at a time | ` +
          `${(1000 / (latenciesMs.reduce((a, b) => a + b, 0) / latenciesMs.length)).toFixed(0)} req/s | ` +
          `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms | ${latenciesMs.length} requests after ${warmup} warm-up, ` +
          `client in its own process; the former provenance read ${versions.toLocaleString('en')} versions for the ` +
          `kept serial (GetLotHistory p50 ${percentile(formerMs, 0.5).toFixed(0)} ms); ${seeded} | ${machineNote()}, embedded ledger |`,
      );
    }
    results.push(
      { name: 'seed_lots', value: seed.lots, unit: 'count' },
      { name: 'seed_readings', value: seed.readings, unit: 'count' },
      { name: 'seed_lots_s', value: seed.seconds.lots, unit: 's' },
      { name: 'seed_readings_s', value: seed.seconds.readings, unit: 's' },
    );
    for (const grouping of STATISTIC_GROUPINGS) {
      const stat = summary(grouping.name, result);
      const plan = plans.get(grouping.name) as { ms: number };
      results.push({
        name: `${grouping.name.replace(/-/g, '_')}_postgres_ms`,
        value: plan.ms,
        unit: 'ms',
      });
      rows.push(
        `| ${grouping.describe} (\`groupBy=${grouping.groupBy.join(',')}\`, ${range.from} to ${range.to}), ` +
          `regulator key, ${seeded}, GET over HTTP one at a time | ${stat.perSecond.toFixed(0)} req/s | ` +
          `p50 ${stat.p50.toFixed(1)} ms, p99 ${stat.p99.toFixed(1)} ms | ${stat.latenciesMs.length} requests after ` +
          `${Math.min(warmup, 10)} warm-up; PostgreSQL's execution ${plan.ms.toFixed(1)} ms (EXPLAIN ANALYZE, ` +
          `${grouping.source}): p50 over HTTP = ${(stat.p50 / plan.ms).toFixed(2)} × that floor; seeding took ${seed.seconds.lots.toFixed(0)} s for the lots, ` +
          `${seed.seconds.readings.toFixed(0)} s for the readings (COPY), ${seed.seconds.vacuum.toFixed(0)} s ` +
          `counting the monthly totals and VACUUM ANALYZE | ${machineNote()}, embedded ledger |`,
      );
    }
    const exp = summary('export', exportResult);
    const mb = (bytes: number) => bytes / 2 ** 20;
    results.push(
      { name: 'export_rows', value: exported.rows, unit: 'count' },
      { name: 'export_mb', value: mb(exportResult.export.bytes), unit: 'MB' },
      { name: 'export_rss_before_mb', value: mb(rssBefore), unit: 'MB' },
      { name: 'export_rss_peak_mb', value: mb(rssPeak), unit: 'MB' },
    );
    console.log(
      `export: ${exported.rows} rows, ${mb(exportResult.export.bytes).toFixed(1)} MB; gateway RSS ` +
        `${mb(rssBefore).toFixed(0)} MB before, peak ${mb(rssPeak).toFixed(0)} MB`,
    );
    rows.push(
      `| export of ${exported.rows.toLocaleString('en')} lots as CSV (\`GET /v1/exports/lots?owner=…\`, streamed), ` +
        `regulator key, ${seeded} | ${((exported.rows * 1000) / exp.p50).toFixed(0)} rows/s | ` +
        `p50 ${(exp.p50 / 1000).toFixed(2)} s, max ${(Math.max(...exp.latenciesMs) / 1000).toFixed(2)} s to the last byte | ` +
        `${exp.latenciesMs.length} exports of ${mb(exportResult.export.bytes).toFixed(1)} MB, client in its own process; ` +
        `gateway peak RSS ${mb(rssPeak).toFixed(0)} MB while streaming (${mb(rssBefore).toFixed(0)} MB before: ` +
        `+${mb(rssPeak - rssBefore).toFixed(0)} MB) | ${machineNote()}, embedded ledger |`,
    );
    console.log(
      `former provenance's read (GetLotHistory of the issued lot, ${versions} versions): p50 ${percentile(formerMs, 0.5).toFixed(1)} ms`,
    );
    if (process.env.BENCH_README !== 'off') await writeBenchmarkRows('audit', rows);
    if (jsonFile) await benchJson(jsonFile, 'embedded', results);
  } finally {
    try {
      await db?.end();
      await app?.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
    }
  }
}

runBench('audit', main);
