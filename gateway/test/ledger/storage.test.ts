import { common } from '@hyperledger/fabric-protos';
import { ClassicLevel } from 'classic-level';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeBlockRecord } from '../../src/ledger/embedded/storage/block-file';
import {
  computeBlockDataHash,
  computeBlockHeaderHash,
  encodeBlockHeaderDer,
} from '../../src/ledger/embedded/storage/block-hash';
import { BlockUpdate, LedgerStore, TxUpdate } from '../../src/ledger/embedded/storage/ledger-store';

// ---- helpers --------------------------------------------------------------------------------------------------

const NS = 'gec';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();
const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** One test transaction, stored as JSON in a block data entry. Write value `null` = delete. */
interface TestTx {
  txId: string;
  code?: number;
  ts?: [number, number];
  writes?: Array<[string, string, string | null]>;
  meta?: Array<[string, string, Record<string, string>]>;
}

function makeBlock(n: number, previousHash: Uint8Array, entries: Uint8Array[]): common.Block {
  const header = new common.BlockHeader();
  header.setNumber(n);
  header.setPreviousHash(previousHash);
  header.setDataHash(computeBlockDataHash(entries));
  const data = new common.BlockData();
  data.setDataList(entries);
  const metadata = new common.BlockMetadata();
  metadata.setMetadataList([0, 1, 2, 3, 4].map(() => new Uint8Array(0)));
  const block = new common.Block();
  block.setHeader(header);
  block.setData(data);
  block.setMetadata(metadata);
  return block;
}

function txBlock(n: number, previousHash: Uint8Array, txs: TestTx[]): common.Block {
  return makeBlock(
    n,
    previousHash,
    txs.map((tx) => new Uint8Array(Buffer.from(JSON.stringify(tx), 'utf8'))),
  );
}

function updateFromBlock(block: common.Block): BlockUpdate {
  const entries = block.getData()?.getDataList_asU8() ?? [];
  const txs: TxUpdate[] = entries.map((bytes, txNum) => {
    const tx = JSON.parse(Buffer.from(bytes).toString('utf8')) as TestTx;
    const code = tx.code ?? 0;
    const valid = code === 0;
    return {
      txId: tx.txId,
      txNum,
      validationCode: code,
      timestamp: { seconds: tx.ts?.[0] ?? 1_700_000_000, nanos: tx.ts?.[1] ?? 0 },
      writes: valid
        ? (tx.writes ?? []).map(([namespace, key, value]) => ({
            namespace,
            key,
            isDelete: value === null,
            value: value === null ? undefined : Buffer.from(value, 'utf8'),
          }))
        : [],
      metadataWrites: valid
        ? (tx.meta ?? []).map(([namespace, key, entries]) => ({
            namespace,
            key,
            metadata: Object.fromEntries(
              Object.entries(entries).map(([k, v]) => [k, Buffer.from(v, 'utf8')]),
            ),
          }))
        : [],
    };
  });
  return { blockNumber: block.getHeader()?.getNumber() ?? -1, txs };
}

async function commit(store: LedgerStore, txs: TestTx[]): Promise<common.Block> {
  const block = txBlock(store.height, store.currentHash() ?? Buffer.alloc(0), txs);
  await store.commitBlock(block, updateFromBlock(block));
  return block;
}

async function collect<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of gen) out.push(item);
  return out;
}

async function keys(store: LedgerStore, ns: string, start: string, end: string): Promise<string[]> {
  return (await collect(store.scanRange(ns, start, end))).map((e) => e.key);
}

const str = (b: Buffer | undefined) => b?.toString('utf8');
const blockFile = (dir: string) => path.join(dir, 'blocks', 'blockfile_000000');

/** Splits the block file into records using the documented layout: u32be length ‖ bytes ‖ sha256. */
async function records(dir: string): Promise<Array<{ offset: number; bytes: Buffer }>> {
  const file = await fs.readFile(blockFile(dir));
  const out: Array<{ offset: number; bytes: Buffer }> = [];
  for (let offset = 0; offset < file.length;) {
    const length = file.readUInt32BE(offset);
    out.push({ offset, bytes: file.subarray(offset + 4, offset + 4 + length) });
    offset += 4 + length + 32;
  }
  return out;
}

let root: string;
let counter = 0;
const open: LedgerStore[] = [];

async function newDir(): Promise<string> {
  const dir = path.join(root, `s${counter++}`);
  await fs.mkdir(dir);
  return dir;
}

async function openStore(dir: string, sync = true): Promise<LedgerStore> {
  const store = await LedgerStore.open(dir, { updateFromBlock, sync });
  open.push(store);
  return store;
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'ledger-store-'));
});

afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

// ---- block hashes ---------------------------------------------------------------------------------------------

