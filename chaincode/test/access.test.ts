/**
 * Who may call what: consortium membership, the regulator's read-only rule, and role checks that name what
 * was required and what the caller has.
 */
import type { Context } from 'fabric-contract-api';
import { requireMember, requireReader, requireWriter } from '../src/lib/access';

function callerCtx(mspId: string, role: string | null): Context {
  return {
    clientIdentity: {
      getMSPID: () => mspId,
      getAttributeValue: (name: string) => (name === 'gec.role' ? role : null),
      getID: () => `x509::/CN=${role ?? 'anon'}::/CN=ca.${mspId}`,
    },
  } as unknown as Context;
}

const ADMINS = { msps: ['GridMSP', 'TradingCenterMSP'], roles: ['admin'] } as const;

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('requireMember', () => {
  it.each(['GridMSP', 'TradingCenterMSP', 'RegulatorMSP'])('accepts %s', (msp) => {
    expect(requireMember(callerCtx(msp, null))).toMatchObject({ mspId: msp, role: null });
  });

  it('refuses an organisation outside the consortium, even for reads (UNKNOWN_ORGANISATION)', () => {
    expect(messageOf(() => requireMember(callerCtx('Org1MSP', 'admin')))).toMatch(
      /^UNKNOWN_ORGANISATION: organisation Org1MSP is not a member/,
    );
  });
});

describe('requireWriter', () => {
  it('accepts an admin of an allowed organisation and returns who it is', () => {
    expect(requireWriter(callerCtx('TradingCenterMSP', 'admin'), ADMINS)).toEqual({
      mspId: 'TradingCenterMSP',
      role: 'admin',
      id: 'x509::/CN=admin::/CN=ca.TradingCenterMSP',
    });
  });

  it('refuses any RegulatorMSP caller, whatever its role (REGULATOR_READ_ONLY)', () => {
    expect(messageOf(() => requireWriter(callerCtx('RegulatorMSP', 'admin'), ADMINS))).toMatch(
      /^REGULATOR_READ_ONLY: /,
    );
  });

  it('refuses a caller with gec.role regulator in another organisation (REGULATOR_READ_ONLY)', () => {
    expect(messageOf(() => requireWriter(callerCtx('GridMSP', 'regulator'), ADMINS))).toMatch(
      /^REGULATOR_READ_ONLY: /,
    );
  });

  it('names what was required and what the caller has (ROLE_NOT_PERMITTED)', () => {
    expect(messageOf(() => requireWriter(callerCtx('GridMSP', 'platform'), ADMINS))).toBe(
      'ROLE_NOT_PERMITTED: requires gec.role admin of GridMSP or TradingCenterMSP; caller is gec.role platform of GridMSP',
    );
    expect(messageOf(() => requireWriter(callerCtx('TradingCenterMSP', null), ADMINS))).toBe(
      'ROLE_NOT_PERMITTED: requires gec.role admin of GridMSP or TradingCenterMSP; caller is no gec.role of TradingCenterMSP',
    );
  });

  it('refuses an admin of an organisation the rule does not list (ROLE_NOT_PERMITTED)', () => {
    expect(
      messageOf(() =>
        requireWriter(callerCtx('GridMSP', 'admin'), { msps: ['TradingCenterMSP'], roles: ['admin'] }),
      ),
    ).toMatch(/^ROLE_NOT_PERMITTED: .*caller is gec.role admin of GridMSP$/);
  });

  it('refuses an unknown organisation before anything else (UNKNOWN_ORGANISATION)', () => {
    expect(messageOf(() => requireWriter(callerCtx('Org1MSP', 'regulator'), ADMINS))).toMatch(
      /^UNKNOWN_ORGANISATION: /,
    );
  });
});

describe('requireReader', () => {
  it('lets a regulator read what admins may read', () => {
    expect(requireReader(callerCtx('RegulatorMSP', 'regulator'), ADMINS).mspId).toBe('RegulatorMSP');
  });

  it('refuses other roles (ROLE_NOT_PERMITTED)', () => {
    expect(messageOf(() => requireReader(callerCtx('GridMSP', 'platform'), ADMINS))).toMatch(
      /^ROLE_NOT_PERMITTED: /,
    );
  });
});
