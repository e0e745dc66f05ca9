/** The line parser of bulk meter readings: values, timestamps, CSV and the streamed line splitter. */
import fc from 'fast-check';
import { BinaryCopyRows } from '../src/database/copy-binary';
import {
  bodyLineBatches,
  bodyLineBlocks,
  bodyLines,
  CanonicalReadingReader,
  CsvHeaderError,
  CsvParser,
  kwhToWh,
  NdjsonParser,
  parseIntervalStart,
  splitCsv,
} from '../src/metering/reading-lines';

const NOW = Date.parse('2026-11-21T00:00:00Z');

describe('kwhToWh', () => {
  it('turns kWh with up to 3 decimals into exact integer Wh, from strings and numbers', () => {
    expect(kwhToWh('12.345')).toEqual({ wh: 12345 });
    expect(kwhToWh('0.001')).toEqual({ wh: 1 });
    expect(kwhToWh('7')).toEqual({ wh: 7000 });
    expect(kwhToWh('1.5')).toEqual({ wh: 1500 });
    expect(kwhToWh('1.2340')).toEqual({ wh: 1234 });
    expect(kwhToWh(0.1)).toEqual({ wh: 100 });
    expect(kwhToWh(1234.567)).toEqual({ wh: 1234567 });
    expect(kwhToWh('999999999999.999')).toEqual({ wh: 999999999999999 });
    expect(kwhToWh('-0')).toEqual({ wh: 0 });
  });

  it('names what is wrong with a value', () => {
    expect(kwhToWh('-1.5')).toMatchObject({ code: 'NEGATIVE_VALUE' });
    expect(kwhToWh(-2)).toMatchObject({ code: 'NEGATIVE_VALUE' });
    expect(kwhToWh('1.2345')).toMatchObject({ code: 'TOO_MANY_DECIMALS' });
    expect(kwhToWh(1.2345)).toMatchObject({ code: 'TOO_MANY_DECIMALS' });
    expect(kwhToWh(1e-7)).toMatchObject({ code: 'TOO_MANY_DECIMALS' });
    expect(kwhToWh('1e3')).toMatchObject({ code: 'INVALID_VALUE' });
    expect(kwhToWh('abc')).toMatchObject({ code: 'INVALID_VALUE' });
    expect(kwhToWh(true)).toMatchObject({ code: 'INVALID_VALUE' });
    expect(kwhToWh(Number.NaN)).toMatchObject({ code: 'INVALID_VALUE' });
    expect(kwhToWh('1000000000000')).toMatchObject({ code: 'INVALID_VALUE' });
  });
});

describe('parseIntervalStart', () => {
  it('reads RFC 3339 with any offset', () => {
    expect(parseIntervalStart('2026-10-01T00:15:00+08:00', NOW)).toEqual({
      ms: Date.parse('2026-09-30T16:15:00Z'),
    });
    expect(parseIntervalStart('2026-09-30T16:15:00.000Z', NOW)).toEqual({
      ms: Date.parse('2026-09-30T16:15:00Z'),
    });
  });

  it('refuses times without an offset, impossible dates, seconds and the future', () => {
    expect(parseIntervalStart('2026-10-01T00:15:00', NOW)).toMatchObject({ code: 'INVALID_TIMESTAMP' });
    expect(parseIntervalStart('2026-02-30T00:00:00Z', NOW)).toMatchObject({ code: 'INVALID_TIMESTAMP' });
    expect(parseIntervalStart('1999-12-31T00:00:00Z', NOW)).toMatchObject({ code: 'INVALID_TIMESTAMP' });
    expect(parseIntervalStart(12345, NOW)).toMatchObject({ code: 'INVALID_TIMESTAMP' });
    expect(parseIntervalStart('2026-10-01T00:15:30+08:00', NOW)).toMatchObject({
      code: 'MISALIGNED_INTERVAL',
    });
    expect(parseIntervalStart('2026-12-01T00:00:00+08:00', NOW)).toMatchObject({ code: 'FUTURE_INTERVAL' });
  });
});

