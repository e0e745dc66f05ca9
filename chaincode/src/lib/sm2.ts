import { createHash, createPublicKey } from 'node:crypto';

/**
 * SM2 signature verification with SM3 (GB/T 32918.2, GM/T 0003), in plain BigInt arithmetic: no I/O and no
 * randomness, so every endorsing peer that runs it on the same bytes reaches the same verdict (the chaincode
 * verifies trading centers' trade signatures with it; the gateway uses it too).
 *
 * Node 20 / OpenSSL 3.0 can sign and verify SM2 with keys it generated itself, but a public key imported from
 * PEM decodes as a plain EC key and SM2 signatures never verify with it; so verification is done here. The
 * digest is SM3 (node:crypto) of Z‖M with Z = SM3(ENTL‖ID‖a‖b‖xG‖yG‖xA‖yA) and the standard default
 * distinguishing identifier `1234567812345678`, as OpenSSL, GmSSL and BouncyCastle use by default.
 */

const P = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF');
const A = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC');
const B = BigInt('0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93');
const N = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123');
const GX = BigInt('0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7');
const GY = BigInt('0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0');

export const SM2_DEFAULT_ID = '1234567812345678';
const SM2_CURVE_OID = Buffer.from('06082a811ccf5501822d', 'hex');

type Jacobian = [bigint, bigint, bigint];

const mod = (x: bigint, m = P) => ((x % m) + m) % m;

function inverse(x: bigint, m = P): bigint {
  let [a, b, u, v] = [mod(x, m), m, 1n, 0n];
  while (a !== 0n) {
    const q = b / a;
    [a, b] = [b - q * a, a];
    [u, v] = [v - q * u, u];
  }
  return mod(v, m);
}

function double([x, y, z]: Jacobian): Jacobian {
  if (y === 0n || z === 0n) return [0n, 1n, 0n];
  const y2 = mod(y * y);
  const s = mod(4n * x * y2);
  const z2 = mod(z * z);
  const m = mod(3n * x * x + A * z2 * z2);
  const x3 = mod(m * m - 2n * s);
  return [x3, mod(m * (s - x3) - 8n * y2 * y2), mod(2n * y * z)];
}

function add(p: Jacobian, q: Jacobian): Jacobian {
  if (p[2] === 0n) return q;
  if (q[2] === 0n) return p;
  const z1z1 = mod(p[2] * p[2]);
  const z2z2 = mod(q[2] * q[2]);
  const u1 = mod(p[0] * z2z2);
  const u2 = mod(q[0] * z1z1);
  const s1 = mod(p[1] * q[2] * z2z2);
  const s2 = mod(q[1] * p[2] * z1z1);
  if (u1 === u2) return s1 === s2 ? double(p) : [0n, 1n, 0n];
  const h = mod(u2 - u1);
  const r = mod(s2 - s1);
  const h2 = mod(h * h);
  const h3 = mod(h * h2);
  const x3 = mod(r * r - h3 - 2n * u1 * h2);
  return [x3, mod(r * (u1 * h2 - x3) - s1 * h3), mod(h * p[2] * q[2])];
}

function multiply(k: bigint, point: Jacobian): Jacobian {
  let result: Jacobian = [0n, 1n, 0n];
  let addend = point;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = add(result, addend);
    addend = double(addend);
  }
  return result;
}

function affineX([x, , z]: Jacobian): bigint {
  const zi = inverse(z);
  return mod(x * zi * zi);
}

const bytes32 = (x: bigint) => Buffer.from(x.toString(16).padStart(64, '0'), 'hex');
const toBig = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);

/** The uncompressed public point (x, y) of an SM2 public key in PEM (SPKI), or undefined when it is not one. */
export function sm2PublicPoint(pem: string): { x: bigint; y: bigint } | undefined {
  let der: Buffer;
  try {
    der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  } catch {
    return undefined;
  }
  const n = der.length;
  if (n < 68 || der.indexOf(SM2_CURVE_OID) < 0) return undefined;
  if (der[n - 68] !== 0x03 || der[n - 67] !== 0x42 || der[n - 66] !== 0x00 || der[n - 65] !== 0x04)
    return undefined;
  const x = toBig(der.subarray(n - 64, n - 32));
  const y = toBig(der.subarray(n - 32));
  if (x >= P || y >= P || mod(y * y - (x * x * x + A * x + B)) !== 0n) return undefined;
  return { x, y };
}

