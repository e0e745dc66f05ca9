/**
 * Binary key and value encodings of the index LevelDB.
 *
 * Every key starts with a one-byte table prefix. Strings are UTF-8 and length-prefixed wherever something
 * follows them, so keys stay unambiguous although Fabric keys may contain `\x00` (composite keys) and any
 * Unicode:
 *
 *   b ‖ u64 blockNum                                         → u64 offset ‖ u32 length ‖ header hash   (block index)
 *   t ‖ txId                                                 → u64 blockNum ‖ u32 txNum ‖ u32 code     (txId index)
 *   s ‖ u32 len(ns) ‖ ns ‖ key                               → state value (version, metadata, value)
 *   h ‖ u32 len(ns) ‖ ns ‖ u32 len(key) ‖ key ‖ u64 blockNum ‖ u32 txNum → history value
 *   m ‖ name                                                 → store metadata (format, savepoint, verified)
 *
 * State keys end with the raw key bytes, so LevelDB's byte order over one namespace is the UTF-8 byte order of
 * the keys (what Fabric's LevelDB state database gives). History keys end with big-endian (blockNum, txNum), so
 * a reverse scan over one key's prefix yields newest first.
 */
import type { TxTimestamp, Version, VersionedValue } from './types';

export const PREFIX_BLOCK = 0x62; // 'b'
export const PREFIX_HISTORY = 0x68; // 'h'
export const PREFIX_META = 0x6d; // 'm'
export const PREFIX_STATE = 0x73; // 's'
export const PREFIX_TXID = 0x74; // 't'

/** 2: the savepoint carries the state digest (a format-1 database is rebuilt from the block store at open). */
export const FORMAT_VERSION = 2;
export const HASH_BYTES = 32;

export class CorruptRecordError extends Error {}

/** With the `u` flag a surrogate class only matches surrogates that are not part of a pair. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** UTF-8 bytes of a string that must round-trip exactly (a lone surrogate would alias U+FFFD). */
export function utf8(value: string, what: string): Buffer {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  if (LONE_SURROGATE.test(value)) throw new TypeError(`${what} is not well-formed Unicode (lone surrogate)`);
  return Buffer.from(value, 'utf8');
}

export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value, 0);
  return b;
}

export function u64(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`not a non-negative safe integer: ${value}`);
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(value), 0);
  return b;
}

export function readU64(buf: Buffer, offset: number): number {
  const value = buf.readBigUInt64BE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptRecordError(`u64 ${value} exceeds 2^53`);
  return Number(value);
}

function lengthPrefixed(bytes: Buffer): Buffer {
  return Buffer.concat([u32(bytes.length), bytes]);
}

// ---- keys -------------------------------------------------------------------------------------------------

export function metaKey(name: string): Buffer {
  return Buffer.concat([Buffer.from([PREFIX_META]), Buffer.from(name, 'utf8')]);
}

export const FORMAT_KEY = metaKey('format');
export const SAVEPOINT_KEY = metaKey('savepoint');
export const VERIFIED_KEY = metaKey('verified');

export function blockIndexKey(blockNumber: number): Buffer {
  return Buffer.concat([Buffer.from([PREFIX_BLOCK]), u64(blockNumber)]);
}

export function txIdKey(txId: string): Buffer {
  return Buffer.concat([Buffer.from([PREFIX_TXID]), utf8(txId, 'txId')]);
}

export function statePrefix(namespace: string): Buffer {
  return Buffer.concat([Buffer.from([PREFIX_STATE]), lengthPrefixed(utf8(namespace, 'namespace'))]);
}

export function stateKey(namespace: string, key: string): Buffer {
  return Buffer.concat([statePrefix(namespace), utf8(key, 'key')]);
}

export function historyPrefix(namespace: string, key: string): Buffer {
  return Buffer.concat([
    Buffer.from([PREFIX_HISTORY]),
    lengthPrefixed(utf8(namespace, 'namespace')),
    lengthPrefixed(utf8(key, 'key')),
  ]);
}

export function historyKey(namespace: string, key: string, blockNum: number, txNum: number): Buffer {
  return Buffer.concat([historyPrefix(namespace, key), u64(blockNum), u32(txNum)]);
}

/** Smallest key greater than every key that starts with `prefix` (prefix must not be all 0xff). */
export function prefixUpperBound(prefix: Buffer): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] !== 0xff) {
      const bound = Buffer.from(prefix.subarray(0, i + 1));
      bound[i] += 1;
      return bound;
    }
  }
  throw new RangeError('prefix has no upper bound');
}

// ---- values -----------------------------------------------------------------------------------------------

/** Deterministic metadata encoding: entries sorted by name. */
function encodeMetadata(metadata: Record<string, Buffer> | undefined): Buffer {
  const names = metadata ? Object.keys(metadata).sort() : [];
  const parts: Buffer[] = [u32(names.length)];
  for (const name of names) {
    const value = (metadata as Record<string, Buffer>)[name];
    parts.push(lengthPrefixed(utf8(name, 'metadata name')), lengthPrefixed(Buffer.from(value)));
  }
  return Buffer.concat(parts);
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos = 0,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length)
      throw new CorruptRecordError('record is shorter than its encoding says');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const v = readU64(this.buf, this.pos);
    this.pos += 8;
    return v;
  }

  i64(): number {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new CorruptRecordError(`i64 ${v} exceeds 2^53`);
    }
    return Number(v);
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  prefixed(): Buffer {
    return this.bytes(this.u32());
  }

  rest(): Buffer {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }

  end(): void {
    if (this.pos !== this.buf.length) throw new CorruptRecordError('record has trailing bytes');
  }
}

