/**
 * JSON for signed financial data: the bytes must be valid UTF-8, no object may repeat a key (JSON.parse keeps the
 * last one silently, so a signer and a reader could see different values), no string may carry a lone UTF-16
 * surrogate escape (it cannot be stored or canonicalised faithfully), and nesting is bounded (a deep document
 * exhausts the stack of every recursive reader after the parser). Each refusal names what is wrong.
 */

export type StrictJsonFault =
  'INVALID_UTF8' | 'DUPLICATE_KEY' | 'LONE_SURROGATE' | 'TOO_DEEP' | 'MALFORMED_JSON';

export class StrictJsonError extends Error {
  constructor(
    readonly fault: StrictJsonFault,
    message: string,
  ) {
    super(message);
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

const isHigh = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;
const isLow = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;

/** Refuse a lone UTF-16 surrogate among the `\uXXXX` escapes of a string's source (between its quotes). */
function checkEscapes(source: string, at: number): void {
  let pendingHigh = false;
  for (let i = 0; i < source.length; i++) {
    if (source.charCodeAt(i) !== 0x5c) {
      if (pendingHigh) break;
      continue;
    }
    const kind = source[i + 1];
    if (kind !== 'u') {
      if (pendingHigh) break;
      i++;
      continue;
    }
    const unit = Number.parseInt(source.slice(i + 2, i + 6), 16);
    i += 5;
    if (Number.isNaN(unit)) return; // JSON.parse names the syntax error
    if (pendingHigh) {
      if (!isLow(unit)) break;
      pendingHigh = false;
    } else if (isHigh(unit)) {
      pendingHigh = true;
    } else if (isLow(unit)) {
      throw new StrictJsonError(
        'LONE_SURROGATE',
        `a string at byte ${at} holds a lone UTF-16 surrogate escape`,
      );
    }
  }
  if (pendingHigh) {
    throw new StrictJsonError(
      'LONE_SURROGATE',
      `a string at byte ${at} holds a lone UTF-16 surrogate escape`,
    );
  }
}

/**
 * Parse `bytes` as strict JSON (see above); nesting deeper than `maxDepth` objects and arrays is refused.
 * Throws StrictJsonError.
 */
export function parseStrictJson(bytes: Uint8Array, maxDepth: number): unknown {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new StrictJsonError('INVALID_UTF8', 'the request body is not valid UTF-8');
  }
  // One pass over the structure: depth, keys per object, escapes. Syntax is JSON.parse's to judge afterwards.
  const objects: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j++;
        } else if (d === 0x22) break;
      }
      const source = text.slice(i + 1, j);
      if (escaped) checkEscapes(source, i);
      if (expectKey) {
        const keys = objects[objects.length - 1];
        let key = source;
        if (escaped) {
          try {
            key = JSON.parse(`"${source}"`) as string;
          } catch {
            throw new StrictJsonError('MALFORMED_JSON', 'the request body is not valid JSON');
          }
        }
        if (keys?.has(key)) {
          throw new StrictJsonError('DUPLICATE_KEY', `an object repeats the key "${key.slice(0, 64)}"`);
        }
        keys?.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      objects.push(c === 0x7b ? new Set() : null);
      if (objects.length > maxDepth) {
        throw new StrictJsonError('TOO_DEEP', `the request body nests deeper than ${maxDepth} levels`);
      }
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      objects.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      expectKey = objects[objects.length - 1] instanceof Set;
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new StrictJsonError('MALFORMED_JSON', 'the request body is not valid JSON');
  }
}
