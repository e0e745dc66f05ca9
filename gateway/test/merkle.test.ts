/**
 * The Merkle root committed with each meter attestation: fixed vectors, so a change to the leaf format or the
 * tree shape (which would break every proof already on the ledger) fails here.
 */
import { createHash } from 'node:crypto';
import { canonicalReading, merkleLeaf, merkleRoot, merkleRootOfLeaves } from '../src/metering/merkle';

const readings = [
  { meterId: 'M1', intervalStart: new Date('2026-10-01T00:00:00+08:00'), wh: 1000 },
  { meterId: 'M1', intervalStart: new Date('2026-10-01T00:15:00+08:00'), wh: 0 },
  { meterId: 'M1', intervalStart: new Date('2026-10-01T00:30:00+08:00'), wh: '12345' },
];

describe('merkleRoot', () => {
  it('hashes the canonical text meterId|intervalStart (ISO UTC, ms)|wh into each leaf', () => {
    expect(canonicalReading(readings[0])).toBe('M1|2026-09-30T16:00:00.000Z|1000');
    expect(merkleLeaf({ ...readings[0], intervalStart: new Date('2026-10-01T00:00:00.000Z') })).toEqual(
      Buffer.from('719f38d7774dd6c8799ea050079c51fe7277ea48a1ee381dd6a7fc0264ebb3f2', 'hex'),
    );
  });

  it('is the leaf itself for one reading', () => {
    expect(merkleRoot([readings[0]])).toBe(merkleLeaf(readings[0]).toString('hex'));
  });

  it('matches the fixed vectors for two and three leaves (odd level: last node duplicated)', () => {
    const utc = readings.map((r, i) => ({
      ...r,
      intervalStart: new Date(Date.UTC(2026, 9, 1, 0, 15 * i)),
    }));
    expect(merkleRoot(utc.slice(0, 2))).toBe(
      '9fdb507fbb93cff06867463b5d5e31ff9ce90f991e92c162d12ce07e4bddf9b2',
    );
    expect(merkleRoot(utc)).toBe('ca2bc7ede0abb80014c59ecc6c049b15bfa469bac091f55cc1e318b799fd588e');
  });

  it('orders readings by interval start whatever order they come in', () => {
    expect(merkleRoot([readings[2], readings[0], readings[1]])).toBe(merkleRoot(readings));
  });

  it('agrees with a straightforward recursive definition for 1..40 leaves', () => {
    const h = (data: Buffer) => createHash('sha256').update(data).digest();
    const reference = (nodes: Buffer[]): Buffer => {
      if (nodes.length === 1) return nodes[0];
      const padded = nodes.length % 2 === 1 ? [...nodes, nodes[nodes.length - 1]] : nodes;
      const parents: Buffer[] = [];
      for (let i = 0; i < padded.length; i += 2) parents.push(h(Buffer.concat([padded[i], padded[i + 1]])));
      return reference(parents);
    };
    for (let n = 1; n <= 40; n++) {
      const leaves = Array.from({ length: n }, (_, i) => h(Buffer.from(`leaf ${i}`)));
      expect(merkleRootOfLeaves(leaves)).toBe(reference(leaves).toString('hex'));
    }
  });

  it('changes when any value changes', () => {
    const changed = readings.map((r, i) => (i === 1 ? { ...r, wh: 1 } : r));
    expect(merkleRoot(changed)).not.toBe(merkleRoot(readings));
  });

  it('refuses an empty period', () => {
    expect(() => merkleRoot([])).toThrow(/at least one leaf/);
  });
});
