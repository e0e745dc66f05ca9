/**
 * The embedded ledger's block file as the fault tests see it: where it is, and where each record starts and ends
 * (its documented layout: u32be length ‖ block bytes ‖ sha256), so that damage can be placed inside a chosen block.
 */
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The block file of an embedded ledger opened on `dataDir`. */
export const blockFile = (dataDir: string): string => join(dataDir, 'ledger', 'blocks', 'blockfile_000000');

/** The LevelDB folder (state, history, indexes) of an embedded ledger opened on `dataDir`. */
export const indexDir = (dataDir: string): string => join(dataDir, 'ledger', 'index');

/** Record boundaries of the block file, one per block in order. */
export async function blockRecords(dataDir: string): Promise<Array<{ offset: number; end: number }>> {
  const file = await readFile(blockFile(dataDir));
  const out: Array<{ offset: number; end: number }> = [];
  for (let offset = 0; offset < file.length;) {
    const end = offset + 4 + file.readUInt32BE(offset) + 32;
    out.push({ offset, end });
    offset = end;
  }
  return out;
}

/**
 * Changes block `n`'s bytes in place (same length) and, with `reseal`, writes the record checksum the new bytes
 * give: a tamperer who knows the format, whose change no record checksum reveals. Without `reseal` the checksum
 * is left as it was (a byte flipped on disk).
 */
export async function rewriteBlock(
  dataDir: string,
  n: number,
  change: (blockBytes: Buffer) => void,
  reseal: boolean,
): Promise<void> {
  const path = blockFile(dataDir);
  const { offset, end } = (await blockRecords(dataDir))[n];
  const record = (await readFile(path)).subarray(offset, end);
  const bytes = record.subarray(4, record.length - 32);
  const before = Buffer.from(bytes);
  change(bytes);
  if (bytes.equals(before)) throw new Error(`block ${n} unchanged`);
  if (reseal) {
    createHash('sha256')
      .update(record.subarray(0, record.length - 32))
      .digest()
      .copy(record, record.length - 32);
  }
  // Written in place (never truncated): a ledger reading the file meanwhile sees the old bytes or the new.
  const handle = await open(path, 'r+');
  try {
    await handle.write(record, 0, record.length, offset);
  } finally {
    await handle.close();
  }
}

/** Flips one character of `text` where it first occurs in the block (a txId, a name), keeping it ASCII. */
export function flipText(bytes: Buffer, text: string): void {
  const at = bytes.indexOf(Buffer.from(text, 'utf8'));
  if (at < 0) throw new Error(`"${text}" is not in the block`);
  bytes[at] = bytes[at] === 0x61 ? 0x62 : 0x61; // 'a' ↔ another letter
}