/** r and s of a DER `SEQUENCE { INTEGER r, INTEGER s }` or a raw 64-byte r‖s. */
function parseSignature(signature: Buffer): { r: bigint; s: bigint } | undefined {
  if (signature.length === 64)
    return { r: toBig(signature.subarray(0, 32)), s: toBig(signature.subarray(32)) };
  if (signature[0] !== 0x30 || signature[1] !== signature.length - 2) return undefined;
  let offset = 2;
  const integer = (): bigint | undefined => {
    if (signature[offset] !== 0x02) return undefined;
    const length = signature[offset + 1];
    if (length === undefined || length > 33 || offset + 2 + length > signature.length) return undefined;
    const value = toBig(signature.subarray(offset + 2, offset + 2 + length));
    offset += 2 + length;
    return value;
  };
  const r = integer();
  const s = integer();
  if (r === undefined || s === undefined || offset !== signature.length) return undefined;
  return { r, s };
}

/** Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA), ENTL the bit length of ID as 2 bytes big-endian. */
export function sm2Z(id: Buffer, point: { x: bigint; y: bigint }): Buffer {
  const entl = Buffer.alloc(2);
  entl.writeUInt16BE(id.length * 8);
  return createHash('sm3')
    .update(
      Buffer.concat([
        entl,
        id,
        bytes32(A),
        bytes32(B),
        bytes32(GX),
        bytes32(GY),
        bytes32(point.x),
        bytes32(point.y),
      ]),
    )
    .digest();
}

/** e = SM3(Z ‖ M): the digest an SM2 signature over `message` signs (docs/test-vectors/README.md). */
export function sm2Digest(
  message: Buffer,
  point: { x: bigint; y: bigint },
  id: string = SM2_DEFAULT_ID,
): Buffer {
  return createHash('sm3')
    .update(Buffer.concat([sm2Z(Buffer.from(id, 'utf8'), point), message]))
    .digest();
}

export function sm2Verify(
  message: Buffer,
  signature: Buffer,
  point: { x: bigint; y: bigint },
  id: string = SM2_DEFAULT_ID,
): boolean {
  const parsed = parseSignature(signature);
  if (!parsed) return false;
  const { r, s } = parsed;
  if (r < 1n || r >= N || s < 1n || s >= N) return false;
  const e = toBig(sm2Digest(message, point, id));
  const t = mod(r + s, N);
  if (t === 0n) return false;
  const sum = add(multiply(s, [GX, GY, 1n]), multiply(t, [point.x, point.y, 1n]));
  if (sum[2] === 0n) return false;
  return mod(e + affineX(sum), N) === r;
}

/** The SM2 public key (SPKI PEM) of a private scalar d: for tools and tests that play a trading center. */
export function sm2PublicKeyPem(d: bigint): string {
  const point = multiply(d, [GX, GY, 1n]);
  const zi = inverse(point[2]);
  const x = mod(point[0] * zi * zi);
  const y = mod(point[1] * zi * zi * zi);
  const der = Buffer.concat([
    Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex'),
    Buffer.from([0x04]),
    bytes32(x),
    bytes32(y),
  ]);
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`;
}

/**
 * An SM2 signature (DER) of `message` with private scalar d and the nonce source `nonce` (1 ≤ k < n): for
 * tools and tests that play a trading center. The chaincode never signs; the caller supplies the randomness, so
 * this module has none.
 */
export function sm2Sign(
  message: Buffer,
  d: bigint,
  nonce: () => bigint,
  id: string = SM2_DEFAULT_ID,
): Buffer {
  const publicPoint = multiply(d, [GX, GY, 1n]);
  const zi = inverse(publicPoint[2]);
  const point = { x: mod(publicPoint[0] * zi * zi), y: mod(publicPoint[1] * zi * zi * zi) };
  const e = toBig(sm2Digest(message, point, id));
  for (;;) {
    const k = nonce();
    const r = mod(e + affineX(multiply(k, [GX, GY, 1n])), N);
    if (r === 0n || r + k === N) continue;
    const s = mod(inverse(1n + d, N) * (k - r * d), N);
    if (s === 0n) continue;
    const integer = (v: bigint) => {
      let hex = v.toString(16);
      if (hex.length % 2) hex = `0${hex}`;
      if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
      const b = Buffer.from(hex, 'hex');
      return Buffer.concat([Buffer.from([0x02, b.length]), b]);
    };
    const seq = Buffer.concat([integer(r), integer(s)]);
    return Buffer.concat([Buffer.from([0x30, seq.length]), seq]);
  }
}
