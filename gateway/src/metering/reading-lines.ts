import { StringDecoder } from 'node:string_decoder';
import { periodOf } from './months';

/**
 * Parsing of bulk meter readings, one line at a time (the body is never held whole in memory).
 *
 * NDJSON: one `{"meterId", "intervalStart", "kwh"}` object per line. CSV: a header naming the columns
 * `meterId,intervalStart,kwh` (any order), then one reading per line. Blank lines are skipped. `kwh` is a
 * decimal with at most 3 decimals (a string, or a JSON number), stored as integer Wh; `intervalStart` is RFC
 * 3339 with an offset. Checks that need the meter (known, interval grid, interval ended) are done in SQL.
 */

export const LINE_ERROR_CODES = [
  'MALFORMED_LINE',
  'MISSING_FIELD',
  'INVALID_METER_ID',
  'INVALID_TIMESTAMP',
  'INVALID_VALUE',
  'NEGATIVE_VALUE',
  'TOO_MANY_DECIMALS',
  'MISALIGNED_INTERVAL',
  'FUTURE_INTERVAL',
  'UNKNOWN_METER',
  'PERIOD_FROZEN',
  'DUPLICATE_IN_REQUEST',
  'READING_CONFLICT',
] as const;
export type LineErrorCode = (typeof LINE_ERROR_CODES)[number];

export interface LineError {
  /** 1-based line number in the body (the CSV header is line 1). */
  line: number;
  meterId?: string;
  field?: string;
  code: LineErrorCode;
  message: string;
}

export interface ParsedReading {
  line: number;
  meterId: string;
  /** Interval start, UTC epoch milliseconds. */
  startMs: number;
  /** Integer Wh (at most 10^15, exact in a double). */
  wh: number;
  /** Asia/Shanghai month of the interval start. */
  period: string;
}

export type LineResult = { reading: ParsedReading } | { error: LineError };

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const KWH_PATTERN = /^(-)?(\d+)(?:\.(\d+))?$/;
/** 10^12 kWh in one interval is far beyond any meter; it keeps Wh exact in a double. */
const KWH_INTEGER_DIGITS_MAX = 12;
const TIMESTAMP_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;
const YEAR_MIN = 2000;
const YEAR_MAX = 2099;
const FIELDS = ['meterId', 'intervalStart', 'kwh'] as const;

type FieldProblem = { code: LineErrorCode; message: string };

/** kWh (≤ 3 decimals) → integer Wh, or why not. */
export function kwhToWh(value: unknown): { wh: number } | FieldProblem {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { code: 'INVALID_VALUE', message: 'kwh must be a finite number' };
    if (value < 0) return { code: 'NEGATIVE_VALUE', message: `kwh must not be negative (got ${value})` };
    text = String(value);
    if (/e/i.test(text)) {
      return value > 0 && value < 1
        ? { code: 'TOO_MANY_DECIMALS', message: `kwh has more than 3 decimals (got ${text})` }
        : { code: 'INVALID_VALUE', message: `kwh is out of range (got ${text})` };
    }
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return { code: 'INVALID_VALUE', message: 'kwh must be a decimal number or a string such as "12.345"' };
  }
  const match = KWH_PATTERN.exec(text);
  if (!match) {
    return {
      code: 'INVALID_VALUE',
      message: `kwh must be a decimal such as 12.345 (got ${JSON.stringify(text.slice(0, 40))})`,
    };
  }
  const [, minus, integer, fraction = ''] = match;
  if (fraction.length > 3 && !/^0+$/.test(fraction.slice(3))) {
    return { code: 'TOO_MANY_DECIMALS', message: `kwh has more than 3 decimals (got ${text})` };
  }
  const digits = integer.replace(/^0+(?=\d)/, '');
  if (digits.length > KWH_INTEGER_DIGITS_MAX) {
    return { code: 'INVALID_VALUE', message: `kwh is out of range (got ${text})` };
  }
  const wh = Number(digits) * 1000 + Number(fraction.slice(0, 3).padEnd(3, '0'));
  if (minus && wh !== 0) return { code: 'NEGATIVE_VALUE', message: `kwh must not be negative (got ${text})` };
  return { wh };
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** RFC 3339 with an offset → epoch ms, or why not. Seconds and fractions must be zero (a minute grid). */
export function parseIntervalStart(value: unknown, nowMs: number): { ms: number } | FieldProblem {
  if (typeof value !== 'string') {
    return { code: 'INVALID_TIMESTAMP', message: 'intervalStart must be an RFC 3339 string' };
  }
  const m = TIMESTAMP_PATTERN.exec(value);
  if (!m) {
    return {
      code: 'INVALID_TIMESTAMP',
      message: `intervalStart must be RFC 3339 with an offset, e.g. 2026-10-01T00:15:00+08:00 (got ${JSON.stringify(value.slice(0, 40))})`,
    };
  }
  const [, y, mo, d, h, mi, s, fraction, zone, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const valid =
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    Number(h) <= 23 &&
    Number(mi) <= 59 &&
    Number(s) <= 59 &&
    (zone.toUpperCase() === 'Z' || (Number(oh) <= 23 && Number(om) <= 59));
  if (!valid) return { code: 'INVALID_TIMESTAMP', message: `intervalStart ${value} is not a valid time` };
  if (year < YEAR_MIN || year > YEAR_MAX) {
    return { code: 'INVALID_TIMESTAMP', message: `intervalStart must be within ${YEAR_MIN}-${YEAR_MAX}` };
  }
  const offsetMs =
    zone.toUpperCase() === 'Z' ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  const ms = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s)) - offsetMs;
  if (ms > nowMs) {
    return { code: 'FUTURE_INTERVAL', message: `intervalStart ${value} is in the future` };
  }
  if (Number(s) !== 0 || (fraction !== undefined && !/^\.0+$/.test(fraction))) {
    return {
      code: 'MISALIGNED_INTERVAL',
      message: `intervalStart ${value} is not on a minute boundary (seconds must be 0)`,
    };
  }
  return { ms };
}

