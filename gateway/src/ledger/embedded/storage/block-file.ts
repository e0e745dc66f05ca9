/**
 * The append-only block file (Fabric keeps block bytes in `blockfile_000000`, …).
 *
 * Record layout: `u32be length ‖ block bytes ‖ SHA-256(length prefix ‖ block bytes)`.
 * A record torn by a crash (incomplete length prefix, short body or checksum, checksum mismatch) is detectable,
 * and recovery cuts the file back to the last complete record.
 */
import { createHash } from 'node:crypto';
import { promises as fs, constants as fsConstants } from 'node:fs';
import * as path from 'node:path';

export const LENGTH_PREFIX_BYTES = 4;
export const CHECKSUM_BYTES = 32;
export const MAX_BLOCK_BYTES = 0xffffffff;
export const BLOCK_FILE_NAME = 'blockfile_000000';

/** Where a block's record sits: `offset` of the record start, `length` of the block bytes. */
export interface BlockRecordLocation {
  offset: number;
  length: number;
}

export function recordSize(blockLength: number): number {
  return LENGTH_PREFIX_BYTES + blockLength + CHECKSUM_BYTES;
}

function recordChecksum(prefix: Uint8Array, body: Uint8Array): Buffer {
  return createHash('sha256').update(prefix).update(body).digest();
}

/** The bytes appended to the block file for one block. */
export function encodeBlockRecord(blockBytes: Uint8Array): Buffer {
  if (blockBytes.length > MAX_BLOCK_BYTES)
    throw new RangeError(`block of ${blockBytes.length} bytes is too large`);
  const prefix = Buffer.alloc(LENGTH_PREFIX_BYTES);
  prefix.writeUInt32BE(blockBytes.length, 0);
  return Buffer.concat([prefix, blockBytes, recordChecksum(prefix, blockBytes)]);
}

/** Bytes read per call when the whole file is read in order (start-up verification). */
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;

export type RecordRead =
  | { status: 'end' }
  /** The record does not fit in the file: what a crash in the middle of an append leaves. */
  | { status: 'torn'; reason: string }
  | {
      status: 'ok' | 'bad-checksum';
      bytes: Buffer;
      next: number;
      /** On a checksum mismatch (read by offset): the checksum stored in the record and the one its bytes give. */
      checksum?: { stored: Buffer; computed: Buffer };
    };

export class BlockFile {
  private closed = false;

  private constructor(
    private readonly handle: fs.FileHandle,
    private readonly sync: boolean,
    private fileSize: number,
    readonly filePath: string,
  ) {}