describe('block hashes (Fabric 2.x)', () => {
  it('data hash is SHA-256 over the concatenated data entries', () => {
    const entries = [Buffer.from('ab'), Buffer.from(''), Buffer.from('cde')];
    expect(computeBlockDataHash(entries)).toEqual(sha256(Buffer.from('abcde')));
    expect(computeBlockDataHash([])).toEqual(sha256(Buffer.alloc(0)));
  });

  it('header bytes are DER SEQUENCE { INTEGER, OCTET STRING, OCTET STRING } with minimal integers', () => {
    const der = (number: number, previousHash = Buffer.alloc(0), dataHash = Buffer.alloc(0)) =>
      encodeBlockHeaderDer({ number, previousHash, dataHash }).toString('hex');
    expect(der(0)).toBe('300702010004000400');
    expect(der(1, Buffer.from('foo'), Buffer.from('bar'))).toBe('300d020101' + '0403666f6f' + '0403626172');
    expect(der(127)).toBe('30070201' + '7f' + '04000400');
    expect(der(128)).toBe('30080202' + '0080' + '04000400');
    expect(der(255)).toBe('30080202' + '00ff' + '04000400');
    expect(der(256)).toBe('30080202' + '0100' + '04000400');
    expect(der(65535)).toBe('30090203' + '00ffff' + '04000400');
    expect(der(Number.MAX_SAFE_INTEGER)).toBe('300d0207' + '1fffffffffffff' + '04000400');
    // Long-form lengths: 200-byte OCTET STRING → 04 81 c8; SEQUENCE of 3 + 203 + 34 = 240 bytes → 30 81 f0.
    const long = der(5, Buffer.alloc(200, 1), Buffer.alloc(32, 2));
    expect(long.startsWith('3081f0020105' + '0481c8')).toBe(true);
    expect(der(5, Buffer.alloc(300, 1)).startsWith('30820135020105' + '0482012c')).toBe(true);
    expect(() => der(-1)).toThrow(RangeError);
    expect(() => der(1.5)).toThrow(RangeError);
  });

  it('header hash is SHA-256 of the DER bytes', () => {
    const header = { number: 42, previousHash: sha256(Buffer.from('p')), dataHash: sha256(Buffer.from('d')) };
    expect(computeBlockHeaderHash(header)).toEqual(sha256(encodeBlockHeaderDer(header)));
  });
});

// ---- ledger store ---------------------------------------------------------------------------------------------

