/**
 * ECDSA P-256 signature encoding as Fabric wants it: ASN.1 DER `SEQUENCE { r INTEGER, s INTEGER }` with a
 * "low-S" value (s ≤ n/2). Fabric's BCCSP refuses high-S signatures (`IsLowS`) because (r, n − s) is a second
 * valid signature of the same message (malleability), so we normalise on signing and refuse on verifying.
 */

/** Order n of the P-256 base point. */
export const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
/** n / 2 (rounded down): the largest accepted s, as Fabric's `halfOrder`. */
export const P256_HALF_ORDER = P256_ORDER >> 1n;

const COORD_BYTES = 32;

export function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  return BigInt('0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex'));
}

export function bigIntToBytes(value: bigint, length: number): Buffer {
  const hex = value.toString(16).padStart(length * 2, '0');
  if (hex.length > length * 2) throw new RangeError(`integer does not fit in ${length} bytes`);
  return Buffer.from(hex, 'hex');
}

/** Minimal DER INTEGER encoding of a positive integer. */
function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  let body = Buffer.from(hex, 'hex');
  if (body[0] & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}

/** DER-encodes (r, s). Both must be in [1, n−1]. */
export function encodeDerSignature(r: bigint, s: bigint): Buffer {
  const content = Buffer.concat([derInteger(r), derInteger(s)]);
  // For P-256 the content is at most 70 bytes: the short length form always applies.
  return Buffer.concat([Buffer.from([0x30, content.length]), content]);
}

/** Reads one strict DER INTEGER at `offset`; returns the value and the next offset. */
function readDerInteger(sig: Uint8Array, offset: number): { value: bigint; next: number } {
  if (sig[offset] !== 0x02) throw new Error('signature is not DER: INTEGER expected');
  const len = sig[offset + 1];
  if (len === undefined || len === 0 || len > 33) throw new Error('signature is not DER: bad INTEGER length');
  const start = offset + 2;
  const end = start + len;
  if (end > sig.length) throw new Error('signature is not DER: truncated INTEGER');
  if (sig[start] & 0x80) throw new Error('signature is not DER: negative INTEGER');
  if (sig[start] === 0 && (len === 1 || (sig[start + 1] & 0x80) === 0)) {
    throw new Error('signature is not DER: non-minimal INTEGER');
  }
  return { value: bytesToBigInt(sig.subarray(start, end)), next: end };
}

/**
 * Strictly parses a DER ECDSA signature (as Go's `asn1.Unmarshal`: no trailing bytes, minimal integers) and checks
 * 0 < r, s < n. Throws on any deviation.
 */
export function decodeDerSignature(sig: Uint8Array): { r: bigint; s: bigint } {
  if (sig.length < 8 || sig[0] !== 0x30) throw new Error('signature is not DER: SEQUENCE expected');
  const len = sig[1];
  if (len >= 0x80 || len + 2 !== sig.length) throw new Error('signature is not DER: bad SEQUENCE length');
  const r = readDerInteger(sig, 2);
  const s = readDerInteger(sig, r.next);
  if (s.next !== sig.length) throw new Error('signature is not DER: trailing bytes');
  if (r.value <= 0n || r.value >= P256_ORDER || s.value <= 0n || s.value >= P256_ORDER) {
    throw new Error('signature values out of range');
  }
  return { r: r.value, s: s.value };
}

export function isLowS(s: bigint): boolean {
  return s <= P256_HALF_ORDER;
}

const ORDER_BYTES = bigIntToBytes(P256_ORDER, COORD_BYTES);
const HALF_ORDER_BYTES = bigIntToBytes(P256_HALF_ORDER, COORD_BYTES);

/** n − s for a 32-byte big-endian s < n, byte by byte (every signature pays this half the time). */
function orderMinus(s: Uint8Array): Uint8Array {
  const out = new Uint8Array(COORD_BYTES);
  let borrow = 0;
  for (let i = COORD_BYTES - 1; i >= 0; i--) {
    let d = ORDER_BYTES[i] - s[i] - borrow;
    borrow = d < 0 ? 1 : 0;
    if (d < 0) d += 256;
    out[i] = d;
  }
  return out;
}

/** A DER INTEGER of a non-negative big-endian integer: leading zeros dropped, a zero added before a high bit. */
function derIntegerOf(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const pad = bytes[start] & 0x80 ? 1 : 0;
  const length = bytes.length - start + pad;
  const out = Buffer.allocUnsafe(2 + length);
  out[0] = 0x02;
  out[1] = length;
  if (pad) out[2] = 0;
  out.set(bytes.subarray(start), 2 + pad);
  return out;
}

/**
 * Converts a raw IEEE-P1363 `r ‖ s` P-256 signature to low-S DER. Byte arithmetic rather than BigInt: this runs
 * for every signature the embedded network makes, and the hex round trips of BigInt cost more than the rest.
 */
export function p1363ToLowSDer(raw: Uint8Array): Buffer {
  if (raw.length !== 2 * COORD_BYTES) throw new Error(`expected a ${2 * COORD_BYTES}-byte r||s signature`);
  let s = raw.subarray(COORD_BYTES);
  if (Buffer.compare(s, HALF_ORDER_BYTES) > 0) s = orderMinus(s);
  const r = derIntegerOf(raw.subarray(0, COORD_BYTES));
  const sDer = derIntegerOf(s);
  // For P-256 the content is at most 70 bytes: the short length form always applies.
  return Buffer.concat([Buffer.from([0x30, r.length + sDer.length]), r, sDer]);
}

/** Normalises a raw IEEE-P1363 `r ‖ s` P-256 signature to low-S, keeping the raw encoding. */
export function p1363ToLowS(raw: Uint8Array): Uint8Array {
  if (raw.length !== 2 * COORD_BYTES) return raw;
  const s = bytesToBigInt(raw.subarray(COORD_BYTES));
  if (isLowS(s)) return raw;
  const out = new Uint8Array(raw.length);
  out.set(raw.subarray(0, COORD_BYTES), 0);
  out.set(bigIntToBytes(P256_ORDER - s, COORD_BYTES), COORD_BYTES);
  return out;
}
