/**
 * Rows for `COPY … FROM STDIN` in PostgreSQL's text format: columns separated by a tab, rows ended by a newline,
 * `\N` for NULL. A backslash, tab, newline or carriage return inside a value would be read as syntax, so each is
 * written as its backslash escape; every other character (any Unicode, in the connection's UTF-8) goes through
 * as it is. The project's own identifiers cannot hold those characters today, but a COPY row that splits or
 * shifts columns would store a wrong value without any error, so every text value is escaped all the same.
 */

const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_ALL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One text value as a COPY text field. */
export function copyTextField(value: string): string {
  // The test first: almost every value has nothing to escape, and `test` allocates nothing.
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (ch) => ESCAPES[ch]) : value;
}

/** One COPY text row (with its newline): strings escaped, integers as digits, null as `\N`. */
export function copyTextRow(values: ReadonlyArray<string | number | bigint | null>): string {
  let row = '';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) row += '\t';
    if (value === null) row += '\\N';
    else if (typeof value === 'string') row += copyTextField(value);
    else {
      if (typeof value === 'number' && !Number.isSafeInteger(value)) {
        throw new RangeError(`COPY integer column got ${value}`);
      }
      row += String(value);
    }
  }
  return `${row}\n`;
}
