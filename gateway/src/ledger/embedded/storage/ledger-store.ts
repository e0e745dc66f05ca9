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
 * Start-up checks (the block file is the root of trust; the database is derived from it and rebuildable):
 *   - every record's checksum, every start, read in order (a byte flipped in any block is found); the hash
 *     chain (decode, number, data hash, previous-hash link) from the last block an earlier start verified;
 *   - a record damaged in the middle of the file, or a block file that disagrees with an intact database about
 *     a block, stops the open with BlockStoreDamagedError naming the block: nothing is served;
 *   - a torn or truncated end is cut back to the last complete, verified record; blocks the database had
 *     applied beyond it are reported as dropped (with their txIds) and state is rebuilt without them;
 *   - the database is checked against the state digest of its savepoint (state-digest.ts); a database that
 *     cannot be opened or read, has an unknown layout, or does not add up is moved aside and rebuilt by
 *     replaying the block file. `recovery` says what was found and done, one sentence per action.
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
import { BlockFile, BlockRecordLocation, RecordRead, recordSize } from './block-file';
import { blockDataHash, computeBlockHeaderHash, headerFieldsOf } from './block-hash';
import {
  BlockIndexEntry,
  FORMAT_KEY,
  FORMAT_VERSION,
  PREFIX_BLOCK,
  PREFIX_META,
  PREFIX_TXID,
  VERIFIED_KEY,
  VerifiedMark,
  SAVEPOINT_KEY,
  Savepoint,
  blockIndexKey,
  decodeBlockIndex,
  decodeHistoryKeySuffix,
  decodeHistoryValue,
  decodeSavepoint,
  decodeStateValue,
  decodeTxLocation,
  decodeVerifiedMark,
  encodeBlockIndex,
  encodeHistoryValue,
  encodeSavepoint,
  encodeStateValue,
  encodeTxLocation,
  encodeVerifiedMark,
  historyKey,
  historyPrefix,
  prefixUpperBound,
  stateKey,
  statePrefix,
  readU64,
  txIdKey,
  u32,
  utf8,
} from './codec';
import { StateDigest, entryHash } from './state-digest';
import type { TxTimestamp, VersionedValue } from './types';

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

/** A problem of one stored block found by `auditStoredBlock`: its record, or the block index's entry for it. */
export interface StoredBlockProblem {
  check: 'record' | 'block-index';
  expected: string;
  found: string;
}

/** What the store holds for one block, read without trusting any of it. */
export interface StoredBlockAudit {
  /** The block's bytes as the block file holds them (even when the record's checksum fails); undefined if unreadable. */
  bytes?: Buffer;
  problems: StoredBlockProblem[];
}

export interface LedgerStoreOptions {
  updateFromBlock: UpdateFromBlock;
  /** Default true: fsync the block file and write LevelDB batches synchronously. */
  sync?: boolean;
}

/** A transaction of a block that was cut away, as the txId index knew it. */
export interface DroppedTransaction {
  txId: string;
  blockNumber: number;
  txNumber: number;
  validationCode: number;
}

/** What `open` found and did (for logs, /health/ready and tests). */
export interface RecoveryReport {
  /** Blocks found complete in the block file past the savepoint and applied to index and state. */
  reappliedBlocks: number[];
  /** Bytes of a torn record cut from the end of the block file (0 when none). */
  truncatedBytes: number;
  truncatedReason?: string;
  /** Blocks the database had applied that the block file no longer holds in full: gone from the ledger. */
  droppedBlocks: number[];
  /** Their transactions (valid or not), in block order; their writes are not in state. */
  droppedTransactions: DroppedTransaction[];
  /** Why the database was rebuilt from the block file (absent when it was not). */
  stateRebuiltBecause?: string;
  /** Where the database that was replaced was moved (kept for diagnosis). */
  damagedStateMovedTo?: string;
  /** Blocks whose hash chain this start checked (every record's checksum is checked at every start). */
  chainVerified?: { from: number; to: number };
  /** One sentence per finding and repair, for the log; empty when the store opened clean. */
  actions: string[];
}

/**
 * The block file itself is damaged somewhere other than a torn end: the ledger refuses to open rather than
 * serve blocks or state it cannot prove. Repair means restoring the block file (a backup, another peer).
 */
export class BlockStoreDamagedError extends Error {
  override readonly name = 'BlockStoreDamagedError';
  constructor(
    readonly blockNumber: number,
    readonly detail: string,
  ) {
    super(
      `block store damaged at block ${blockNumber}: ${detail}; refusing to open the ledger ` +
        `(restore blocks/blockfile_000000 from a backup or another peer)`,
    );
  }
}