describe('parsers', () => {
  it('parses NDJSON objects and refuses unknown fields and broken JSON', () => {
    const parser = new NdjsonParser(NOW);
    expect(
      parser.parse('{"meterId":"M-1","intervalStart":"2026-10-01T00:00:00+08:00","kwh":"1.5"}', 3),
    ).toEqual({
      reading: {
        line: 3,
        meterId: 'M-1',
        startMs: Date.parse('2026-09-30T16:00:00Z'),
        wh: 1500,
        period: '2026-10',
      },
    });
    expect(parser.parse('{"meterId":"M-1"', 1)).toMatchObject({ error: { code: 'MALFORMED_LINE' } });
    expect(parser.parse('[1]', 1)).toMatchObject({ error: { code: 'MALFORMED_LINE' } });
    expect(
      parser.parse('{"meterId":"M-1","intervalStart":"2026-10-01T00:00:00+08:00","kwh":1,"x":2}', 1),
    ).toMatchObject({ error: { code: 'MALFORMED_LINE', field: 'x' } });
    expect(
      parser.parse('{"meterId":"M 1","intervalStart":"2026-10-01T00:00:00+08:00","kwh":1}', 1),
    ).toMatchObject({
      error: { code: 'INVALID_METER_ID' },
    });
    expect(parser.parse('{"meterId":"M-1","kwh":1}', 1)).toMatchObject({
      error: { code: 'MISSING_FIELD', field: 'intervalStart' },
    });
  });

  it('parses CSV after a header in any column order', () => {
    const parser = new CsvParser(NOW);
    expect(parser.parse('kwh,meterId,intervalStart', 1)).toBeUndefined();
    expect(parser.parse('"1.5",M-1,2026-10-01T00:00:00+08:00', 2)).toMatchObject({
      reading: { meterId: 'M-1', wh: 1500 },
    });
    expect(parser.parse('1.5,M-1', 3)).toMatchObject({ error: { code: 'MALFORMED_LINE' } });
    expect(() => new CsvParser(NOW).parse('a,b,c', 1)).toThrow(CsvHeaderError);
    expect(splitCsv('"a,""b""",c,')).toEqual(['a,"b"', 'c', '']);
    expect(splitCsv('"a')).toBeUndefined();
  });
});

describe('bodyLines', () => {
  async function* chunks(...parts: Array<string | Buffer>) {
    for (const part of parts) yield typeof part === 'string' ? Buffer.from(part) : part;
  }
  const collect = async (source: AsyncIterable<Buffer>, max?: number) => {
    const out = [];
    for await (const line of bodyLines(source, max)) out.push(line);
    return out;
  };

  it('splits across chunks, CRLF, multi-byte characters and a missing final newline', async () => {
    const euro = Buffer.from('€');
    const lines = await collect(
      chunks(
        '\uFEFFa,b\r\nc',
        Buffer.concat([Buffer.from('d'), euro.subarray(0, 1)]),
        euro.subarray(1),
        '\ne',
      ),
    );
    expect(lines.map((l) => l.text)).toEqual(['a,b', 'cd€', 'e']);
    expect(lines.map((l) => l.line)).toEqual([1, 2, 3]);
  });

  it('reports an overlong line instead of buffering it', async () => {
    const lines = await collect(chunks('ok\n', 'x'.repeat(50), 'y'.repeat(50), '\nok\n'), 40);
    expect(lines.map((l) => [l.line, l.tooLong])).toEqual([
      [1, false],
      [2, true],
      [3, false],
    ]);
  });
});

