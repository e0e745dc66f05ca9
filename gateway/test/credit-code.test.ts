/**
 * Unified social credit codes (GB 32100): the gateway's check, and the codes the tests and benches derive from
 * participant ids. A conformance run once failed 400 VALIDATION_FAILED (creditCode) on a participant whose random
 * id, GEN-<10 hex characters>, happened to be all digits: the derived code had 19 characters.
 */
import { isCreditCode } from '../src/participants/participants.dto';
import { creditCode, participant } from './support/harness';

describe('credit codes', () => {
  it('accepts a valid code and refuses a changed check character, a wrong length and letters outside the set', () => {
    const valid = creditCode(123);
    expect(isCreditCode(valid)).toBe(true);
    const check = valid[17];
    expect(isCreditCode(valid.slice(0, 17) + (check === '0' ? '1' : '0'))).toBe(false);
    expect(isCreditCode(valid.slice(0, 17))).toBe(false);
    expect(isCreditCode(`${valid}0`)).toBe(false);
    expect(isCreditCode(`${valid.slice(0, 16)}I${check}`)).toBe(false);
  });

  it('derives a valid code from any participant id, ids with ten or more digits included', () => {
    for (const id of ['GEN-1', 'GEN-1234567890', 'GEN-99999999999', 'CON-0000000000', 'GEN-ABCDEF']) {
      const code = participant(id).creditCode as string;
      expect({ id, code, valid: isCreditCode(code) }).toEqual({ id, code, valid: true });
    }
    expect(creditCode(1_000_000_007)).toBe(creditCode(7));
  });
});