  static async open(dir: string, sync: boolean): Promise<BlockFile> {
    await fs.mkdir(dir, { recursive: true });
    const filePath = path.join(dir, BLOCK_FILE_NAME);
    let created = false;
    try {
      await fs.access(filePath);
    } catch {
      created = true;
    }
    const handle = await fs.open(filePath, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o644);
    try {
      if (created && sync) {
        await handle.sync();
        await syncDirectory(dir);
      }
      const { size } = await handle.stat();
      return new BlockFile(handle, sync, size, filePath);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  get size(): number {
    return this.fileSize;
  }

  /** Appends one record at the end of the file and (when `sync`) makes it durable before returning. */
  async append(blockBytes: Uint8Array): Promise<BlockRecordLocation> {
    this.assertOpen();
    const record = encodeBlockRecord(blockBytes);
    const offset = this.fileSize;
    await this.writeFully(record, offset);
    if (this.sync) await this.handle.datasync();
    this.fileSize = offset + record.length;
    return { offset, length: blockBytes.length };
  }

  /** Reads the record starting at `offset`, telling a complete record from a torn tail. */
  async readRecordAt(offset: number): Promise<RecordRead> {
    this.assertOpen();
    const size = this.fileSize;
    if (offset === size) return { status: 'end' };
    if (offset > size)
      return { status: 'torn', reason: `offset ${offset} is past the end of the file (${size})` };
    if (size - offset < LENGTH_PREFIX_BYTES) {
      return { status: 'torn', reason: `incomplete length prefix at offset ${offset}` };
    }
    const prefix = await this.readExactly(offset, LENGTH_PREFIX_BYTES);
    const length = prefix.readUInt32BE(0);
    const end = offset + recordSize(length);
    if (end > size) {
      return {
        status: 'torn',
        reason: `record at offset ${offset} declares ${length} bytes but the file ends ${size - offset} bytes later`,
      };
    }
    const rest = await this.readExactly(offset + LENGTH_PREFIX_BYTES, length + CHECKSUM_BYTES);
    const bytes = rest.subarray(0, length);
    const checksum = rest.subarray(length);
    const computed = recordChecksum(prefix, bytes);
    if (computed.equals(checksum)) return { status: 'ok', bytes, next: end };
    return {
      status: 'bad-checksum',
      bytes,
      next: end,
      checksum: { stored: Buffer.from(checksum), computed },
    };
  }

  /**
   * Every record from `from` to the end of the file, in order, read in large chunks: start-up verification
   * reads the whole file, and one read per record would make that a round trip per block. Stops after the
   * first record that is not `ok` (what follows a damaged record cannot be framed reliably).
   */
  async *records(from = 0): AsyncGenerator<RecordRead & { offset: number }> {
    this.assertOpen();
    const size = this.fileSize;
    let chunk: Buffer = Buffer.alloc(0);
    let chunkStart = from;
    // Makes [position, position + length) available in `chunk` (reading ahead by a chunk when it can).
    const ensure = async (position: number, length: number): Promise<Buffer> => {
      const have = chunkStart + chunk.length;
      if (position >= chunkStart && position + length <= have) {
        return chunk.subarray(position - chunkStart, position - chunkStart + length);
      }
      const readLength = Math.min(Math.max(length, SCAN_CHUNK_BYTES), size - position);
      chunk = await this.readExactly(position, readLength);
      chunkStart = position;
      return chunk.subarray(0, length);
    };
    let offset = from;
    for (;;) {
      if (offset === size) return;
      if (offset > size) {
        yield { offset, status: 'torn', reason: `offset ${offset} is past the end of the file (${size})` };
        return;
      }
      if (size - offset < LENGTH_PREFIX_BYTES) {
        yield { offset, status: 'torn', reason: `incomplete length prefix at offset ${offset}` };
        return;
      }
      const prefix = await ensure(offset, LENGTH_PREFIX_BYTES);
      const length = prefix.readUInt32BE(0);
      const end = offset + recordSize(length);
      if (end > size) {
        yield {
          offset,
          status: 'torn',
          reason: `record at offset ${offset} declares ${length} bytes but the file ends ${size - offset} bytes later`,
        };
        return;
      }
      const whole = await ensure(offset, recordSize(length));
      const bytes = whole.subarray(LENGTH_PREFIX_BYTES, LENGTH_PREFIX_BYTES + length);
      const ok = recordChecksum(whole.subarray(0, LENGTH_PREFIX_BYTES), bytes).equals(
        whole.subarray(LENGTH_PREFIX_BYTES + length),
      );
      yield { offset, status: ok ? 'ok' : 'bad-checksum', bytes, next: end };
      if (!ok) return;
      offset = end;
    }
  }

  /** True when every byte from `offset` to the end is zero: what a file system leaves after a torn append. */
  async zeroFrom(offset: number): Promise<boolean> {
    this.assertOpen();
    for (let position = offset; position < this.fileSize; position += SCAN_CHUNK_BYTES) {
      const bytes = await this.readExactly(position, Math.min(SCAN_CHUNK_BYTES, this.fileSize - position));
      if (bytes.some((b) => b !== 0)) return false;
    }
    return true;
  }

  /** Cuts the file back to `size` bytes (dropping a torn tail) and makes that durable. */
  async truncate(size: number): Promise<void> {
    this.assertOpen();
    await this.handle.truncate(size);
    if (this.sync) await this.handle.sync();
    this.fileSize = size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('block file is closed');
  }

  private async writeFully(data: Buffer, position: number): Promise<void> {
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await this.handle.write(
        data,
        written,
        data.length - written,
        position + written,
      );
      if (bytesWritten <= 0) throw new Error('block file write made no progress');
      written += bytesWritten;
    }
  }

  private async readExactly(position: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const { bytesRead } = await this.handle.read(buffer, read, length - read, position + read);
      if (bytesRead === 0) throw new Error(`unexpected end of block file at ${position + read}`);
      read += bytesRead;
    }
    return buffer;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, fsConstants.O_RDONLY);
    await handle.sync();
  } catch {
    // Some platforms cannot fsync a directory; the file's own fsync is the best we can do there.
  } finally {
    await handle?.close();
  }
}
