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

/**
 * Complete lines of the body, handed over as runs of text instead of one object per line: `text` holds whole
 * lines, each ended by `\n` (a `\r` before it is the reader's to drop, as is a BOM opening line 1), the first of
 * them numbered `firstLine`. A line longer than the limit comes alone as `tooLong` (its text dropped). The same
 * lines, numbers and limits as `bodyLineBatches`, without allocating per line: the ingestion's fast reader works
 * on offsets into `text`.
 */
export interface LineBlock {
  text: string;
  firstLine: number;
  tooLong: boolean;
}

export async function* bodyLineBlocks(
  body: AsyncIterable<Buffer | string>,
  maxLineChars = 16_384,
): AsyncGenerator<LineBlock> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let overflow = false;
  let line = 1;
  for await (const chunk of body) {
    const text = pending + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    const last = text.lastIndexOf('\n');
    let start = 0;
    if (last >= 0) {
      if (overflow) {
        // The line that outgrew the limit ends here: reported alone, its tail dropped.
        overflow = false;
        start = text.indexOf('\n') + 1;
        yield { text: '', firstLine: line, tooLong: true };
        line += 1;
      }
      if (start <= last) {
        const lines = text.slice(start, last + 1);
        yield { text: lines, firstLine: line, tooLong: false };
        line += countNewlines(lines);
      }
      pending = text.slice(last + 1);
    } else {
      pending = text;
    }
    if (pending.length > maxLineChars) {
      overflow = true;
      pending = '';
    }
  }
  pending += decoder.end();
  if (overflow) yield { text: '', firstLine: line, tooLong: true };
  else if (pending.length > 0) yield { text: `${pending}\n`, firstLine: line, tooLong: false };
}

function countNewlines(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) count += 1;
  return count;
}

const QUOTE = 34;
const CANONICAL_OPEN = '{"meterId":"';
const CANONICAL_AFTER_ID = '","intervalStart":"';
const CANONICAL_AFTER_START = '","kwh":"';
const ID_LENGTH_MAX = 64;

function isIdChar(c: number): boolean {
  // A-Z a-z 0-9 . _ - (ID_PATTERN)
  return (
    (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 46 || c === 95 || c === 45
  );
}

/** The value of `length` decimal digits at `at`, or -1 when one is not a digit. */
function digitsAt(text: string, at: number, length: number): number {
  let value = 0;
  for (let i = at; i < at + length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * The common case of an NDJSON reading read without building a string or an object per line: a line exactly in
 * the serialisers' shape (`{"meterId":"…","intervalStart":"YYYY-MM-DDTHH:MM:00±HH:MM" or "…Z","kwh":"123.456"}`)
 * whose values are all valid. `read` answers false for anything else — another shape, a bad or unusual value —
 * and the caller hands the line to `NdjsonParser`, which decides (and words every error): a line this reader
 * accepts gives the same reading as the parser would (a property test holds the two together). The meter id of
 * the previous line is kept and matched in place, so consecutive lines of a meter allocate nothing for it.
 */
export class CanonicalReadingReader {
  meterId = '';
  startMs = 0;
  wh = 0;
  private dayKey = -1;
  private dayMs = 0;

  constructor(private readonly nowMs: number) {}

  read(text: string, start: number, end: number): boolean {
    if (!text.startsWith(CANONICAL_OPEN, start)) return false;
    const idStart = start + CANONICAL_OPEN.length;
    let at: number;
    const previous = this.meterId;
    const sameMeter =
      previous !== '' &&
      text.startsWith(previous, idStart) &&
      text.charCodeAt(idStart + previous.length) === QUOTE;
    if (sameMeter) {
      at = idStart + previous.length;
    } else {
      at = idStart;
      while (at < end && isIdChar(text.charCodeAt(at))) at += 1;
      if (at === idStart || at - idStart > ID_LENGTH_MAX || text.charCodeAt(at) !== QUOTE) return false;
    }
    const idEnd = at;
    if (!text.startsWith(CANONICAL_AFTER_ID, at)) return false;
    at += CANONICAL_AFTER_ID.length;
    // YYYY-MM-DDTHH:MM:00 then Z or ±HH:MM
    if (at + 20 > end) return false;
    if (
      text.charCodeAt(at + 4) !== 45 ||
      text.charCodeAt(at + 7) !== 45 ||
      text.charCodeAt(at + 10) !== 84 ||
      text.charCodeAt(at + 13) !== 58 ||
      text.charCodeAt(at + 16) !== 58 ||
      text.charCodeAt(at + 17) !== 48 ||
      text.charCodeAt(at + 18) !== 48
    ) {
      return false;
    }
    const year = digitsAt(text, at, 4);
    const month = digitsAt(text, at + 5, 2);
    const day = digitsAt(text, at + 8, 2);
    const hour = digitsAt(text, at + 11, 2);
    const minute = digitsAt(text, at + 14, 2);
    if (year < 0 || month < 0 || day < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59) return false;
    let offsetMs: number;
    const zone = text.charCodeAt(at + 19);
    if (zone === 90) {
      offsetMs = 0;
      at += 20;
    } else if (zone === 43 || zone === 45) {
      if (at + 25 > end || text.charCodeAt(at + 22) !== 58) return false;
      const oh = digitsAt(text, at + 20, 2);
      const om = digitsAt(text, at + 23, 2);
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
      offsetMs = (zone === 45 ? -1 : 1) * (oh * 60 + om) * 60_000;
      at += 25;
    } else {
      return false;
    }
    const dayKey = year * 10_000 + month * 100 + day;
    if (dayKey !== this.dayKey) {
      if (year < YEAR_MIN || year > YEAR_MAX || month < 1 || month > 12 || day < 1) return false;
      if (day > daysInMonth(year, month)) return false;
      this.dayKey = dayKey;
      this.dayMs = Date.UTC(year, month - 1, day);
    }
    const startMs = this.dayMs + (hour * 60 + minute) * 60_000 - offsetMs;
    if (startMs > this.nowMs) return false;
    if (!text.startsWith(CANONICAL_AFTER_START, at)) return false;
    at += CANONICAL_AFTER_START.length;
    // 1-12 integer digits, then optionally a point and 1-3 decimals, then `"}` ending the line.
    const integerStart = at;
    let integer = 0;
    while (at < end) {
      const d = text.charCodeAt(at) - 48;
      if (d < 0 || d > 9) break;
      integer = integer * 10 + d;
      at += 1;
    }
    const integerDigits = at - integerStart;
    if (integerDigits === 0 || integerDigits > KWH_INTEGER_DIGITS_MAX) return false;
    let milli = 0;
    if (text.charCodeAt(at) === 46) {
      at += 1;
      const fractionStart = at;
      while (at < end && at - fractionStart < 4) {
        const d = text.charCodeAt(at) - 48;
        if (d < 0 || d > 9) break;
        milli = milli * 10 + d;
        at += 1;
      }
      const fractionDigits = at - fractionStart;
      if (fractionDigits === 0 || fractionDigits > 3) return false;
      milli *= fractionDigits === 1 ? 100 : fractionDigits === 2 ? 10 : 1;
    }
    if (at + 2 !== end || text.charCodeAt(at) !== QUOTE || text.charCodeAt(at + 1) !== 125) return false;
    if (!sameMeter) this.meterId = text.slice(idStart, idEnd);
    this.startMs = startMs;
    this.wh = integer * 1000 + milli;
    return true;
  }
}
