/**
 * The conformance scenarios on a real Fabric network (`npm run test:fabric`): brings the native network up
 * with network/scripts (cryptogen, one Raft orderer, three peers, TLS), deploys this checkout's chaincode as
 * a service, runs the SAME scenarios as embedded.test.ts through the fabric-gateway adapter and then the
 * fabric-network adapter, and tears the network down (GEC_KEEP_NETWORK=1 leaves it running).
 *
 * Needs Fabric 2.4/2.5 binaries (peer, orderer, osnadmin, configtxgen, cryptogen) in FABRIC_BIN or on PATH,
 * their config/ folder (FABRIC_CFG, default <bin>/../config), openssl, and free ports from network/network.env.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { createLedger, ledgerConfigFromEnv, type LedgerKind } from '../../gateway/src/ledger/factory';
import type { LedgerPort } from '../../gateway/src/ledger/port';
import { certificateScenarios } from '../scenarios/certificates';
import { gatewayScenarios } from '../scenarios/gateway';
import { identityScenarios } from '../scenarios/identity';
import { tradeScenarios } from '../scenarios/trades';
import type { ScenarioIds } from '../scenarios/harness';

const REPO = resolve(__dirname, '..', '..');
const SCRIPTS = join(REPO, 'network', 'scripts');
const KEEP = process.env.GEC_KEEP_NETWORK === '1';

function findPeerBinary(): string | undefined {
  const dirs = [process.env.FABRIC_BIN, ...(process.env.PATH ?? '').split(delimiter)].filter(
    Boolean,
  ) as string[];
  return dirs.map((d) => join(d, 'peer')).find((p) => existsSync(p));
}

const peerBinary = findPeerBinary();
const SKIP_REASON =
  'fabric conformance skipped: needs Fabric 2.4/2.5 binaries (peer, orderer, osnadmin, configtxgen, cryptogen) in FABRIC_BIN or on PATH';
if (!peerBinary) console.log(SKIP_REASON);

function script(name: string, ...args: string[]): void {
  try {
    execFileSync('bash', [join(SCRIPTS, name), ...args], {
      cwd: REPO,
      env: process.env,
      stdio: 'pipe',
      timeout: 600_000,
    });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
    throw new Error(
      `${name} failed: ${e.message}\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`,
    );
  }
}

/** network/build/gateway.env (KEY=value lines) as an environment. */
function gatewayEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(REPO, 'network', 'build', 'gateway.env'), 'utf8').split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1]] = match[2];
  }
  return env;
}

const ids: ScenarioIds = {
  gridAdmin: { mspId: 'GridMSP', name: 'admin' },
  gridPlatform: { mspId: 'GridMSP', name: 'platform' },
  tradingAdmin: { mspId: 'TradingCenterMSP', name: 'admin' },
  tradingClient: { mspId: 'TradingCenterMSP', name: 'trading' },
  regulator: { mspId: 'RegulatorMSP', name: 'regulator' },
};

(peerBinary ? describe : describe.skip)(peerBinary ? 'conformance: real Fabric network' : SKIP_REASON, () => {
  jest.setTimeout(600_000);

  beforeAll(() => {
    script('clean.sh');
    script('up.sh');
    script('createChannel.sh');
    script('deployCC.sh');
  });
  afterAll(() => {
    if (!KEEP) script('clean.sh');
  });

  const adapters: LedgerKind[] = ['fabric-gateway', 'fabric-network'];
  for (const kind of adapters) {
    describe(kind, () => {
      let ledger: LedgerPort;
      beforeAll(async () => {
        ledger = await createLedger(ledgerConfigFromEnv({ ...gatewayEnv(), LEDGER: kind }));
      });
      afterAll(async () => ledger?.close());

      for (const scenario of [
        ...identityScenarios,
        ...certificateScenarios,
        ...tradeScenarios,
        ...gatewayScenarios,
      ]) {
        it(scenario.name, () => scenario.run(ledger, ids));
      }
    });
  }

  it('upgrades the chaincode (new version and sequence) and keeps serving', async () => {
    script('deployCC.sh', '-v', '1.1');
    const ledger = await createLedger(ledgerConfigFromEnv({ ...gatewayEnv(), LEDGER: 'fabric-gateway' }));
    try {
      await identityScenarios[0].run(ledger, ids);
    } finally {
      await ledger.close();
    }
  });
});