describe('LedgerStore', () => {
  it('starts empty', async () => {
    const store = await openStore(await newDir());
    expect(store.height).toBe(0);
    expect(store.currentHash()).toBeUndefined();
    expect(store.previousHash()).toBeUndefined();
    expect(await store.getBlock(0)).toBeUndefined();
    expect(await store.getState(NS, 'a')).toBeUndefined();
    expect(await store.verifyChain()).toEqual({ ok: true, height: 0, problems: [] });
  });

  it('puts, gets and deletes with versions; value writes keep metadata as in Fabric', async () => {
    const store = await openStore(await newDir());
    await commit(store, [
      {
        txId: 't0',
        writes: [
          [NS, 'a', '1'],
          [NS, 'b', '2'],
          ['other', 'a', 'elsewhere'],
        ],
      },
      { txId: 't1', writes: [[NS, 'a', '3']] },
    ]);
    expect(await store.getState(NS, 'a')).toEqual({
      value: Buffer.from('3'),
      version: { blockNum: 0, txNum: 1 },
    });
    expect(await store.getState(NS, 'b')).toEqual({
      value: Buffer.from('2'),
      version: { blockNum: 0, txNum: 0 },
    });
    expect(str((await store.getState('other', 'a'))?.value)).toBe('elsewhere');

    // Metadata-only write: value kept, metadata set, version bumped; on a missing key it is a no-op.
    await commit(store, [
      {
        txId: 't2',
        meta: [
          [NS, 'a', { VALIDATION_PARAMETER: 'ep' }],
          [NS, 'nokey', { X: 'y' }],
        ],
      },
    ]);
    expect(await store.getState(NS, 'a')).toEqual({
      value: Buffer.from('3'),
      version: { blockNum: 1, txNum: 0 },
      metadata: { VALIDATION_PARAMETER: Buffer.from('ep') },
    });
    expect(await store.getState(NS, 'nokey')).toBeUndefined();

    // Value-only write keeps the metadata; an empty metadata map removes it.
    await commit(store, [{ txId: 't3', writes: [[NS, 'a', '4']] }]);
    expect(await store.getState(NS, 'a')).toEqual({
      value: Buffer.from('4'),
      version: { blockNum: 2, txNum: 0 },
      metadata: { VALIDATION_PARAMETER: Buffer.from('ep') },
    });
    await commit(store, [{ txId: 't4', writes: [[NS, 'b', '5']], meta: [[NS, 'b', { A: '1', B: '2' }]] }]);
    expect((await store.getState(NS, 'b'))?.metadata).toEqual({ A: Buffer.from('1'), B: Buffer.from('2') });
    await commit(store, [{ txId: 't5', meta: [[NS, 'b', {}]] }]);
    expect(await store.getState(NS, 'b')).toEqual({
      value: Buffer.from('5'),
      version: { blockNum: 4, txNum: 0 },
    });

    // Delete removes value and metadata; a later write starts without metadata.
    await commit(store, [{ txId: 't6', writes: [[NS, 'a', null]] }]);
    expect(await store.getState(NS, 'a')).toBeUndefined();
    await commit(store, [{ txId: 't7', writes: [[NS, 'a', '6']] }]);
    expect(await store.getState(NS, 'a')).toEqual({
      value: Buffer.from('6'),
      version: { blockNum: 6, txNum: 0 },
    });

    // Within one block a later transaction sees the earlier one's metadata.
    await commit(store, [
      { txId: 't8', meta: [[NS, 'a', { P: 'q' }]] },
      { txId: 't9', writes: [[NS, 'a', '7']] },
    ]);
    expect(await store.getState(NS, 'a')).toEqual({
      value: Buffer.from('7'),
      version: { blockNum: 7, txNum: 1 },
      metadata: { P: Buffer.from('q') },
    });
    // An empty value is a value, not a delete.
    await commit(store, [{ txId: 't10', writes: [[NS, 'empty', '']] }]);
    expect(await store.getState(NS, 'empty')).toEqual({
      value: Buffer.alloc(0),
      version: { blockNum: 8, txNum: 0 },
    });
  });

  it('ignores writes of invalid transactions', async () => {
    const store = await openStore(await newDir());
    const block = txBlock(0, Buffer.alloc(0), [{ txId: 'bad', code: 11 }, { txId: 'good' }]);
    const update = updateFromBlock(block);
    update.txs[0].writes = [{ namespace: NS, key: 'x', value: Buffer.from('nope'), isDelete: false }];
    update.txs[1].writes = [{ namespace: NS, key: 'y', value: Buffer.from('yes'), isDelete: false }];
    await store.commitBlock(block, update);
    expect(await store.getState(NS, 'x')).toBeUndefined();
    expect(await collect(store.getHistory(NS, 'x'))).toEqual([]);
    expect(str((await store.getState(NS, 'y'))?.value)).toBe('yes');
    expect(await store.getTxLocation('bad')).toEqual({ blockNumber: 0, txNumber: 0, validationCode: 11 });
  });

  it('scans ranges in UTF-8 byte order with inclusive start and exclusive end', async () => {
    const store = await openStore(await newDir());
    const all = [
      'a',
      'a\u0000b',
      'a\u0001',
      'ab',
      'b',
      'z',
      '\u0000comp\u0000x\u0000',
      '\u0000comp\u0000y\u00001\u0000',
      '\u0000other\u0000x\u0000',
      'é',
      '中',
      '\uFFFD',
      '😀', // UTF-16 sorts it before U+FFFD, UTF-8 after
      '\u{10FFFF}',
    ];
    await commit(store, [
      { txId: 't0', writes: all.map((k, i): [string, string, string] => [NS, k, `v${i}`]) },
      {
        txId: 't1',
        writes: [
          ['g', 'ecX', 'other namespace'],
          ['ge', 'c', 'other namespace'],
        ],
      },
    ]);
    const sorted = [...all].sort(utf8Order);
    expect(sorted.indexOf('\uFFFD')).toBeLessThan(sorted.indexOf('😀'));
    expect(await keys(store, NS, '', '')).toEqual(sorted);
    // What Fabric's getStateByRange('', '') scans: from \x01, so composite keys are excluded.
    expect(await keys(store, NS, '\u0001', '')).toEqual(sorted.filter((k) => !k.startsWith('\u0000')));
    // Partial composite key: prefix to prefix + U+10FFFF.
    expect(await keys(store, NS, '\u0000comp\u0000', '\u0000comp\u0000\u{10FFFF}')).toEqual([
      '\u0000comp\u0000x\u0000',
      '\u0000comp\u0000y\u00001\u0000',
    ]);
    expect(await keys(store, NS, 'a', 'b')).toEqual(['a', 'a\u0000b', 'a\u0001', 'ab']);
    expect(await keys(store, NS, 'a\u0000b', 'ab')).toEqual(['a\u0000b', 'a\u0001']);
    expect(await keys(store, NS, 'b', 'b')).toEqual([]);
    expect(await keys(store, NS, 'z', 'a')).toEqual([]);
    expect(await keys(store, NS, '\uFFFD', '\u{10FFFF}')).toEqual(['\uFFFD', '😀']);
    expect(await keys(store, NS, '\u{10FFFF}', '')).toEqual(['\u{10FFFF}']);
    // Namespaces sharing a prefix do not leak into each other.
    expect(await keys(store, 'g', '', '')).toEqual(['ecX']);
    expect(await keys(store, 'ge', '', '')).toEqual(['c']);
    expect(await keys(store, 'gec2', '', '')).toEqual([]);
    const first = (await collect(store.scanRange(NS, 'é', 'é\u0000')))[0];
    expect(first).toEqual({
      key: 'é',
      value: { value: Buffer.from('v9'), version: { blockNum: 0, txNum: 0 } },
    });
    // Breaking out of a scan early is fine.
    for await (const entry of store.scanRange(NS, '', '')) {
      expect(entry.key).toBe(sorted[0]);
      break;
    }
  });

  it('refuses keys that are not well-formed Unicode before writing anything', async () => {
    const dir = await newDir();
    const store = await openStore(dir);
    await commit(store, [{ txId: 't0', writes: [[NS, 'ok', '1']] }]);
    const size = (await fs.stat(blockFile(dir))).size;
    await expect(commit(store, [{ txId: 't1', writes: [[NS, 'bad\uD800', '1']] }])).rejects.toThrow(
      /well-formed/,
    );
    expect(store.height).toBe(1);
    expect((await fs.stat(blockFile(dir))).size).toBe(size);
    await commit(store, [{ txId: 't1', writes: [[NS, 'fine', '1']] }]);
    expect(store.height).toBe(2);
  });

  it('returns history newest first, valid transactions only, without leaking across keys', async () => {
    const store = await openStore(await newDir());
    await commit(store, [
      { txId: 'h0', ts: [100, 1], writes: [[NS, 'a', 'a0']] },
      {
        txId: 'h1',
        ts: [100, 2],
        writes: [
          [NS, 'a', 'a1'],
          [NS, 'a\u0000b', 'x'],
        ],
      },
    ]);
    await commit(store, [
      { txId: 'h2', code: 11, writes: [[NS, 'a', 'conflict']] },
      { txId: 'h3', ts: [200, 0], writes: [[NS, 'ab', 'y']], meta: [[NS, 'a', { K: 'v' }]] },
    ]);
    await commit(store, [{ txId: 'h4', ts: [300, 5], writes: [[NS, 'a', null]] }]);
    await commit(store, [
      {
        txId: 'h5',
        ts: [400, 0],
        writes: [
          [NS, 'a', 'a5'],
          ['other', 'a', 'o'],
        ],
      },
    ]);

    const history = await collect(store.getHistory(NS, 'a'));
    expect(history.map((h) => [h.txId, h.blockNum, h.txNum, h.isDelete, str(h.value)])).toEqual([
      ['h5', 3, 0, false, 'a5'],
      ['h4', 2, 0, true, ''],
      ['h1', 0, 1, false, 'a1'],
      ['h0', 0, 0, false, 'a0'],
    ]);
    expect(history[0].timestamp).toEqual({ seconds: 400, nanos: 0 });
    expect(history[1].timestamp).toEqual({ seconds: 300, nanos: 5 });
    expect((await collect(store.getHistory(NS, 'a\u0000b'))).map((h) => h.txId)).toEqual(['h1']);
    expect((await collect(store.getHistory(NS, 'ab'))).map((h) => h.txId)).toEqual(['h3']);
    expect((await collect(store.getHistory('other', 'a'))).map((h) => h.txId)).toEqual(['h5']);
    expect(await collect(store.getHistory(NS, ''))).toEqual([]);
    expect(await collect(store.getHistory(NS, 'missing'))).toEqual([]);
  });

  it('indexes every transaction by txId; the first occurrence wins', async () => {
    const store = await openStore(await newDir());
    await commit(store, [{ txId: 'T1' }, { txId: 'T2', code: 10 }]);
    await commit(store, [
      { txId: 'T3', code: 11 },
      { txId: 'T1', code: 9 },
      { txId: 'T4' },
      { txId: 'T4', code: 9 },
    ]);
    expect(await store.getTxLocation('T1')).toEqual({ blockNumber: 0, txNumber: 0, validationCode: 0 });
    expect(await store.getTxLocation('T2')).toEqual({ blockNumber: 0, txNumber: 1, validationCode: 10 });
    expect(await store.getTxLocation('T3')).toEqual({ blockNumber: 1, txNumber: 0, validationCode: 11 });
    expect(await store.getTxLocation('T4')).toEqual({ blockNumber: 1, txNumber: 2, validationCode: 0 });
    expect(await store.getTxLocation('T5')).toBeUndefined();
  });

  it('appends only the next block of the hash chain', async () => {
    const store = await openStore(await newDir());
    const empty = Buffer.alloc(0);
    const genesis = txBlock(0, empty, [{ txId: 'g' }]);
    await expect(
      store.commitBlock(txBlock(0, sha256(empty), [{ txId: 'g' }]), updateFromBlock(genesis)),
    ).rejects.toThrow(/previous hash/);
    await expect(
      store.commitBlock(txBlock(1, empty, [{ txId: 'g' }]), updateFromBlock(genesis)),
    ).rejects.toThrow(/not the next block/);
    await store.commitBlock(genesis, updateFromBlock(genesis));
    const hash0 = computeBlockHeaderHash({
      number: 0,
      previousHash: empty,
      dataHash: genesis.getHeader()!.getDataHash_asU8(),
    });
    expect(store.currentHash()).toEqual(hash0);
    expect(store.previousHash()).toEqual(empty);

    const next = txBlock(1, hash0, [{ txId: 'n' }]);
    const wrongPrev = txBlock(1, sha256(Buffer.from('x')), [{ txId: 'n' }]);
    await expect(store.commitBlock(wrongPrev, updateFromBlock(next))).rejects.toThrow(/previous hash/);
    await expect(store.commitBlock(genesis, updateFromBlock(genesis))).rejects.toThrow(/not the next block/);
    await expect(
      store.commitBlock(txBlock(2, hash0, [{ txId: 'n' }]), updateFromBlock(next)),
    ).rejects.toThrow(/not the next block/);
    const badData = txBlock(1, hash0, [{ txId: 'n' }]);
    badData.getHeader()!.setDataHash(sha256(Buffer.from('not the data')));
    await expect(store.commitBlock(badData, updateFromBlock(next))).rejects.toThrow(/data hash/);
    await expect(store.commitBlock(next, { ...updateFromBlock(next), blockNumber: 7 })).rejects.toThrow(
      /update is for/,
    );
    expect(store.height).toBe(1);

    // Concurrent commits are refused, not interleaved.
    const first = store.commitBlock(next, updateFromBlock(next));
    await expect(store.commitBlock(next, updateFromBlock(next))).rejects.toThrow(/in progress/);
    await first;
    expect(store.height).toBe(2);
    expect(store.previousHash()).toEqual(hash0);
    expect(await store.getBlockHash(0)).toEqual(hash0);
    expect(await store.getBlockBytes(1)).toEqual(Buffer.from(next.serializeBinary()));
    const read = await store.getBlock(1);
    expect(read?.getHeader()?.getNumber()).toBe(1);
    expect(read?.getMetadata()?.getMetadataList_asU8()).toHaveLength(5);
    expect(await store.getBlock(2)).toBeUndefined();
    expect(await store.getBlock(-1)).toBeUndefined();
    expect((await store.verifyChain()).ok).toBe(true);
  });

  it('verifyChain names a block whose bytes were tampered with while the store is open', async () => {
    const dir = await newDir();
    const store = await openStore(dir);
    for (let i = 0; i < 5; i++) await commit(store, [{ txId: `t${i}`, writes: [[NS, 'k', `MARK-${i}`]] }]);
    expect(await store.verifyChain()).toEqual({ ok: true, height: 5, problems: [] });

    const file = await fs.readFile(blockFile(dir));
    const at = file.indexOf('MARK-2');
    expect(at).toBeGreaterThan(0);
    file[at] ^= 0x01;
    await fs.writeFile(blockFile(dir), file);

    const result = await store.verifyChain();
    expect(result.ok).toBe(false);
    expect(result.height).toBe(5);
    expect(result.problems.length).toBeGreaterThan(0);
    for (const problem of result.problems) expect(problem).toMatch(/^block 2: /);
    expect(result.problems.some((p) => /data hash mismatch/.test(p))).toBe(true);
    expect(result.problems.some((p) => /checksum/.test(p))).toBe(true);
    await expect(store.getBlockBytes(2)).rejects.toThrow(/block 2/);
    expect(await store.getBlockBytes(3)).toBeDefined();
    await store.close();
    // Every start checks every record's checksum: the store does not open again.
    await expect(LedgerStore.open(dir, { updateFromBlock })).rejects.toThrow(
      /^block store damaged at block 2: its record at offset \d+ fails its checksum/,
    );
  });

  it('verifyChain finds the broken previous-hash link when a block is rewritten consistently', async () => {
    const dir = await newDir();
    const store = await openStore(dir);
    for (let i = 0; i < 5; i++) await commit(store, [{ txId: `t${i}`, writes: [[NS, 'k', `MARK-${i}`]] }]);

    // Rewrite block 2 as a careful forger would: new data, recomputed data hash, recomputed record checksum.
    const { offset, bytes } = (await records(dir))[2];
    const block = common.Block.deserializeBinary(bytes);
    const entries = block.getData()!.getDataList_asU8();
    entries[0] = Buffer.from(Buffer.from(entries[0]).toString('utf8').replace('MARK-2', 'FAKE-2'), 'utf8');
    block.getData()!.setDataList(entries);
    block.getHeader()!.setDataHash(computeBlockDataHash(entries));
    const forged = Buffer.from(block.serializeBinary());
    expect(forged.length).toBe(bytes.length);
    const handle = await fs.open(blockFile(dir), 'r+');
    await handle.write(encodeBlockRecord(forged), 0, 4 + forged.length + 32, offset);
    await handle.close();

    const result = await store.verifyChain();
    expect(result.ok).toBe(false);
    expect(
      result.problems.some((p) =>
        /^block 3: previous hash .* does not match the header hash of block 2/.test(p),
      ),
    ).toBe(true);
    expect(
      result.problems.some((p) =>
        /^block 2: header hash .* differs from the one recorded in the index/.test(p),
      ),
    ).toBe(true);
    expect(result.problems.some((p) => /data hash/.test(p))).toBe(false);
  });

  it('a rebuild checks every link first: a consistently rewritten older block stops it, named, changing nothing', async () => {
    const dir = await newDir();
    let store = await openStore(dir);
    for (let i = 0; i < 5; i++) await commit(store, [{ txId: `t${i}`, writes: [[NS, 'k', `MARK-${i}`]] }]);
    await store.close();
    store = await openStore(dir); // this start verifies the chain through block 4: later starts begin there
    await store.close();
    // Rewrite block 2 with its data hash and record checksum recomputed, then cut into block 4: the database
    // is ahead of the block file and must be rebuilt from a chain whose link 2 → 3 is broken.
    const all = await records(dir);
    const block = common.Block.deserializeBinary(all[2].bytes);
    const entries = block.getData()!.getDataList_asU8();
    entries[0] = Buffer.from(Buffer.from(entries[0]).toString('utf8').replace('MARK-2', 'FAKE-2'), 'utf8');
    block.getData()!.setDataList(entries);
    block.getHeader()!.setDataHash(computeBlockDataHash(entries));
    const handle = await fs.open(blockFile(dir), 'r+');
    const record = encodeBlockRecord(block.serializeBinary());
    await handle.write(record, 0, record.length, all[2].offset);
    await handle.close();
    await fs.truncate(blockFile(dir), all[4].offset + 10);
    await expect(LedgerStore.open(dir, { updateFromBlock })).rejects.toThrow(
      /^block store damaged at block 3: its previous hash .* does not match the header hash of block 2/,
    );
    // Refused before anything was cut or moved aside.
    expect((await fs.stat(blockFile(dir))).size).toBe(all[4].offset + 10);
    await expect(fs.access(path.join(dir, 'index.damaged.1'))).rejects.toThrow();
  });

  it('refuses to open when the last block was replaced', async () => {
    const dir = await newDir();
    const store = await openStore(dir);
    for (let i = 0; i < 3; i++) await commit(store, [{ txId: `t${i}`, writes: [[NS, 'k', `MARK-${i}`]] }]);
    await store.close();
    const { offset, bytes } = (await records(dir))[2];
    const block = common.Block.deserializeBinary(bytes);
    const entries = block.getData()!.getDataList_asU8();
    entries[0] = Buffer.from(Buffer.from(entries[0]).toString('utf8').replace('MARK-2', 'FAKE-2'), 'utf8');
    block.getData()!.setDataList(entries);
    block.getHeader()!.setDataHash(computeBlockDataHash(entries));
    const handle = await fs.open(blockFile(dir), 'r+');
    const record = encodeBlockRecord(block.serializeBinary());
    await handle.write(record, 0, record.length, offset);
    await handle.close();
    await expect(LedgerStore.open(dir, { updateFromBlock })).rejects.toThrow(
      /^block store damaged at block 2: its header hash in the block file .* differs from the one the intact index and savepoint recorded/,
    );
  });

  it('persists across close and reopen', async () => {
    const dir = await newDir();
    let store = await openStore(dir);
    const blocks: common.Block[] = [];
    blocks.push(
      await commit(store, [
        { txId: 'p0', writes: [[NS, 'k\u00001', 'v0']], meta: [[NS, 'k\u00001', { M: 'm' }]] },
      ]),
    );
    blocks.push(
      await commit(store, [
        { txId: 'p1', ts: [5, 6], writes: [[NS, 'k\u00001', 'v1']] },
        { txId: 'p2', code: 11 },
      ]),
    );
    const hash = store.currentHash();
    const prev = store.previousHash();
    await store.close();
    await store.close(); // idempotent
    await expect(store.getState(NS, 'k\u00001')).rejects.toThrow(/closed/);

    store = await openStore(dir);
    expect(store.height).toBe(2);
    expect(store.currentHash()).toEqual(hash);
    expect(store.previousHash()).toEqual(prev);
    expect(store.recovery).toMatchObject({
      reappliedBlocks: [],
      truncatedBytes: 0,
      droppedBlocks: [],
      actions: [],
    });
    expect(await store.getState(NS, 'k\u00001')).toEqual({
      value: Buffer.from('v1'),
      version: { blockNum: 1, txNum: 0 },
      metadata: { M: Buffer.from('m') },
    });
    expect((await collect(store.getHistory(NS, 'k\u00001'))).map((h) => h.txId)).toEqual(['p1', 'p0']);
    expect(await store.getTxLocation('p2')).toEqual({ blockNumber: 1, txNumber: 1, validationCode: 11 });
    for (let i = 0; i < 2; i++)
      expect(await store.getBlockBytes(i)).toEqual(Buffer.from(blocks[i].serializeBinary()));
    await commit(store, [{ txId: 'p3', writes: [[NS, 'k\u00001', 'v3']] }]);
    expect((await store.verifyChain()).ok).toBe(true);
  });

  it('works without sync writes', async () => {
    const dir = await newDir();
    let store = await openStore(dir, false);
    await commit(store, [{ txId: 'n0', writes: [[NS, 'a', '1']] }]);
    await store.close();
    store = await openStore(dir, false);
    expect(str((await store.getState(NS, 'a'))?.value)).toBe('1');
  });
});

