import type { IdentityRef, LedgerPort } from './port';

/**
 * The founding members of a development consortium (the embedded ledger's three organisations), registered on
 * the ledger by the first start. A real network registers its own with `network/scripts/deployCC.sh`.
 */
export const DEVELOPMENT_FOUNDERS = [
  { mspId: 'GridMSP', role: 'PLATFORM_OPERATOR', name: '国家电网 能源互联网平台 (development)' },
  { mspId: 'TradingCenterMSP', role: 'TRADING_CENTER', name: '电力交易中心 (development)' },
  { mspId: 'RegulatorMSP', role: 'REGULATOR', name: '监管方 (development)' },
] as const;

export interface ConsortiumState {
  initialised: boolean;
  organisations: Array<{ mspId: string; role: string; name: string; status: string }>;
}

export async function readConsortium(ledger: LedgerPort, identity: IdentityRef): Promise<ConsortiumState> {
  const bytes = await ledger.evaluate({ identity, transaction: 'consortium:GetConsortium', args: [] });
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as ConsortiumState;
}

/**
 * Register the founding members unless the registry already has members; true when this call registered them.
 * `admin`: `gec.role` admin of one of the founders.
 */
export async function initialiseConsortium(
  ledger: LedgerPort,
  admin: IdentityRef,
  founders: ReadonlyArray<{ mspId: string; role: string; name: string }> = DEVELOPMENT_FOUNDERS,
): Promise<boolean> {
  if ((await readConsortium(ledger, admin)).initialised) return false;
  await ledger.submit({
    identity: admin,
    transaction: 'consortium:InitConsortium',
    args: [JSON.stringify({ organisations: founders })],
  });
  return true;
}
