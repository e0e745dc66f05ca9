/**
 * Ledger faults, through the real embedded ledger: a block file cut short at many offsets, a state database
 * (LevelDB) deleted, garbled, edited or restored from an older copy, and a byte flipped in an older block.
 * After each the ledger either refuses to open, naming the block, or answers exactly the state the block file
 * proves, and its start-up report says what was dropped and what was rebuilt.
 *
 * One ledger is written once (beforeAll); each test works on its own copy of its folder.
 */
import { ClassicLevel } from 'classic-level';
import { cp, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommitError, EndorseError, type LedgerStartupReport } from '../../src/ledger/port';
import { stateKey } from '../../src/ledger/embedded/storage/codec';
import { EmbeddedLedger } from '../../src/ledger/embedded/embedded-ledger';
import { TEST_IDENTITIES } from '../../src/ledger/embedded/testing';
import { ProbeContract } from './fixtures/probe-contract';
import { blockFile, blockRecords as records, indexDir } from '../support/block-file';

const KEYS = ['a', 'b', 'c', 'counter'];
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
const probe = (transaction: string, ...args: string[]) => ({
  identity: TEST_IDENTITIES.gridAdmin,
  transaction: `probe:${transaction}`,
  args,
});

const open = (dataDir: string) =>
  EmbeddedLedger.open({ dataDir, contracts: [ProbeContract], sync: false, batch: { batchTimeoutMs: 50 } });

/** Everything a client can read: values of the keys, their history, and each transaction's block and code. */
interface Observed {
  height: number;
  values: Record<string, string | null>;
  history: Record<string, string>;
  transactions: Record<string, string>;
}

async function observe(ledger: EmbeddedLedger, txIds: string[]): Promise<Observed> {
  const values: Record<string, string | null> = {};
  const history: Record<string, string> = {};
  for (const key of KEYS) {
    try {
      values[key] = text(await ledger.evaluate(probe('Get', key)));
    } catch (err) {
      if (!(err instanceof EndorseError) || !/PROBE_NOT_FOUND/.test(err.message)) throw err;
      values[key] = null;
    }
    history[key] = text(await ledger.evaluate(probe('History', key)));
  }
  const transactions: Record<string, string> = {};
  for (const txId of txIds) {
    const info = await ledger.getTransaction(txId);
    transactions[txId] = info ? `${info.blockNumber}:${info.validationCode}` : 'absent';
  }
  return { height: (await ledger.getChainInfo()).height, values, history, transactions };
}

async function indexFiles(dataDir: string, suffix: string): Promise<string[]> {
  return (await readdir(indexDir(dataDir)))
    .filter((name) => name.endsWith(suffix))
    .map((name) => join(indexDir(dataDir), name));
}

async function flipByteAt(path: string, at: number): Promise<void> {
  const bytes = await readFile(path);
  bytes[at] ^= 0x20;
  await writeFile(path, bytes);
}

let root: string;
let template: string;
/** What a client read after each block: observed[h] is the ledger at height h. */
const observed = new Map<number, Observed>();
const txIds: string[] = [];
let mvccTxId: string;
let lastTxId: string;
let height: number;
let indexAtHeight5: string;
let copies = 0;
const opened: EmbeddedLedger[] = [];

async function copyOfTemplate(): Promise<string> {
  const dir = join(root, `copy-${copies++}`);
  await cp(template, dir, { recursive: true });
  return dir;
}

