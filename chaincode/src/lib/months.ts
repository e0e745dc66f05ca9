/**
 * Calendar months in Asia/Shanghai. China has kept UTC+08:00 all year since 1991 (no daylight saving time), so
 * a fixed offset is exact: month `YYYY-MM` is the half-open period [YYYY-MM-01T00:00+08:00, next month's first
 * day 00:00+08:00), written as RFC 3339 UTC instants like every other time on the ledger.
 */

const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;

function parts(month: string): { year: number; month: number } {
  return { year: Number(month.slice(0, 4)), month: Number(month.slice(5, 7)) };
}

/** The month `n` months after `month` (n may be negative). */
export function addMonths(month: string, n: number): string {
  const { year, month: m } = parts(month);
  const index = year * 12 + (m - 1) + n;
  const y = Math.floor(index / 12);
  const mm = (index % 12) + 1;
  return `${String(y).padStart(4, '0')}-${String(mm).padStart(2, '0')}`;
}

/** The first instant of `month` in Asia/Shanghai, RFC 3339 UTC (`2025-03` → `2025-02-28T16:00:00.000Z`). */
export function monthStart(month: string): string {
  const { year, month: m } = parts(month);
  return new Date(Date.UTC(year, m - 1, 1) - SHANGHAI_OFFSET_MS).toISOString();
}

/** The end (exclusive) of `month`: the first instant of the next month. */
export function monthEnd(month: string): string {
  return monthStart(addMonths(month, 1));
}

/** `YYYY-MM` → `YYYYMM`, as in serial numbers. */
export function compactMonth(month: string): string {
  return month.slice(0, 4) + month.slice(5, 7);
}

/** `YYYYMM` → `YYYY-MM`. */
export function expandMonth(compact: string): string {
  return `${compact.slice(0, 4)}-${compact.slice(4, 6)}`;
}

/** Whether RFC 3339 instant `a` is at or after `b`. */
export function atOrAfter(a: string, b: string): boolean {
  return Date.parse(a) >= Date.parse(b);
}
