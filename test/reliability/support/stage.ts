/**
 * What every reliability stage shares: its size (short for CI, full for `npm run test:reliability`), a seeded
 * random source printed so that a failing run can be replayed, the rows of the summary table, and the guarantee
 * that no process started by a stage outlives the test run (even when a stage fails half-way).
 */
import type { ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { isAlive, postmasterPid } from '../../../gateway/test/support/gateway-process';

/** RELIABILITY=full: the sizes the issue asks for; anything else: the short version CI runs in `npm test`. */
export const FULL = process.env.RELIABILITY === 'full';

/** A size: the full figure, the short one, or what the environment variable `name` says. */
export function size(name: string, full: number, short: number): number {
  const raw = process.env[name];
  if (raw !== undefined && raw !== '') {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0)
      throw new Error(`${name} must be a whole number (got "${raw}")`);
    return value;
  }
  return FULL ? full : short;
}

/**
 * The seed of a stage: RELIABILITY_SEED when given (replay), otherwise a new one. Printed either way, with the
 * command that replays it.
 */
export function stageSeed(stage: string): number {
  const given = process.env.RELIABILITY_SEED;
  const seed = given ? Number(given) : Math.floor(Math.random() * 2 ** 31);
  if (!Number.isInteger(seed)) throw new Error(`RELIABILITY_SEED must be an integer (got "${given}")`);
  process.stdout.write(
    `[reliability] ${stage}: seed ${seed} (replay: RELIABILITY_SEED=${seed}` +
      `${FULL ? ' RELIABILITY=full' : ''} npx jest test/reliability/${stage})\n`,
  );
  return seed;
}

/** mulberry32: a small deterministic generator; the same seed gives the same kill moments and plans. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SummaryRow {
  stage: string;
  what: string;
  figure: string;
  survived: string;
}

/**
 * Record a row of the summary table: printed at once, and appended to RELIABILITY_REPORT (a JSON-lines file the
 * summary reporter reads at the end of `npm run test:reliability`).
 */
export function report(row: SummaryRow): void {
  process.stdout.write(`[reliability] ${row.stage}: ${row.what}: ${row.figure} (${row.survived})\n`);
  const file = process.env.RELIABILITY_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}

/** Processes this test file started, and the embedded PostgreSQL folders whose servers it may have left. */
const children = new Set<ChildProcess>();
const dataDirs = new Set<string>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function trackDataDir(dataDir: string): void {
  dataDirs.add(dataDir);
}

/**
 * Last resort when the test process exits without afterAll having run (a crash, a timeout kill): kill what is
 * left, synchronously, as an `exit` handler must. An orphaned PostgreSQL gets SIGINT (fast shutdown; it does
 * not need us to wait), a stopped one (SIGSTOP) SIGCONT first, or it would never act on the signal.
 */
export function killLeftovers(): void {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const dir of dataDirs) {
    const pid = postmasterPid(dir);
    if (pid && isAlive(pid)) {
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGINT');
      } catch {
        // already gone
      }
    }
  }
}
process.once('exit', killLeftovers);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Poll `probe` until it answers `{ done: true }`. Not a timed assertion: the limit only turns a hang into a
 * failure that says what was still pending (`state`), long after any healthy run would have finished.
 */
export async function eventually(
  what: string,
  probe: () => Promise<{ done: boolean; state: string }>,
  limitMs = 180_000,
  everyMs = 200,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const { done, state } = await probe();
    if (done) return;
    if (Date.now() > deadline)
      throw new Error(`${what}: still not the case after ${limitMs / 1000} s: ${state}`);
    await sleep(everyMs);
  }
}

/**
 * Wait until the gateway's projector is idle: its checkpoint (/health/ready) unchanged for a second. Its
 * checkpoint is the last projected chaincode event, not the last block (blocks of only invalid transactions have
 * no events), so there is nothing to compare it with here; the books check after the stop compares every VALID
 * transaction on the ledger with the projected ones.
 */
export async function projectionSettled(base: string): Promise<void> {
  let last = '';
  await eventually(
    'projection settled',
    async () => {
      const res = await fetch(`${base}/health/ready`);
      const body = (await res.json()) as { checks: { projection: unknown } };
      const now = `${res.status} ${JSON.stringify(body.checks.projection)}`;
      const done = res.status === 200 && now === last;
      last = now;
      return { done, state: now };
    },
    180_000,
    1000,
  );
}
