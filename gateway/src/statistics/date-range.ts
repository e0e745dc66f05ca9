import { ProblemError } from '../common/problem';

/**
 * A statistic's date range `[from, to)`. api.md: dates as RFC 3339, months as `YYYY-MM`; calendar months and days
 * are Asia/Shanghai. So a bound is a month (`2026-01`: its first instant in Shanghai), a day (`2026-01-15`: its
 * midnight in Shanghai) or an RFC 3339 date-time with its offset.
 */
export const DATE_BOUND_PATTERN =
  /^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))?)?$/i;
export const DATE_BOUND_MESSAGE =
  'must be a month (YYYY-MM), a day (YYYY-MM-DD; both Asia/Shanghai) or an RFC 3339 date-time with offset';

/** Asia/Shanghai has been UTC+8 all year since 1991. */
const SHANGHAI_OFFSET_MS = 8 * 3600_000;

export interface DateRange {
  from: Date;
  to: Date;
}

function badBound(field: 'from' | 'to', code: string, message: string): ProblemError {
  return new ProblemError(400, code, `${field} ${message}`, {
    errors: [{ field, message: `${field} ${message}` }],
  });
}

/** One bound as an instant; a day that does not exist (2026-02-30) is refused, naming the field. */
export function parseDateBound(field: 'from' | 'to', value: string): Date {
  if (!DATE_BOUND_PATTERN.test(value)) throw badBound(field, 'VALIDATION_FAILED', DATE_BOUND_MESSAGE);
  const [y, m, d = 1] = value.slice(0, 10).split('-').map(Number);
  const midnight = new Date(Date.UTC(y, m - 1, d));
  if (midnight.getUTCMonth() !== m - 1 || midnight.getUTCDate() !== d) {
    throw badBound(field, 'VALIDATION_FAILED', `${value} is not a calendar date`);
  }
  if (value.length > 10) return new Date(value);
  return new Date(midnight.getTime() - SHANGHAI_OFFSET_MS);
}

/** Both bounds, `from` before `to` (400 `DATE_RANGE_INVALID` naming `to` otherwise). */
export function parseDateRange(from: string, to: string): DateRange {
  const range = { from: parseDateBound('from', from), to: parseDateBound('to', to) };
  if (range.to.getTime() <= range.from.getTime()) {
    throw badBound('to', 'DATE_RANGE_INVALID', `${to} is not after from ${from}: the range is [from, to)`);
  }
  return range;
}
