import { Context } from 'fabric-contract-api';
import { activeMember, MemberOrganisation, OrganisationRole } from '../consortium/organisation';
import { loadedConsortium } from '../consortium/registry';
import { GecError } from './errors';

/**
 * Who is calling, and what they may do.
 *
 * The caller is read from the transaction creator's certificate on every call (contract instances are shared
 * by all transactions, so nothing is cached). Roles come from the `gec.role` certificate attribute issued by
 * each organisation's CA; what an organisation may do comes from its role in the consortium's on-chain registry
 * (read once per transaction by `beforeTransaction`).
 */

/**
 * The MSP ids of the founding members of a development consortium (the embedded ledger's organisations and
 * `network/`'s). The rules below never use them: they follow the on-chain registry (`consortium/`).
 */
export const GRID_MSP = 'GridMSP';
export const TRADING_CENTER_MSP = 'TradingCenterMSP';
export const REGULATOR_MSP = 'RegulatorMSP';
export const CONSORTIUM_MSPS = [GRID_MSP, TRADING_CENTER_MSP, REGULATOR_MSP] as const;

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
  /** The caller's organisation as the registry holds it. */
  organisation: MemberOrganisation;
}

export interface WriterRule {
  /** Consortium roles of the organisations whose members may write. */
  orgs: readonly OrganisationRole[];
  /** Roles (`gec.role`) that may write; the caller needs one of them. */
  roles: readonly string[];
}

/** Any ACTIVE member organisation of the consortium (reads); anyone else is refused, even for reads. */
export function requireMember(ctx: Context): Caller {
  const consortium = loadedConsortium(ctx);
  const mspId = ctx.clientIdentity.getMSPID();
  if (!consortium.initialised) {
    throw new GecError(
      'CONSORTIUM_NOT_INITIALISED',
      'the consortium has no registered members yet: an admin of a founding organisation must call consortium:InitConsortium first',
    );
  }
  const organisation = activeMember(consortium, mspId);
  if (organisation === undefined) {
    const members = consortium.organisations.filter((o) => o.status === 'ACTIVE').map((o) => o.mspId);
    throw new GecError(
      'UNKNOWN_ORGANISATION',
      `organisation ${mspId} is not an active member of the consortium (${members.join(', ')})`,
    );
  }
  return {
    mspId,
    role: ctx.clientIdentity.getAttributeValue(ROLE_ATTRIBUTE),
    id: ctx.clientIdentity.getID(),
    organisation,
  };
}

export function isRegulator(caller: Caller): boolean {
  return caller.organisation.role === 'REGULATOR' || caller.role === ROLE_REGULATOR;
}

/** A caller allowed to change state under `rule`. A regulator can never write, whatever the rule says. */
export function requireWriter(ctx: Context, rule: WriterRule | readonly WriterRule[]): Caller {
  const caller = requireMember(ctx);
  if (isRegulator(caller)) {
    throw new GecError('REGULATOR_READ_ONLY', `regulator ${describe(caller)} may read but never write`);
  }
  // Several rules: a caller matching any of them may write (e.g. the grid's platform, or an admin of two orgs).
  const rules: readonly WriterRule[] = 'orgs' in rule ? [rule] : rule;
  const allowed = rules.some(
    (r) => r.orgs.includes(caller.organisation.role) && caller.role !== null && r.roles.includes(caller.role),
  );
  if (!allowed) {
    const wanted = rules.map((r) => `${ROLE_ATTRIBUTE} ${r.roles.join(' or ')} of ${describeOrgs(r.orgs)}`);
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
  const mspAllowed = rule.orgs.includes(caller.organisation.role);
  const roleAllowed = caller.role !== null && rule.roles.includes(caller.role);
  if (!mspAllowed || !roleAllowed) {
    throw new GecError(
      'ROLE_NOT_PERMITTED',
      `requires ${ROLE_ATTRIBUTE} ${rule.roles.join(' or ')} of ${describeOrgs(rule.orgs)}, or a regulator; caller is ${describe(caller)}`,
    );
  }
  return caller;
}

function describe(caller: Caller): string {
  const role = caller.role === null ? `no ${ROLE_ATTRIBUTE}` : `${ROLE_ATTRIBUTE} ${caller.role}`;
  return `${role} of ${caller.mspId} (${ORGANISATION_ROLE_NAMES[caller.organisation.role]})`;
}

/** How an error message names an organisation role. */
export const ORGANISATION_ROLE_NAMES: Record<OrganisationRole, string> = {
  PLATFORM_OPERATOR: 'a platform operator',
  TRADING_CENTER: 'a trading center',
  REGULATOR: 'a regulator',
};

function describeOrgs(orgs: readonly OrganisationRole[]): string {
  return orgs.map((o) => ORGANISATION_ROLE_NAMES[o]).join(' or ');
}
