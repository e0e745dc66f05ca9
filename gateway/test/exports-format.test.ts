/**
 * The small rules of exports and statistics: RFC 4180 fields with the formula guard, the choice of format from
 * `format` and Accept, and date-range bounds in Asia/Shanghai.
 */
import { csvField, csvLine, valueAt } from '../src/exports/csv';
import { answerFormat, ANSWER_FORMATS, EXPORT_FORMATS } from '../src/exports/formats';
import { wholeMonthsOf } from '../src/statistics/certificate-statistics';
import { parseDateBound, parseDateRange } from '../src/statistics/date-range';

describe('CSV fields (RFC 4180)', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\r\nlines', '"two\r\nlines"'],
    ['=SUM(A1)', "'=SUM(A1)"],
    ['+86 10', "'+86 10"],
    ['-1', "'-1"],
    ['@cmd', "'@cmd"],
    ['=1,2', `"'=1,2"`],
    ['张家口风电', '张家口风电'],
  ])('writes %j as %j', (value, expected) => expect(csvField(value)).toBe(expected));

  it('writes numbers, booleans and empty values as they are, objects as JSON', () => {
    expect(csvLine([-5, 0, true, null, undefined, { a: 1 }])).toBe('-5,0,true,,,"{""a"":1}"\r\n');
  });

  it('reads dotted paths', () => {
    expect(valueAt({ ledger: { txId: 'x' } }, 'ledger.txId')).toBe('x');
    expect(valueAt({ ledger: null }, 'ledger.txId')).toBeUndefined();
  });
});

describe('answer format', () => {
  it('takes `format` first, then the best offered Accept type, else the fallback', () => {
    expect(answerFormat('ndjson', 'text/csv', ANSWER_FORMATS, 'json')).toBe('ndjson');
    expect(answerFormat(undefined, 'text/csv;q=0.5, application/x-ndjson', ANSWER_FORMATS, 'json')).toBe(
      'ndjson',
    );
    expect(answerFormat(undefined, 'text/html, */*', ANSWER_FORMATS, 'json')).toBe('json');
    expect(answerFormat(undefined, 'application/json', EXPORT_FORMATS, 'csv')).toBe('csv');
    expect(answerFormat(undefined, 'text/csv;q=0', ANSWER_FORMATS, 'json')).toBe('json');
  });

  it('refuses a format the operation does not offer, naming `format`', () => {
    expect(() => answerFormat('json', undefined, EXPORT_FORMATS, 'csv')).toThrow(
      expect.objectContaining({
        status: 400,
        extra: { errors: [expect.objectContaining({ field: 'format' })] },
      }),
    );
  });
});

describe('date ranges (Asia/Shanghai)', () => {
  it('starts months and days at midnight in Shanghai; keeps date-times as given', () => {
    expect(parseDateBound('from', '2026-01').toISOString()).toBe('2025-12-31T16:00:00.000Z');
    expect(parseDateBound('from', '2026-03-15').toISOString()).toBe('2026-03-14T16:00:00.000Z');
    expect(parseDateBound('to', '2026-03-15T08:30:00Z').toISOString()).toBe('2026-03-15T08:30:00.000Z');
  });

  it('refuses days that do not exist and ranges that do not go forward, naming the bound', () => {
    expect(() => parseDateBound('to', '2026-02-29')).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
    expect(() => parseDateRange('2026-02', '2026-02-01')).toThrow(
      expect.objectContaining({
        code: 'DATE_RANGE_INVALID',
        extra: { errors: [expect.objectContaining({ field: 'to' })] },
      }),
    );
  });

  it('finds the whole months inside a range', () => {
    const months = (from: string, to: string) => {
      const whole = wholeMonthsOf(parseDateRange(from, to));
      return whole && [whole.start.toISOString(), whole.end.toISOString()];
    };
    expect(months('2026-01', '2026-03')).toEqual(['2025-12-31T16:00:00.000Z', '2026-02-28T16:00:00.000Z']);
    expect(months('2026-01-02', '2026-03-05')).toEqual([
      '2026-01-31T16:00:00.000Z',
      '2026-02-28T16:00:00.000Z',
    ]);
    expect(months('2026-01-02', '2026-02-05')).toBeUndefined();
  });
});
