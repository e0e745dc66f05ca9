/**
 * The embedded ledger's storage: an append-only block file for block bytes (Fabric's `blockfile_000000`) and
 * one LevelDB (`classic-level`) for the block index, the txId index, versioned world state and key history.
 *
 * Commit order (crash safety):
 *   1. append the block record to the block file and fsync it;
 *   2. ONE atomic LevelDB batch: block index, txId index, state puts/deletes (with versions and metadata),
 *      history entries and the savepoint (last block applied, its header hash, where its record ends).
 *      The batch is not fsync'd on its own: LevelDB recovers a prefix of its writes after a crash, the
 *      savepoint is then simply older, and the blocks after it are re-applied from the fsync'd block file
 *      (as a Fabric peer rebuilds state that lags its block store). One fsync per block, not two.
 * Index and state are therefore always consistent with each other; only the block file can be ahead. `open`
 * re-applies every complete record past the savepoint (through the caller's `updateFromBlock`) and cuts away a
 * torn tail, so after kill -9 at any moment each block is either wholly committed or absent.
 *
 * State semantics follow Fabric's state database (`txmgr.prepareTxOps`): a value write keeps the key's existing
 * metadata, a metadata write replaces the metadata map and keeps the value (and is dropped when the key does
 * not exist), a delete removes value and metadata; every applied change gets version (blockNum, txNum). Only
 * VALID transactions change state and history; every transaction is indexed by txId (first occurrence wins).
 */
import { common } from '@hyperledger/fabric-protos';
import { ClassicLevel } from 'classic-level';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { BlockFile, BlockRecordLocation, recordSize } from './block-file';
import { blockDataHash, computeBlockHeaderHash, headerFieldsOf } from './block-hash';
import {
  BlockIndexEntry,
  FORMAT_KEY,
  FORMAT_VERSION,
  SAVEPOINT_KEY,
  Savepoint,
  blockIndexKey,
  decodeBlockIndex,
  decodeHistoryKeySuffix,
  decodeHistoryValue,
  decodeSavepoint,
  decodeStateValue,
  decodeTxLocation,
  encodeBlockIndex,
  encodeHistoryValue,
  encodeSavepoint,
  encodeStateValue,
  encodeTxLocation,
  historyKey,
  historyPrefix,
  prefixUpperBound,
  stateKey,
  statePrefix,
  txIdKey,
  u32,
  utf8,
} from './codec';
import type { TxTimestamp, Version, VersionedValue } from './types';

export type { TxTimestamp, Version, VersionedValue } from './types';

export interface KeyWrite {
  namespace: string;
  key: string;
  value?: Buffer;
  isDelete: boolean;
}

/** Replaces the key's metadata map (an empty map removes the metadata). */
export interface MetadataWrite {
  namespace: string;
  key: string;
  metadata: Record<string, Buffer>;
}

/**
 * One transaction of a block. Invalid transactions (validationCode ≠ 0) carry no writes (any given are ignored)
 * but are indexed by txId with their code; the first occurrence of a txId keeps the index entry.
 */
export interface TxUpdate {
  txId: string;
  txNum: number;
  validationCode: number;
  timestamp: TxTimestamp;
  writes: KeyWrite[];
  metadataWrites: MetadataWrite[];
}

export interface BlockUpdate {
  blockNumber: number;
  txs: TxUpdate[];
}

/** Supplied by the caller: derives the update from a stored block (used by recovery). */
export type UpdateFromBlock = (block: common.Block) => BlockUpdate;

export interface TxLocation {
  blockNumber: number;
  txNumber: number;
  validationCode: number;
}

export interface HistoryEntry {
  txId: string;
  value: Buffer;
  isDelete: boolean;
  timestamp: TxTimestamp;
  blockNum: number;
  txNum: number;
}

export interface ChainVerification {
  ok: boolean;
  height: number;
  problems: string[];
}

export interface LedgerStoreOptions {
  updateFromBlock: UpdateFromBlock;
  /** Default true: fsync the block file and write LevelDB batches synchronously. */
  sync?: boolean;
}

/** What `open` found and did (for logs and tests). */
export interface RecoveryReport {
  /** Blocks found complete in the block file past the savepoint and applied to index and state. */
  reappliedBlocks: number[];
  /** Bytes of a torn record cut from the end of the block file (0 when none). */
  truncatedBytes: number;
  truncatedReason?: string;
}

