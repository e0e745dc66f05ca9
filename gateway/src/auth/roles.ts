import type { IdentityRef } from '../ledger/port';
import {
  CONSORTIUM,
  CONSORTIUM_MSPS,
  clientIdentityOf,
  type ConsortiumMsp,
  type GatewayOrganisation,
} from '../organisation/consortium';

export { CONSORTIUM_MSPS } from '../organisation/consortium';

export const ROLES = ['admin', 'trading-center', 'energy-platform', 'regulator'] as const;
export type Role = (typeof ROLES)[number];

/** The organisation whose client identity carries the application role's `gec.role` (the key roles are named so). */
function homeOrganisation(role: Exclude<Role, 'admin'>): ConsortiumMsp {
  return CONSORTIUM_MSPS.find((mspId) => CONSORTIUM[mspId].clientIdentity.gecRole === role)!;
}

/**
 * The Fabric identity the gateway uses for a key of `role`, unless the key names another. Least privilege:
 * applications get client identities, only admin keys an admin identity. The development consortium gives each
 * role its home organisation's client identity (admin keys the grid's admin, as the consortium's registry). A
 * single-organisation gateway has its own organisation's identities only: admin keys its admin (the regulator,
 * who never writes, has none: its client), every other key its client identity, the identity it acts as for
 * callers of other organisations too (a trading center posting a trade to the platform's gateway is served by
 * the platform, which attests with its own identity).
 */
export function defaultIdentity(organisation: GatewayOrganisation, role: Role): IdentityRef {
  if (organisation === 'all') {
    return role === 'admin' ? { mspId: 'GridMSP', name: 'admin' } : clientIdentityOf(homeOrganisation(role));
  }
  const admin = CONSORTIUM[organisation].adminIdentity;
  return role === 'admin' && admin ? { mspId: organisation, name: admin } : clientIdentityOf(organisation);
}

/**
 * The development consortium's defaults by role (`defaultIdentity('all', role)`): the platform's identity the
 * trade pipeline attests with (`energy-platform`, GridMSP/platform) and the trading center organisation check
 * keys are published under (`trading-center`, TradingCenterMSP).
 */
export const DEFAULT_IDENTITY: Readonly<Record<Role, IdentityRef>> = {
  admin: defaultIdentity('all', 'admin'),
  'trading-center': defaultIdentity('all', 'trading-center'),
  'energy-platform': defaultIdentity('all', 'energy-platform'),
  regulator: defaultIdentity('all', 'regulator'),
};

/** Who is calling: set on the request by the API-key guard. */
export interface Principal {
  keyId: string;
  label: string;
  role: Role;
  actsFor: string;
  identity: IdentityRef;
  /** State-changing requests must be signed (X-Gec-Signature). */
  requireSignature: boolean;
  /** Trading-center keys: the default callback URL for the final state of their trades. */
  callbackUrl: string | null;
}

/** The roles whose keys integrate (write from another system) and so sign their requests. */
export const SIGNING_ROLES: readonly Role[] = ['trading-center', 'energy-platform'];
