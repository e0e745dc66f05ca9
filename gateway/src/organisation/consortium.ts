/**
 * The consortium's member organisations, the part each plays, and the organisation a gateway instance is.
 *
 * Each member signs only for itself (spec §8): a gateway instance holds the Fabric identities of exactly one
 * organisation (GEC_ORGANISATION). The development consortium (`all`) runs the three in one process, for the
 * embedded default and for development networks only.
 */
import type { IdentityRef } from '../ledger/port';

/** The founding members: the development consortium (`all`) is these three. */
export const CONSORTIUM_MSPS = ['GridMSP', 'TradingCenterMSP', 'RegulatorMSP'] as const;
/**
 * Members that join a running consortium (a channel update signed by a majority, then ProposeOrganisation /
 * ApproveOrganisation on chain): the second provincial trading center network/scripts/addOrg.sh adds
 * (network.env TRADING2_*), and the embedded ledger's channel updates add too. Its gateway is one organisation's,
 * never part of `all`.
 */
export const JOINING_MSPS = ['TradingCenter2MSP'] as const;
/** Every organisation a gateway can be: the founders and the members known to join. */
export const MEMBER_MSPS = [...CONSORTIUM_MSPS, ...JOINING_MSPS] as const;
export type ConsortiumMsp = (typeof MEMBER_MSPS)[number];

/** What GEC_ORGANISATION may say: one member, or `all` (the development consortium in one process). */
export const GATEWAY_ORGANISATIONS = [...MEMBER_MSPS, 'all'] as const;
export type GatewayOrganisation = (typeof GATEWAY_ORGANISATIONS)[number];

/** The part an organisation plays in the consortium; a route names the parts whose gateways serve it. */
export const CONSORTIUM_ROLES = ['PLATFORM_OPERATOR', 'TRADING_CENTER', 'REGULATOR'] as const;
export type ConsortiumRole = (typeof CONSORTIUM_ROLES)[number];

export interface ConsortiumMember {
  mspId: ConsortiumMsp;
  role: ConsortiumRole;
  /** The part in words, as an error message names it. */
  title: string;
  /**
   * The organisation's admin identity in its wallet (NodeOU admin, `gec.role` admin): admin API keys only.
   * The regulator has none a gateway uses: it never writes, so its admin keys run as its client identity.
   */
  adminIdentity?: string;
  /** The application's client identity (NodeOU client) and the `gec.role` its certificate carries. */
  clientIdentity: { name: string; gecRole: string };
}

/** The members, with the enrolment names `network/scripts/enroll.sh` and the embedded ledger give them. */
export const CONSORTIUM: Record<ConsortiumMsp, ConsortiumMember> = {
  GridMSP: {
    mspId: 'GridMSP',
    role: 'PLATFORM_OPERATOR',
    title: 'platform operator: the grid’s energy internet platform, 能源互联网平台',
    adminIdentity: 'admin',
    clientIdentity: { name: 'platform', gecRole: 'energy-platform' },
  },
  TradingCenterMSP: {
    mspId: 'TradingCenterMSP',
    role: 'TRADING_CENTER',
    title: 'trading center: the power trading center, 电力交易中心',
    adminIdentity: 'admin',
    clientIdentity: { name: 'trading', gecRole: 'trading-center' },
  },
  RegulatorMSP: {
    mspId: 'RegulatorMSP',
    role: 'REGULATOR',
    title: 'regulator: 监管方, reads only',
    clientIdentity: { name: 'regulator', gecRole: 'regulator' },
  },
  TradingCenter2MSP: {
    mspId: 'TradingCenter2MSP',
    role: 'TRADING_CENTER',
    title: 'trading center: a second provincial power trading center, 省级电力交易中心',
    adminIdentity: 'admin',
    clientIdentity: { name: 'trading', gecRole: 'trading-center' },
  },
};

/** The founding member playing `role` (the gateway a refusal names; a joined trading center serves the same routes). */
export function memberPlaying(role: ConsortiumRole): ConsortiumMember {
  return CONSORTIUM_MSPS.map((mspId) => CONSORTIUM[mspId]).find((member) => member.role === role)!;
}

export function isConsortiumMsp(value: string): value is ConsortiumMsp {
  return (MEMBER_MSPS as readonly string[]).includes(value);
}

/** The member organisations whose identities a gateway of `organisation` holds. */
export function heldOrganisations(organisation: GatewayOrganisation): readonly ConsortiumMsp[] {
  return organisation === 'all' ? CONSORTIUM_MSPS : [organisation];
}

/** The organisation's application identity (NodeOU client), e.g. TradingCenterMSP/trading. */
export function clientIdentityOf(mspId: ConsortiumMsp): IdentityRef {
  return { mspId, name: CONSORTIUM[mspId].clientIdentity.name };
}

/**
 * The identity the gateway acts as when no API key is behind the call (the expiry sweep, the public voucher
 * verification page, events and block look-ups on Fabric): its organisation's client identity, never an admin.
 * The development consortium acts as the platform, which runs the gateway (spec §6).
 */
export function gatewayIdentity(organisation: GatewayOrganisation): IdentityRef {
  return clientIdentityOf(organisation === 'all' ? 'GridMSP' : organisation);
}

/** "the GridMSP gateway (platform operator: …)". */
export function describeGatewayOf(mspId: ConsortiumMsp): string {
  return `the ${mspId} gateway (${CONSORTIUM[mspId].title})`;
}

/** What this gateway is, for messages: "GridMSP's (platform operator: …)" or the development consortium. */
export function describeThisGateway(organisation: GatewayOrganisation): string {
  return organisation === 'all'
    ? `the development consortium's (all of ${CONSORTIUM_MSPS.join(', ')})`
    : `${organisation}'s (${CONSORTIUM[organisation].title})`;
}