// ---- recovery in the window between block-file append and LevelDB batch --------------------------------------

describe('LedgerStore recovery', () => {
  async function prepared(): Promise<{ dir: string; next: common.Block; size: number }> {
    const dir = await newDir();
    const store = await openStore(dir);
    for (let i = 0; i < 3; i++)
      await commit(store, [{ txId: `r${i}`, writes: [[NS, 'counter', String(i)]] }]);
    const next = txBlock(3, store.currentHash()!, [
      {
        txId: 'r3',
        ts: [9, 9],
        writes: [
          [NS, 'counter', '3'],
          [NS, 'new', 'n'],
        ],
      },
      { txId: 'r0', code: 9 },
    ]);
    await store.close();
    open.splice(open.indexOf(store), 1);
    const size = (await fs.stat(blockFile(dir))).size;
    return { dir, next, size };
  }

  it('re-applies a complete record that never reached the index', async () => {
    const { dir, next, size } = await prepared();
    await fs.appendFile(blockFile(dir), encodeBlockRecord(next.serializeBinary()));
    const store = await openStore(dir);
    expect(store.recovery).toMatchObject({ reappliedBlocks: [3], truncatedBytes: 0, droppedBlocks: [] });
    expect(store.recovery.actions).toEqual([
      're-applied block 3 from the block file: the state batch had not been written when the process stopped',
    ]);
    expect(store.height).toBe(4);
    expect(str((await store.getState(NS, 'counter'))?.value)).toBe('3');
    expect(await store.getState(NS, 'new')).toEqual({
      value: Buffer.from('n'),
      version: { blockNum: 3, txNum: 0 },
    });
    expect((await collect(store.getHistory(NS, 'counter'))).map((h) => h.txId)).toEqual([
      'r3',
      'r2',
      'r1',
      'r0',
    ]);
    expect(await store.getTxLocation('r3')).toEqual({ blockNumber: 3, txNumber: 0, validationCode: 0 });
    expect(await store.getTxLocation('r0')).toEqual({ blockNumber: 0, txNumber: 0, validationCode: 0 });
    expect((await fs.stat(blockFile(dir))).size).toBeGreaterThan(size);
    expect(await store.verifyChain()).toEqual({ ok: true, height: 4, problems: [] });
    await commit(store, [{ txId: 'r4' }]);
    expect(store.height).toBe(5);
  });

  const torn: Array<[string, (record: Buffer) => Buffer]> = [
    ['an incomplete length prefix', (r) => r.subarray(0, 2)],
    ['a short body', (r) => r.subarray(0, Math.floor(r.length / 2))],
    ['a missing checksum tail', (r) => r.subarray(0, r.length - 1)],
    [
      'a bad checksum',
      (r) => {
        const copy = Buffer.from(r);
        copy[copy.length - 1] ^= 0xff;
        return copy;
      },
    ],
  ];

  it.each(torn)('drops a torn record with %s', async (_name, tear) => {
    const { dir, next, size } = await prepared();
    const record = tear(encodeBlockRecord(next.serializeBinary()));
    await fs.appendFile(blockFile(dir), record);
    const store = await openStore(dir);
    expect(store.recovery.reappliedBlocks).toEqual([]);
    expect(store.recovery.truncatedBytes).toBe(record.length);
    expect(store.height).toBe(3);
    expect((await fs.stat(blockFile(dir))).size).toBe(size);
    expect(str((await store.getState(NS, 'counter'))?.value)).toBe('2');
    expect(await store.getTxLocation('r3')).toBeUndefined();
    expect((await store.verifyChain()).ok).toBe(true);
    await store.commitBlock(next, updateFromBlock(next));
    expect(str((await store.getState(NS, 'counter'))?.value)).toBe('3');
    expect((await store.verifyChain()).ok).toBe(true);
  });

  it('re-applies a complete record and then drops a torn one after it', async () => {
    const { dir, next } = await prepared();
    const after = txBlock(
      4,
      computeBlockHeaderHash({
        number: 3,
        previousHash: next.getHeader()!.getPreviousHash_asU8(),
        dataHash: next.getHeader()!.getDataHash_asU8(),
      }),
      [{ txId: 'r4' }],
    );
    const tail = encodeBlockRecord(after.serializeBinary());
    await fs.appendFile(
      blockFile(dir),
      Buffer.concat([encodeBlockRecord(next.serializeBinary()), tail.subarray(0, 10)]),
    );
    const store = await openStore(dir);
    expect(store.recovery).toMatchObject({ reappliedBlocks: [3], truncatedBytes: 10 });
    expect(store.height).toBe(4);
    expect((await store.verifyChain()).ok).toBe(true);
  });

  it('rebuilds index, state and history from the block file when the index is lost', async () => {
    const dir = await newDir();
    let store = await openStore(dir);
    for (let i = 0; i < 4; i++) {
      await commit(store, [
        {
          txId: `x${i}`,
          ts: [i, 0],
          writes: [[NS, 'k', `v${i}`]],
          meta: i === 1 ? [[NS, 'k', { M: 'm' }]] : [],
        },
        { txId: `x${i - 1}`, code: 9 },
      ]);
    }
    const before = {
      state: await collect(store.scanRange(NS, '', '')),
      history: await collect(store.getHistory(NS, 'k')),
      hash: store.currentHash(),
    };
    await store.close();
    await fs.rm(path.join(dir, 'index'), { recursive: true });
    store = await openStore(dir);
    expect(store.recovery.reappliedBlocks).toEqual([0, 1, 2, 3]);
    expect(store.currentHash()).toEqual(before.hash);
    expect(await collect(store.scanRange(NS, '', ''))).toEqual(before.state);
    expect(await collect(store.getHistory(NS, 'k'))).toEqual(before.history);
    expect(await store.getTxLocation('x1')).toEqual({ blockNumber: 1, txNumber: 0, validationCode: 0 });
    expect((await store.verifyChain()).ok).toBe(true);
  });

  it('refuses a complete record that does not continue the chain', async () => {
    const { dir } = await prepared();
    const stray = txBlock(3, sha256(Buffer.from('elsewhere')), [{ txId: 'x' }]);
    await fs.appendFile(blockFile(dir), encodeBlockRecord(stray.serializeBinary()));
    await expect(LedgerStore.open(dir, { updateFromBlock })).rejects.toThrow(
      /^block store damaged at block 3: its previous hash .* does not match the header hash of block 2/,
    );
  });

  it('rebuilds a format-1 database (no state digest) once, then opens it clean', async () => {
    const dir = await newDir();
    let store = await openStore(dir);
    for (let i = 0; i < 3; i++) await commit(store, [{ txId: `f${i}`, writes: [[NS, 'k', `v${i}`]] }]);
    const state = await collect(store.scanRange(NS, '', ''));
    await store.close();
    // What a format-1 store held: marker 1, and a savepoint without the trailing 32-byte digest.
    const db = new ClassicLevel<Buffer, Buffer>(path.join(dir, 'index'), {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    await db.open();
    const savepoint = (await db.get(Buffer.from('msavepoint')))!;
    await db.put(Buffer.from('msavepoint'), savepoint.subarray(0, savepoint.length - 32));
    await db.put(Buffer.from('mformat'), Buffer.from([0, 0, 0, 1]));
    await db.close();

    store = await openStore(dir);
    expect(store.recovery).toMatchObject({
      stateRebuiltBecause: 'the state database is in format 1, which has no state digest to check it against',
      damagedStateMovedTo: path.join(dir, 'index.damaged.1'),
      reappliedBlocks: [0, 1, 2],
      droppedBlocks: [],
    });
    expect(await collect(store.scanRange(NS, '', ''))).toEqual(state);
    await store.close();
    store = await openStore(dir);
    expect(store.recovery.actions).toEqual([]);
    expect(store.recovery.chainVerified).toEqual({ from: 2, to: 2 });
  });

  it('cuts a block file shorter than the index back to its last complete block and rebuilds state', async () => {
    const { dir, size } = await prepared();
    await fs.truncate(blockFile(dir), size - 10);
    const store = await openStore(dir);
    expect(store.height).toBe(2);
    expect(store.recovery).toMatchObject({
      droppedBlocks: [2],
      droppedTransactions: [{ txId: 'r2', blockNumber: 2, txNumber: 0, validationCode: 0 }],
      truncatedBytes:
        (await records(dir)).length === 2 ? size - 10 - (await fs.stat(blockFile(dir))).size : -1,
      reappliedBlocks: [0, 1],
    });
    expect(str((await store.getState(NS, 'counter'))?.value)).toBe('1');
    expect(await store.getTxLocation('r2')).toBeUndefined();
    expect((await collect(store.getHistory(NS, 'counter'))).map((h) => h.txId)).toEqual(['r1', 'r0']);
    expect((await store.verifyChain()).ok).toBe(true);
  });
});
