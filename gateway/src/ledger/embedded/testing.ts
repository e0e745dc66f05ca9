/**
 * A throwaway embedded network for tests: a fresh data folder, the consortium's identities, and the ledger
 * behind the port. Everything is real (CA, signatures, block store, LevelDB); only the folder is temporary.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IdentityRef } from '../port';
import { EmbeddedLedger } from './embedded-ledger';
import type { EmbeddedLedgerOptions } from './options';

export interface TestNetwork {
  ledger: EmbeddedLedger;
  dataDir: string;
  ids: {
    gridAdmin: IdentityRef;
    gridPlatform: IdentityRef;
    tradingAdmin: IdentityRef;
    tradingClient: IdentityRef;
    regulator: IdentityRef;
  };
  /** Close the ledger and reopen it on the same folder (a restart). */
  restart(): Promise<EmbeddedLedger>;
  close(): Promise<void>;
}

export const TEST_IDENTITIES = {
  gridAdmin: { mspId: 'GridMSP', name: 'admin' },
  gridPlatform: { mspId: 'GridMSP', name: 'platform' },
  tradingAdmin: { mspId: 'TradingCenterMSP', name: 'admin' },
  tradingClient: { mspId: 'TradingCenterMSP', name: 'trading' },
  regulator: { mspId: 'RegulatorMSP', name: 'regulator' },
} as const;

/**
 * A second provincial trading center, as `network/scripts/addOrg.sh` adds one to a real channel: for tests that
 * put it in the channel from block 0 (`organisations: [...DEFAULT_ORGS, SECOND_TRADING_CENTER]`) and admit it to
 * the consortium on the ledger.
 */
export { SECOND_TRADING_CENTER } from './msp';

/** The chaincode policy once the second trading center endorses: the grid and any one trading center. */
export const TWO_TRADING_CENTERS_POLICY =
  "AND('GridMSP.peer',OR('TradingCenterMSP.peer','TradingCenter2MSP.peer'))";

export async function createTestNetwork(options: Partial<EmbeddedLedgerOptions> = {}): Promise<TestNetwork> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'gec-ledger-test-')));
  const open = () => EmbeddedLedger.open({ sync: false, ...options, dataDir });
  const network: TestNetwork = {
    ledger: await open(),
    dataDir,
    ids: { ...TEST_IDENTITIES },
    restart: async () => {
      await network.ledger.close();
      network.ledger = await open();
      return network.ledger;
    },
    close: async () => {
      await network.ledger.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return network;
}