/** Validate the three fields of a reading. */
export function toReading(
  line: number,
  fields: { meterId: unknown; intervalStart: unknown; kwh: unknown },
  nowMs: number,
): LineResult {
  for (const field of FIELDS) {
    if (fields[field] === undefined || fields[field] === null || fields[field] === '') {
      return { error: { line, field, code: 'MISSING_FIELD', message: `${field} is required` } };
    }
  }
  const { meterId } = fields;
  if (typeof meterId !== 'string' || !ID_PATTERN.test(meterId)) {
    return {
      error: {
        line,
        field: 'meterId',
        code: 'INVALID_METER_ID',
        message: 'meterId must be 1-64 characters of A-Z a-z 0-9 . _ -',
      },
    };
  }
  const start = parseIntervalStart(fields.intervalStart, nowMs);
  if ('code' in start) return { error: { line, meterId, field: 'intervalStart', ...start } };
  const value = kwhToWh(fields.kwh);
  if ('code' in value) return { error: { line, meterId, field: 'kwh', ...value } };
  return { reading: { line, meterId, startMs: start.ms, wh: value.wh, period: periodOf(start.ms) } };
}

export interface LineParser {
  /** The result of one non-blank line; undefined for a header. */
  parse(text: string, line: number): LineResult | undefined;
}

/**
 * A line exactly as serialisers write a reading, `{"meterId":"…","intervalStart":"…","kwh":"…"}`, with no escape
 * and no control character inside the strings: JSON.parse of such a line gives these three strings and nothing
 * else, so reading them straight from the match gives the same result without building an object per line.
 * Anything else (other order, spaces, numbers, escapes) goes through JSON.parse.
 */
// The control characters are the point: JSON refuses them raw inside a string, so such a line must not match.
/* eslint-disable no-control-regex */
const CANONICAL_LINE =
  /^\{"meterId":"([^"\\\u0000-\u001f]*)","intervalStart":"([^"\\\u0000-\u001f]*)","kwh":"([^"\\\u0000-\u001f]*)"\}$/;
/* eslint-enable no-control-regex */

export class NdjsonParser implements LineParser {
  constructor(private readonly nowMs: number) {}

  parse(text: string, line: number): LineResult {
    const canonical = CANONICAL_LINE.exec(text);
    if (canonical) {
      return toReading(
        line,
        { meterId: canonical[1], intervalStart: canonical[2], kwh: canonical[3] },
        this.nowMs,
      );
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { error: { line, code: 'MALFORMED_LINE', message: 'the line is not valid JSON' } };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { error: { line, code: 'MALFORMED_LINE', message: 'the line must be a JSON object' } };
    }
    const record = value as Record<string, unknown>;
    const unknown = Object.keys(record).find((key) => !(FIELDS as readonly string[]).includes(key));
    if (unknown !== undefined) {
      return {
        error: {
          line,
          field: unknown.slice(0, 64),
          code: 'MALFORMED_LINE',
          message: `unknown field ${JSON.stringify(unknown.slice(0, 64))} (expected ${FIELDS.join(', ')})`,
        },
      };
    }
    return toReading(
      line,
      { meterId: record.meterId, intervalStart: record.intervalStart, kwh: record.kwh },
      this.nowMs,
    );
  }
}