const VALID = 0;
const EMPTY = Buffer.alloc(0);
const INDEX_DIR = 'index';
const BLOCKS_DIR = 'blocks';
/** Transactions of dropped blocks named in the log line itself (all of them are in the report). */
const LOGGED_TXIDS = 20;

type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

interface UpdateOps {
  ops: BatchOp[];
  /** The state digest after `ops` (computed here, before the block is appended and outside the caller's lock). */
  digest: StateDigest;
}

interface IndexMeta {
  formatted: boolean;
  savepoint?: Savepoint;
  verified?: VerifiedMark;
  /** Why the database cannot be used as it is (it is then rebuilt). */
  problem?: string;
}

interface ScannedChain {
  /** Complete records whose checksum holds, block 0 first. */
  blocks: Array<{ offset: number; length: number }>;
  /** Header hashes of the blocks that were decoded (the hash-chain range, the savepoint's and the last). */
  headerHashes: Map<number, Buffer>;
  /** First block whose hash chain was checked. */
  deepFrom: number;
  /** A torn end to cut: where it starts, its size and why. */
  tail?: { offset: number; bytes: number; reason: string };
}

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
  /** Digest of every index entry as of the last applied block (state-digest.ts). */
  private stateDigest = new StateDigest();
  private recoveryReport: RecoveryReport = emptyReport();

  private constructor(
    private readonly dir: string,
    private db: ClassicLevel<Buffer, Buffer>,
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
    const db = newIndexDb(dir);
    let openProblem: string | undefined;
    try {
      await db.open();
    } catch (err) {
      // Another process holds the database: its files are fine and not ours to touch.
      if (isLocked(err)) throw err;
      openProblem = `could not be opened (${levelErrorMessage(err)})`;
    }
    let file: BlockFile | undefined;
    let store: LedgerStore | undefined;
    try {
      file = await BlockFile.open(path.join(dir, BLOCKS_DIR), sync);
      store = new LedgerStore(dir, db, file, sync, options.updateFromBlock);
      await store.start(openProblem);
      return store;
    } catch (err) {
      await file?.close().catch(() => undefined);
      await (store?.db ?? db).close().catch(() => undefined);
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

  /** What the last `open` found and repaired. */
  get recovery(): RecoveryReport {
    const r = this.recoveryReport;
    return {
      ...r,
      reappliedBlocks: [...r.reappliedBlocks],
      droppedBlocks: [...r.droppedBlocks],
      droppedTransactions: r.droppedTransactions.map((t) => ({ ...t })),
      actions: [...r.actions],
      ...(r.chainVerified ? { chainVerified: { ...r.chainVerified } } : {}),
    };
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
    // Blocks committed since the walk began are past `height`: the savepoint and the file end are read as
    // they stand for block height-1 if it is still the last, and otherwise only the walked records are judged.
    const tail = height > 0 ? await this.readChainTail(height - 1) : undefined;
    if (height > 0 && tail) {
      const { savepoint } = tail;
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
    const fileSize = height > 0 ? tail?.fileSize : this.file.size;
    if (fileSize !== undefined && fileSize !== expectedOffset) {
      problems.push(
        `block file is ${fileSize} bytes, the indexed records end at ${expectedOffset}` +
          (height > 0 ? ` (after block ${height - 1})` : ''),
      );
    }
    return { ok: problems.length === 0, height, problems };
  }

  /**
   * One block as stored, for an audit of any block range: its block-index entry (present, where the previous
   * block's record ends, the record's length, the header hash of the bytes; for the last block also the savepoint
   * and the end of the file) and its block-file record (complete, checksum). The bytes are returned whatever the
   * checksum says, so the caller can still check their content.
   */
  async auditStoredBlock(n: number): Promise<StoredBlockAudit> {
    this.assertOpen();
    const problems: StoredBlockProblem[] = [];
    const index = (expected: string, found: string) =>
      problems.push({ check: 'block-index', expected, found });
    if (!Number.isSafeInteger(n) || n < 0 || n >= this.blockHeight) {
      index(`a block below the height ${this.blockHeight}`, `block ${n}`);
      return { problems };
    }
    let entry: BlockIndexEntry | undefined;
    try {
      entry = await this.indexEntry(n);
    } catch (err) {
      index(`an index entry for block ${n}`, `an unreadable entry (${errorMessage(err)})`);
      return { problems };
    }
    if (!entry) {
      index(`an index entry for block ${n}`, 'no entry');
      return { problems };
    }
    let expectedOffset = 0;
    if (n > 0) {
      const previous = await this.indexEntry(n - 1).catch(() => undefined);
      expectedOffset = previous ? previous.offset + recordSize(previous.length) : -1;
    }
    if (expectedOffset >= 0 && entry.offset !== expectedOffset) {
      index(
        `record at offset ${expectedOffset} (where block ${n - 1}'s record ends)`,
        `offset ${entry.offset}`,
      );
    }
    const record = await this.file.readRecordAt(entry.offset);
    if (record.status === 'end' || record.status === 'torn') {
      problems.push({
        check: 'record',
        expected: `a complete block file record at offset ${entry.offset}`,
        found: describe(record),
      });
      return { problems };
    }
    if (record.status === 'bad-checksum') {
      problems.push({
        check: 'record',
        expected: `record checksum ${hex(record.checksum?.stored ?? EMPTY)} (stored with the record at offset ${entry.offset})`,
        found: `${hex(record.checksum?.computed ?? EMPTY)} (SHA-256 of the record's bytes now)`,
      });
    }
    if (record.bytes.length !== entry.length) {
      index(`${record.bytes.length} bytes (the record's length)`, `${entry.length} bytes`);
    }
    let headerHash: Buffer | undefined;
    try {
      headerHash = computeBlockHeaderHash(headerFieldsOf(common.Block.deserializeBinary(record.bytes)));
    } catch {
      headerHash = undefined; // undecodable bytes: the caller's decode check names them
    }
    if (headerHash && !headerHash.equals(entry.headerHash)) {
      index(`header hash ${hex(headerHash)} (of the block's bytes)`, `header hash ${hex(entry.headerHash)}`);
    }
    problems.push(...(await this.auditChainTail(n, entry, headerHash)));
    return { bytes: record.bytes, problems };
  }

  /** The checks only the last block has: the savepoint names it and its header hash, and the file ends with it. */
  private async auditChainTail(
    n: number,
    entry: BlockIndexEntry,
    headerHash: Buffer | undefined,
  ): Promise<StoredBlockProblem[]> {
    const tail = await this.readChainTail(n);
    if (!tail) return [];
    const { savepoint, fileSize } = tail;
    const problems: StoredBlockProblem[] = [];
    const index = (expected: string, found: string) =>
      problems.push({ check: 'block-index', expected, found });
    if (!savepoint) {
      index(`a savepoint at block ${n}`, 'no readable savepoint');
    } else {
      if (savepoint.blockNumber !== n)
        index(`savepoint at block ${n}`, `savepoint at block ${savepoint.blockNumber}`);
      if (headerHash && !headerHash.equals(savepoint.headerHash)) {
        index(
          `savepoint header hash ${hex(headerHash)} (of the last block's bytes)`,
          `${hex(savepoint.headerHash)}`,
        );
      }
    }
    const end = entry.offset + recordSize(entry.length);
    if (fileSize !== end) {
      index(`block file of ${end} bytes (ending with block ${n}'s record)`, `${fileSize} bytes`);
    }
    return problems;
  }

  /**
   * The savepoint and the block file's size as they stand while block `n` is the last, or undefined once a
   * later block is committed. A commit moves both (block file first, then savepoint, then the height), so they
   * are read with no commit in flight and read again if one started meanwhile: otherwise a block being
   * committed during an audit reads as damage to the one before it.
   */
  private async readChainTail(n: number): Promise<{ savepoint?: Savepoint; fileSize: number } | undefined> {
    for (;;) {
      await this.inFlight?.catch(() => undefined);
      if (n !== this.blockHeight - 1) return undefined;
      const height = this.blockHeight;
      const savepoint = await this.readSavepoint().catch(() => undefined);
      const fileSize = this.file.size;
      if (!this.inFlight && this.blockHeight === height) return { savepoint, fileSize };
    }
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
    const { ops, digest } = await this.buildUpdateOps(checked.number, update);
    const bytes = block.serializeBinary();
    let location: BlockRecordLocation;
    try {
      location = await this.file.append(bytes);
    } catch (err) {
      this.broken = asError(err);
      throw err;
    }
    try {
      await applyGuard(() => this.writeBatch(ops, digest, checked, location));
    } catch (err) {
      // The record is durable in the block file; reopening re-applies it.
      this.broken = asError(err);
      throw err;
    }
  }

  /**
   * Start-up: check the block file, check the database against its own digest and against the block file,
   * cut a torn end, rebuild the database when it cannot be trusted, re-apply blocks it lacks, and say so.
   */
  private async start(openProblem: string | undefined): Promise<void> {
    const report = emptyReport();
    this.recoveryReport = report;
    let stateProblem = openProblem;
    let meta: IndexMeta = { formatted: false };
    if (!stateProblem) {
      try {
        meta = await this.readIndexMeta();
        stateProblem = meta.problem;
      } catch (err) {
        stateProblem = `is unreadable (${levelErrorMessage(err)})`;
      }
    }
    const savepoint = stateProblem ? undefined : meta.savepoint;
    // What the block file proves; throws BlockStoreDamagedError for damage that is not a torn end.
    const chain = await this.scanBlockFile(stateProblem ? undefined : meta.verified, savepoint?.blockNumber);
    const complete = chain.blocks.length;

    if (savepoint && savepoint.blockNumber >= complete) {
      // Committed blocks are gone from the block file (cut by hand, or a torn write of an acknowledged
      // block): nothing proves them any more, so the ledger ends before them and state must lose their writes.
      await this.checkLastBlockAgainstIndex(chain);
      report.droppedBlocks = range(complete, savepoint.blockNumber + 1);
      try {
        report.droppedTransactions = await this.transactionsFrom(complete);
      } catch (err) {
        report.actions.push(
          `the transactions of the dropped blocks could not be listed (${levelErrorMessage(err)})`,
        );
      }
      report.actions.push(describeDropped(complete, savepoint.blockNumber, report.droppedTransactions));
      stateProblem = `had applied blocks through ${savepoint.blockNumber}, beyond what the block file holds`;
    } else if (savepoint) {
      stateProblem = await this.checkIndex(savepoint, chain);
    }

    if (stateProblem && chain.deepFrom > 0) {
      // A rebuild replays from block 0: check the whole hash chain first, so that a damaged block file stops
      // the start before anything is cut or moved aside.
      await this.scanBlockFile(undefined);
      chain.deepFrom = 0;
    }

    if (chain.tail) {
      await this.file.truncate(chain.tail.offset);
      report.truncatedBytes = chain.tail.bytes;
      report.truncatedReason = chain.tail.reason;
      report.actions.push(
        `cut ${chain.tail.bytes} bytes from the end of the block file at offset ${chain.tail.offset}: ${chain.tail.reason}`,
      );
    }

    let rebuilt = false;
    if (stateProblem) {
      await this.replaceIndex(stateProblem);
      rebuilt = true;
    } else if (savepoint) {
      this.blockHeight = savepoint.blockNumber + 1;
      this.lastHeaderHash = savepoint.headerHash;
      this.lastPreviousHash = savepoint.previousHash;
      this.fileEnd = savepoint.fileEnd;
      this.stateDigest = StateDigest.from(savepoint.stateDigest);
    } else if (complete > 0) {
      // An empty database beside a block file with blocks: the index folder was deleted (or LevelDB, missing
      // its CURRENT file, started a new one). Replaying below rebuilds it.
      report.stateRebuiltBecause = 'the state database was empty (missing or deleted)';
      rebuilt = true;
    }
    if (!meta.formatted || stateProblem) {
      await this.db.put(FORMAT_KEY, u32(FORMAT_VERSION), { sync: this.sync });
    }

    report.reappliedBlocks = await this.recover();
    if (rebuilt) {
      report.actions.push(
        `${report.stateRebuiltBecause}: ` +
          (report.damagedStateMovedTo ? `moved it to ${report.damagedStateMovedTo} and ` : '') +
          `rebuilt the block index, txId index, state and history by replaying ` +
          (this.blockHeight > 0 ? `blocks 0..${this.blockHeight - 1}` : 'no blocks') +
          ` of the block file`,
      );
    } else if (report.reappliedBlocks.length > 0) {
      report.actions.push(
        `re-applied ${blockList(report.reappliedBlocks)} from the block file: ` +
          `the state batch had not been written when the process stopped`,
      );
    }

    // The next start checks the hash chain only from here (record checksums are still checked in full).
    if (this.blockHeight > 0) {
      await this.db.put(
        VERIFIED_KEY,
        encodeVerifiedMark({ blockNumber: this.blockHeight - 1, headerHash: this.lastHeaderHash! }),
        { sync: this.sync },
      );
    }
    if (chain.deepFrom < complete) report.chainVerified = { from: chain.deepFrom, to: complete - 1 };
  }

  /** Format marker, savepoint and verified mark, or why the database cannot be used as it is. */
  private async readIndexMeta(): Promise<IndexMeta> {
    const format = await this.db.get(FORMAT_KEY);
    const rawSavepoint = await this.db.get(SAVEPOINT_KEY);
    if (format === undefined) {
      if (rawSavepoint !== undefined)
        return { formatted: false, problem: 'has a savepoint but no format marker' };
      if (await this.hasEntries()) return { formatted: false, problem: 'holds entries but no format marker' };
      return { formatted: false };
    }
    const version = format.length === 4 ? format.readUInt32BE(0) : -1;
    if (version === 1) {
      // Written before state digests existed: replaying once gives it one.
      return { formatted: true, problem: 'is in format 1, which has no state digest to check it against' };
    }
    if (version !== FORMAT_VERSION) {
      return { formatted: true, problem: `has an unknown format marker ${format.toString('hex')}` };
    }
    if (rawSavepoint === undefined) {
      if (await this.hasEntries()) return { formatted: true, problem: 'holds entries but no savepoint' };
      return { formatted: true };
    }
    let savepoint: Savepoint;
    try {
      savepoint = decodeSavepoint(rawSavepoint);
    } catch (err) {
      return { formatted: true, problem: `has an unreadable savepoint (${errorMessage(err)})` };
    }
    let verified: VerifiedMark | undefined;
    const rawVerified = await this.db.get(VERIFIED_KEY);
    try {
      verified = rawVerified && decodeVerifiedMark(rawVerified);
    } catch {
      verified = undefined; // then the whole hash chain is checked: slower, never wrong
    }
    return { formatted: true, savepoint, verified };
  }

  private async hasEntries(): Promise<boolean> {
    for await (const key of this.db.keys()) if (key[0] !== PREFIX_META) return true;
    return false;
  }

  /**
   * Reads every record in order: checksums of all of them, the hash chain (decode, number, data hash, link)
   * from the last verified block on. Returns the complete records and a torn end to cut; throws
   * BlockStoreDamagedError for damage anywhere else.
   */
  private async scanBlockFile(
    verified: VerifiedMark | undefined,
    savepointBlock?: number,
  ): Promise<ScannedChain> {
    const size = this.file.size;
    const blocks: Array<{ offset: number; length: number }> = [];
    const headerHashes = new Map<number, Buffer>();
    // The verified block itself is decoded again: its hash anchors the links of the blocks after it.
    const deepFrom = verified ? verified.blockNumber : 0;
    let tail: ScannedChain['tail'];
    let lastBytes: Buffer | undefined;
    for await (const record of this.file.records(0)) {
      const n = blocks.length;
      if (record.status === 'torn' || record.status === 'end') {
        tail = {
          offset: record.offset,
          bytes: size - record.offset,
          reason: `block ${n}: ${describe(record)}`,
        };
        break;
      }
      if (record.status === 'bad-checksum') {
        if (record.next < size && !(await this.file.zeroFrom(record.next))) {
          throw new BlockStoreDamagedError(
            n,
            `its record at offset ${record.offset} fails its checksum and ${size - record.next} bytes of ` +
              `later records follow it (its bytes changed after they were written)`,
          );
        }
        tail = {
          offset: record.offset,
          bytes: size - record.offset,
          reason: `block ${n}: the last record fails its checksum (a write that did not complete)`,
        };
        break;
      }
      blocks.push({ offset: record.offset, length: record.bytes.length });
      lastBytes = record.bytes;
      if (n >= deepFrom || n === savepointBlock) {
        const linkTo = n > deepFrom ? headerHashes.get(n - 1) : undefined;
        const headerHash = verifyStoredBlock(n, record.bytes, linkTo);
        if (verified && n === verified.blockNumber && !headerHash.equals(verified.headerHash)) {
          throw new BlockStoreDamagedError(
            n,
            `its header hash ${hex(headerHash)} differs from the one an earlier start verified ` +
              `(${hex(verified.headerHash)}): the block was replaced`,
          );
        }
        headerHashes.set(n, headerHash);
      }
    }
    const last = blocks.length - 1;
    if (last >= 0 && !headerHashes.has(last)) headerHashes.set(last, verifyStoredBlock(last, lastBytes!));
    return { blocks, headerHashes, deepFrom, tail };
  }

  /**
   * With a savepoint inside the block file: does the database add up to its digest, and does it index the
   * blocks the file holds? Returns why the database must be rebuilt, or undefined; throws BlockStoreDamagedError
   * when an intact database and the block file disagree about a block (the block file changed).
   */
  private async checkIndex(savepoint: Savepoint, chain: ScannedChain): Promise<string | undefined> {
    const last = savepoint.blockNumber;
    let found: { digest: StateDigest; entries: number };
    try {
      found = await this.digestOfIndex();
    } catch (err) {
      return `is unreadable (${levelErrorMessage(err)})`;
    }
    const expected = StateDigest.from(savepoint.stateDigest);
    if (!found.digest.equals(expected)) {
      return (
        `does not add up to the digest of its savepoint at block ${last} (${found.entries} entries hash to ` +
        `${found.digest.hex()}, the savepoint says ${expected.hex()}): entries were lost, damaged or changed`
      );
    }
    let n = 0;
    try {
      const range = { gte: Buffer.from([PREFIX_BLOCK]), lt: Buffer.from([PREFIX_BLOCK + 1]) };
      for await (const [key, value] of this.db.iterator(range)) {
        const number = readU64(key, 1);
        const entry = decodeBlockIndex(value);
        if (number !== n) return `indexes block ${number} where block ${n} was expected`;
        const stored = chain.blocks[n];
        if (!stored) return `indexes block ${n}, beyond its savepoint at block ${last}`;
        if (stored.offset !== entry.offset || stored.length !== entry.length) {
          throw new BlockStoreDamagedError(
            n,
            `the block file holds it at offset ${stored.offset} (${stored.length} bytes), the intact index at ` +
              `offset ${entry.offset} (${entry.length} bytes): blocks were removed, inserted or resized`,
          );
        }
        const headerHash = chain.headerHashes.get(n);
        if (headerHash && !headerHash.equals(entry.headerHash)) {
          throw new BlockStoreDamagedError(
            n,
            `its header hash in the block file (${hex(headerHash)}) differs from the one the intact index ` +
              `and savepoint recorded (${hex(entry.headerHash)}): the block was replaced`,
          );
        }
        n++;
      }
    } catch (err) {
      if (err instanceof BlockStoreDamagedError) throw err;
      return `is unreadable (${levelErrorMessage(err)})`;
    }
    if (n !== last + 1) return `indexes ${n} blocks but its savepoint names block ${last}`;
    const stored = chain.blocks[last];
    const headerHash = chain.headerHashes.get(last)!;
    if (
      stored.offset + recordSize(stored.length) !== savepoint.fileEnd ||
      !headerHash.equals(savepoint.headerHash)
    ) {
      throw new BlockStoreDamagedError(
        last,
        `the block file's record (header hash ${hex(headerHash)}) differs from the savepoint ` +
          `(header hash ${hex(savepoint.headerHash)}, record end ${savepoint.fileEnd})`,
      );
    }
    return undefined;
  }

  /**
   * When blocks are cut away: the last block the file still holds must be the one the database indexed, or
   * the file was replaced by another chain rather than cut (and replaying it would serve that chain).
   */
  private async checkLastBlockAgainstIndex(chain: ScannedChain): Promise<void> {
    const last = chain.blocks.length - 1;
    if (last < 0) return;
    let entry: BlockIndexEntry | undefined;
    try {
      entry = await this.indexEntry(last);
    } catch {
      return; // an unreadable index is rebuilt anyway; the hash chain of the file was checked
    }
    const stored = chain.blocks[last];
    const headerHash = chain.headerHashes.get(last)!;
    if (entry && (entry.offset !== stored.offset || !entry.headerHash.equals(headerHash))) {
      throw new BlockStoreDamagedError(
        last,
        `the block file holds a different block ${last} (header hash ${hex(headerHash)}) than the one the ` +
          `database indexed (${hex(entry.headerHash)}): the block file was replaced, not cut`,
      );
    }
  }

  /** The digest of every entry but the store metadata, recomputed from a full scan. */
  private async digestOfIndex(): Promise<{ digest: StateDigest; entries: number }> {
    const digest = new StateDigest();
    let entries = 0;
    const iterator = this.db.iterator();
    try {
      for (;;) {
        const batch = await iterator.nextv(1000);
        if (batch.length === 0) break;
        for (const [key, value] of batch) {
          if (key[0] === PREFIX_META) continue;
          digest.add(entryHash(key, value));
          entries++;
        }
      }
    } finally {
      await iterator.close();
    }
    return { digest, entries };
  }

  /** Transactions the txId index places in block `first` or later, in block order. */
  private async transactionsFrom(first: number): Promise<DroppedTransaction[]> {
    const out: DroppedTransaction[] = [];
    const range = { gte: Buffer.from([PREFIX_TXID]), lt: Buffer.from([PREFIX_TXID + 1]) };
    for await (const [key, value] of this.db.iterator(range)) {
      const location = decodeTxLocation(value);
      if (location.blockNumber >= first) out.push({ txId: key.subarray(1).toString('utf8'), ...location });
    }
    return out.sort((a, b) => a.blockNumber - b.blockNumber || a.txNumber - b.txNumber);
  }

  /** Moves the database aside (kept for diagnosis) and starts an empty one; replay then fills it. */
  private async replaceIndex(reason: string): Promise<void> {
    if (this.db.status === 'open') await this.db.close();
    const current = path.join(this.dir, INDEX_DIR);
    let movedTo: string | undefined;
    if (await exists(current)) {
      movedTo = await freeName(this.dir, `${INDEX_DIR}.damaged`);
      await fs.rename(current, movedTo);
    }
    this.db = newIndexDb(this.dir);
    await this.db.open();
    this.blockHeight = 0;
    this.lastHeaderHash = undefined;
    this.lastPreviousHash = undefined;
    this.fileEnd = 0;
    this.stateDigest = new StateDigest();
    this.recoveryReport.stateRebuiltBecause = `the state database ${reason}`;
    if (movedTo) this.recoveryReport.damagedStateMovedTo = movedTo;
  }

  /** Re-applies the complete records past the savepoint (start-up checks have already cut a torn end). */
  private async recover(): Promise<number[]> {
    const reapplied: number[] = [];
    for await (const record of this.file.records(this.fileEnd)) {
      if (record.status !== 'ok') {
        throw new Error(`recovery: block file record at offset ${record.offset}: ${describe(record)}`);
      }
      // Start-up has checked the hash chain only from the last verified block; a rebuild replays from block 0
      // and checks every link again, so damage found here is the block file's too.
      let block: common.Block;
      try {
        block = common.Block.deserializeBinary(record.bytes);
      } catch (err) {
        throw new BlockStoreDamagedError(
          this.blockHeight,
          `its record at offset ${record.offset} has a valid checksum but cannot be decoded (${errorMessage(err)})`,
        );
      }
      let checked: CheckedBlock;
      try {
        checked = this.checkNextBlock(block);
      } catch (err) {
        throw new BlockStoreDamagedError(
          this.blockHeight,
          `replaying its record at offset ${record.offset}: ${errorMessage(err)}`,
        );
      }
      const update = this.updateFromBlock(block);
      const { ops, digest } = await this.buildUpdateOps(checked.number, update);
      await this.writeBatch(ops, digest, checked, { offset: record.offset, length: record.bytes.length });
      reapplied.push(checked.number);
    }
    return reapplied;
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

  /**
   * txId index, state and history operations of one block (reads current state; writes nothing), and the
   * state digest after them (what they add minus the stored bytes of the state keys they replace).
   */
  private async buildUpdateOps(blockNumber: number, update: BlockUpdate): Promise<UpdateOps> {
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
    const previous = new Map<string, Buffer>();
    if (touched.size) {
      const ids = [...touched.keys()];
      const values = await this.db.getMany([...touched.values()]);
      ids.forEach((id, i) => {
        const raw = values[i];
        if (raw === undefined) return;
        previous.set(id, raw);
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
    return { ops, digest: digestAfter(this.stateDigest, ops, previous) };
  }

  /** The one LevelDB batch of a block; advances the in-memory chain head once it is durable. */
  private async writeBatch(
    ops: BatchOp[],
    opsDigest: StateDigest,
    block: CheckedBlock,
    location: BlockRecordLocation,
  ): Promise<void> {
    const fileEnd = location.offset + recordSize(location.length);
    const indexEntry = {
      type: 'put' as const,
      key: blockIndexKey(block.number),
      value: encodeBlockIndex({
        offset: location.offset,
        length: location.length,
        headerHash: block.headerHash,
      }),
    };
    const entries: BatchOp[] = [...ops, indexEntry];
    // The block's index entry is new (its number is the height), so it only adds to the digest.
    const stateDigest = opsDigest.copy();
    stateDigest.add(entryHash(indexEntry.key, indexEntry.value));
    const savepoint: Savepoint = {
      blockNumber: block.number,
      fileEnd,
      headerHash: block.headerHash,
      previousHash: block.previousHash,
      stateDigest: stateDigest.bytes(),
    };
    await this.db.batch([...entries, { type: 'put', key: SAVEPOINT_KEY, value: encodeSavepoint(savepoint) }]);
    this.stateDigest = stateDigest;
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

/**
 * The digest after a block's operations: each key's last operation counts; what it replaces (a state key's
 * stored bytes) is subtracted. txId and history entries are only ever added by a block.
 */
function digestAfter(before: StateDigest, entries: BatchOp[], previous: Map<string, Buffer>): StateDigest {
  const last = new Map<string, BatchOp>();
  for (const op of entries) last.set(op.key.toString('latin1'), op);
  const digest = before.copy();
  for (const [id, op] of last) {
    const old = previous.get(id);
    if (old) digest.subtract(entryHash(op.key, old));
    if (op.type === 'put') digest.add(entryHash(op.key, op.value));
  }
  return digest;
}

/** Decodes a stored block and checks number, data hash and (when given) the link to the block before. */
function verifyStoredBlock(n: number, bytes: Buffer, linkTo?: Buffer): Buffer {
  let block: common.Block;
  try {
    block = common.Block.deserializeBinary(bytes);
  } catch (err) {
    throw new BlockStoreDamagedError(n, `its bytes cannot be decoded (${errorMessage(err)})`);
  }
  if (!block.getHeader()) throw new BlockStoreDamagedError(n, 'it has no header');
  const fields = headerFieldsOf(block);
  if (fields.number !== n) throw new BlockStoreDamagedError(n, `its header says block ${fields.number}`);
  const dataHash = blockDataHash(block);
  if (!dataHash.equals(fields.dataHash)) {
    throw new BlockStoreDamagedError(
      n,
      `data hash mismatch: the header has ${hex(fields.dataHash)}, the data hashes to ${hex(dataHash)}`,
    );
  }
  if (n === 0 && fields.previousHash.length !== 0) {
    throw new BlockStoreDamagedError(0, `its previous hash should be empty, is ${hex(fields.previousHash)}`);
  }
  if (linkTo && !linkTo.equals(fields.previousHash)) {
    throw new BlockStoreDamagedError(
      n,
      `its previous hash ${hex(fields.previousHash)} does not match the header hash of block ${n - 1} (${hex(linkTo)})`,
    );
  }
  return computeBlockHeaderHash(fields);
}

function emptyReport(): RecoveryReport {
  return { reappliedBlocks: [], truncatedBytes: 0, droppedBlocks: [], droppedTransactions: [], actions: [] };
}

function newIndexDb(dir: string): ClassicLevel<Buffer, Buffer> {
  return new ClassicLevel<Buffer, Buffer>(path.join(dir, INDEX_DIR), {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
}

function isLocked(err: unknown): boolean {
  const codes = [(err as { code?: string })?.code, (err as { cause?: { code?: string } })?.cause?.code];
  return codes.includes('LEVEL_LOCKED');
}

/** classic-level wraps LevelDB's own message ("Corruption: …") in `cause`. */
function levelErrorMessage(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause;
  return cause instanceof Error ? `${errorMessage(err)}: ${cause.message}` : errorMessage(err);
}

async function exists(target: string): Promise<boolean> {
  try {
    await fs.access(target);
    return true;
  } catch {
    return false;
  }
}

/** `base.1`, `base.2`, …: the first that does not exist (numbered, so earlier damaged copies are kept). */
async function freeName(dir: string, base: string): Promise<string> {
  for (let i = 1; ; i++) {
    const candidate = path.join(dir, `${base}.${i}`);
    if (!(await exists(candidate))) return candidate;
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

function blockList(blocks: number[]): string {
  if (blocks.length === 1) return `block ${blocks[0]}`;
  return `blocks ${blocks[0]}..${blocks[blocks.length - 1]}`;
}

function describeDropped(first: number, last: number, txs: DroppedTransaction[]): string {
  const valid = txs.filter((t) => t.validationCode === VALID);
  const named = txs
    .slice(0, LOGGED_TXIDS)
    .map(
      (t) =>
        `${t.txId} (block ${t.blockNumber}${t.validationCode === VALID ? '' : `, code ${t.validationCode}`})`,
    );
  const more = txs.length > LOGGED_TXIDS ? `, and ${txs.length - LOGGED_TXIDS} more` : '';
  const holds = first > 0 ? `blocks 0..${first - 1}` : 'no block';
  return (
    `the block file holds ${holds} in full, but ${blockList(range(first, last + 1))} had been committed: ` +
    `dropped, with ${txs.length} transaction(s), ${valid.length} of them valid` +
    (txs.length ? `: ${named.join(', ')}${more}` : '') +
    `; the ledger now ends ${first > 0 ? `at block ${first - 1}` : 'before block 0'} and state holds none of their writes`
  );
}

function nonEmpty(metadata: Record<string, Buffer>): Record<string, Buffer> | undefined {
  const names = Object.keys(metadata);
  if (names.length === 0) return undefined;
  const copy: Record<string, Buffer> = {};
  for (const name of names) copy[name] = Buffer.from(metadata[name]);
  return copy;
}

function describe(record: Pick<RecordRead, 'status'> & { reason?: string }): string {
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
