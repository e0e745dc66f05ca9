/**
 * COPY text rows (database/copy-text.ts) through a real PostgreSQL `COPY … FROM STDIN` (pg-copy-streams, as the
 * ingestion uses it): values holding the format's own syntax — tab, newline, carriage return, backslash, `\N` —
 * and any Unicode come back exactly as they went in, in the columns they were meant for; null stays null.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyTextField, copyTextRow } from '../src/database/copy-text';
import { startTestPostgres, TestPostgres } from './support/harness';

describe('COPY text rows', () => {
  let postgres: TestPostgres;
  let db: Client;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    db = new Client({ connectionString: await postgres.newDatabase() });
    await db.connect();
    await db.query(`CREATE TABLE copied (n integer NOT NULL, a text, b text, w bigint)`);
  });

  afterAll(async () => {
    await db?.end();
    await postgres?.stop();
  });

  /** COPY `rows` into the table (emptied first) and read them back in order. */
  const roundTrip = async (rows: Array<[number, string | null, string | null, number | null]>) => {
    await db.query('TRUNCATE copied');
    await pipeline(
      Readable.from([Buffer.from(rows.map((row) => copyTextRow(row)).join(''), 'utf8')]),
      db.query(copyFrom('COPY copied (n, a, b, w) FROM STDIN')),
    );
    const stored = await db.query('SELECT n, a, b, w FROM copied ORDER BY n');
    return stored.rows.map((row: { n: number; a: string | null; b: string | null; w: string | null }) => [
      row.n,
      row.a,
      row.b,
      row.w === null ? null : Number(row.w),
    ]);
  };

  it('keeps tabs, line breaks, backslashes, a literal \\N and Unicode inside their column', async () => {
    const rows: Array<[number, string | null, string | null, number | null]> = [
      [1, 'MTR\t1', 'after a tab', 1],
      [2, 'line\nbreak', 'carriage\rreturn', 2],
      [3, 'back\\slash', '\\N', 3],
      [4, '\\', '\\\\t', 4],
      [5, '电表-一号', '😀 Zürich ✓', 5],
      [6, null, '', null],
      [7, '\t\n\r\\', 'end\\', 9_007_199_254_740_991],
    ];
    expect(await roundTrip(rows)).toEqual(rows);
  });

  it('round-trips any string', async () => {
    // One COPY per sample would be slow: every sample is a row of one COPY.
    const samples = fc.sample(fc.string({ unit: 'binary' }), 300).map((text) => text.replace(/\0/g, ''));
    const rows = samples.map((text, i): [number, string, string, number] => [i, text, `${text}\t${i}`, i]);
    expect(await roundTrip(rows)).toEqual(rows);
  });

  it('leaves a value without special characters as it is, and refuses an inexact integer', () => {
    expect(copyTextField('MTR-FAC-1')).toBe('MTR-FAC-1');
    expect(copyTextRow(['a', 1, null, 2n])).toBe('a\t1\t\\N\t2\n');
    expect(() => copyTextRow([0.5])).toThrow(RangeError);
    expect(() => copyTextRow([2 ** 60])).toThrow(RangeError);
  });
});
