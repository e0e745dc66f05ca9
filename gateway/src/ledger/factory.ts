/**
 * Chooses the ledger behind the port from configuration: `LEDGER=embedded|fabric-gateway|fabric-network`.
 * The rest of the gateway receives a LedgerPort and never knows which one it got.
 *
 *   embedded        the real chaincode in-process (dataDir)
 *   fabric-gateway  a Fabric 2.4+ peer's Gateway service: FABRIC_PEER_ENDPOINT, FABRIC_TLS_CERT, FABRIC_WALLET
 *   fabric-network  the legacy SDK for peers without it: FABRIC_CONNECTION_PROFILE, FABRIC_WALLET
 *
 * network/scripts/up.sh writes network/build/gateway.env with every FABRIC_* value for the native network.
 */
import type { FabricCommonConfig } from './fabric/config';
import { DEFAULT_TIMEOUTS } from './fabric/config';
import type { IdentityRef, LedgerPort } from './port';

export const LEDGER_KINDS = ['embedded', 'fabric-gateway', 'fabric-network'] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

export interface LedgerConfig {
  ledger: LedgerKind;
  /** embedded: folder of the block store, state and MSP material. */
  dataDir?: string;
  /**
   * embedded: run the ledger on a thread of its own (EMBEDDED_LEDGER_THREAD, default true), so the chaincode,
   * signatures and block commits do not share the gateway's event loop; false runs it in the gateway's thread.
   */
  embeddedThread?: boolean;
  /** FABRIC_CHANNEL (default gec-channel). */
  channel?: string;
  /** FABRIC_CHAINCODE (default gec). */
  chaincode?: string;
  /** FABRIC_WALLET: `<mspId>/<name>/{cert.pem,key.pem}`. */
  walletDir?: string;
  /** FABRIC_PEER_ENDPOINT: host:port of the gateway peer. */
  peerEndpoint?: string;
  /** FABRIC_TLS_CERT: PEM file of the peer's TLS CA. */
  tlsCertPath?: string;
  /** FABRIC_PEER_HOST_ALIAS: TLS server name when it differs from the endpoint's host. */
  hostAlias?: string;
  /** FABRIC_CONNECTION_PROFILE: common connection profile JSON (fabric-network). */
  connectionProfile?: string;
  /** FABRIC_SERVICE_IDENTITY: identity for events and qscc look-ups (default GridMSP/admin). */
  serviceIdentity?: IdentityRef;
  /** FABRIC_DISCOVERY (default true) and FABRIC_AS_LOCALHOST (default false): fabric-network discovery. */
  discovery?: boolean;
  asLocalhost?: boolean;
  timeouts?: Partial<FabricCommonConfig['timeouts']>;
}

