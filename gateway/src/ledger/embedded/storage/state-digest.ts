/**
 * A digest of the whole index database (block index, txId index, state, history) that a block's batch can
 * update without reading the database: the sum, lane by lane modulo 2^32, of SHA-256(u32 len(key) ‖ key ‖
 * value) over every entry. Adding an entry adds its hash, removing or overwriting one subtracts the old
 * hash, so the digest after a block = digest before + what the block put − what it replaced.
 *
 * It is stored in the savepoint of every block. At open the store recomputes it from a scan of the database:
 * a deleted, garbled or edited entry (or one left behind) changes the sum, so state that the block store does
 * not prove is found before it is served. It guards against damage, not a forger (who can rewrite the
 * savepoint too): the hash chain of the block file is the ledger's root of trust, and state is always
 * rebuildable from it.
 */
import { hash } from 'node:crypto';

export const DIGEST_BYTES = 32;
const LANES = DIGEST_BYTES / 4;

export function entryHash(key: Uint8Array, value: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(key.length, 0);
  // One-shot hashing: start-up hashes every entry of the database, and a Hash object per entry costs more
  // than the copy into one buffer.
  return hash('sha256', Buffer.concat([length, key, value]), 'buffer');
}

export class StateDigest {
  private readonly lanes = new Uint32Array(LANES);

  static from(bytes: Uint8Array): StateDigest {
    if (bytes.length !== DIGEST_BYTES) throw new RangeError(`a state digest has ${DIGEST_BYTES} bytes`);
    const digest = new StateDigest();
    const view = Buffer.from(bytes);
    for (let i = 0; i < LANES; i++) digest.lanes[i] = view.readUInt32BE(i * 4);
    return digest;
  }

  copy(): StateDigest {
    const digest = new StateDigest();
    digest.lanes.set(this.lanes);
    return digest;
  }

  add(hash: Buffer): void {
    for (let i = 0; i < LANES; i++) this.lanes[i] += hash.readUInt32BE(i * 4); // Uint32Array wraps mod 2^32
  }

  subtract(hash: Buffer): void {
    for (let i = 0; i < LANES; i++) this.lanes[i] -= hash.readUInt32BE(i * 4);
  }

  bytes(): Buffer {
    const out = Buffer.alloc(DIGEST_BYTES);
    for (let i = 0; i < LANES; i++) out.writeUInt32BE(this.lanes[i], i * 4);
    return out;
  }

  equals(other: StateDigest): boolean {
    return this.lanes.every((lane, i) => lane === other.lanes[i]);
  }

  hex(): string {
    return this.bytes().toString('hex');
  }
}