const VALID = 0;
const EMPTY = Buffer.alloc(0);
const INDEX_DIR = 'index';
const BLOCKS_DIR = 'blocks';

type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

interface CheckedBlock {
  number: number;
  headerHash: Buffer;
  previousHash: Buffer;
}

interface PendingKey {
  /** undefined when the key is deleted by an earlier transaction of the block. */
  current?: { value: Buffer; metadata?: Record<string, Buffer> };
}

export interface CommitOptions {
  /** Runs the state batch (and the chain-head update) inside the caller's critical section. */
  applyGuard?: (work: () => Promise<void>) => Promise<void>;
}

export class LedgerStore {
  private blockHeight = 0;
  private lastHeaderHash: Buffer | undefined;
  private lastPreviousHash: Buffer | undefined;
  private fileEnd = 0;
  private inFlight: Promise<void> | undefined;
  private broken: Error | undefined;
  private closed = false;
  private recoveryReport: RecoveryReport = { reappliedBlocks: [], truncatedBytes: 0 };

  private constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    private readonly file: BlockFile,
    private readonly sync: boolean,
    private readonly updateFromBlock: UpdateFromBlock,
  ) {}

  static async open(dir: string, options: LedgerStoreOptions): Promise<LedgerStore> {
    if (typeof options?.updateFromBlock !== 'function') {
      throw new TypeError('options.updateFromBlock is required');
    }
    const sync = options.sync ?? true;
    await fs.mkdir(dir, { recursive: true });
    const db = new ClassicLevel<Buffer, Buffer>(path.join(dir, INDEX_DIR), {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    await db.open();
    let file: BlockFile | undefined;
    try {
      file = await BlockFile.open(path.join(dir, BLOCKS_DIR), sync);
      const store = new LedgerStore(db, file, sync, options.updateFromBlock);
      await store.load();
      await store.recover();
      return store;
    } catch (err) {
      await file?.close().catch(() => undefined);
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  /** Number of committed blocks (0 when empty). */
  get height(): number {
    return this.blockHeight;
  }

  /** Header hash of the last block. */
  currentHash(): Buffer | undefined {
    return this.lastHeaderHash && Buffer.from(this.lastHeaderHash);
  }

  /** `previous_hash` of the last block. */
  previousHash(): Buffer | undefined {
    return this.lastPreviousHash && Buffer.from(this.lastPreviousHash);
  }

  /** What the last `open` recovered. */
  get recovery(): RecoveryReport {
    return { ...this.recoveryReport, reappliedBlocks: [...this.recoveryReport.reappliedBlocks] };
  }

  /**
   * Appends a block and applies its update. The block must be the next one (number = height, previous_hash =
   * currentHash(), data_hash = hash of its data). Calls must be serialised by the caller.
   */
  /**
   * `applyGuard` wraps only step 2 (the state batch): the embedded ledger holds its state lock there, so
   * simulations keep running while the block file is fsync'd.
   */
  async commitBlock(block: common.Block, update: BlockUpdate, options: CommitOptions = {}): Promise<void> {
    this.assertOpen();
    if (this.broken) {
      throw new Error(`ledger store needs to be reopened after a failed commit: ${this.broken.message}`);
    }
    if (this.inFlight) throw new Error('commitBlock called while another commit is in progress');
    const run = this.doCommit(block, update, options.applyGuard ?? ((work) => work()));
    this.inFlight = run;
    try {
      await run;
    } finally {
      this.inFlight = undefined;
    }
  }

  async getBlockBytes(n: number): Promise<Buffer | undefined> {
    this.assertOpen();
    if (!Number.isSafeInteger(n) || n < 0 || n >= this.blockHeight) return undefined;
    const entry = await this.indexEntry(n);
    if (!entry) throw new Error(`block ${n} is missing from the block index`);
    const record = await this.file.readRecordAt(entry.offset);
    if (record.status !== 'ok') {
      throw new Error(
        `block ${n}: block file record at offset ${entry.offset} is corrupt (${describe(record)})`,
      );
    }
    if (record.bytes.length !== entry.length) {
      throw new Error(`block ${n}: record holds ${record.bytes.length} bytes, index says ${entry.length}`);
    }
    return record.bytes;
  }

  async getBlock(n: number): Promise<common.Block | undefined> {
    const bytes = await this.getBlockBytes(n);
    return bytes && common.Block.deserializeBinary(bytes);
  }

  /** Header hash of block `n` as recorded in the block index. */
  async getBlockHash(n: number): Promise<Buffer | undefined> {
    this.assertOpen();
    if (!Number.isSafeInteger(n) || n < 0 || n >= this.blockHeight) return undefined;
    return (await this.indexEntry(n))?.headerHash;
  }

  // Point reads are synchronous (classic-level's getSync): a LevelDB get from its block cache takes
  // microseconds, while an asynchronous get is a round trip through libuv's thread pool, where it queues behind
  // signature jobs and fsyncs; a chaincode run reads keys one after another, so those round trips added up to
  // most of a transaction's latency. Every write is one atomic batch, so a read sees a whole block or none.

  async getTxLocation(txId: string): Promise<TxLocation | undefined> {
    this.assertOpen();
    const raw = this.db.getSync(txIdKey(txId));
    return raw && decodeTxLocation(raw);
  }

  async getState(namespace: string, key: string): Promise<VersionedValue | undefined> {
    this.assertOpen();
    const raw = this.db.getSync(stateKey(namespace, key));
    return raw && decodeStateValue(raw);
  }

  /**
   * Keys of `namespace` in [startKey, endKey) in UTF-8 byte order; endKey '' scans to the end of the namespace.
   * The scan reads one LevelDB snapshot taken when iteration starts.
   */
  async *scanRange(
    namespace: string,
    startKey: string,
    endKey: string,
  ): AsyncGenerator<{ key: string; value: VersionedValue }> {
    this.assertOpen();
    const prefix = statePrefix(namespace);
    const gte = Buffer.concat([prefix, utf8(startKey, 'startKey')]);
    const lt = endKey === '' ? prefixUpperBound(prefix) : Buffer.concat([prefix, utf8(endKey, 'endKey')]);
    if (Buffer.compare(gte, lt) >= 0) return;
    for await (const [k, v] of this.db.iterator({ gte, lt })) {
      yield { key: k.subarray(prefix.length).toString('utf8'), value: decodeStateValue(v) };
    }
  }

  /** Changes of one key by valid transactions, newest first (Fabric's `GetHistoryForKey` order). */
  async *getHistory(namespace: string, key: string): AsyncGenerator<HistoryEntry> {
    this.assertOpen();
    const prefix = historyPrefix(namespace, key);
    const iterator = this.db.iterator({ gte: prefix, lt: prefixUpperBound(prefix), reverse: true });
    for await (const [k, v] of iterator) {
      if (k.length !== prefix.length + 12) throw new Error('history index holds a malformed key');
      const { blockNum, txNum } = decodeHistoryKeySuffix(k);
      const stored = decodeHistoryValue(v);
      yield { ...stored, blockNum, txNum };
    }
  }

  /**
   * Re-reads every block from the block file: record checksum, block number, data hash, previous-hash link to
   * the header hash recomputed from the preceding block, header hash recorded in the index and the savepoint.
   */
  async verifyChain(): Promise<ChainVerification> {
    this.assertOpen();
    const height = this.blockHeight;
    const problems: string[] = [];
    let expectedOffset = 0;
    let previousHeaderHash: Buffer | undefined;
    let lastHeaderHash: Buffer | undefined;
    for (let n = 0; n < height; n++) {
      const linkTo = previousHeaderHash;
      previousHeaderHash = undefined;
      lastHeaderHash = undefined;
      let entry: BlockIndexEntry | undefined;
      let unreadable: string | undefined;
      try {
        entry = await this.indexEntry(n);
      } catch (err) {
        unreadable = errorMessage(err);
      }
      if (!entry) {
        problems.push(
          unreadable
            ? `block ${n}: block index entry is unreadable (${unreadable})`
            : `block ${n}: missing from the block index`,
        );
        continue;
      }
      if (entry.offset !== expectedOffset) {
        problems.push(`block ${n}: record is at offset ${entry.offset}, expected ${expectedOffset}`);
      }
      expectedOffset = entry.offset + recordSize(entry.length);
      const record = await this.file.readRecordAt(entry.offset);
      if (record.status === 'end' || record.status === 'torn') {
        problems.push(`block ${n}: block file record is incomplete (${describe(record)})`);
        previousHeaderHash = entry.headerHash;
        continue;
      }
      if (record.status === 'bad-checksum') {
        problems.push(`block ${n}: block file record checksum mismatch at offset ${entry.offset}`);
      }
      if (record.bytes.length !== entry.length) {
        problems.push(
          `block ${n}: record holds ${record.bytes.length} bytes, the index says ${entry.length}`,
        );
      }
      let block: common.Block;
      try {
        block = common.Block.deserializeBinary(record.bytes);
      } catch (err) {
        problems.push(`block ${n}: block bytes cannot be decoded (${errorMessage(err)})`);
        previousHeaderHash = entry.headerHash;
        continue;
      }
      if (!block.getHeader()) {
        problems.push(`block ${n}: block has no header`);
        previousHeaderHash = entry.headerHash;
        continue;
      }
      const fields = headerFieldsOf(block);
      if (fields.number !== n) problems.push(`block ${n}: header number is ${fields.number}`);
      const dataHash = blockDataHash(block);
      if (!dataHash.equals(fields.dataHash)) {
        problems.push(
          `block ${n}: data hash mismatch: header has ${hex(fields.dataHash)}, data hashes to ${hex(dataHash)}`,
        );
      }
      if (n === 0) {
        if (fields.previousHash.length !== 0) {
          problems.push(`block 0: previous hash should be empty, is ${hex(fields.previousHash)}`);
        }
      } else if (linkTo && !linkTo.equals(fields.previousHash)) {
        problems.push(
          `block ${n}: previous hash ${hex(fields.previousHash)} does not match the header hash of block ${n - 1} (${hex(linkTo)})`,
        );
      }
      const headerHash = computeBlockHeaderHash(fields);
      if (!headerHash.equals(entry.headerHash)) {
        problems.push(
          `block ${n}: header hash ${hex(headerHash)} differs from the one recorded in the index (${hex(entry.headerHash)})`,
        );
      }
      previousHeaderHash = headerHash;
      lastHeaderHash = headerHash;
    }
    if (height > 0) {
      const savepoint = await this.readSavepoint();
      if (!savepoint) {
        problems.push('savepoint is missing');
      } else {
        if (savepoint.blockNumber !== height - 1) {
          problems.push(`savepoint names block ${savepoint.blockNumber}, height is ${height}`);
        }
        if (lastHeaderHash && !lastHeaderHash.equals(savepoint.headerHash)) {
          problems.push(
            `block ${height - 1}: header hash ${hex(lastHeaderHash)} differs from the savepoint's (${hex(savepoint.headerHash)})`,
          );
        }
      }
    }
    if (this.file.size !== expectedOffset) {
      problems.push(
        `block file is ${this.file.size} bytes, the indexed records end at ${expectedOffset}` +
          (height > 0 ? ` (after block ${height - 1})` : ''),
      );
    }
    return { ok: problems.length === 0, height, problems };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.inFlight?.catch(() => undefined);
    try {
      await this.db.close();
    } finally {
      await this.file.close();
    }
  }

  // ---- internals ------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new Error('ledger store is closed');
  }

  private async doCommit(
    block: common.Block,
    update: BlockUpdate,
    applyGuard: NonNullable<CommitOptions['applyGuard']>,
  ): Promise<void> {
    const checked = this.checkNextBlock(block);
    // Everything that can be refused is refused before a single byte is written.
    const ops = await this.buildUpdateOps(checked.number, update);
    const bytes = block.serializeBinary();
    let location: BlockRecordLocation;
    try {
      location = await this.file.append(bytes);
    } catch (err) {
      this.broken = asError(err);
      throw err;
    }
    try {
      await applyGuard(() => this.writeBatch(ops, checked, location));
    } catch (err) {
      // The record is durable in the block file; reopening re-applies it.
      this.broken = asError(err);
      throw err;
    }
  }

  /** Reads format marker and savepoint; checks the last indexed record against the savepoint. */
  private async load(): Promise<void> {
    const format = await this.db.get(FORMAT_KEY);
    const savepoint = await this.readSavepoint();
    if (format === undefined) {
      if (savepoint) throw new Error('index has a savepoint but no format marker');
      await this.db.put(FORMAT_KEY, u32(FORMAT_VERSION), { sync: this.sync });
    } else if (format.length !== 4 || format.readUInt32BE(0) !== FORMAT_VERSION) {
      throw new Error(`unsupported ledger store format ${format.toString('hex')}`);
    }
    if (!savepoint) return;
    if (savepoint.fileEnd > this.file.size) {
      throw new Error(
        `block file (${this.file.size} bytes) is shorter than the index records (${savepoint.fileEnd} bytes, ` +
          `block ${savepoint.blockNumber}): the block file was truncated or replaced`,
      );
    }
    const entry = await this.indexEntry(savepoint.blockNumber);
    if (!entry || entry.offset + recordSize(entry.length) !== savepoint.fileEnd) {
      throw new Error(`block index entry of block ${savepoint.blockNumber} does not match the savepoint`);
    }
    const record = await this.file.readRecordAt(entry.offset);
    if (record.status !== 'ok') {
      throw new Error(`block ${savepoint.blockNumber}: last indexed record is corrupt (${describe(record)})`);
    }
    const last = headerFieldsOf(common.Block.deserializeBinary(record.bytes));
    if (!computeBlockHeaderHash(last).equals(savepoint.headerHash)) {
      throw new Error(
        `block ${savepoint.blockNumber}: header hash in the block file differs from the savepoint`,
      );
    }
    this.blockHeight = savepoint.blockNumber + 1;
    this.lastHeaderHash = savepoint.headerHash;
    this.lastPreviousHash = savepoint.previousHash;
    this.fileEnd = savepoint.fileEnd;
  }

  /** Re-applies complete records past the savepoint; cuts a torn tail. */
  private async recover(): Promise<void> {
    const report: RecoveryReport = { reappliedBlocks: [], truncatedBytes: 0 };
    let offset = this.fileEnd;
    for (;;) {
      const record = await this.file.readRecordAt(offset);
      if (record.status === 'end') break;
      if (record.status !== 'ok') {
        // Never acknowledged: the commit that wrote it did not reach its LevelDB batch.
        report.truncatedBytes = this.file.size - offset;
        report.truncatedReason = describe(record);
        await this.file.truncate(offset);
        break;
      }
      let block: common.Block;
      try {
        block = common.Block.deserializeBinary(record.bytes);
      } catch (err) {
        throw new Error(
          `recovery: block file record at offset ${offset} has a valid checksum but cannot be decoded (${errorMessage(err)})`,
        );
      }
      let checked: CheckedBlock;
      try {
        checked = this.checkNextBlock(block);
      } catch (err) {
        throw new Error(`recovery: block file record at offset ${offset}: ${errorMessage(err)}`);
      }
      const update = this.updateFromBlock(block);
      const ops = await this.buildUpdateOps(checked.number, update);
      await this.writeBatch(ops, checked, { offset, length: record.bytes.length });
      report.reappliedBlocks.push(checked.number);
      offset = record.next;
    }
    this.recoveryReport = report;
  }

  /** The block must be the next one of the chain and carry the hash of its own data. */
  private checkNextBlock(block: common.Block): CheckedBlock {
    if (typeof block?.getHeader !== 'function') throw new TypeError('block must be a common.Block');
    if (!block.getHeader()) throw new Error('block has no header');
    const fields = headerFieldsOf(block);
    if (fields.number !== this.blockHeight) {
      throw new Error(`block number ${fields.number} is not the next block (height ${this.blockHeight})`);
    }
    const expectedPrevious = this.lastHeaderHash ?? EMPTY;
    if (!Buffer.from(fields.previousHash).equals(expectedPrevious)) {
      throw new Error(
        `block ${fields.number}: previous hash ${hex(fields.previousHash)} does not match the current hash ${hex(expectedPrevious)}`,
      );
    }
    const dataHash = blockDataHash(block);
    if (!dataHash.equals(fields.dataHash)) {
      throw new Error(
        `block ${fields.number}: data hash ${hex(fields.dataHash)} does not match its data (${hex(dataHash)})`,
      );
    }
    return {
      number: fields.number,
      headerHash: computeBlockHeaderHash(fields),
      previousHash: Buffer.from(fields.previousHash),
    };
  }

  /** txId index, state and history operations of one block (reads current state; writes nothing). */
  private async buildUpdateOps(blockNumber: number, update: BlockUpdate): Promise<BatchOp[]> {
    validateUpdate(blockNumber, update);
    const ops: BatchOp[] = [];

    // txId index: the first occurrence of a txId keeps its entry (a DUPLICATE_TXID never overwrites it).
    const txIds = update.txs.filter((tx) => tx.txId !== '').map((tx) => tx.txId);
    const existing = txIds.length ? await this.db.getMany(txIds.map(txIdKey)) : [];
    const known = new Set(txIds.filter((_, i) => existing[i] !== undefined));
    for (const tx of update.txs) {
      if (tx.txId === '' || known.has(tx.txId)) continue;
      known.add(tx.txId);
      ops.push({
        type: 'put',
        key: txIdKey(tx.txId),
        value: encodeTxLocation({ blockNumber, txNumber: tx.txNum, validationCode: tx.validationCode }),
      });
    }

    // State and history: earlier transactions of the block are visible to later ones (Fabric's preceding
    // updates). Committed state of every key the block touches is read in one round trip.
    const touched = new Map<string, Buffer>();
    for (const tx of update.txs) {
      if (tx.validationCode !== VALID) continue;
      for (const w of [...tx.writes, ...tx.metadataWrites]) {
        const sKey = stateKey(w.namespace, w.key);
        touched.set(sKey.toString('latin1'), sKey);
      }
    }
    const committed = new Map<string, PendingKey['current']>();
    if (touched.size) {
      const ids = [...touched.keys()];
      const values = await this.db.getMany([...touched.values()]);
      ids.forEach((id, i) => {
        const raw = values[i];
        if (raw === undefined) return;
        const vv = decodeStateValue(raw);
        committed.set(id, { value: vv.value, metadata: vv.metadata });
      });
    }
    const pending = new Map<string, PendingKey>();
    const latest = (id: string): PendingKey['current'] => {
      const seen = pending.get(id);
      return seen ? seen.current : committed.get(id);
    };

    for (const tx of update.txs) {
      if (tx.validationCode !== VALID) continue;
      const version = { blockNum: blockNumber, txNum: tx.txNum };
      const perKey = new Map<
        string,
        { namespace: string; key: string; write?: KeyWrite; meta?: MetadataWrite }
      >();
      const slot = (namespace: string, key: string) => {
        const id = stateKey(namespace, key).toString('latin1');
        let entry = perKey.get(id);
        if (!entry) perKey.set(id, (entry = { namespace, key }));
        return entry;
      };
      for (const w of tx.writes) slot(w.namespace, w.key).write = w; // last write per key wins
      for (const m of tx.metadataWrites) slot(m.namespace, m.key).meta = m;

      for (const [id, { namespace, key, write, meta }] of perKey) {
        const sKey = Buffer.from(id, 'latin1');
        if (write?.isDelete) {
          ops.push({ type: 'del', key: sKey });
          pending.set(id, {});
        } else if (write) {
          const value = Buffer.from(write.value as Uint8Array);
          const metadata = meta ? nonEmpty(meta.metadata) : latest(id)?.metadata;
          ops.push({ type: 'put', key: sKey, value: encodeStateValue(value, version, metadata) });
          pending.set(id, { current: { value, metadata } });
        } else if (meta) {
          const current = latest(id);
          if (!current) continue; // metadata of a key that does not exist: a no-op, as in Fabric
          const metadata = nonEmpty(meta.metadata);
          ops.push({ type: 'put', key: sKey, value: encodeStateValue(current.value, version, metadata) });
          pending.set(id, { current: { value: current.value, metadata } });
        }
        if (write) {
          ops.push({
            type: 'put',
            key: historyKey(namespace, key, blockNumber, tx.txNum),
            value: encodeHistoryValue({
              txId: tx.txId,
              isDelete: write.isDelete,
              timestamp: tx.timestamp,
              value: write.isDelete ? EMPTY : Buffer.from(write.value as Uint8Array),
            }),
          });
        }
      }
    }
    return ops;
  }

  /** The one LevelDB batch of a block; advances the in-memory chain head once it is durable. */
  private async writeBatch(
    ops: BatchOp[],
    block: CheckedBlock,
    location: BlockRecordLocation,
  ): Promise<void> {
    const fileEnd = location.offset + recordSize(location.length);
    const savepoint: Savepoint = {
      blockNumber: block.number,
      fileEnd,
      headerHash: block.headerHash,
      previousHash: block.previousHash,
    };
    const all: BatchOp[] = [
      ...ops,
      {
        type: 'put',
        key: blockIndexKey(block.number),
        value: encodeBlockIndex({
          offset: location.offset,
          length: location.length,
          headerHash: block.headerHash,
        }),
      },
      { type: 'put', key: SAVEPOINT_KEY, value: encodeSavepoint(savepoint) },
    ];
    await this.db.batch(all);
    this.blockHeight = block.number + 1;
    this.lastHeaderHash = block.headerHash;
    this.lastPreviousHash = block.previousHash;
    this.fileEnd = fileEnd;
  }

  private async readSavepoint(): Promise<Savepoint | undefined> {
    const raw = await this.db.get(SAVEPOINT_KEY);
    return raw && decodeSavepoint(raw);
  }

  private async indexEntry(n: number): Promise<BlockIndexEntry | undefined> {
    const raw = this.db.getSync(blockIndexKey(n));
    return raw && decodeBlockIndex(raw);
  }
}

function validateUpdate(blockNumber: number, update: BlockUpdate): void {
  if (!update || !Array.isArray(update.txs)) throw new TypeError('update.txs must be an array');
  if (update.blockNumber !== blockNumber) {
    throw new Error(`update is for block ${update.blockNumber}, the block is ${blockNumber}`);
  }
  let lastTxNum = -1;
  for (const tx of update.txs) {
    const where = `block ${blockNumber} tx ${tx?.txNum}`;
    if (typeof tx.txId !== 'string') throw new TypeError(`${where}: txId must be a string`);
    utf8(tx.txId, `${where}: txId`);
    if (!Number.isSafeInteger(tx.txNum) || tx.txNum <= lastTxNum || tx.txNum > 0xffffffff) {
      throw new RangeError(`${where}: txNum must be an integer increasing within the block`);
    }
    lastTxNum = tx.txNum;
    if (!Number.isInteger(tx.validationCode) || tx.validationCode < 0 || tx.validationCode > 0xffffffff) {
      throw new RangeError(`${where}: bad validation code ${tx.validationCode}`);
    }
    const ts = tx.timestamp;
    if (
      !ts ||
      !Number.isSafeInteger(ts.seconds) ||
      !Number.isInteger(ts.nanos) ||
      ts.nanos < 0 ||
      ts.nanos > 999999999
    ) {
      throw new RangeError(`${where}: bad timestamp`);
    }
    if (!Array.isArray(tx.writes) || !Array.isArray(tx.metadataWrites)) {
      throw new TypeError(`${where}: writes and metadataWrites must be arrays`);
    }
    if (tx.validationCode !== VALID) continue;
    for (const w of tx.writes) {
      stateKey(w.namespace, w.key); // throws on keys that are not well-formed Unicode
      if (typeof w.isDelete !== 'boolean') throw new TypeError(`${where}: write isDelete must be a boolean`);
      if (!w.isDelete && !(w.value instanceof Uint8Array)) {
        throw new TypeError(`${where}: write of ${JSON.stringify(w.key)} has no value`);
      }
    }
    for (const m of tx.metadataWrites) {
      stateKey(m.namespace, m.key);
      if (!m.metadata || typeof m.metadata !== 'object')
        throw new TypeError(`${where}: metadata must be a map`);
      for (const [name, value] of Object.entries(m.metadata)) {
        utf8(name, `${where}: metadata name`);
        if (!(value instanceof Uint8Array)) throw new TypeError(`${where}: metadata ${name} must be bytes`);
      }
    }
  }
}

function nonEmpty(metadata: Record<string, Buffer>): Record<string, Buffer> | undefined {
  const names = Object.keys(metadata);
  if (names.length === 0) return undefined;
  const copy: Record<string, Buffer> = {};
  for (const name of names) copy[name] = Buffer.from(metadata[name]);
  return copy;
}

function describe(record: { status: string; reason?: string }): string {
  if (record.status === 'bad-checksum') return 'checksum mismatch';
  if (record.status === 'end') return 'end of file';
  return record.reason ?? record.status;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function errorMessage(err: unknown): string {
  return asError(err).message;
}
