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
 * Settings: BENCH_SPLITS (10000), BENCH_REQUESTS (1000 per path), BENCH_WARMUP (50), BENCH_README=off leaves the
 * README alone, `--json FILE` writes the results; PORT, EMBEDDED_PG_PORT, DATABASE_URL as for the gateway.
 */
import { fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { createApp } from '../app';
import { firstAdminKeyFile, loadConfig } from '../config/config';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { IdentityRef, LedgerPort } from '../ledger/port';
import type { AuditLoadJob, AuditLoadResult } from './audit-load';
import { creditCode, freePort } from './bench-process';
import { benchJson, type BenchResult, BenchError, jsonFileArgument, setting, runBench } from './bench-json';
import { machineNote, writeBenchmarkRows } from './readme-table';
import { percentile } from './stats';

const GRID_ADMIN: IdentityRef = { mspId: 'GridMSP', name: 'admin' };
const GRID_PLATFORM: IdentityRef = { mspId: 'GridMSP', name: 'platform' };
const TRADING: IdentityRef = { mspId: 'TradingCenterMSP', name: 'trading' };

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** The production month two months back in Asia/Shanghai: ended, and well inside the issuance window. */
function productionMonth(): string {
  const shanghai = new Date(Date.now() + 8 * 3_600_000);
  return new Date(Date.UTC(shanghai.getUTCFullYear(), shanghai.getUTCMonth() - 2, 1))
    .toISOString()
    .slice(0, 7);
}

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
  const unitId = `UNIT-${tag}`;
  const meterId = `M-${tag}`;
  await submit(GRID_ADMIN, 'units:RegisterUnit', {
    id: unitId,
    owner,
    name: 'Bench unit',
    projectCode: `PJ${tag}0000000`,
    technology: 'WIND',
    capacityKw: 49_500,
    province: '150000',
    meterIds: [meterId],
    commissioningDate: '2022-06-30',
  });
  const totalWh = (splits + 2) * 1_000_000;
  await submit(GRID_PLATFORM, 'metering:AttestMeterPeriod', {
    meterId,
    period: month,
    totalWh,
    digest: createHash('sha256').update(`${meterId}|${month}|${totalWh}`).digest('hex'),
  });
  const issued = await submit(GRID_ADMIN, 'certificates:Issue', { unitId, month });
  const rootLot = issued.lotId as string;
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

async function main(): Promise<void> {
  const jsonFile = jsonFileArgument();
  const splits = setting('BENCH_SPLITS', 10_000, 1, 1_000_000);
  const requests = setting('BENCH_REQUESTS', 1_000, 10, 1_000_000);
  const warmup = setting('BENCH_WARMUP', 50, 0, 100_000);
  const dataDir = await mkdtemp(join(tmpdir(), 'gec-audit-bench-'));
  await chmod(dataDir, 0o755);
  let app: INestApplication | undefined;
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
    const jobFile = join(dataDir, 'audit-job.json');
    const resultFile = join(dataDir, 'audit-result.json');
    // The same three asked with an admin key: the same answers without the regulator audit log's INSERT (a
    // synchronous commit before each answer), to show what the provenance itself costs and what the log adds.
    paths.push(...paths.map((p) => ({ ...p, name: `${p.name}-admin`, apiKey: adminKey })));
    const job: AuditLoadJob = { url, apiKey: regulatorKey, paths, requests, warmup };
    await writeFile(jobFile, JSON.stringify(job));
    await new Promise<void>((resolve, reject) => {
      const child = fork(join(__dirname, 'audit-load.js'), [jobFile, resultFile], { stdio: 'inherit' });
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new BenchError(`audit-load exited ${code}`)),
      );
    });
    const result = JSON.parse(await readFile(resultFile, 'utf8')) as AuditLoadResult;

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
    for (const { name } of paths) {
      const { latenciesMs, status } = result[name];
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
      rows.push(
        `| ${describe[name]}, lot split ${splits.toLocaleString('en')} times, GET over HTTP one at a time | ` +
          `${(1000 / (latenciesMs.reduce((a, b) => a + b, 0) / latenciesMs.length)).toFixed(0)} req/s | ` +
          `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms | ${latenciesMs.length} requests after ${warmup} warm-up, ` +
          `client in its own process; the former provenance read ${versions.toLocaleString('en')} versions for the ` +
          `kept serial (GetLotHistory p50 ${percentile(formerMs, 0.5).toFixed(0)} ms) | ${machineNote()}, embedded ledger |`,
      );
    }
    console.log(
      `former provenance's read (GetLotHistory of the issued lot, ${versions} versions): p50 ${percentile(formerMs, 0.5).toFixed(1)} ms`,
    );
    if (process.env.BENCH_README !== 'off') await writeBenchmarkRows('audit', rows);
    if (jsonFile) await benchJson(jsonFile, 'embedded', results);
  } finally {
    try {
      await app?.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
    }
  }
}

runBench('audit', main);
