/**
 * Who may call what: consortium membership (from the on-chain registry), the regulator's read-only rule, and
 * role checks that name what was required and what the caller has.
 */
import type { Context } from 'fabric-contract-api';
import { loadConsortium } from '../src/consortium/registry';
import { requireMember, requireReader, requireWriter } from '../src/lib/access';

/** The registry as stored: the three founders and one organisation only proposed. */
const REGISTRY = {
  initialised: true,
  initialisedAt: '2026-01-01T00:00:00.000Z',
  initialisedTxId: 'tx0',
  initialisedBy: 'x509::/CN=admin::/CN=ca.GridMSP',
  organisations: [
    ['GridMSP', 'PLATFORM_OPERATOR', 'ACTIVE'],
    ['RegulatorMSP', 'REGULATOR', 'ACTIVE'],
    ['TradingCenter2MSP', 'TRADING_CENTER', 'PROPOSED'],
    ['TradingCenterMSP', 'TRADING_CENTER', 'ACTIVE'],
  ].map(([mspId, role, status]) => ({
    mspId,
    role,
    name: mspId,
    status,
    approvals: [],
    proposedAt: '',
    proposedTxId: '',
    admittedAt: '',
    admittedTxId: '',
  })),
};

/** A transaction context of a caller, with the registry read as `beforeTransaction` reads it. */
async function callerCtx(mspId: string, role: string | null, registry: unknown = REGISTRY): Promise<Context> {
  const ctx = {
    clientIdentity: {
      getMSPID: () => mspId,
      getAttributeValue: (name: string) => (name === 'gec.role' ? role : null),
      getID: () => `x509::/CN=${role ?? 'anon'}::/CN=ca.${mspId}`,
    },
    stub: {
      createCompositeKey: (type: string, attributes: string[]) =>
        `\u0000${[type, ...attributes].join('\u0000')}\u0000`,
      getState: async () => (registry === null ? Buffer.alloc(0) : Buffer.from(JSON.stringify(registry))),
    },
  } as unknown as Context;
  await loadConsortium(ctx);
  return ctx;
}

const ADMINS = { orgs: ['PLATFORM_OPERATOR', 'TRADING_CENTER'], roles: ['admin'] } as const;

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('requireMember', () => {
  it.each(['GridMSP', 'TradingCenterMSP', 'RegulatorMSP'])('accepts %s, an ACTIVE member', async (msp) => {
    expect(requireMember(await callerCtx(msp, null))).toMatchObject({ mspId: msp, role: null });
  });

  it('refuses an organisation outside the consortium, even for reads (UNKNOWN_ORGANISATION)', async () => {
    const ctx = await callerCtx('Org1MSP', 'admin');
    expect(messageOf(() => requireMember(ctx))).toMatch(
      /^UNKNOWN_ORGANISATION: organisation Org1MSP is not an active member of the consortium \(GridMSP, RegulatorMSP, TradingCenterMSP\)$/,
    );
  });

  it('refuses an organisation only proposed, not yet admitted by a majority (UNKNOWN_ORGANISATION)', async () => {
    const ctx = await callerCtx('TradingCenter2MSP', 'admin');
    expect(messageOf(() => requireMember(ctx))).toMatch(
      /^UNKNOWN_ORGANISATION: organisation TradingCenter2MSP/,
    );
  });

  it('refuses everyone before the founders are registered (CONSORTIUM_NOT_INITIALISED)', async () => {
    const ctx = await callerCtx('GridMSP', 'admin', null);
    expect(messageOf(() => requireMember(ctx))).toMatch(/^CONSORTIUM_NOT_INITIALISED: /);
  });
});

describe('requireWriter', () => {
  it('accepts an admin of an allowed organisation and returns who it is', async () => {
    expect(requireWriter(await callerCtx('TradingCenterMSP', 'admin'), ADMINS)).toMatchObject({
      mspId: 'TradingCenterMSP',
      role: 'admin',
      id: 'x509::/CN=admin::/CN=ca.TradingCenterMSP',
      organisation: { mspId: 'TradingCenterMSP', role: 'TRADING_CENTER', status: 'ACTIVE' },
    });
  });

  it('follows the registry, not MSP names: an organisation registered as a regulator never writes', async () => {
    const registry = structuredClone(REGISTRY);
    registry.organisations[3].role = 'REGULATOR';
    const ctx = await callerCtx('TradingCenterMSP', 'admin', registry);
    expect(messageOf(() => requireWriter(ctx, ADMINS))).toMatch(/^REGULATOR_READ_ONLY: /);
  });

  it('refuses any caller of a regulator organisation, whatever its role (REGULATOR_READ_ONLY)', async () => {
    const ctx = await callerCtx('RegulatorMSP', 'admin');
    expect(messageOf(() => requireWriter(ctx, ADMINS))).toMatch(/^REGULATOR_READ_ONLY: /);
  });

  it('refuses a caller with gec.role regulator in another organisation (REGULATOR_READ_ONLY)', async () => {
    const ctx = await callerCtx('GridMSP', 'regulator');
    expect(messageOf(() => requireWriter(ctx, ADMINS))).toMatch(/^REGULATOR_READ_ONLY: /);
  });

  it('names what was required and what the caller has (ROLE_NOT_PERMITTED)', async () => {
    const platform = await callerCtx('GridMSP', 'platform');
    expect(messageOf(() => requireWriter(platform, ADMINS))).toBe(
      'ROLE_NOT_PERMITTED: requires gec.role admin of a platform operator or a trading center; caller is gec.role platform of GridMSP (a platform operator)',
    );
    const anonymous = await callerCtx('TradingCenterMSP', null);
    expect(messageOf(() => requireWriter(anonymous, ADMINS))).toBe(
      'ROLE_NOT_PERMITTED: requires gec.role admin of a platform operator or a trading center; caller is no gec.role of TradingCenterMSP (a trading center)',
    );
  });

  it('refuses an admin of an organisation whose role the rule does not list (ROLE_NOT_PERMITTED)', async () => {
    const ctx = await callerCtx('GridMSP', 'admin');
    expect(messageOf(() => requireWriter(ctx, { orgs: ['TRADING_CENTER'], roles: ['admin'] }))).toMatch(
      /^ROLE_NOT_PERMITTED: .*caller is gec.role admin of GridMSP \(a platform operator\)$/,
    );
  });

  it('refuses an unknown organisation before anything else (UNKNOWN_ORGANISATION)', async () => {
    const ctx = await callerCtx('Org1MSP', 'regulator');
    expect(messageOf(() => requireWriter(ctx, ADMINS))).toMatch(/^UNKNOWN_ORGANISATION: /);
  });
});

describe('requireReader', () => {
  it('lets a regulator read what admins may read', async () => {
    expect(requireReader(await callerCtx('RegulatorMSP', 'regulator'), ADMINS).mspId).toBe('RegulatorMSP');
  });

  it('refuses other roles (ROLE_NOT_PERMITTED)', async () => {
    const ctx = await callerCtx('GridMSP', 'platform');
    expect(messageOf(() => requireReader(ctx, ADMINS))).toMatch(/^ROLE_NOT_PERMITTED: /);
  });
});