/** Split one CSV record (RFC 4180 quoting: "a,b" and "" for a quote); undefined when the quoting is broken. */
export function splitCsv(text: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  while (true) {
    if (text[i] === '"') {
      let value = '';
      i += 1;
      while (true) {
        const quote = text.indexOf('"', i);
        if (quote < 0) return undefined;
        value += text.slice(i, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      fields.push(value);
      if (i === text.length) return fields;
      if (text[i] !== ',') return undefined;
      i += 1;
    } else {
      const comma = text.indexOf(',', i);
      if (comma < 0) {
        fields.push(text.slice(i));
        return fields;
      }
      fields.push(text.slice(i, comma));
      i = comma + 1;
    }
  }
}

export class CsvHeaderError extends Error {
  override readonly name = 'CsvHeaderError';
}

export class CsvParser implements LineParser {
  private columns: number[] | undefined;

  constructor(private readonly nowMs: number) {}

  parse(text: string, line: number): LineResult | undefined {
    const cells = splitCsv(text);
    if (!this.columns) {
      const names = (cells ?? []).map((cell) => cell.trim());
      const columns = FIELDS.map((field) => names.indexOf(field));
      if (names.length !== FIELDS.length || columns.some((index) => index < 0)) {
        throw new CsvHeaderError(
          `the first line must be the header ${FIELDS.join(',')} (got ${JSON.stringify(text.slice(0, 80))})`,
        );
      }
      this.columns = columns;
      return undefined;
    }
    if (!cells || cells.length !== FIELDS.length) {
      return {
        error: {
          line,
          code: 'MALFORMED_LINE',
          message: cells
            ? `expected ${FIELDS.length} columns (${FIELDS.join(',')}), got ${cells.length}`
            : 'broken CSV quoting',
        },
      };
    }
    const [meterId, intervalStart, kwh] = this.columns.map((index) => cells[index].trim());
    return toReading(line, { meterId, intervalStart, kwh }, this.nowMs);
  }
}

/** A line of the body: its number and text (without the line break), or `tooLong` when it exceeds the limit. */
export interface BodyLine {
  line: number;
  text: string;
  tooLong: boolean;
}

/**
 * The lines of a byte stream, pulled one chunk at a time (so a slow consumer holds the stream back). UTF-8
 * safe across chunks; `\n` or `\r\n` line ends; a leading BOM is ignored; a line longer than `maxLineChars`
 * is reported as `tooLong` (its text dropped) instead of growing without bound.
 */
export async function* bodyLines(
  body: AsyncIterable<Buffer | string>,
  maxLineChars = 16_384,
): AsyncGenerator<BodyLine> {
  for await (const batch of bodyLineBatches(body, maxLineChars)) yield* batch;
}

/**
 * The same lines as `bodyLines`, handed over as the lines each chunk completes: one asynchronous step per chunk
 * instead of per line (a bulk body has hundreds of lines per chunk, and each step costs promises).
 */
export async function* bodyLineBatches(
  body: AsyncIterable<Buffer | string>,
  maxLineChars = 16_384,
): AsyncGenerator<BodyLine[]> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let overflow = false;
  let line = 0;
  let first = true;
  const emit = (text: string): BodyLine => {
    line += 1;
    let clean = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (first) {
      clean = clean.replace(/^\uFEFF/, '');
      first = false;
    }
    const result = { line, text: overflow ? '' : clean, tooLong: overflow };
    overflow = false;
    return result;
  };
  for await (const chunk of body) {
    const text = pending + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    const batch: BodyLine[] = [];
    let start = 0;
    let newline = text.indexOf('\n', start);
    while (newline >= 0) {
      batch.push(emit(text.slice(start, newline)));
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    pending = text.slice(start);
    if (pending.length > maxLineChars) {
      overflow = true;
      pending = '';
    }
    if (batch.length > 0) yield batch;
  }
  pending += decoder.end();
  if (pending.length > 0 || overflow) yield [emit(pending)];
}
