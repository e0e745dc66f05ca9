import { createHash } from 'node:crypto';

/**
 * The JSON Canonicalization Scheme, RFC 8785, for JSON values (what a trade is): object members sorted by key
 * compared as UTF-16 code units (JavaScript's default sort), no whitespace, strings and numbers written as
 * ECMAScript's JSON.stringify writes them (which is what RFC 8785 specifies). docs/test-vectors/canonical-json.json
 * holds the bytes to agree with; the client's tests check every vector.
 *
 * The value is first taken through JSON.stringify and JSON.parse, so that what is canonicalized is exactly what
 * the client sends: members whose value is undefined are left out, `toJSON` (a Date) applies. What RFC 8785 or
 * JSON cannot carry is refused rather than signed: a non-finite number, a BigInt, a lone surrogate.
 */
export function canonicalize(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError('canonicalize: the value has no JSON form');
  return canonical(JSON.parse(text) as unknown);
}

/** The UTF-8 bytes of the canonical form: what check data signs and what the gateway hashes. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}

/** Lower-case hex SHA-256 of the canonical bytes: the `tradeDataHash` the gateway shows for a trade. */
export function canonicalSha256(value: unknown): string {
  return sha256Hex(canonicalBytes(value));
}

export function sha256Hex(bytes: Uint8Array | string = ''): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function string(text: string): string {
  if (LONE_SURROGATE.test(text)) throw new TypeError('canonicalize: a string holds a lone surrogate');
  return JSON.stringify(text);
}

function canonical(value: unknown): string {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    // JSON.parse never yields a non-finite number; the check keeps this function honest on its own.
    if (!Number.isFinite(value)) throw new TypeError('canonicalize: a number is not finite');
    return JSON.stringify(value);
  }
  if (typeof value === 'string') return string(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const members = Object.keys(object)
      .sort()
      .map((key) => `${string(key)}:${canonical(object[key])}`);
    return `{${members.join(',')}}`;
  }
  throw new TypeError(`canonicalize: a ${typeof value} has no JSON form`);
}