const STATE_VALUE_FORMAT = 1;

/** `u8 format ‖ u64 blockNum ‖ u32 txNum ‖ metadata ‖ value`. */
export function encodeStateValue(value: Buffer, version: Version, metadata?: Record<string, Buffer>): Buffer {
  return Buffer.concat([
    Buffer.from([STATE_VALUE_FORMAT]),
    u64(version.blockNum),
    u32(version.txNum),
    encodeMetadata(metadata),
    value,
  ]);
}

export function decodeStateValue(buf: Buffer): VersionedValue {
  const r = new Reader(buf);
  const format = r.u8();
  if (format !== STATE_VALUE_FORMAT) throw new CorruptRecordError(`unknown state value format ${format}`);
  const version = { blockNum: r.u64(), txNum: r.u32() };
  const count = r.u32();
  let metadata: Record<string, Buffer> | undefined;
  for (let i = 0; i < count; i++) {
    metadata ??= {};
    const name = r.prefixed().toString('utf8');
    metadata[name] = r.prefixed();
  }
  const value = r.rest();
  return metadata ? { value, version, metadata } : { value, version };
}

export interface StoredHistory {
  txId: string;
  isDelete: boolean;
  timestamp: TxTimestamp;
  value: Buffer;
}

/** `u32 len ‖ txId ‖ u8 isDelete ‖ i64 seconds ‖ i32 nanos ‖ value`. */
export function encodeHistoryValue(entry: StoredHistory): Buffer {
  const ts = Buffer.alloc(12);
  ts.writeBigInt64BE(BigInt(entry.timestamp.seconds), 0);
  ts.writeInt32BE(entry.timestamp.nanos, 8);
  return Buffer.concat([
    lengthPrefixed(utf8(entry.txId, 'txId')),
    Buffer.from([entry.isDelete ? 1 : 0]),
    ts,
    entry.value,
  ]);
}

export function decodeHistoryValue(buf: Buffer): StoredHistory {
  const r = new Reader(buf);
  const txId = r.prefixed().toString('utf8');
  const flag = r.u8();
  if (flag > 1) throw new CorruptRecordError(`bad delete flag ${flag}`);
  const timestamp = { seconds: r.i64(), nanos: r.i32() };
  return { txId, isDelete: flag === 1, timestamp, value: r.rest() };
}

export function decodeHistoryKeySuffix(key: Buffer): { blockNum: number; txNum: number } {
  if (key.length < 12) throw new CorruptRecordError('history key too short');
  return { blockNum: readU64(key, key.length - 12), txNum: key.readUInt32BE(key.length - 4) };
}

export interface StoredTxLocation {
  blockNumber: number;
  txNumber: number;
  validationCode: number;
}

export function encodeTxLocation(loc: StoredTxLocation): Buffer {
  return Buffer.concat([u64(loc.blockNumber), u32(loc.txNumber), u32(loc.validationCode)]);
}

export function decodeTxLocation(buf: Buffer): StoredTxLocation {
  const r = new Reader(buf);
  const loc = { blockNumber: r.u64(), txNumber: r.u32(), validationCode: r.u32() };
  r.end();
  return loc;
}

export interface BlockIndexEntry {
  offset: number;
  length: number;
  headerHash: Buffer;
}

export function encodeBlockIndex(entry: BlockIndexEntry): Buffer {
  return Buffer.concat([u64(entry.offset), u32(entry.length), entry.headerHash]);
}

export function decodeBlockIndex(buf: Buffer): BlockIndexEntry {
  const r = new Reader(buf);
  const entry = { offset: r.u64(), length: r.u32(), headerHash: r.bytes(HASH_BYTES) };
  r.end();
  return entry;
}

/**
 * The last block applied to the index and state, where its record ends in the block file, and the digest of
 * every index entry after it (see state-digest.ts).
 */
export interface Savepoint {
  blockNumber: number;
  fileEnd: number;
  headerHash: Buffer;
  previousHash: Buffer;
  stateDigest: Buffer;
}

export function encodeSavepoint(sp: Savepoint): Buffer {
  return Buffer.concat([
    u64(sp.blockNumber),
    u64(sp.fileEnd),
    sp.headerHash,
    lengthPrefixed(sp.previousHash),
    sp.stateDigest,
  ]);
}

export function decodeSavepoint(buf: Buffer): Savepoint {
  const r = new Reader(buf);
  const sp = {
    blockNumber: r.u64(),
    fileEnd: r.u64(),
    headerHash: r.bytes(HASH_BYTES),
    previousHash: r.prefixed(),
    stateDigest: r.bytes(HASH_BYTES),
  };
  r.end();
  return sp;
}

/** The last block whose hash chain start-up verification has checked (decoded, data hash, link). */
export interface VerifiedMark {
  blockNumber: number;
  headerHash: Buffer;
}

export function encodeVerifiedMark(mark: VerifiedMark): Buffer {
  return Buffer.concat([u64(mark.blockNumber), mark.headerHash]);
}

export function decodeVerifiedMark(buf: Buffer): VerifiedMark {
  const r = new Reader(buf);
  const mark = { blockNumber: r.u64(), headerHash: r.bytes(HASH_BYTES) };
  r.end();
  return mark;
}
