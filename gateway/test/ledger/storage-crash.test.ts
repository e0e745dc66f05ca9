/**
 * Real crash test of the ledger store: a child process commits blocks in a tight loop and is killed with
 * SIGKILL at random moments; after every kill the store must reopen consistent.
 *
 * The child is the compiled `gateway/dist/ledger/embedded/storage/crash-child.js`. The root `npm test` builds
 * first; when iterating on this suite alone run `npm run build -w gateway` beforehand.
 */
import { common } from '@hyperledger/fabric-protos';
import { ClassicLevel } from 'classic-level';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, promises as fs, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CRASH_NAMESPACE,
  ChildTx,
  buildChildBlock,
  childTransactions,
  childUpdateFromBlock,
} from '../../src/ledger/embedded/storage/crash-child';
import { LedgerStore, VersionedValue } from '../../src/ledger/embedded/storage/ledger-store';
import { SAVEPOINT_KEY, decodeSavepoint } from '../../src/ledger/embedded/storage/codec';

const SRC_DIR = path.resolve(__dirname, '../../src/ledger/embedded/storage');
const DIST_DIR = path.resolve(__dirname, '../../dist/ledger/embedded/storage');
const CHILD = path.join(DIST_DIR, 'crash-child.js');
const ROUNDS = 10;

// Generous: each round spawns a Node process, and the suite shares two cores with everything else.
jest.setTimeout(180_000);

/** Children still running: killed after each test, so a test that fails or times out leaves none behind. */
const running = new Set<ChildProcess>();

interface RunResult {
  lines: string[];
  lastCommitted: number | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs the child on `dir` and kills it with SIGKILL `delayMs` after `from`: its spawn, its `opening` line (start-up
 * work begins) or its `open` line (committing begins). With `maxBlocks` the child stops committing there and
 * exits by itself (unless killed first).
 */
function runAndKill(
  dir: string,
  delayMs: number,
  from: 'spawn' | 'opening' | 'open',
  maxBlocks?: number,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const args = maxBlocks === undefined ? [CHILD, dir] : [CHILD, dir, String(maxBlocks)];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const kill = () => {
      timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    };
    const armOn = from === 'opening' ? /^opening$/m : /^open \d+$/m;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const armed = armOn.test(stdout);
      stdout += chunk;
      if (from !== 'spawn' && !armed && armOn.test(stdout)) kill();
    });
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      running.delete(child);
      if (timer) clearTimeout(timer);
      const lines = stdout.split('\n').filter((l) => l !== '');
      const committed = lines.filter((l) => /^\d+$/.test(l)).map(Number);
      resolve({ lines, lastCommitted: committed.at(-1), exitCode, signal, stderr });
    });
    if (from === 'spawn') kill();
    // Safety net: never leave a child running.
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

interface Expected {
  state: Map<string, VersionedValue>;
  counterHistory: Array<{ txId: string; value: string; blockNum: number; txNum: number }>;
  txIds: Map<string, { blockNumber: number; txNumber: number; validationCode: number }>;
}

/** Replays block contents independently of the store: Fabric's state rules, valid transactions only. */
function replay(blocks: common.Block[]): Expected {
  const state = new Map<string, VersionedValue>();
  const counterHistory: Expected['counterHistory'] = [];
  const txIds: Expected['txIds'] = new Map();
  blocks.forEach((block, blockNum) => {
    const entries = block.getData()!.getDataList_asU8();
    entries.forEach((bytes, txNum) => {
      const tx = JSON.parse(Buffer.from(bytes).toString('utf8')) as ChildTx;
      if (!txIds.has(tx.txId))
        txIds.set(tx.txId, { blockNumber: blockNum, txNumber: txNum, validationCode: tx.code });
      if (tx.code !== 0) return;
      const version = { blockNum, txNum };
      const metaWrites = new Map(tx.metadata.map((m) => [m.key, m.entries]));
      for (const w of tx.writes) {
        if (w.delete) {
          state.delete(w.key);
        } else {
          const entries = metaWrites.get(w.key);
          const metadata = entries
            ? Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, Buffer.from(v)]))
            : state.get(w.key)?.metadata;
          const vv: VersionedValue = { value: Buffer.from(w.value!), version };
          if (metadata) vv.metadata = metadata;
          state.set(w.key, vv);
        }
        if (w.key === 'counter')
          counterHistory.unshift({ txId: tx.txId, value: w.value ?? '', blockNum, txNum });
      }
    });
  });
  return { state, counterHistory, txIds };
}

