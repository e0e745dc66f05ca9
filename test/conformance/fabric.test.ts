/**
 * The conformance scenarios on a real Fabric network (`npm run test:fabric`): brings the native network up
 * with network/scripts (a Fabric CA per member, three Raft orderers unless ORDERER_COUNT says otherwise, three
 * peers, TLS), deploys this checkout's chaincode as a service, runs the SAME scenarios as embedded.test.ts through
 * the fabric-gateway adapter and then the fabric-network adapter, and tears the network down (GEC_KEEP_NETWORK=1
 * leaves it running).
 *
 * It checks the nodes' health, the chaincode's TLS (each member's peer with its own certificate, no key in the
 * package, anyone else refused) and, with three orderers, writes committing while the Raft leader is down.
 * Then it checks each member's own wallet and gateway env, adds a second trading center to the running
 * channel with network/scripts/addOrg.sh (its own Fabric CA, a channel update signed by a majority of the
 * members' admins, its peer joined, the endorsement policy naming it), and upgrades and restarts the network
 * with the four members.
 *
 * Needs Fabric 2.4/2.5 binaries (peer, orderer, osnadmin, configtxgen, configtxlator, cryptogen,
 * fabric-ca-server, fabric-ca-client) in FABRIC_BIN or on PATH, their config/ folder (FABRIC_CFG, default
 * <bin>/../config), openssl, jq, and free ports from network/network.env.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { X509Certificate } from 'node:crypto';
import { connect as http2Connect } from 'node:http2';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { createLedger, ledgerConfigFromEnv, type LedgerKind } from '../../gateway/src/ledger/factory';
import { ephemeralTlsClient } from '../../gateway/src/ledger/fabric/fabric-network-ledger';
import type { IdentityRef, LedgerPort } from '../../gateway/src/ledger/port';
import { certificateScenarios } from '../scenarios/certificates';
import { gatewayScenarios } from '../scenarios/gateway';
import { holderPolicyScenarios } from '../scenarios/holder-policy';
import { identityScenarios } from '../scenarios/identity';
import { tradeScenarios } from '../scenarios/trades';
import { register, uniqueId, type ScenarioIds } from '../scenarios/harness';

const REPO = resolve(__dirname, '..', '..');
const SCRIPTS = join(REPO, 'network', 'scripts');
const KEEP = process.env.GEC_KEEP_NETWORK === '1';
// Three Raft orderers unless the caller asks for another count (network.env's default is one, for development).
process.env.ORDERER_COUNT ||= '3';
const ORDERERS = Number(process.env.ORDERER_COUNT);

function findPeerBinary(): string | undefined {
  const dirs = [process.env.FABRIC_BIN, ...(process.env.PATH ?? '').split(delimiter)].filter(
    Boolean,
  ) as string[];
  return dirs.map((d) => join(d, 'peer')).find((p) => existsSync(p));
}

const peerBinary = findPeerBinary();
const SKIP_REASON =
  'fabric conformance skipped: needs Fabric 2.4/2.5 binaries (peer, orderer, osnadmin, configtxgen, configtxlator, cryptogen, fabric-ca-server, fabric-ca-client) in FABRIC_BIN or on PATH';
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

/** A network/build env file (KEY=value lines) as an environment. */
function envFile(name: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(REPO, 'network', 'build', name), 'utf8').split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1]] = match[2];
  }
  return env;
}

/** network/build/gateway.env: the development gateway holding every member's identities. */
const gatewayEnv = () => envFile('gateway.env');

/** network/build/ccaas/live: the committed chaincode package, its server's port and the members it accepts. */
function liveChaincode(): Record<string, string> {
  const live: Record<string, string> = {};
  for (const line of readFileSync(join(REPO, 'network', 'build', 'ccaas', 'live'), 'utf8').split('\n')) {
    const match = /^([a-z_]+)=(.*)$/.exec(line.trim());
    if (match) live[match[1]] = match[2];
  }
  return live;
}

