/**
 * The compiled gateway (`gateway/dist/main.js`, built by `npm run build`) in its own process, as `npm start` runs
 * it: for tests that kill it (SIGKILL) and start it again on the same data folder.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './harness';

export const GATEWAY_MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

export interface GatewayProcess {
  child: ChildProcess;
  /** Milliseconds from spawn to the "ready" log line. */
  readyMs: number;
  /** Everything it wrote so far (stdout and stderr). */
  output: () => string;
}

/** The environment of a gateway process on `dataDir`: its own ports, the embedded PostgreSQL, info logs. */
export async function gatewayProcessEnv(
  dataDir: string,
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  return {
    GEC_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    EMBEDDED_PG_PORT: String(await freePort()),
    DATABASE_URL: '',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/** Spawn the gateway with `env` over this process's environment; resolves when it logs that it is ready. */
export function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  if (!existsSync(GATEWAY_MAIN)) throw new Error(`${GATEWAY_MAIN} is missing: run \`npm run build\` first`);
  const started = performance.now();
  const child = spawn(process.execPath, [GATEWAY_MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready within 60 s:\n${output}`)), 60000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (/"msg":"ready in \d+ ms/.test(output)) {
        clearTimeout(timer);
        resolve({ child, readyMs: performance.now() - started, output: () => output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before ready:\n${output}`));
    });
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves with the exit code once the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Wait until `pattern` appears in the process's output; its match. */
export async function waitForOutput(
  gateway: GatewayProcess,
  pattern: RegExp,
  timeoutMs = 30000,
): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(gateway.output());
    if (match) return match;
    if (Date.now() > deadline)
      throw new Error(`${pattern} not seen in ${timeoutMs} ms:\n${gateway.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The pid in the embedded PostgreSQL's postmaster.pid under `dataDir`, if any. */
export function postmasterPid(dataDir: string): number | undefined {
  const file = join(dataDir, 'postgres', 'postmaster.pid');
  return existsSync(file) ? Number.parseInt(readFileSync(file, 'utf8').split('\n')[0], 10) : undefined;
}

/**
 * Stop what a test left running: gateways (SIGTERM, then SIGKILL after 20 s), and an embedded PostgreSQL orphaned
 * by a SIGKILL that no restart took over.
 */
export async function stopAll(children: ChildProcess[], dataDir: string | undefined): Promise<void> {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited(child), new Promise((r) => setTimeout(r, 20000).unref())]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }
  const pid = dataDir ? postmasterPid(dataDir) : undefined;
  if (pid && isAlive(pid)) {
    process.kill(pid, 'SIGINT');
    for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
}