async function checkStore(store: LedgerStore): Promise<void> {
  const verification = await store.verifyChain();
  expect(verification.problems).toEqual([]);
  expect(verification.ok).toBe(true);

  const blocks: common.Block[] = [];
  for (let n = 0; n < store.height; n++) {
    const block = (await store.getBlock(n))!;
    // Content is exactly what the child built for that number.
    const data = block
      .getData()!
      .getDataList_asU8()
      .map((b) => JSON.parse(Buffer.from(b).toString('utf8')));
    expect(data).toEqual(childTransactions(n));
    blocks.push(block);
  }
  const expected = replay(blocks);

  const actual = new Map<string, VersionedValue>();
  for await (const { key, value } of store.scanRange(CRASH_NAMESPACE, '', '')) actual.set(key, value);
  expect([...actual.keys()]).toEqual(
    [...expected.state.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
  );
  for (const [key, value] of expected.state) expect(actual.get(key)).toEqual(value);

  const history = [];
  for await (const h of store.getHistory(CRASH_NAMESPACE, 'counter')) {
    history.push({ txId: h.txId, value: h.value.toString('utf8'), blockNum: h.blockNum, txNum: h.txNum });
  }
  expect(history).toEqual(expected.counterHistory);

  for (const [txId, location] of expected.txIds) expect(await store.getTxLocation(txId)).toEqual(location);
}

/** The block number of the savepoint the child left in `dir`'s index, read without recovering anything. */
async function savepointBlock(dir: string): Promise<number | undefined> {
  const indexDir = path.join(dir, 'index');
  if (!existsSync(indexDir)) return undefined;
  const db = new ClassicLevel<Buffer, Buffer>(indexDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  try {
    await db.open();
    const raw = await db.get(SAVEPOINT_KEY);
    return raw && decodeSavepoint(raw).blockNumber;
  } catch {
    return undefined; // killed while LevelDB created its files
  } finally {
    await db.close();
  }
}

describe('LedgerStore crash safety (SIGKILL)', () => {
  let dir: string;

  beforeAll(async () => {
    if (!existsSync(CHILD)) {
      throw new Error(`${CHILD} is missing: run "npm run build -w gateway" first (the root "npm test" does)`);
    }
    for (const file of await fs.readdir(SRC_DIR)) {
      if (!file.endsWith('.ts')) continue;
      const js = path.join(DIST_DIR, file.replace(/\.ts$/, '.js'));
      if (!existsSync(js) || statSync(js).mtimeMs < statSync(path.join(SRC_DIR, file)).mtimeMs) {
        throw new Error(`${js} is older than its source: run "npm run build -w gateway" first`);
      }
    }
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ledger-crash-'));
  });

  afterEach(() => {
    for (const child of running) child.kill('SIGKILL');
  });

  afterAll(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('reopens consistent after kill -9 at random moments, never losing an acknowledged block', async () => {
    let lastHeight = 0;
    const recoveries: Array<{ reapplied: number[]; truncated: number }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Rounds 0, 4 and 8 kill early (possibly during open/recovery); the others mid-loop after a random delay.
      const early = round % 4 === 0;
      const delay = early ? Math.floor(Math.random() * 150) : 5 + Math.floor(Math.random() * 200);
      const run = await runAndKill(dir, delay, early ? 'spawn' : 'open');
      if (run.signal !== 'SIGKILL') {
        throw new Error(`child ended by itself (code ${run.exitCode}): ${run.stderr}`);
      }

      const store = await LedgerStore.open(dir, { updateFromBlock: childUpdateFromBlock });
      try {
        const report = store.recovery;
        recoveries.push({ reapplied: report.reappliedBlocks, truncated: report.truncatedBytes });
        if (run.lastCommitted !== undefined)
          expect(store.height).toBeGreaterThanOrEqual(run.lastCommitted + 1);
        expect(store.height).toBeGreaterThanOrEqual(lastHeight);
        lastHeight = store.height;
        await checkStore(store);
      } finally {
        await store.close();
      }
    }
    expect(lastHeight).toBeGreaterThan(0);

    // After all that, the store still takes new blocks.
    const store = await LedgerStore.open(dir, { updateFromBlock: childUpdateFromBlock });
    try {
      const height = store.height;
      for (let n = height; n < height + 3; n++) {
        const block = buildChildBlock(n, store.currentHash() ?? Buffer.alloc(0));
        await store.commitBlock(block, childUpdateFromBlock(block));
      }
      expect(store.height).toBe(height + 3);
      await checkStore(store);
    } finally {
      await store.close();
    }
  });

  it('converges after kill -9 during a rebuild of the state database from the block file', async () => {
    const rebuildDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ledger-rebuild-crash-'));
    try {
      const BLOCKS = 300;
      const filled = await runAndKill(rebuildDir, 60_000, 'spawn', BLOCKS);
      expect(filled).toMatchObject({ exitCode: 0, lastCommitted: BLOCKS - 1 });
      await fs.rm(path.join(rebuildDir, 'index'), { recursive: true });
      // Reopen (rebuilding, or resuming a rebuild) and kill at later and later moments, until kills have
      // landed in the middle of a rebuild twice: a savepoint short of the last block is left behind.
      let partial = 0;
      for (let round = 0; round < 16 && partial < 2; round++) {
        const run = await runAndKill(rebuildDir, 20 + 40 * round, 'opening', BLOCKS);
        if (run.signal !== 'SIGKILL' && run.exitCode !== 0) throw new Error(`child failed: ${run.stderr}`);
        const applied = await savepointBlock(rebuildDir);
        if (applied !== undefined && applied < BLOCKS - 1) partial++;
        // A rebuild that finished is started again from nothing.
        if (applied === BLOCKS - 1) await fs.rm(path.join(rebuildDir, 'index'), { recursive: true });
      }
      expect(partial).toBe(2);
      const store = await LedgerStore.open(rebuildDir, { updateFromBlock: childUpdateFromBlock });
      try {
        expect(store.height).toBe(BLOCKS);
        expect(store.recovery.droppedBlocks).toEqual([]);
        await checkStore(store);
      } finally {
        await store.close();
      }
      // The next start finds nothing to repair.
      const again = await LedgerStore.open(rebuildDir, { updateFromBlock: childUpdateFromBlock });
      try {
        expect(again.recovery.actions).toEqual([]);
      } finally {
        await again.close();
      }
    } finally {
      await fs.rm(rebuildDir, { recursive: true, force: true });
    }
  });
});
