import { copyLot, CertificateLot } from '../src/certificates/lot';
import { onlyShrank } from '../src/certificates/lot-store';

/** What decides whether a lot version is a move of the serials the lot keeps (README: provenance). */
describe('onlyShrank', () => {
  const lot = Object.assign(new CertificateLot(), {
    id: 'L',
    sequenceStart: 1,
    sequenceEnd: 10,
    serialEnd: 'S10',
    volume: 10,
    owner: 'GEN-1',
    status: 'ACTIVE',
    listingId: '',
    updatedAt: '2026-10-01T00:00:00.000Z',
    updatedTxId: 'a',
  });

  it('is true for a split that only took the highest serials away', () => {
    const next = copyLot(lot, {
      sequenceEnd: 6,
      serialEnd: 'S6',
      volume: 6,
      updatedAt: 'later',
      updatedTxId: 'b',
    });
    expect(onlyShrank(lot, next)).toBe(true);
  });

  it('is false when anything else changed with it, or nothing shrank', () => {
    const shrunk = { sequenceEnd: 6, serialEnd: 'S6', volume: 6 };
    expect(onlyShrank(lot, copyLot(lot, { ...shrunk, owner: 'CON-1' }))).toBe(false);
    expect(onlyShrank(lot, copyLot(lot, { ...shrunk, status: 'LISTED', listingId: 'LST-1' }))).toBe(false);
    expect(onlyShrank(lot, copyLot(lot, { owner: 'CON-1', updatedTxId: 'b' }))).toBe(false);
    expect(onlyShrank(lot, copyLot(lot, { updatedTxId: 'b' }))).toBe(false);
  });
});