async function reopen(dataDir: string): Promise<{ ledger: EmbeddedLedger; startup: LedgerStartupReport }> {
  const ledger = await open(dataDir);
  opened.push(ledger);
  return { ledger, startup: (await ledger.getChainInfo()).startup! };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gec-ledger-faults-'));
  template = join(root, 'template');
  let ledger = await open(template);
  const record = async () => observed.set(height, await observe(ledger, txIds));
  const submit = async (transaction: string, ...args: string[]) => {
    const result = await ledger.submit(probe(transaction, ...args));
    txIds.push(result.txId);
    height = result.blockNumber + 1;
    await record();
    return result;
  };
  height = 1;
  await record();
  await submit('Put', 'a', 'a-1'); // block 1
  await submit('Put', 'b', 'b-1'); // block 2
  await submit('Put', 'counter', '10'); // block 3
  // Two read-modify-writes in one block: one VALID, one MVCC_READ_CONFLICT whose write must never apply.
  const increments = await Promise.allSettled([
    ledger.submit(probe('Increment', 'counter')),
    ledger.submit(probe('Increment', 'counter')),
  ]);
  const committed = increments.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const conflicted = increments.flatMap((r) =>
    r.status === 'rejected' ? [(r.reason as CommitError).status.txId] : [],
  );
  expect(committed).toHaveLength(1);
  expect(conflicted).toHaveLength(1);
  mvccTxId = conflicted[0];
  txIds.push(committed[0].txId, mvccTxId);
  height = committed[0].blockNumber + 1; // block 4
  await record();
  // A restart makes LevelDB turn its log into a table file (.ldb), so both kinds of file hold state.
  await ledger.close();
  indexAtHeight5 = join(root, 'index-at-height-5');
  await cp(indexDir(template), indexAtHeight5, { recursive: true });
  ledger = await open(template);
  await submit('Put', 'a', 'a-2'); // block 5
  await submit('Delete', 'b'); // block 6
  await submit('Put', 'c', 'c-1'); // block 7
  lastTxId = txIds[txIds.length - 1];
  await ledger.close();
  expect(height).toBe(8);
  expect(observed.get(8)!.transactions[mvccTxId]).toBe('4:MVCC_READ_CONFLICT');
}, 60000);