/** A setting is missing or wrong; the message names the environment variable to set. */
export class LedgerConfigError extends Error {
  override readonly name = 'LedgerConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid ledger configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

type Env = Record<string, string | undefined>;

const DEFAULT_SERVICE_IDENTITY: IdentityRef = { mspId: 'GridMSP', name: 'admin' };

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function flag(env: Env, name: string, problems: string[]): boolean | undefined {
  const value = text(env, name)?.toLowerCase();
  if (value === undefined) return undefined;
  if (['1', 'true', 'yes'].includes(value)) return true;
  if (['0', 'false', 'no'].includes(value)) return false;
  problems.push(`${name} must be true or false (got "${env[name]}")`);
  return undefined;
}

function identityRef(env: Env, name: string, problems: string[]): IdentityRef | undefined {
  const value = text(env, name);
  if (value === undefined) return undefined;
  const [mspId, id, ...rest] = value.split('/');
  if (!mspId || !id || rest.length > 0) {
    problems.push(`${name} must be MSPID/name, e.g. GridMSP/admin (got "${value}")`);
    return undefined;
  }
  return { mspId, name: id };
}

/** The ledger settings from the environment (validated by `createLedger`, or here with `validate`). */
export function ledgerConfigFromEnv(
  env: Env = process.env,
  defaults: { dataDir?: string } = {},
): LedgerConfig {
  const problems: string[] = [];
  const kind = (text(env, 'LEDGER') ?? 'embedded').toLowerCase();
  if (!(LEDGER_KINDS as readonly string[]).includes(kind)) {
    problems.push(`LEDGER must be one of ${LEDGER_KINDS.join(', ')} (got "${env.LEDGER}")`);
  }
  const config: LedgerConfig = {
    ledger: kind as LedgerKind,
    dataDir: defaults.dataDir,
    embeddedThread: flag(env, 'EMBEDDED_LEDGER_THREAD', problems),
    channel: text(env, 'FABRIC_CHANNEL'),
    chaincode: text(env, 'FABRIC_CHAINCODE'),
    walletDir: text(env, 'FABRIC_WALLET'),
    peerEndpoint: text(env, 'FABRIC_PEER_ENDPOINT'),
    tlsCertPath: text(env, 'FABRIC_TLS_CERT'),
    hostAlias: text(env, 'FABRIC_PEER_HOST_ALIAS'),
    connectionProfile: text(env, 'FABRIC_CONNECTION_PROFILE'),
    serviceIdentity: identityRef(env, 'FABRIC_SERVICE_IDENTITY', problems),
    discovery: flag(env, 'FABRIC_DISCOVERY', problems),
    asLocalhost: flag(env, 'FABRIC_AS_LOCALHOST', problems),
  };
  if (problems.length > 0) throw new LedgerConfigError(problems);
  return config;
}

/** Every problem of a configuration at once, naming the variables (empty when it is usable). */
export function validateLedgerConfig(config: LedgerConfig): string[] {
  const problems: string[] = [];
  const need = (value: string | undefined, variable: string, what: string) => {
    if (!value) problems.push(`LEDGER=${config.ledger} needs ${variable} (${what})`);
  };
  switch (config.ledger) {
    case 'embedded':
      need(config.dataDir, 'dataDir (GEC_DATA_DIR)', 'the folder of the embedded ledger');
      break;
    case 'fabric-gateway':
      need(
        config.peerEndpoint,
        'FABRIC_PEER_ENDPOINT',
        'host:port of the Fabric Gateway peer, e.g. 127.0.0.1:7051',
      );
      need(config.tlsCertPath, 'FABRIC_TLS_CERT', "PEM file of the peer's TLS CA certificate");
      need(config.walletDir, 'FABRIC_WALLET', 'folder with <mspId>/<name>/{cert.pem,key.pem}');
      if (config.peerEndpoint && !/^[^\s:/]+:\d{1,5}$/.test(config.peerEndpoint)) {
        problems.push(`FABRIC_PEER_ENDPOINT must be host:port (got "${config.peerEndpoint}")`);
      }
      break;
    case 'fabric-network':
      need(config.connectionProfile, 'FABRIC_CONNECTION_PROFILE', 'a common connection profile JSON file');
      need(config.walletDir, 'FABRIC_WALLET', 'folder with <mspId>/<name>/{cert.pem,key.pem}');
      break;
    default:
      problems.push(`LEDGER must be one of ${LEDGER_KINDS.join(', ')} (got "${String(config.ledger)}")`);
  }
  if (problems.length > 0 && config.ledger !== 'embedded') {
    problems.push('for the native network: set -a; source network/build/gateway.env; set +a');
  }
  return problems;
}

function common(config: LedgerConfig): FabricCommonConfig {
  return {
    channel: config.channel ?? 'gec-channel',
    chaincode: config.chaincode ?? 'gec',
    walletDir: config.walletDir!,
    serviceIdentity: config.serviceIdentity ?? DEFAULT_SERVICE_IDENTITY,
    timeouts: { ...DEFAULT_TIMEOUTS, ...config.timeouts },
  };
}

/** Open the configured ledger. Throws LedgerConfigError naming any missing setting before connecting. */
export async function createLedger(config: LedgerConfig): Promise<LedgerPort> {
  const problems = validateLedgerConfig(config);
  if (problems.length > 0) throw new LedgerConfigError(problems);
  switch (config.ledger) {
    case 'embedded': {
      let ledger: LedgerPort;
      if (config.embeddedThread === false) {
        const { EmbeddedLedger } = await import('./embedded/embedded-ledger');
        ledger = await EmbeddedLedger.open({ dataDir: config.dataDir! });
      } else {
        const { ThreadedEmbeddedLedger } = await import('./embedded/thread/threaded-ledger');
        ledger = await ThreadedEmbeddedLedger.open({ dataDir: config.dataDir! });
      }
      return ledger;
    }
    case 'fabric-gateway': {
      const { FabricGatewayLedger } = await import('./fabric/fabric-gateway-ledger');
      return FabricGatewayLedger.connect({
        ...common(config),
        peerEndpoint: config.peerEndpoint!,
        tlsCertPath: config.tlsCertPath!,
        hostAlias: config.hostAlias,
      });
    }
    case 'fabric-network': {
      const { FabricNetworkLedger } = await import('./fabric/fabric-network-ledger');
      return FabricNetworkLedger.connect({
        ...common(config),
        connectionProfile: config.connectionProfile!,
        discovery: config.discovery ?? true,
        asLocalhost: config.asLocalhost ?? false,
      });
    }
  }
}
