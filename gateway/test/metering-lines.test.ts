/** The line parser of bulk meter readings: values, timestamps, CSV and the streamed line splitter. */
import {
  bodyLines,
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
