import { GecError } from './errors';

/**
 * Argument checks. Each failure is an INVALID_ARGUMENT naming the field, so a client can tell what to fix.
 */

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Province-level codes of GB/T 2260 (the first two digits of a 6-digit administrative division code whose
 * last four digits are 0000).
 */
// prettier-ignore
const PROVINCE_PREFIXES = new Set([
  '11', '12', '13', '14', '15', // 北京 天津 河北 山西 内蒙古
  '21', '22', '23', // 辽宁 吉林 黑龙江
  '31', '32', '33', '34', '35', '36', '37', // 上海 江苏 浙江 安徽 福建 江西 山东
  '41', '42', '43', '44', '45', '46', // 河南 湖北 湖南 广东 广西 海南
  '50', '51', '52', '53', '54', // 重庆 四川 贵州 云南 西藏
  '61', '62', '63', '64', '65', // 陕西 甘肃 青海 宁夏 新疆
  '71', '81', '82', // 台湾 香港 澳门
]);

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function invalid(field: string, problem: string): GecError {
  return new GecError('INVALID_ARGUMENT', `${field} ${problem}`);
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * Parse a transaction's JSON-object argument. Fields not in `allowed` are refused, so a misspelt or misplaced
 * field (a secret put in the arguments instead of the transient map, say) never passes silently.
 */
export function parseRequest(
  json: string,
  allowed: readonly string[],
  argument = 'request',
): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw invalid(argument, 'is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(argument, 'must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record)
    .filter((key) => !allowed.includes(key))
    .sort();
  if (unknown.length > 0) {
    throw invalid(`${argument}.${unknown[0]}`, `is not a known field (expected ${allowed.join(', ')})`);
  }
  return record;
}

/** An identifier: 1–64 characters from `A-Z a-z 0-9 . _ -`. */
export function requireId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw invalid(field, `must be 1-64 characters of A-Z a-z 0-9 . _ - (got ${describeValue(value)})`);
  }
  return value;
}

/** One of a fixed set of values. */
export function requireEnum<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(field, `must be one of ${allowed.join(', ')} (got ${describeValue(value)})`);
  }
  return value as T;
}

/** Same as requireEnum, but absent (undefined or null) is allowed. */
export function optionalEnum<T extends string>(
  value: unknown,
  field: string,
  allowed: readonly T[],
): T | undefined {
  return value === undefined || value === null ? undefined : requireEnum(value, field, allowed);
}

/** A province-level GB/T 2260 code, e.g. `330000` (Zhejiang). */
export function requireProvinceCode(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^\d{2}0000$/.test(value) || !PROVINCE_PREFIXES.has(value.slice(0, 2))) {
    throw invalid(
      field,
      `must be a province-level GB/T 2260 code such as 330000 (got ${describeValue(value)})`,
    );
  }
  return value;
}

/** Free text: trimmed, non-empty, at most `max` characters, no control characters. */
export function requireText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string') throw invalid(field, `must be a string (got ${describeValue(value)})`);
  const text = value.trim();
  if (text.length === 0) throw invalid(field, 'must not be empty');
  if (text.length > max) throw invalid(field, `must be at most ${max} characters (got ${text.length})`);
  if (CONTROL_CHARACTERS.test(text)) throw invalid(field, 'must not contain control characters');
  return text;
}

/** An optional integer in [min, max]; `fallback` when absent. */
export function optionalInteger(
  value: unknown,
  field: string,
  range: { min: number; max: number; fallback: number },
): number {
  if (value === undefined || value === null) return range.fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw invalid(
      field,
      `must be an integer from ${range.min} to ${range.max} (got ${describeValue(value)})`,
    );
  }
  return value;
}

/** An optional string of at most `max` characters; '' when absent. */
export function optionalString(value: unknown, field: string, max: number): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw invalid(field, `must be a string (got ${describeValue(value)})`);
  if (value.length > max) throw invalid(field, `must be at most ${max} characters`);
  return value;
}

/** A boolean; `fallback` when absent. */
export function optionalBoolean(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw invalid(field, `must be true or false (got ${describeValue(value)})`);
  return value;
}

/** An integer in [min, max]. */
export function requireInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `must be an integer from ${min} to ${max} (got ${describeValue(value)})`);
  }
  return value;
}

const MONTH_PATTERN = /^\d{4}-(0[1-9]|1[0-2])$/;

/** A calendar month `YYYY-MM` (taken in Asia/Shanghai wherever it becomes an instant). */
export function requireMonth(value: unknown, field: string): string {
  if (typeof value !== 'string' || !MONTH_PATTERN.test(value) || value < '2000-01' || value > '2999-12') {
    throw invalid(field, `must be a month YYYY-MM from 2000-01 (got ${describeValue(value)})`);
  }
  return value;
}

/** A calendar date `YYYY-MM-DD` that exists. */
export function requireDate(value: unknown, field: string): string {
  const ok =
    typeof value === 'string' &&
    /^\d{4}-\d{2}-\d{2}$/.test(value) &&
    !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) &&
    new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) === value;
  if (!ok) throw invalid(field, `must be a date YYYY-MM-DD (got ${describeValue(value)})`);
  return value;
}

const WH_MAX_DIGITS = 20;

/**
 * An energy total in Wh: a non-negative integer, as a JSON number (exact up to 2^53 - 1) or a decimal string
 * (for larger totals). Returned as its canonical decimal string.
 */
export function requireWh(value: unknown, field: string): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'string' && new RegExp(`^\\d{1,${WH_MAX_DIGITS}}$`).test(value)) {
    return BigInt(value).toString();
  }
  throw invalid(
    field,
    `must be a non-negative integer number of Wh, as a number or a decimal string of at most ${WH_MAX_DIGITS} digits (got ${describeValue(value)})`,
  );
}

/** A SHA-256 digest (e.g. a Merkle root) as 64 lower-case hex characters. */
export function requireDigest(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) {
    throw invalid(field, `must be 64 lower-case hex characters (got ${describeValue(value)})`);
  }
  return value;
}

/** A list of 1..max items. */
export function requireArray(value: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) {
    throw invalid(field, `must be a list of 1 to ${max} items (got ${describeValue(value)})`);
  }
  return value;
}

/** A JSON object (e.g. an item of a list). */
export function requireObject(
  value: unknown,
  field: string,
  allowed: readonly string[],
): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(field, 'must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record)
    .filter((key) => !allowed.includes(key))
    .sort();
  if (unknown.length > 0) {
    throw invalid(`${field}.${unknown[0]}`, `is not a known field (expected ${allowed.join(', ')})`);
  }
  return record;
}

/** The JSON-object argument of a read, where an empty string means `{}`. */
export function parseQuery(json: string, allowed: readonly string[]): Record<string, unknown> {
  return json.trim() === '' ? {} : parseRequest(json, allowed, 'query');
}
