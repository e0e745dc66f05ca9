import { createHash } from 'node:crypto';

/**
 * The digest of a metering period, committed on the ledger with the period's total
 * (`metering:AttestMeterPeriod.digest`), so anyone holding the readings can prove they are the ones attested.
 *
 * - Leaf: SHA-256 of the UTF-8 canonical reading `meterId|intervalStart|wh`, where `intervalStart` is the
 *   interval's start as ISO 8601 UTC with milliseconds (`Date.toISOString()`, e.g.
 *   `2026-10-01T00:00:00.000Z`) and `wh` the integer Wh in decimal without leading zeros (`0` for zero).
 * - Leaves are ordered by interval start (ascending).
 * - Each level pairs neighbours: parent = SHA-256(left ‖ right) over the raw 32-byte digests. A level with an
 *   odd number of nodes duplicates its last node (parent = SHA-256(last ‖ last)), as Bitcoin does.
 * - The root of a single leaf is that leaf. The root is written as 64 lower-case hex characters.
 */

export interface MerkleReading {
  meterId: string;
  /** Interval start. */
  intervalStart: Date;
  /** Integer Wh (bigint, number or decimal string). */
  wh: bigint | number | string;
}

/** The canonical text of a reading, hashed into its leaf. */
export function canonicalReading(reading: MerkleReading): string {
  return `${reading.meterId}|${reading.intervalStart.toISOString()}|${BigInt(reading.wh).toString()}`;
}

export function sha256(data: string | Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

export function merkleLeaf(reading: MerkleReading): Buffer {
  return sha256(Buffer.from(canonicalReading(reading), 'utf8'));
}

/** The Merkle root (hex) over leaf digests, in order. Throws on an empty list (a period has readings). */
export function merkleRootOfLeaves(leaves: readonly Buffer[]): string {
  if (leaves.length === 0) throw new Error('a Merkle root needs at least one leaf');
  let level = [...leaves];
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i];
      const right = i + 1 < level.length ? level[i + 1] : left;
      next.push(sha256(Buffer.concat([left, right])));
    }
    level = next;
  }
  return level[0].toString('hex');
}

/** The Merkle root (hex) of readings, ordered here by interval start. */
export function merkleRoot(readings: readonly MerkleReading[]): string {
  const ordered = [...readings].sort((a, b) => a.intervalStart.getTime() - b.intervalStart.getTime());
  return merkleRootOfLeaves(ordered.map(merkleLeaf));
}
