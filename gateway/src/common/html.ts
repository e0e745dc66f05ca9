import { createHash } from 'node:crypto';
import type { HttpResponse } from './http';

/**
 * What the gateway's HTML pages (the printable voucher, the public verification page, the regulator page) share:
 * escaping, how people in the market read times and amounts (Asia/Shanghai, thousands separators), and the
 * security headers every page is sent with.
 */

export const escapeHtml = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const SHANGHAI_OFFSET_MS = 8 * 3_600_000;

/** `YYYY-MM-DD HH:mm:ss` in Asia/Shanghai (UTC+8 all year, no daylight saving), or '' for no instant. */
export function shanghaiDateTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  return new Date(ms + SHANGHAI_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * The Shanghai calendar date of an instant, `YYYY-MM-DD`. `endExclusive`: the last day a half-open period
 * `[start, end)` covers, so a month prints as 10-01 — 10-31.
 */
export function shanghaiDate(iso: string, endExclusive = false): string {
  const ms = Date.parse(iso) - (endExclusive ? 1 : 0);
  return new Date(ms + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}

/** An integer with thousands separators: 1234567 → 1,234,567. */
export const grouped = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 3 });

/** A volume as people in the market read it: `10,000 kWh (10 MWh)`; 1 certificate is 1 MWh. */
export function kwhAndMwh(kwh: number): string {
  return `${grouped(kwh)} kWh (${grouped(kwh / 1000)} MWh)`;
}

/** Money in fen as yuan with separators and two decimals: 4500000 → `45,000.00 CNY`. */
export function money(fen: number, currency: string): string {
  const yuan = (fen / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return `${yuan} ${currency}`;
}

/** The CSP source that allows exactly this inline `<style>` block (no 'unsafe-inline'). */
export function styleHashSource(css: string): string {
  return `'sha256-${createHash('sha256').update(css, 'utf8').digest('base64')}'`;
}

/**
 * Send a page with its Content-Security-Policy. Pages never need a referrer (the verification link carries its
 * code in the path), never sniff, and are not cached by shared caches (a voucher's status changes).
 */
export function sendHtml(res: HttpResponse, status: number, html: string, csp: string): void {
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'no-store');
  res.status(status).type('text/html; charset=utf-8').send(html);
}
