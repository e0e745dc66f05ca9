/**
 * Canonical JSON: object keys sorted recursively (by UTF-16 code units, as RFC 8785 does), no whitespace.
 *
 * Every value written to the world state, and every event payload, goes through this so that endorsements by
 * different peers produce identical bytes. Only plain JSON data is accepted: strings, finite numbers,
 * booleans, null, arrays and objects (class instances are taken by their own enumerable properties).
 * Object properties whose value is `undefined` are left out, as `JSON.stringify` does; anything else that has
 * no single JSON form (NaN, Infinity, bigint, functions, symbols, Dates, byte arrays, `undefined` in an array)
 * is refused rather than silently converted.
 */

export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

/** The UTF-8 bytes of `canonicalJson(value)`, ready for `putState` or `setEvent`. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return Buffer.from(canonicalJson(value), 'utf8');
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${path} is not a finite number`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`canonical JSON: ${path} has type ${typeof value}, which has no JSON form`);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item, i) => writeArrayItem(item, `${path}[${i}]`)).join(',')}]`;
  }
  if (value instanceof Date || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    throw new TypeError(
      `canonical JSON: ${path} is a ${value.constructor.name}; convert it to a string first`,
    );
  }
  if (value instanceof Map || value instanceof Set) {
    throw new TypeError(
      `canonical JSON: ${path} is a ${value.constructor.name}; convert it to a plain object`,
    );
  }
  const record = value as Record<string, unknown>;
  const members: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined) continue;
    members.push(`${JSON.stringify(key)}:${write(member, `${path}.${key}`)}`);
  }
  return `{${members.join(',')}}`;
}

function writeArrayItem(item: unknown, path: string): string {
  if (item === undefined) throw new TypeError(`canonical JSON: ${path} is undefined`);
  return write(item, path);
}
