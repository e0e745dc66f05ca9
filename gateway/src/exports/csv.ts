/**
 * CSV as RFC 4180 says: comma-separated fields, CRLF line ends, a field quoted when it holds a comma, a quote, CR
 * or LF, quotes inside doubled. Text that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
 * tab or CR: OWASP's "CSV injection") gets a leading `'`, so an exported name or reason cannot execute when a
 * regulator opens the file; numbers are written as they are.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  let text =
    value instanceof Date
      ? value.toISOString()
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/** The value at a dotted path (`ledger.txId`) of an object; undefined where a step is missing. */
export function valueAt(item: unknown, path: string): unknown {
  let value: unknown = item;
  for (const step of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}