/** A bash command with network/scripts/lib.sh sourced (its functions and network.env), at the repository root. */
async function withLib(command: string): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(
      'bash',
      ['-c', `set -euo pipefail; source network/scripts/lib.sh; ${command}`],
      { cwd: REPO, env: process.env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
    );
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command}: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** status.sh's report, also when it exits 1 (a node down). */
async function status(): Promise<string> {
  return withLib('bash network/scripts/status.sh 2>&1 || true');
}

/** status.sh's report once it matches `pattern` (polled for up to `timeoutMs`), or the last one. */
async function statusUntil(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let report = await status();
  while (!pattern.test(report) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    report = await status();
  }
  return report;
}

/**
 * Whether the chaincode server on `port` takes an HTTP/2 (gRPC) session from a client with this TLS certificate:
 * it answers a ping, or the handshake ends in an alert.
 */
async function chaincodeServerAccepts(port: number, client: { cert: string | Buffer; key: string | Buffer }) {
  const ca = readFileSync(join(REPO, 'network', 'build', 'ccaas', 'tls', 'ca.crt'));
  const session = http2Connect(`https://127.0.0.1:${port}`, { ca, ...client });
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      session.on('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
      session.on('connect', () =>
        session.ping((err) => {
          clearTimeout(timer);
          resolve(!err);
        }),
      );
    });
  } finally {
    session.destroy();
  }
}

/** A member's peer folder (crypto material) under network/organizations. */
function peerDir(domain: string): string {
  return join(REPO, 'network', 'organizations', 'peerOrganizations', domain, 'peers', `peer0.${domain}`);
}