afterEach(async () => {
  for (const ledger of opened.splice(0)) await ledger.close();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * The ledger at `expectedHeight` answers exactly what it answered when it first had that height, and knows
 * exactly the transactions of the blocks below it (with the codes they were committed with).
 */
async function expectCommittedState(ledger: EmbeddedLedger, expectedHeight: number): Promise<void> {
  const final = observed.get(8)!.transactions;
  const transactions = Object.fromEntries(
    txIds.map((txId) => [txId, Number(final[txId].split(':')[0]) < expectedHeight ? final[txId] : 'absent']),
  );
  expect(await observe(ledger, txIds)).toEqual({ ...observed.get(expectedHeight), transactions });
  expect(await ledger.verifyChain()).toEqual({ ok: true, height: expectedHeight, problems: [] });
}

/** ...and takes new work, continuing the chain from its (possibly shorter) end. */
async function expectWritable(ledger: EmbeddedLedger, expectedHeight: number): Promise<void> {
  const next = await ledger.submit(probe('Put', 'after', 'repair'));
  expect(next).toMatchObject({ blockNumber: expectedHeight, validationCode: 'VALID' });
  expect((await ledger.verifyChain()).ok).toBe(true);
}

describe('ledger faults: a block file cut short', () => {
  it('opens clean when nothing is wrong', async () => {
    const { ledger, startup } = await reopen(await copyOfTemplate());
    expect(startup).toMatchObject({ repairs: [], droppedBlocks: [], stateRebuilt: false });
    await expectCommittedState(ledger, 8);
  });

  // [name, offset to cut at given the last two records, blocks that survive]
  const cuts: Array<[string, (r: Array<{ offset: number; end: number }>) => number, number]> = [
    ['one byte short of the end', (r) => r[7].end - 1, 7],
    ['in the middle of the last block', (r) => Math.floor((r[7].offset + r[7].end) / 2), 7],
    ['inside the last length prefix', (r) => r[7].offset + 2, 7],
    ['at the start of the last record', (r) => r[7].offset, 7],
    ['in the middle of the block before', (r) => r[6].offset + 40, 6],
    ['inside the block that held the MVCC conflict', (r) => r[4].offset + 100, 4],
  ];

  it.each(cuts)(
    'cut %s: serves the blocks left, drops the rest and their writes, says so',
    async (_n, at, kept) => {
      const dataDir = await copyOfTemplate();
      const boundaries = await records(dataDir);
      expect(boundaries).toHaveLength(8);
      const cutAt = at(boundaries);
      await truncate(blockFile(dataDir), cutAt);

      const { ledger, startup } = await reopen(dataDir);
      const dropped = Array.from({ length: 8 - kept }, (_, i) => kept + i);
      expect(startup.droppedBlocks).toEqual(dropped);
      expect(startup.stateRebuilt).toBe(true);
      // Every transaction of the dropped blocks is named, with its block and code.
      const droppedTxIds = startup.droppedTransactions.map((t) => t.txId);
      expect(droppedTxIds).toContain(lastTxId);
      for (const txId of txIds) {
        const where = observed.get(8)!.transactions[txId];
        const block = Number(where.split(':')[0]);
        expect(droppedTxIds.includes(txId)).toBe(block >= kept);
      }
      expect(startup.repairs.join('\n')).toMatch(
        new RegExp(`the block file holds blocks 0\\.\\.${kept - 1} in full, but blocks? ${kept}`),
      );
      expect(startup.repairs.join('\n')).toContain(lastTxId);
      if (cutAt !== boundaries[kept]?.offset) {
        expect(startup.repairs.join('\n')).toMatch(
          new RegExp(`cut ${cutAt - boundaries[kept].offset} bytes from the end of the block file`),
        );
      }
      expect((await stat(blockFile(dataDir))).size).toBe(boundaries[kept - 1].end);

      // Exactly the state of the blocks left: no write of a dropped block, no invalid write, ever.
      await expectCommittedState(ledger, kept);
      expect(await ledger.getTransaction(lastTxId)).toBeUndefined();
      await expectWritable(ledger, kept);

      // The repair is durable: the next start is clean and serves the same.
      await ledger.close();
      const again = await reopen(dataDir);
      expect(again.startup).toMatchObject({ repairs: [], droppedBlocks: [], stateRebuilt: false });
      expect((await again.ledger.getChainInfo()).height).toBe(kept + 1);
    },
  );

  it('refuses to open when the genesis block itself was cut away', async () => {
    const dataDir = await copyOfTemplate();
    await truncate(blockFile(dataDir), 10);
    await expect(open(dataDir)).rejects.toThrow(/lost its genesis block .*refusing to start a new channel/);
  });

  it('cuts a last record that fails its checksum (a torn write that kept its length)', async () => {
    const dataDir = await copyOfTemplate();
    const boundaries = await records(dataDir);
    await flipByteAt(blockFile(dataDir), boundaries[7].end - 5);
    const { ledger, startup } = await reopen(dataDir);
    expect(startup.droppedBlocks).toEqual([7]);
    expect(startup.repairs.join('\n')).toMatch(/block 7: the last record fails its checksum/);
    await expectCommittedState(ledger, 7);
  });
});

describe('ledger faults: a block damaged before the last one', () => {
  it.each([1, 4, 6])('a byte flipped in block %i: refuses to open, naming the block', async (n) => {
    const dataDir = await copyOfTemplate();
    const boundaries = await records(dataDir);
    await flipByteAt(blockFile(dataDir), Math.floor((boundaries[n].offset + boundaries[n].end) / 2));
    await expect(open(dataDir)).rejects.toThrow(
      new RegExp(
        `^block store damaged at block ${n}: its record at offset ${boundaries[n].offset} fails its checksum`,
      ),
    );
  });

  it('refuses even when the state database is damaged too (it is never rebuilt from a damaged file)', async () => {
    const dataDir = await copyOfTemplate();
    const boundaries = await records(dataDir);
    await flipByteAt(blockFile(dataDir), boundaries[2].offset + 50);
    await rm(indexDir(dataDir), { recursive: true });
    await expect(open(dataDir)).rejects.toThrow(/^block store damaged at block 2: /);
  });
});

describe('ledger faults: a damaged state database', () => {
  const faults: Array<[string, (dataDir: string) => Promise<void>, RegExp]> = [
    [
      'the index folder deleted',
      (dir) => rm(indexDir(dir), { recursive: true }),
      /the state database was empty/,
    ],
    [
      "LevelDB's CURRENT file deleted",
      (dir) => rm(join(indexDir(dir), 'CURRENT')),
      // LevelDB starts a new database and replays only its write-ahead log into it: entries are missing.
      /the state database (was empty|could not be opened|has a savepoint but no format marker|holds entries but no)/,
    ],
    [
      "LevelDB's MANIFEST deleted",
      async (dir) => {
        for (const file of await indexFiles(dir, '')) if (/MANIFEST/.test(file)) await rm(file);
      },
      /the state database (was empty|could not be opened)/,
    ],
    [
      'every table file (.ldb) deleted',
      async (dir) => {
        const tables = await indexFiles(dir, '.ldb');
        expect(tables.length).toBeGreaterThan(0);
        for (const file of tables) await rm(file);
      },
      /the state database could not be opened/,
    ],
    [
      'a stored value garbled inside a table file (.ldb)',
      async (dir) => {
        for (const file of await indexFiles(dir, '.ldb')) {
          const at = (await readFile(file)).indexOf('counter');
          if (at >= 0) return flipByteAt(file, at + 2);
        }
        throw new Error('no table file holds the key');
      },
      /the state database (does not add up to the digest|is unreadable|could not be opened)/,
    ],
    [
      "a byte garbled in LevelDB's write-ahead log (.log)",
      async (dir) => {
        const [log] = await indexFiles(dir, '.log');
        await flipByteAt(log, Math.floor((await stat(log)).size / 2));
      },
      /the state database (does not add up|is unreadable|could not be opened)|re-applied block/,
    ],
    [
      "LevelDB's write-ahead log cut in half",
      async (dir) => {
        const [log] = await indexFiles(dir, '.log');
        await truncate(log, Math.floor((await stat(log)).size / 2));
      },
      /re-applied blocks? |the state database does not add up/,
    ],
  ];

  it.each(faults)(
    '%s: rebuilds from the block file and serves exactly the committed state',
    async (_name, fault, says) => {
      const dataDir = await copyOfTemplate();
      await fault(dataDir);
      const { ledger, startup } = await reopen(dataDir);
      expect(startup.droppedBlocks).toEqual([]);
      expect(startup.repairs.join('\n')).toMatch(says);
      await expectCommittedState(ledger, 8);
      await expectWritable(ledger, 8);
    },
  );

  /** Writes to the index database directly, as a person with a LevelDB tool (or a bug) would. */
  async function editIndex(dataDir: string, edit: (db: ClassicLevel<Buffer, Buffer>) => Promise<void>) {
    const db = new ClassicLevel<Buffer, Buffer>(indexDir(dataDir), {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    await db.open();
    try {
      await edit(db);
    } finally {
      await db.close();
    }
  }

  /** The stored state entry of `key` (the chaincode's namespace is its name, `gec` by default). */
  async function stateEntry(db: ClassicLevel<Buffer, Buffer>, key: string): Promise<[Buffer, Buffer]> {
    const k = stateKey('gec', key);
    const v = await db.get(k);
    if (!v) throw new Error(`no state entry for ${key}`);
    return [k, v];
  }

  it('a state value edited in place (a well-formed LevelDB write): found by the digest, rebuilt', async () => {
    const dataDir = await copyOfTemplate();
    await editIndex(dataDir, async (db) => {
      const [key, value] = await stateEntry(db, 'counter');
      const edited = Buffer.from(value.toString('latin1').replace('11', '99'), 'latin1');
      expect(edited.equals(value)).toBe(false);
      await db.put(key, edited);
    });
    const { ledger, startup } = await reopen(dataDir);
    expect(startup.stateRebuilt).toBe(true);
    expect(startup.repairs.join('\n')).toMatch(
      /^the state database does not add up to the digest of its savepoint at block 7 .*moved it to .*index\.damaged\.1 and rebuilt/m,
    );
    await expectCommittedState(ledger, 8);
  });

  it('a state entry deleted, or one added: found by the digest, rebuilt', async () => {
    for (const edit of ['delete', 'add'] as const) {
      const dataDir = await copyOfTemplate();
      await editIndex(dataDir, async (db) => {
        const [key, value] = await stateEntry(db, 'a');
        if (edit === 'delete') await db.del(key);
        else await db.put(Buffer.concat([key, Buffer.from('-forged')]), value);
      });
      const { ledger, startup } = await reopen(dataDir);
      expect(startup.stateRebuilt).toBe(true);
      await expectCommittedState(ledger, 8);
    }
  });

  it('an older copy of the state database restored (savepoint behind the block file): re-applies the blocks after it', async () => {
    const dataDir = await copyOfTemplate();
    await rm(indexDir(dataDir), { recursive: true });
    await cp(indexAtHeight5, indexDir(dataDir), { recursive: true });
    const { ledger, startup } = await reopen(dataDir);
    expect(startup).toMatchObject({ droppedBlocks: [], stateRebuilt: false });
    expect(startup.repairs).toEqual([
      're-applied blocks 5..7 from the block file: the state batch had not been written when the process stopped',
    ]);
    await expectCommittedState(ledger, 8);
  });

  it('a newer state database beside an older block file (savepoint ahead): drops what the file cannot prove', async () => {
    const dataDir = await copyOfTemplate();
    const boundaries = await records(dataDir);
    await truncate(blockFile(dataDir), boundaries[5].offset);
    const { ledger, startup } = await reopen(dataDir);
    expect(startup.droppedBlocks).toEqual([5, 6, 7]);
    expect(startup.repairs[0]).toMatch(
      /^the block file holds blocks 0\.\.4 in full, but blocks 5\.\.7 had been committed: dropped, with 3 transaction\(s\), 3 of them valid/,
    );
    await expectCommittedState(ledger, 5);
  });
});
