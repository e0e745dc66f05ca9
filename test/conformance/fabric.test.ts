/**
 * The conformance scenarios on a real Fabric network (`npm run test:fabric`): brings the native network up
 * with network/scripts (cryptogen, one Raft orderer, three peers, TLS), deploys this checkout's chaincode as
 * a service, runs the SAME scenarios as embedded.test.ts through the fabric-gateway adapter and then the
 * fabric-network adapter, and tears the network down (GEC_KEEP_NETWORK=1 leaves it running).
 *
 * Needs Fabric 2.4/2.5 binaries (peer, orderer, osnadmin, configtxgen, cryptogen) in FABRIC_BIN or on PATH,
 * their config/ folder (FABRIC_CFG, default <bin>/../config), openssl, and free ports from network/network.env.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
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

/** As `script`, without blocking the event loop: traffic keeps flowing while it runs. */
async function scriptAsync(name: string, ...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)('bash', [join(SCRIPTS, name), ...args], {
      cwd: REPO,
      env: process.env,
      timeout: 600_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${name} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
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
    if (KEEP) return;
    // clean.sh removes network/build: the logs of this run (nodes, chaincode servers, lifecycle) are kept
    // first, so that a failure can be read after the network is gone.
    const logs = join(REPO, 'network', 'build', 'logs');
    const kept = join(REPO, 'network', 'logs-last-run');
    if (existsSync(logs)) {
      rmSync(kept, { recursive: true, force: true });
      cpSync(logs, kept, { recursive: true });
      console.log(`fabric conformance: the network's logs are kept in ${kept}`);
    }
    script('clean.sh');
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

  it('every node reports healthy, and status.sh says so', async () => {
    const env = gatewayEnv();
    expect(env.FABRIC_PEER_ENDPOINT).toBeTruthy();
    const network = readFileSync(join(REPO, 'network', 'network.env'), 'utf8');
    const ports = [...network.matchAll(/^[A-Z0-9_]*OPERATIONS_PORT=(\d+)$/gm)].map((m) => m[1]);
    expect(ports).toHaveLength(4);
    for (const port of ports) {
      const answer = await fetch(`http://127.0.0.1:${port}/healthz`);
      // A peer whose core.yaml points at a Docker daemon answers 503 here.
      expect({ port, status: answer.status, body: await answer.json() }).toMatchObject({
        status: 200,
        body: { status: 'OK' },
      });
    }
    expect(await scriptAsync('status.sh')).toMatch(/all up/);
  });

  it('upgrades the chaincode under traffic: every write meanwhile commits, none waits on a stopped server', async () => {
    const ledger = await createLedger(ledgerConfigFromEnv({ ...gatewayEnv(), LEDGER: 'fabric-gateway' }));
    try {
      let upgrading = true;
      const outcomes: string[] = [];
      const traffic = (async () => {
        for (let n = 0; upgrading; n++) {
          const id = `UPG-${Date.now().toString(36)}-${n}`;
          const started = Date.now();
          try {
            const tx = await ledger.submit({
              identity: ids.gridAdmin,
              transaction: 'identity:RegisterParticipant',
              args: [JSON.stringify({ id, kind: 'CONSUMER', name: `Upgrade ${n}`, region: '110000' })],
              transient: { creditCode: '91110000100000000X' },
            });
            outcomes.push(`${tx.validationCode} ${Date.now() - started}ms`);
          } catch (err) {
            outcomes.push(`FAILED ${(err as Error).message.split('\n')[0]}`);
          }
        }
      })();
      const log = await scriptAsync('deployCC.sh', '-v', '1.1');
      upgrading = false;
      await traffic;
      expect(log).toMatch(/is live on port 10000/);
      expect(outcomes.length).toBeGreaterThan(5);
      // Before the server of the old package was kept running, an endorsement during the upgrade hung until
      // Fabric's 300 s launch timeout and the peer refused the new server.
      expect(outcomes.filter((o) => !o.startsWith('VALID'))).toEqual([]);
      await identityScenarios[0].run(ledger, ids);
    } finally {
      await ledger.close();
    }
  });

  it('comes back after down.sh and up.sh with the committed chaincode, without a new deployment', async () => {
    script('down.sh');
    script('up.sh');
    const ledger = await createLedger(ledgerConfigFromEnv({ ...gatewayEnv(), LEDGER: 'fabric-gateway' }));
    try {
      await identityScenarios[0].run(ledger, ids);
    } finally {
      await ledger.close();
    }
    const logs = readFileSync(join(REPO, 'network', 'build', 'logs', 'peer0-grid.log'), 'utf8');
    // The logs of the first run are still there: up.sh appends.
    expect(logs.match(/=== .* peer0-grid started by up\.sh ===/g)?.length).toBe(2);
  });
});
