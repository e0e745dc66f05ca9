/** Configuration of the embedded ledger, with defaults that match the consortium in spec §6. */
import { DEFAULT_BATCH, type BatchSettings } from './orderer';
import { DEFAULT_ORGS, type OrgSpec } from './msp';
import type { ChannelConfig } from './channel-config';

export interface EmbeddedLedgerOptions {
  /** Folder for the MSP material (`msp/`) and the block store and state database (`ledger/`). */
  dataDir: string;
  channelId?: string;
  chaincodeName?: string;
  chaincodeVersion?: string;
  /** The contract classes to run; default: the `gec` chaincode package. */
  contracts?: unknown[];
  /** Signature policy for the chaincode, fixed in the genesis block on first start. */
  endorsementPolicy?: string;
  batch?: Partial<BatchSettings>;
  /** fsync every block and state commit (default true; turn off only for throwaway test ledgers). */
  sync?: boolean;
  organisations?: OrgSpec[];
  /**
   * Register the development consortium's founding members (GridMSP, TradingCenterMSP, RegulatorMSP) on the
   * ledger when they are not yet (default true; only with the gec contracts). False: tests of the registry.
   */
  initialiseConsortium?: boolean;
}

export interface ResolvedOptions {
  dataDir: string;
  channelId: string;
  chaincodeName: string;
  chaincodeVersion: string;
  contracts: unknown[];
  endorsementPolicy: string;
  batch: BatchSettings;
  sync: boolean;
  organisations: OrgSpec[];
  ordererMspId: string;
  ordererName: string;
}

/** Writes need the grid operator and the trading center (spec §6); the regulator never endorses. */
export const DEFAULT_ENDORSEMENT_POLICY = "AND('GridMSP.peer','TradingCenterMSP.peer')";

export function resolveOptions(input: EmbeddedLedgerOptions): ResolvedOptions {
  const organisations = input.organisations ?? DEFAULT_ORGS;
  const ordererOrg = organisations.find((o) => o.identities.some((i) => i.role === 'orderer'));
  const orderer = ordererOrg?.identities.find((i) => i.role === 'orderer');
  if (!ordererOrg || !orderer) throw new Error('the organisations must include an orderer identity');
  return {
    dataDir: input.dataDir,
    channelId: input.channelId ?? 'gec-channel',
    chaincodeName: input.chaincodeName ?? 'gec',
    chaincodeVersion: input.chaincodeVersion ?? '1.0',
    contracts: input.contracts ?? loadGecContracts(),
    endorsementPolicy: input.endorsementPolicy ?? DEFAULT_ENDORSEMENT_POLICY,
    batch: { ...DEFAULT_BATCH, ...input.batch },
    sync: input.sync ?? true,
    organisations,
    ordererMspId: ordererOrg.mspId,
    ordererName: orderer.name,
  };
}

function loadGecContracts(): unknown[] {
  // Loaded lazily so that tests can run other contract classes (decorator metadata is process-global).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('@gec/chaincode') as { contracts: unknown[] }).contracts;
}

export function buildChannelConfig(options: ResolvedOptions, roots: Record<string, string>): ChannelConfig {
  return {
    channelId: options.channelId,
    organisations: roots,
    ordererMspId: options.ordererMspId,
    chaincode: {
      name: options.chaincodeName,
      version: options.chaincodeVersion,
      endorsementPolicy: options.endorsementPolicy,
    },
  };
}

/** Whether the ledger runs the gec consortium contract (the default contracts, or a list that includes it). */
export function runsConsortiumContract(contracts: unknown[] | undefined): boolean {
  return (
    contracts === undefined || contracts.some((c) => (c as { name?: string }).name === 'ConsortiumContract')
  );
}
