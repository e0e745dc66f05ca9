import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The code in a voucher's public verification link (扫码验真). Voucher ids are guessable (`VCH-` and the
 * trading center's trade id, e.g. VCH-T-2026-10-0001), so the id alone must not open anything: the link also
 * carries 128 bits derived from the voucher's issuing transaction id, which only the ledger and whoever holds the
 * printed voucher know. Derived, not stored: every gateway of the consortium projects the same ledger and so
 * answers the same link, with no secret to share and no table to keep; nobody can make a code for a voucher
 * they have not seen.
 */
const DOMAIN = 'gec-ledger voucher verification v1';
export const VERIFICATION_CODE_PATTERN = /^[0-9a-f]{32}$/;

export function verificationCode(voucherId: string, issuedTxId: string): string {
  return createHash('sha256')
    .update(`${DOMAIN}\n${voucherId}\n${issuedTxId}`, 'utf8')
    .digest('hex')
    .slice(0, 32);
}

/** Whether `code` is the voucher's code, compared in constant time. */
export function codeMatches(code: string, voucherId: string, issuedTxId: string): boolean {
  if (!VERIFICATION_CODE_PATTERN.test(code)) return false;
  return timingSafeEqual(Buffer.from(code, 'utf8'), Buffer.from(verificationCode(voucherId, issuedTxId)));
}

/** The path of the public verification page of a voucher. */
export function verificationPath(voucherId: string, issuedTxId: string): string {
  return `/verify/${encodeURIComponent(voucherId)}/${verificationCode(voucherId, issuedTxId)}`;
}
