import { Context } from 'fabric-contract-api';
import { GecError } from './errors';

/**
 * Who is calling, and what they may do.
 *
 * The caller is read from the transaction creator's certificate on every call (contract instances are shared
 * by all transactions, so nothing is cached). Roles come from the `gec.role` certificate attribute issued by
 * each organisation's CA.
 */

export const GRID_MSP = 'GridMSP';
export const TRADING_CENTER_MSP = 'TradingCenterMSP';
export const REGULATOR_MSP = 'RegulatorMSP';

/** The organisations of the consortium. Anyone else is refused, even for reads. */
export const CONSORTIUM_MSPS = [GRID_MSP, TRADING_CENTER_MSP, REGULATOR_MSP] as const;
export type ConsortiumMsp = (typeof CONSORTIUM_MSPS)[number];

/** The certificate attribute that carries a caller's role within its organisation. */
export const ROLE_ATTRIBUTE = 'gec.role';

export const ROLE_ADMIN = 'admin';
export const ROLE_REGULATOR = 'regulator';
/** The grid's energy internet platform (能源互联网平台): commits meter attestations. */
export const ROLE_ENERGY_PLATFORM = 'energy-platform';
/** The power trading center's market system (电力交易中心): acts for generators and consumers. */
export const ROLE_TRADING_CENTER = 'trading-center';

export interface Caller {
  mspId: string;
  /** The `gec.role` attribute, or null when the certificate has none. */
  role: string | null;
  /** The x509 identity string (`x509::<subject>::<issuer>`). */
  id: string;
}

export interface WriterRule {
  /** Organisations whose members may write. */
  msps: readonly ConsortiumMsp[];
  /** Roles (`gec.role`) that may write; the caller needs one of them. */
  roles: readonly string[];
}

export function getCaller(ctx: Context): Caller {
  return {
    mspId: ctx.clientIdentity.getMSPID(),
    role: ctx.clientIdentity.getAttributeValue(ROLE_ATTRIBUTE),
    id: ctx.clientIdentity.getID(),
  };
}

/** Any member of the consortium (reads). */
export function requireMember(ctx: Context): Caller {
  const caller = getCaller(ctx);
  if (!(CONSORTIUM_MSPS as readonly string[]).includes(caller.mspId)) {
    throw new GecError(
      'UNKNOWN_ORGANISATION',
      `organisation ${caller.mspId} is not a member of the consortium (${CONSORTIUM_MSPS.join(', ')})`,
    );
  }
  return caller;
}

export function isRegulator(caller: Caller): boolean {
  return caller.mspId === REGULATOR_MSP || caller.role === ROLE_REGULATOR;
}

/** A caller allowed to change state under `rule`. A regulator can never write, whatever the rule says. */
export function requireWriter(ctx: Context, rule: WriterRule | readonly WriterRule[]): Caller {
  const caller = requireMember(ctx);
  if (isRegulator(caller)) {
    throw new GecError('REGULATOR_READ_ONLY', `regulator ${describe(caller)} may read but never write`);
  }
  // Several rules: a caller matching any of them may write (e.g. the grid's platform, or an admin of two orgs).
  const rules: readonly WriterRule[] = 'msps' in rule ? [rule] : rule;
  const allowed = rules.some(
    (r) =>
      (r.msps as readonly string[]).includes(caller.mspId) &&
      caller.role !== null &&
      r.roles.includes(caller.role),
  );
  if (!allowed) {
    const wanted = rules.map((r) => `${ROLE_ATTRIBUTE} ${r.roles.join(' or ')} of ${r.msps.join(' or ')}`);
    throw new GecError(
      'ROLE_NOT_PERMITTED',
      `requires ${wanted.join(', or ')}; caller is ${describe(caller)}`,
    );
  }
  return caller;
}

/**
 * Any member of the consortium that may write at all: every organisation and role except a regulator (used by
 * transactions anyone may trigger, such as expiring a lot that is past its date).
 */
export function requireAnyWriter(ctx: Context): Caller {
  const caller = requireMember(ctx);
  if (isRegulator(caller)) {
    throw new GecError('REGULATOR_READ_ONLY', `regulator ${describe(caller)} may read but never write`);
  }
  return caller;
}

/** A reader with one of `roles`, or a regulator (who may read everything). */
export function requireReader(ctx: Context, rule: WriterRule): Caller {
  const caller = requireMember(ctx);
  if (isRegulator(caller)) return caller;
  const mspAllowed = (rule.msps as readonly string[]).includes(caller.mspId);
  const roleAllowed = caller.role !== null && rule.roles.includes(caller.role);
  if (!mspAllowed || !roleAllowed) {
    throw new GecError(
      'ROLE_NOT_PERMITTED',
      `requires ${ROLE_ATTRIBUTE} ${rule.roles.join(' or ')} of ${rule.msps.join(' or ')}, or a regulator; caller is ${describe(caller)}`,
    );
  }
  return caller;
}

function describe(caller: Caller): string {
  const role = caller.role === null ? `no ${ROLE_ATTRIBUTE}` : `${ROLE_ATTRIBUTE} ${caller.role}`;
  return `${role} of ${caller.mspId}`;
}
