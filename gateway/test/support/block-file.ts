/**
 * The embedded ledger's block file as the fault tests see it: where it is, and where each record starts and ends
 * (its documented layout: u32be length ‖ block bytes ‖ sha256), so that damage can be placed inside a chosen block.
 */
import { readFile } from 'node:fs/promises';
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