/** A bash command in an organisation admin's Fabric CLI environment (network/scripts/admin.sh ORG). */
async function asAdmin(org: string, command: string): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      'bash',
      ['-c', `set -euo pipefail; source network/scripts/admin.sh ${org} 2>/dev/null; ${command}`],
      { cwd: REPO, env: process.env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
    );
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`as the ${org} admin: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** The folders and identities of a member's wallet (build/wallets/<MSP>/): "<mspId>/<name>" entries. */
function walletEntries(mspId: string): string[] {
  const wallet = join(REPO, 'network', 'build', 'wallets', mspId);
  return readdirSync(wallet).flatMap((msp) => readdirSync(join(wallet, msp)).map((name) => `${msp}/${name}`));
}

/** A wallet certificate, and the Fabric CA attributes (`gec.role`, ...) it carries in 1.2.3.4.5.6.7.8.1. */
function walletCertificate(walletDir: string, ref: IdentityRef) {
  const pem = readFileSync(join(walletDir, ref.mspId, ref.name, 'cert.pem'));
  const cert = new X509Certificate(pem);
  const attrs = /\{"attrs":\{[^}]*\}\}/.exec(cert.raw.toString('latin1'));
  return { cert, attrs: attrs ? (JSON.parse(attrs[0]) as { attrs: Record<string, string> }).attrs : {} };
}

/** The chaincode's metadata, evaluated by `identity` through `ledger`. */
async function metadata(ledger: LedgerPort, identity: IdentityRef) {
  const bytes = await ledger.evaluate({
    identity,
    transaction: 'org.hyperledger.fabric:GetMetadata',
    args: [],
  });
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as { contracts: Record<string, unknown> };
}

/** GEC_CRYPTO (network.env, or the environment): each member's material from its own Fabric CA by default. */
const FABRIC_CA =
  (process.env.GEC_CRYPTO ||
    /^GEC_CRYPTO=(.*)$/m.exec(readFileSync(join(REPO, 'network', 'network.env'), 'utf8'))?.[1] ||
    'fabric-ca') === 'fabric-ca';

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
    // The founding nodes: the orderers and the three members' peers (addOrg.sh's member comes later).
    const orderers = [...network.matchAll(/^ORDERER(\d)_OPERATIONS_PORT=(\d+)$/gm)]
      .filter((m) => Number(m[1]) < ORDERERS)
      .map((m) => m[2]);
    const ports = [
      ...orderers,
      ...[...network.matchAll(/^PEER0_(?:GRID|TRADING|REGULATOR)_OPERATIONS_PORT=(\d+)$/gm)].map((m) => m[1]),
    ];
    expect(ports).toHaveLength(ORDERERS + 3);
    for (const port of ports) {
      const answer = await fetch(`http://127.0.0.1:${port}/healthz`);
      // A peer whose core.yaml points at a Docker daemon answers 503 here.
      expect({ port, status: answer.status, body: await answer.json() }).toMatchObject({
        status: 200,
        body: { status: 'OK' },
      });
    }
    const status = await scriptAsync('status.sh');
    if (FABRIC_CA) {
      for (const org of ['grid', 'trading', 'regulator']) {
        expect(status).toMatch(new RegExp(`ca-${org} +running \\(pid \\d+\\), /healthz OK`));
      }
    }
    expect(status).toMatch(/all up/);
    expect(status).toMatch(
      new RegExp(`raft +leader orderer\\d, ${ORDERERS} of ${ORDERERS} consenters active`),
    );
  });

  it("each member's peer reaches the chaincode server with its own TLS certificate; the package holds no key, and the server refuses anyone else", async () => {
    const live = liveChaincode();
    // The package installed on every peer: the server's address and its CA, no client key.
    const connection = JSON.parse(
      execFileSync('bash', [
        '-c',
        'tar -xOzf "$1" code.tar.gz | tar -xOz connection.json',
        '-',
        live.package,
      ]).toString(),
    ) as Record<string, unknown>;
    expect(Object.keys(connection).sort()).toEqual([
      'address',
      'client_auth_required',
      'dial_timeout',
      'root_cert',
      'tls_required',
    ]);
    expect(connection.client_auth_required).toBe(true);
    const members = [
      { org: 'grid', domain: 'grid.gec.example' },
      { org: 'trading', domain: 'tradingcenter.gec.example' },
      { org: 'regulator', domain: 'regulator.gec.example' },
    ];
    for (const { org, domain } of members) {
      // What the peer dials with (the external builder's release): its own TLS certificate, from its own CA.
      const released = JSON.parse(
        readFileSync(
          join(
            REPO,
            'network',
            'build',
            'data',
            `peer0-${org}`,
            'externalbuilder',
            'builds',
            live.package_id.replace(':', '-'),
            'release',
            'chaincode',
            'server',
            'connection.json',
          ),
          'utf8',
        ),
      ) as { client_cert: string; client_key: string };
      const own = readFileSync(join(peerDir(domain), 'tls', 'server.crt'), 'utf8');
      expect({ org, same: released.client_cert.trim() === own.trim() }).toEqual({ org, same: true });
      const cert = new X509Certificate(released.client_cert);
      expect(cert.subject).toContain(`CN=peer0.${domain}`);
      expect(cert.issuer).toContain(`CN=ca.${domain}`);
      // The server takes it, as it takes the peer.
      const accepted = await chaincodeServerAccepts(Number(live.port), {
        cert: own,
        key: readFileSync(join(peerDir(domain), 'tls', 'server.key')),
      });
      expect({ org, accepted }).toEqual({ org, accepted: true });
    }
    // Not a member's peer: the orderer organisation's TLS certificate, and a self-signed one.
    const orderer = join(
      REPO,
      'network',
      'organizations',
      'ordererOrganizations',
      'orderer.gec.example',
      'orderers',
      'orderer0.orderer.gec.example',
      'tls',
    );
    expect(
      await chaincodeServerAccepts(Number(live.port), {
        cert: readFileSync(join(orderer, 'server.crt')),
        key: readFileSync(join(orderer, 'server.key')),
      }),
    ).toBe(false);
    const stranger = await ephemeralTlsClient();
    expect(
      await chaincodeServerAccepts(Number(live.port), { cert: stranger.certificate, key: stranger.key }),
    ).toBe(false);
  });

  (ORDERERS >= 3 ? it : it.skip)(
    'with three Raft orderers, writes commit on both adapters while the leader is down, and it catches up when back',
    async () => {
      const leader = (await withLib('raft_leader')).trim();
      const started = Date.now();
      await withLib(`stop_process orderer${leader}; wait_for_raft_leader`);
      const elected = Date.now() - started;
      try {
        // The new leader counts a consenter inactive once it has missed its heartbeats for a while.
        const down = await statusUntil(/raft +leader orderer\d, 2 of 3 consenters active/);
        expect(down).toMatch(new RegExp(`orderer${leader} +DOWN`));
        expect(down).toMatch(/raft +leader orderer\d, 2 of 3 consenters active/);
        for (const kind of adapters) {
          const ledger = await createLedger(ledgerConfigFromEnv({ ...gatewayEnv(), LEDGER: kind }));
          try {
            for (let n = 0; n < 3; n++) {
              const tx = await register(ledger, ids.gridAdmin, { id: uniqueId('RAFT'), kind: 'CONSUMER' });
              expect({ kind, n, code: tx.validationCode }).toEqual({ kind, n, code: 'VALID' });
            }
          } finally {
            await ledger.close();
          }
        }
      } finally {
        // Back (whatever happened above, so that the rest of the suite has its three orderers).
        await withLib(`require_fabric_binaries orderer; start_orderer ${leader}`);
      }
      // It takes the blocks it missed from the others.
      const height = await (async () => {
        const ledger = await createLedger(ledgerConfigFromEnv({ ...gatewayEnv(), LEDGER: 'fabric-gateway' }));
        try {
          return (await ledger.getChainInfo()).height;
        } finally {
          await ledger.close();
        }
      })();
      const heightOf = async () =>
        Number(
          /^ledger_blockchain_height\{channel="gec-channel"\} (\d+)$/m.exec(
            await (
              await fetch(
                `http://127.0.0.1:${(await withLib(`orderer_var ${leader} OPERATIONS_PORT`)).trim()}/metrics`,
              )
            ).text(),
          )?.[1] ?? 0,
        );
      const deadline = Date.now() + 120_000;
      while ((await heightOf().catch(() => 0)) < height && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(await heightOf()).toBeGreaterThanOrEqual(height);
      await withLib('wait_for_raft_leader');
      expect(await statusUntil(/raft +leader orderer\d, 3 of 3 consenters active[\s\S]*all up/)).toMatch(
        /raft +leader orderer\d, 3 of 3 consenters active[\s\S]*all up/,
      );
      console.log(`orderer${leader} (the Raft leader) stopped: a new leader in ${elected} ms`);
    },
  );

  it('writes one wallet and gateway env per member, each holding only its own identities', async () => {
    const members = [
      {
        org: 'grid',
        mspId: 'GridMSP',
        peer: '127.0.0.1:7051',
        wallet: ['admin', 'platform'],
        client: 'platform',
      },
      {
        org: 'trading',
        mspId: 'TradingCenterMSP',
        peer: '127.0.0.1:8051',
        wallet: ['admin', 'trading'],
        client: 'trading',
      },
      // The regulator never writes: its gateway holds its client identity alone.
      {
        org: 'regulator',
        mspId: 'RegulatorMSP',
        peer: '127.0.0.1:9051',
        wallet: ['regulator'],
        client: 'regulator',
      },
    ];
    const roles: Record<string, string> = {
      admin: 'admin',
      platform: 'energy-platform',
      trading: 'trading-center',
      regulator: 'regulator',
    };
    for (const member of members) {
      const env = envFile(`gateway-${member.mspId}.env`);
      expect(env).toMatchObject({
        GEC_ORGANISATION: member.mspId,
        LEDGER: 'fabric-gateway',
        FABRIC_PEER_ENDPOINT: member.peer,
        FABRIC_WALLET: join(REPO, 'network', 'build', 'wallets', member.mspId),
        FABRIC_SERVICE_IDENTITY: `${member.mspId}/${member.client}`,
      });
      expect(walletEntries(member.mspId).sort()).toEqual(
        member.wallet.map((name) => `${member.mspId}/${name}`),
      );
      // Issued by the member's own Fabric CA (the fabric-ca-server up.sh started for it).
      const ca = FABRIC_CA
        ? new X509Certificate(
            readFileSync(join(REPO, 'network', 'organizations', 'fabric-ca', member.org, 'ca-cert.pem')),
          )
        : undefined;
      for (const name of member.wallet) {
        const { cert, attrs } = walletCertificate(env.FABRIC_WALLET, { mspId: member.mspId, name });
        expect({ name, role: attrs['gec.role'], admin: /OU=admin/.test(cert.subject) }).toEqual({
          name,
          role: roles[name],
          admin: name === 'admin',
        });
        if (ca)
          expect({ name, issuedByItsCa: cert.checkIssued(ca) && cert.verify(ca.publicKey) }).toEqual({
            name,
            issuedByItsCa: true,
          });
      }
    }
    expect(gatewayEnv().GEC_ORGANISATION).toBe('all');

    // The trading center's own gateway, on its own peer, signs with its own admin.
    const ledger = await createLedger(ledgerConfigFromEnv(envFile('gateway-TradingCenterMSP.env')));
    try {
      const id = `TC-OWN-${Date.now().toString(36)}`;
      const tx = await ledger.submit({
        identity: ids.tradingAdmin,
        transaction: 'identity:RegisterParticipant',
        args: [JSON.stringify({ id, kind: 'CONSUMER', name: 'Own gateway', region: '110000' })],
        transient: { creditCode: '91110000100000000X' },
      });
      expect(tx.validationCode).toBe('VALID');
    } finally {
      await ledger.close();
    }
  });

  describe('a second trading center joins the running channel (addOrg.sh)', () => {
    const NEW_MSP = 'TradingCenter2MSP';
    const newAdmin: IdentityRef = { mspId: NEW_MSP, name: 'admin' };
    let added: string;
    beforeAll(async () => {
      added = await scriptAsync('addOrg.sh');
    });

    it('its MSP and anchor peer are in the channel configuration, by an update a majority of the admins signed', async () => {
      expect(added).toMatch(/config update trading2 signed by the admin of GridMSP/);
      expect(added).toMatch(/config update trading2 signed and submitted by the admin of TradingCenterMSP/);
      expect(added).toMatch(
        /TradingCenter2MSP added to gec-channel: the update was signed by 2 of the 3 members' admins/,
      );
      // Read back by a member that did not sign.
      const config = JSON.parse(
        await asAdmin(
          'regulator',
          'peer channel fetch config /dev/stdout -o "$ORDERER_ADDRESS" --ordererTLSHostnameOverride "$ORDERER_HOSTNAME" ' +
            '--tls --cafile "$ORDERER_CA" -c "$CHANNEL_NAME" 2>/dev/null | ' +
            "configtxlator proto_decode --input /dev/stdin --type common.Block | jq -c '.data.data[0].payload.data.config'",
        ),
      ) as {
        channel_group: {
          groups: { Application: { groups: Record<string, { values: Record<string, { value: unknown }> }> } };
        };
      };
      const members = config.channel_group.groups.Application.groups;
      expect(Object.keys(members).sort()).toEqual(['GridMSP', 'RegulatorMSP', NEW_MSP, 'TradingCenterMSP']);
      expect(members[NEW_MSP].values.AnchorPeers.value).toEqual({
        anchor_peers: [{ host: '127.0.0.1', port: 10051 }],
      });
    });

    it('its identities come from its own Fabric CA: an admin with gec.role admin, a client with trading-center', () => {
      const wallet = join(REPO, 'network', 'build', 'wallets', NEW_MSP);
      expect(walletEntries(NEW_MSP).sort()).toEqual([`${NEW_MSP}/admin`, `${NEW_MSP}/trading`]);
      const admin = walletCertificate(wallet, newAdmin);
      const client = walletCertificate(wallet, { mspId: NEW_MSP, name: 'trading' });
      const ca = new X509Certificate(
        readFileSync(join(REPO, 'network', 'organizations', 'fabric-ca', 'trading2', 'ca-cert.pem')),
      );
      for (const { cert } of [admin, client]) {
        expect(cert.issuer).toMatch(/CN=ca\.tradingcenter2\.gec\.example/);
        expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
      }
      expect(admin.cert.subject).toMatch(/OU=admin/);
      expect(admin.attrs['gec.role']).toBe('admin');
      expect(client.cert.subject).toMatch(/OU=client/);
      expect(client.attrs['gec.role']).toBe('trading-center');
      expect(envFile(`gateway-${NEW_MSP}.env`)).toMatchObject({
        GEC_ORGANISATION: NEW_MSP,
        FABRIC_PEER_ENDPOINT: '127.0.0.1:10051',
        FABRIC_WALLET: wallet,
        FABRIC_SERVICE_IDENTITY: `${NEW_MSP}/trading`,
      });
    });

    it('its peer joined and keeps up; its CA and peer are healthy; it approved the definition that names it', async () => {
      const status = await scriptAsync('status.sh');
      expect(status).toMatch(/peer0-trading2 +running \(pid \d+\), \/healthz OK/);
      expect(status).toMatch(/ca-trading2 +running \(pid \d+\), \/healthz OK/);
      const heights = [...status.matchAll(/^ {2}(\w+MSP) +height (\d+)$/gm)].map((m) => [m[1], Number(m[2])]);
      expect(heights.map(([msp]) => msp)).toEqual(['GridMSP', 'TradingCenterMSP', 'RegulatorMSP', NEW_MSP]);
      expect(status).toMatch(/approved by GridMSP, RegulatorMSP, TradingCenter2MSP, TradingCenterMSP/);
      expect(status).toContain(
        "endorsement policy           AND('GridMSP.peer',OR('TradingCenterMSP.peer','TradingCenter2MSP.peer'))",
      );
      expect(status).toMatch(/all up/);
    });

    it('the grid and the new trading center endorse a write together, without the first trading center', async () => {
      const id = `TC2-END-${Date.now().toString(36)}`;
      const request = JSON.stringify([
        'identity:RegisterParticipant',
        JSON.stringify({ id, kind: 'CONSUMER', name: 'TC2', region: '440000' }),
      ]);
      const out = await asAdmin(
        'grid',
        'peer chaincode invoke -o "$ORDERER_ADDRESS" --ordererTLSHostnameOverride "$ORDERER_HOSTNAME" --tls ' +
          '--cafile "$ORDERER_CA" -C "$CHANNEL_NAME" -n "$CHAINCODE_NAME" --waitForEvent ' +
          '--peerAddresses "$(peer_var grid HOST):$(peer_var grid PORT)" --tlsRootCertFiles "$(peer_tls_ca grid)" ' +
          '--peerAddresses "$(peer_var trading2 HOST):$(peer_var trading2 PORT)" --tlsRootCertFiles "$(peer_tls_ca trading2)" ' +
          `-c '{"Args":${request}}' --transient "{\\"creditCode\\":\\"$(printf %s 91110000100000000X | base64)\\"}"`,
      );
      expect(out).toMatch(/committed with status \(VALID\) at 127\.0\.0\.1:10051/);
      const ledger = await createLedger(ledgerConfigFromEnv({ ...gatewayEnv(), LEDGER: 'fabric-gateway' }));
      try {
        const participant = JSON.parse(
          Buffer.from(
            await ledger.evaluate({
              identity: ids.regulator,
              transaction: 'identity:GetParticipant',
              args: [id],
            }),
          ).toString('utf8'),
        ) as { id: string };
        expect(participant.id).toBe(id);
      } finally {
        await ledger.close();
      }
    });

    it('it is registered on chain by a majority of the members, and its admin queries through its own gateway settings', async () => {
      // consortium.sh: proposed by the grid's admin, approved by the trading center's: 2 of the 3 active members.
      expect(added).toMatch(/TradingCenter2MSP \(TRADING_CENTER\) proposed by GridMSP/);
      expect(added).toMatch(/TradingCenter2MSP approved by TradingCenterMSP/);
      expect(added).toMatch(/TradingCenter2MSP is an ACTIVE member of the consortium on chain/);
      const ledger = await createLedger(ledgerConfigFromEnv(envFile(`gateway-${NEW_MSP}.env`)));
      try {
        const consortium = JSON.parse(
          Buffer.from(
            await ledger.evaluate({ identity: newAdmin, transaction: 'consortium:GetConsortium', args: [] }),
          ).toString('utf8'),
        ) as {
          initialised: boolean;
          organisations: { mspId: string; role: string; status: string; approvals: string[] }[];
        };
        expect(consortium.initialised).toBe(true);
        expect(consortium.organisations.map((o) => [o.mspId, o.role, o.status]).sort()).toEqual([
          ['GridMSP', 'PLATFORM_OPERATOR', 'ACTIVE'],
          ['RegulatorMSP', 'REGULATOR', 'ACTIVE'],
          [NEW_MSP, 'TRADING_CENTER', 'ACTIVE'],
          ['TradingCenterMSP', 'TRADING_CENTER', 'ACTIVE'],
        ]);
        expect(consortium.organisations.find((o) => o.mspId === NEW_MSP)?.approvals.sort()).toEqual([
          'GridMSP',
          'TradingCenterMSP',
        ]);
      } finally {
        await ledger.close();
      }
    });

    // The trade scenarios again, with the new member as the trading center: it registers its own trade-signing
    // key and its consumers, the platform attests the trades it signed, and what its participants hold carries
    // a key-level policy naming it (endorsed by the grid and its own peer).
    describe('it attests its own trades end to end', () => {
      let ledger: LedgerPort;
      const tc2: ScenarioIds = {
        ...ids,
        tradingAdmin: newAdmin,
        tradingClient: { mspId: NEW_MSP, name: 'trading' },
      };
      beforeAll(async () => {
        ledger = await createLedger(ledgerConfigFromEnv({ ...gatewayEnv(), LEDGER: 'fabric-gateway' }));
      });
      afterAll(async () => ledger?.close());
      for (const scenario of tradeScenarios) {
        it(scenario.name, () => scenario.run(ledger, tc2));
      }
      // What the first trading center's participants hold carries its key-level policy: the grid and the new
      // trading center together satisfy the chaincode policy, not that.
      for (const scenario of holderPolicyScenarios(NEW_MSP)) {
        it(scenario.name, () => scenario.run(ledger, ids));
      }
    });

    it('addOrg.sh again changes nothing', async () => {
      const sequence = () =>
        /^sequence=(\d+)$/m.exec(readFileSync(join(REPO, 'network', 'build', 'ccaas', 'live'), 'utf8'))?.[1];
      const before = sequence();
      const again = await scriptAsync('addOrg.sh');
      expect(again).toMatch(/TradingCenter2MSP is already in the configuration of gec-channel/);
      expect(again).toMatch(/TradingCenter2MSP peer already joined gec-channel/);
      expect(again).toMatch(/already approved by TradingCenter2MSP/);
      expect(again).not.toMatch(/config update/);
      expect(sequence()).toBe(before);
    });
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
      const before = liveChaincode().port;
      const log = await scriptAsync('deployCC.sh', '-v', '1.1');
      upgrading = false;
      await traffic;
      // The new package's server on the other port (blue/green), the old one stopped after the drain.
      const after = liveChaincode().port;
      expect(after).not.toBe(before);
      expect(log).toMatch(new RegExp(`is live on port ${after}`));
      expect(log).toMatch(new RegExp(`stopping chaincode-${before}`));
      // Every member approves the upgrade, the one addOrg.sh added included.
      expect(log).toMatch(/approved by TradingCenter2MSP/);
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
    // The member added by addOrg.sh comes back too: its CA and its peer, which serves its own gateway.
    expect(await scriptAsync('status.sh')).toMatch(/ca-trading2 +running[^\n]*OK[\s\S]*all up/);
    const added = await createLedger(ledgerConfigFromEnv(envFile('gateway-TradingCenter2MSP.env')));
    try {
      expect(
        Object.keys((await metadata(added, { mspId: 'TradingCenter2MSP', name: 'admin' })).contracts),
      ).toContain('identity');
    } finally {
      await added.close();
    }
  });
});
