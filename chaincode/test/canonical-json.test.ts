/** Canonical JSON: the bytes every endorser writes for the same value. */
import { canonicalJson } from '../src/lib/canonical-json';
import { GecError, errorCodeOf } from '../src/lib/errors';

describe('canonicalJson', () => {
  it('sorts keys recursively and leaves no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });

  it('gives the same bytes whatever the insertion order', () => {
    const a = { kind: 'GENERATOR', id: 'P1', nested: { m: 1, l: 2 } };
    const b = { nested: { l: 2, m: 1 }, id: 'P1', kind: 'GENERATOR' };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
  });

  it('sorts by UTF-16 code units and escapes strings as JSON does', () => {
    expect(canonicalJson({ 名: '绿证', Z: 'a"b', a: '\n' })).toBe('{"Z":"a\\"b","a":"\\n","名":"绿证"}');
  });

  it('takes class instances by their own fields and leaves out undefined members', () => {
    class Lot {
      owner = 'C1';
      parent: string | undefined = undefined;
      id = 'L1';
    }
    expect(canonicalJson(new Lot())).toBe('{"id":"L1","owner":"C1"}');
  });

  it.each([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['a bigint', BigInt(1)],
    ['a Date', new Date(0)],
    ['bytes', Buffer.from('x')],
    ['undefined in an array', [1, undefined]],
    ['a Map', new Map()],
    ['a function', () => 1],
  ])('refuses %s, which has no single JSON form', (_name, value) => {
    expect(() => canonicalJson({ value })).toThrow(/canonical JSON: \$\.value/);
  });
});

describe('GecError', () => {
  it('has the message `${code}: ${message}` that the gateway maps', () => {
    const error = new GecError('PARTICIPANT_EXISTS', 'participant P1 is already registered');
    expect(error.message).toBe('PARTICIPANT_EXISTS: participant P1 is already registered');
    expect(error.code).toBe('PARTICIPANT_EXISTS');
    expect(error).toBeInstanceOf(Error);
  });

  it('reads the code back from a message, and only for known codes', () => {
    expect(errorCodeOf('KIND_NOT_PERMITTED: TradingCenterMSP may manage only ...')).toBe(
      'KIND_NOT_PERMITTED',
    );
    expect(errorCodeOf('SOMETHING_ELSE: x')).toBeUndefined();
    expect(errorCodeOf('Error: boom')).toBeUndefined();
  });
});
