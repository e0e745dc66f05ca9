import type { IdentityRef } from '../ledger/port';

export const ROLES = ['admin', 'trading-center', 'energy-platform', 'regulator'] as const;
export type Role = (typeof ROLES)[number];

/** The Fabric identity the gateway uses for a key of each role, unless the key names another. */
export const DEFAULT_IDENTITY: Record<Role, IdentityRef> = {
  admin: { mspId: 'GridMSP', name: 'admin' },
  'trading-center': { mspId: 'TradingCenterMSP', name: 'admin' },
  'energy-platform': { mspId: 'GridMSP', name: 'platform' },
  regulator: { mspId: 'RegulatorMSP', name: 'regulator' },
};

export const CONSORTIUM_MSPS = ['GridMSP', 'TradingCenterMSP', 'RegulatorMSP'] as const;

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
