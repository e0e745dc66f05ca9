/**
 * End-to-end harness: the real gateway (Nest app, HTTP) on the real embedded ledger and a real PostgreSQL.
 *
 * PostgreSQL: DATABASE_URL when set (each gateway gets its own fresh database on that server), otherwise one
 * embedded PostgreSQL per test file in a temporary folder. Stop everything in afterAll.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { createApp } from '../../src/app';
import { AppConfig, loadConfig } from '../../src/config/config';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { DelegatingLedger } from '../../src/ledger/delegating-ledger';
import { ThreadedEmbeddedLedger } from '../../src/ledger/embedded/thread/threaded-ledger';
import { EmbeddedLedger } from '../../src/ledger/embedded/embedded-ledger';
import type { LedgerPort } from '../../src/ledger/port';
import { signingAgent } from './signing';
import { creditCode } from '../../src/bench/bench-process';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A temporary folder the `postgres` system user can traverse (mkdtemp makes 0700 folders). */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

export interface TestPostgres {
  /** A new, empty database; its URL. */
  newDatabase(): Promise<string>;
  stop(): Promise<void>;
}

let databaseCounter = 0;

export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env.DATABASE_URL;
  const name = () => `gec_test_${process.pid}_${Date.now()}_${++databaseCounter}`;
  if (external) {
    return {
      newDatabase: async () => {
        const database = name();
        const client = new Client({ connectionString: external });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
        } finally {
          await client.end();
        }
        const url = new URL(external);
        url.pathname = `/${database}`;
        return url.toString();
      },
      stop: async () => undefined,
    };
  }
  const dir = await tempDir('gec-pg-');
  const postgres = await startEmbeddedPostgres({
    dataDir: join(dir, 'postgres'),
    port: await freePort(),
    // A throw-away cluster: durability off for speed.
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  }).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    newDatabase: async () => {
      const database = name();
      await postgres.createDatabase(database);
      return postgres.url(database);
    },
    stop: async () => {
      await postgres.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TestGateway {
  app: INestApplication;
  config: AppConfig;
  /** Signs the state-changing requests of every key whose signing secret it saw created (support/signing.ts). */
  http: ReturnType<typeof request>;
  /** Milliseconds from createApp to ready (listening). */
  readyMs: number;
  close(): Promise<void>;
}

/** Start the gateway on `dataDir` (ledger in `<dataDir>/ledger`) and `databaseUrl` (or the embedded PostgreSQL). */
/**
 * Runs `work` with the embedded ledger's transactions stamped at `time` (a Fabric client's own clock): how a test
 * makes an issuance long ago, inside its window then, whose certificates have expired since.
 */
export async function atLedgerTime<T>(
  ledger: EmbeddedLedger,
  time: Date,
  work: () => Promise<T>,
): Promise<T> {
  const clock = ledger.clock;
  ledger.clock = () => new Date(time);
  try {
    return await work();
  } finally {
    ledger.clock = clock;
  }
}

export async function startGateway(options: {
  dataDir: string;
  databaseUrl?: string;
  env?: Record<string, string>;
  /** Wrap the ledger, e.g. to observe calls. */
  wrapLedger?: (ledger: LedgerPort) => LedgerPort;
  /**
   * Use this already open ledger (several gateway instances on one ledger, as on one Fabric network); the
   * gateway does not close it.
   */
  ledger?: LedgerPort;
}): Promise<TestGateway> {
  const started = performance.now();
  const config = loadConfig({
    GEC_DATA_DIR: options.dataDir,
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Without a database URL the gateway starts its own embedded PostgreSQL: on a free port, never the default
    // 5433 that test files running in parallel (or a developer's `npm start`) would share.
    ...(options.databaseUrl
      ? { DATABASE_URL: options.databaseUrl }
      : { EMBEDDED_PG_PORT: String(await freePort()) }),
    ...options.env,
  });
  const app = await createApp(config, {
    // The real embedded ledger; fsync off as for any throw-away test ledger.
    ledgerFactory: async (ledger) => {
      if (options.ledger) return sharedLedger(options.ledger);
      // On its own thread, as `npm start` runs it (EMBEDDED_LEDGER_THREAD); the settings say otherwise.
      const opened =
        ledger.settings?.embeddedThread === false
          ? await EmbeddedLedger.open({ dataDir: ledger.dataDir, sync: false })
          : await ThreadedEmbeddedLedger.open({ dataDir: ledger.dataDir, sync: false });
      return options.wrapLedger ? options.wrapLedger(opened) : opened;
    },
  });
  await app.listen(0, '127.0.0.1');
  const readyMs = performance.now() - started;
  return {
    app,
    config,
    http: signingAgent(request(app.getHttpServer())),
    readyMs,
    close: () => app.close(),
  };
}

/** The port of a ledger owned by someone else: everything but close. */
function sharedLedger(ledger: LedgerPort): LedgerPort {
  return new (class extends DelegatingLedger {
    override close = async () => undefined;
  })(ledger);
}

// One derivation of test credit codes, the benches': it keeps n to the code's 9 digits, so an id with 10 or more
// digits (uniqueId's 10 hex characters can all be digits) still gives an 18-character code.
export { creditCode };

export function participant(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    kind: 'GENERATOR',
    name: `${id} 风电有限公司`,
    region: '330000',
    creditCode: creditCode(Number.parseInt(id.replace(/\D/g, '') || '1', 10)),
    ...overrides,
  };
}

/** The key in `<dataDir>/first-admin-key.txt` (the line that is not a comment). */
export async function readFirstAdminKey(dataDir: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(join(dataDir, 'first-admin-key.txt'), 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('gec_'));
  if (!line) throw new Error('no key in first-admin-key.txt');
  return line.trim();
}