describe('CanonicalReadingReader', () => {
  const parser = new NdjsonParser(NOW);
  const two = (n: number) => String(n).padStart(2, '0');
  /** A reading as a serialiser writes it, valid by construction. */
  const canonicalLine = fc
    .record({
      meterId: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
      ms: fc.integer({ min: Date.parse('2000-01-02T00:00:00Z'), max: NOW }),
      offsetMinutes: fc.constantFrom(0, 480, -300, 345, 840, -720),
      zulu: fc.boolean(),
      kwh: fc.oneof(
        fc.integer({ min: 0, max: 10 ** 9 }).map(String),
        fc
          .tuple(fc.integer({ min: 0, max: 10 ** 6 }), fc.stringMatching(/^[0-9]{1,3}$/))
          .map(([i, f]) => `${i}.${f}`),
      ),
    })
    .map(({ meterId, ms, offsetMinutes, zulu, kwh }) => {
      const minute = Math.floor(ms / 60_000) * 60_000;
      const offset = zulu ? 0 : offsetMinutes;
      const local = new Date(minute + offset * 60_000).toISOString().slice(0, 19);
      const zone = zulu
        ? 'Z'
        : `${offset < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offset) / 60))}:${two(Math.abs(offset) % 60)}`;
      return JSON.stringify({ meterId, intervalStart: `${local}${zone}`, kwh });
    });

  /** read() of a whole line, as the ingestion calls it (offsets into a larger text). */
  function read(reader: CanonicalReadingReader, text: string) {
    const padded = `x\n${text}\r\n`;
    if (!reader.read(padded, 2, 2 + text.length)) return undefined;
    return { meterId: reader.meterId, startMs: reader.startMs, wh: reader.wh };
  }

  it("reads every serialiser's line, giving what the parser gives", () => {
    const reader = new CanonicalReadingReader(NOW);
    fc.assert(
      fc.property(fc.array(canonicalLine, { minLength: 1, maxLength: 5 }), (lines) => {
        for (const text of lines) {
          const parsed = parser.parse(text, 1);
          expect('reading' in parsed).toBe(true);
          if (!('reading' in parsed)) return;
          const { meterId, startMs, wh } = parsed.reading;
          expect(read(reader, text)).toEqual({ meterId, startMs, wh });
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves to the parser every line it does not read exactly as the parser does', () => {
    // Lines near the shape: one character replaced, inserted or removed, and edge values.
    const mutated = fc
      .tuple(
        canonicalLine,
        fc.nat(),
        fc.constantFrom('replace', 'insert', 'remove'),
        fc.string({ maxLength: 1 }),
      )
      .map(([text, at, how, ch]) => {
        const i = at % text.length;
        if (how === 'remove') return text.slice(0, i) + text.slice(i + 1);
        if (how === 'insert') return text.slice(0, i) + ch + text.slice(i);
        return text.slice(0, i) + (ch || '0') + text.slice(i + 1);
      });
    const edges = fc.constantFrom(
      '{"meterId":"M","intervalStart":"2026-02-29T00:00:00Z","kwh":"1"}',
      '{"meterId":"M","intervalStart":"2024-02-29T24:00:00Z","kwh":"1"}',
      '{"meterId":"M","intervalStart":"2026-10-01T00:15:30+08:00","kwh":"1"}',
      '{"meterId":"M","intervalStart":"2026-10-01T00:15:00+08:00","kwh":"1.2345"}',
      '{"meterId":"M","intervalStart":"2026-10-01T00:15:00+08:00","kwh":"1.2340"}',
      '{"meterId":"M","intervalStart":"2026-10-01T00:15:00+08:00","kwh":"1."}',
      '{"meterId":"M","intervalStart":"2026-10-01T00:15:00+08:00","kwh":"-0"}',
      '{"meterId":"M","intervalStart":"2026-10-01T00:15:00+08:00","kwh":"0001234567890123"}',
      '{"meterId":"M","intervalStart":"2026-10-01T00:15:00+24:00","kwh":"1"}',
      '{"meterId":"M","intervalStart":"1999-12-31T23:00:00Z","kwh":"1"}',
      '{"meterId":"M","intervalStart":"2099-01-01T00:00:00Z","kwh":"1"}',
      `{"meterId":"${'M'.repeat(65)}","intervalStart":"2026-10-01T00:15:00Z","kwh":"1"}`,
    );
    const reader = new CanonicalReadingReader(NOW);
    fc.assert(
      fc.property(fc.oneof(mutated, edges), (text) => {
        const got = read(reader, text);
        if (got === undefined) return;
        const parsed = parser.parse(text, 1);
        expect(parsed).toEqual({ reading: { line: 1, period: expect.any(String), ...got } });
      }),
      { numRuns: 5000 },
    );
  });
});

describe('bodyLineBlocks', () => {
  async function* chunked(text: string, cuts: number[]) {
    const bytes = Buffer.from(text, 'utf8');
    let from = 0;
    for (const cut of [...cuts.map((c) => c % (bytes.length + 1))].sort((a, b) => a - b)) {
      yield bytes.subarray(from, Math.max(from, cut));
      from = Math.max(from, cut);
    }
    yield bytes.subarray(from);
  }

  it('hands over the lines, numbers, BOM, CRLF and overlong lines of bodyLineBatches, however the body is cut', async () => {
    const piece = fc.constantFrom(
      'a',
      'bb',
      '\n',
      '\r\n',
      '\r',
      '\uFEFF',
      'é',
      '€',
      'xxxxxxxxxx',
      '\n\n',
      ' ',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(piece, { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.integer({ min: 1, max: 12 }),
        async (pieces, cuts, maxLineChars) => {
          const text = pieces.join('');
          const expected: unknown[] = [];
          for await (const batch of bodyLineBatches(chunked(text, cuts), maxLineChars))
            expected.push(...batch);
          const got: unknown[] = [];
          for await (const block of bodyLineBlocks(chunked(text, cuts), maxLineChars)) {
            if (block.tooLong) {
              got.push({ line: block.firstLine, text: '', tooLong: true });
              continue;
            }
            let line = block.firstLine;
            for (let from = 0; from < block.text.length; line++) {
              const newline = block.text.indexOf('\n', from);
              let clean = block.text.slice(from, newline);
              if (clean.endsWith('\r')) clean = clean.slice(0, -1);
              if (line === 1) clean = clean.replace(/^\uFEFF/, '');
              got.push({ line, text: clean, tooLong: false });
              from = newline + 1;
            }
          }
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('BinaryCopyRows', () => {
  it('writes 64-bit integers and timestamps as PostgreSQL reads them (big-endian, µs since 2000)', () => {
    fc.assert(
      fc.property(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), (value) => {
        const expected = Buffer.alloc(12);
        expected.writeInt32BE(8, 0);
        expected.writeBigInt64BE(BigInt(value), 4);
        expect(new BinaryCopyRows(4).int8(value).take()).toEqual(expected);
      }),
    );
    const at = Date.UTC(2026, 9, 1, 0, 15);
    const expected = Buffer.alloc(12);
    expected.writeInt32BE(8, 0);
    expected.writeBigInt64BE(BigInt(at - Date.UTC(2000, 0, 1)) * 1000n, 4);
    expect(new BinaryCopyRows().timestamptz(at).take()).toEqual(expected);
    expect(() => new BinaryCopyRows().int8(2 ** 53)).toThrow(RangeError);
  });
});
