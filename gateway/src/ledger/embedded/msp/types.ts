/** Public types of the embedded MSP: roles, organisation specs and the consortium's default organisations. */

/** Fabric NodeOUs, carried as the certificate subject OU. */
export type NodeRole = 'client' | 'peer' | 'admin' | 'orderer';

export const NODE_ROLES: readonly NodeRole[] = ['client', 'peer', 'admin', 'orderer'];

export function isNodeRole(value: unknown): value is NodeRole {
  return typeof value === 'string' && (NODE_ROLES as readonly string[]).includes(value);
}

export interface IdentitySpec {
  name: string;
  role: NodeRole;
  /** Fabric CA attributes, readable in chaincode with `ctx.clientIdentity.getAttributeValue(name)`. */
  attrs?: Record<string, string>;
}

export interface OrgSpec {
  mspId: string;
  domain: string;
  identities: IdentitySpec[];
}

/** A trading center organisation: its peer, its admin and its market system's client identity. */
export function tradingCenterOrg(mspId: string, domain: string): OrgSpec {
  return {
    mspId,
    domain,
    identities: [
      { name: 'peer0', role: 'peer' },
      { name: 'admin', role: 'admin', attrs: { 'gec.role': 'admin' } },
      { name: 'trading', role: 'client', attrs: { 'gec.role': 'trading-center' } },
    ],
  };
}

/** The gec-ledger consortium. */
export const DEFAULT_ORGS: OrgSpec[] = [
  {
    mspId: 'GridMSP',
    domain: 'grid.gec.example',
    identities: [
      { name: 'peer0', role: 'peer' },
      { name: 'admin', role: 'admin', attrs: { 'gec.role': 'admin' } },
      { name: 'platform', role: 'client', attrs: { 'gec.role': 'energy-platform' } },
    ],
  },
  tradingCenterOrg('TradingCenterMSP', 'tradingcenter.gec.example'),
  {
    mspId: 'RegulatorMSP',
    domain: 'regulator.gec.example',
    identities: [
      { name: 'peer0', role: 'peer' },
      { name: 'regulator', role: 'client', attrs: { 'gec.role': 'regulator' } },
    ],
  },
  {
    mspId: 'OrdererMSP',
    domain: 'orderer.gec.example',
    identities: [{ name: 'orderer0', role: 'orderer' }],
  },
];

/**
 * A second provincial trading center, as network/scripts/addOrg.sh adds it to the live network
 * (network.env TRADING2_*): not a founder, so not in DEFAULT_ORGS. On the embedded ledger its development CA is
 * made by `EmbeddedLedger.enrolOrganisation` and the channel trusts it only after a channel update signed by a
 * majority of the members' admins.
 */
export const SECOND_TRADING_CENTER: OrgSpec = tradingCenterOrg(
  'TradingCenter2MSP',
  'tradingcenter2.gec.example',
);
