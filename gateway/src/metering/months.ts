/**
 * Asia/Shanghai calendar months (UTC+08:00 all year, no daylight saving time since 1991, so a fixed offset is
 * exact): period `YYYY-MM` is the half-open interval [first day 00:00+08:00, next month's first day 00:00+08:00).
 */

export const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;
export const PERIOD_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function isPeriod(value: string): boolean {
  return PERIOD_PATTERN.test(value);
}

/** First instant of the period (UTC epoch ms). */
export function periodStartMs(period: string): number {
  const year = Number(period.slice(0, 4));
  const month = Number(period.slice(5, 7));
  return Date.UTC(year, month - 1, 1) - SHANGHAI_OFFSET_MS;
}

/** End (exclusive) of the period (UTC epoch ms). */
export function periodEndMs(period: string): number {
  const year = Number(period.slice(0, 4));
  const month = Number(period.slice(5, 7));
  return Date.UTC(year, month, 1) - SHANGHAI_OFFSET_MS;
}

const DAY_MS = 86_400_000;
/** The last day asked for and its period: bulk readings come many to a day, so most calls need no Date. */
let lastDay = Number.NaN;
let lastPeriod = '';

/** The period (`YYYY-MM`, Asia/Shanghai) an instant belongs to. */
export function periodOf(ms: number): string {
  const day = Math.floor((ms + SHANGHAI_OFFSET_MS) / DAY_MS);
  if (day === lastDay) return lastPeriod;
  const local = new Date(ms + SHANGHAI_OFFSET_MS);
  const period = `${String(local.getUTCFullYear()).padStart(4, '0')}-${String(local.getUTCMonth() + 1).padStart(2, '0')}`;
  if (Number.isFinite(day)) {
    lastDay = day;
    lastPeriod = period;
  }
  return period;
}

/** Number of intervals of `intervalMinutes` in the period. */
export function expectedIntervals(period: string, intervalMinutes: number): number {
  return (periodEndMs(period) - periodStartMs(period)) / (intervalMinutes * 60_000);
}
