import { CallbackPolicy } from '../common/callback-policy';
import { isIP } from 'node:net';
import * as path from 'node:path';
import {
  LEDGER_KINDS,
  LedgerConfigError,
  ledgerConfigFromEnv,
  validateLedgerConfig,
  type LedgerConfig,
  type LedgerKind,
} from '../ledger/factory';
import {
  MEMBER_MSPS,
  GATEWAY_ORGANISATIONS,
  gatewayIdentity,
  isConsortiumMsp,
  type GatewayOrganisation,
} from '../organisation/consortium';

/**
 * Gateway configuration, read once from the environment and validated at start.
 *
 * Every problem is reported at once, naming the variable, so a bad deployment fails fast with a message that
 * says what to fix.
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export { LEDGER_KINDS, type LedgerKind };

const DAY_MS = 86_400_000;

export interface AppConfig {
  /** HTTP port (PORT, default 3000; 0 picks a free port). */
  port: number;
  /** Interface to bind (HOST, default 127.0.0.1). */
  host: string;
  /** Folder for local data: the embedded ledger, the embedded PostgreSQL, the first admin key (GEC_DATA_DIR). */
  dataDir: string;
  /** External PostgreSQL; when absent an embedded PostgreSQL is started in `<dataDir>/postgres`. */
  databaseUrl?: string;
  /** Port of the embedded PostgreSQL (EMBEDDED_PG_PORT, default 5433). */
  embeddedPostgresPort: number;
  /** Connection pool size (DB_POOL_SIZE, default 10). */
  dbPoolSize: number;
  /** Which ledger the gateway talks to (LEDGER: embedded, fabric-gateway or fabric-network; FABRIC_* settings). */
  ledger: LedgerKind;
  /**
   * The consortium member whose gateway this is (GEC_ORGANISATION: GridMSP, TradingCenterMSP or RegulatorMSP): it
   * holds and uses that organisation's identities only and serves the routes that organisation signs for. `all`
   * runs the three in one process, a development consortium (the default with LEDGER=embedded); a Fabric
   * ledger needs the variable set.
   */
  organisation: GatewayOrganisation;
  /** Log level (LOG_LEVEL, default info). */
  logLevel: LogLevel;
  /** How long a write waits for its own event to be projected before answering anyway (PROJECTION_WAIT_MS). */
  projectionWaitMs: number;
  /** Limit for a JSON request body (BODY_LIMIT, default 1mb). */
  bodyLimit: string;
  /**
   * Expiry sweep period (EXPIRY_SWEEP_INTERVAL_MS): unset runs it daily at 00:10 Asia/Shanghai, 0 turns the
   * schedule off, any other value is a fixed interval.
   */
  expirySweepIntervalMs?: number;
  /** Delay of the first sweep after start (EXPIRY_SWEEP_START_DELAY_MS, default 5000). */
  expirySweepStartDelayMs: number;
  /**
   * Write requests (POST, PUT, PATCH, DELETE) per minute and API key, token bucket with a minute's burst
   * (RATE_LIMIT_PER_MINUTE, default 600; 0 = no limit). Per gateway instance.
   */
  rateLimitPerMinute: number;
  /**
   * Hosts and networks callbacks may reach although they are internal, and over plain http (CALLBACK_ALLOW,
   * comma-separated: `erp.internal,10.20.0.0/16`); empty by default: https to public addresses only.
   */
  callbackAllow: string[];
  /** The ledger connection (LEDGER, FABRIC_*), read from the same environment as the rest. */
  ledgerSettings?: LedgerConfig;
  /** Read requests per minute and API key (RATE_LIMIT_READS_PER_MINUTE, default 3000; 0 = no limit). */
  rateLimitReadsPerMinute: number;
  /**
   * Seconds between chain verifications after the one at start (CHAIN_VERIFY_INTERVAL_S, default 300; 0 = at
   * start only). Each run verifies the blocks committed since the last verified block.
   */
  chainVerifyIntervalS: number;
  /**
   * Already verified blocks each run verifies again, continuing where the last run stopped and starting over
   * at block 0 after the last verified block (CHAIN_VERIFY_SWEEP_BLOCKS, default 2000; 0 = never again).
   */
  chainVerifySweepBlocks: number;
  /**
   * The address people reach this gateway at, e.g. `https://gec.example.cn` (PUBLIC_URL): the printed voucher's
   * verification link and QR code point there. Unset: the address the request came to (scheme and Host).
   */
  publicUrl?: string;
  /**
   * Public verification pages per minute and client address, token bucket with a minute's burst
   * (PUBLIC_RATE_LIMIT_PER_MINUTE, default 60; 0 = no limit). Per gateway instance.
   */
  publicRateLimitPerMinute: number;
  /**
   * Which proxies in front of the gateway to believe about the client's address (TRUST_PROXY: a number of hops,
   * or addresses, networks and `loopback`, `linklocal`, `uniquelocal`, comma-separated; Express's `trust proxy`).
   * Unset: none, the socket's address is the client's. Behind a load balancer, set it, or every visitor of a
   * public page shares the balancer's rate limit.
   */
  trustProxy?: number | string;
}

/** The repository root: `gateway/{src,dist}/config` → three levels up. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

type Env = Record<string, string | undefined>;

function integer(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
    return fallback;
  }
  return value;
}

function oneOf<T extends string>(
  env: Env,
  name: string,
  allowed: readonly T[],
  fallback: T,
  problems: string[],
): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = raw.trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(value)) {
    problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
    return fallback;
  }
  return value as T;
}

function organisation(env: Env, ledger: LedgerKind, problems: string[]): GatewayOrganisation {
  const raw = env.GEC_ORGANISATION?.trim();
  if (!raw) {
    // The embedded ledger is a development consortium on one machine; a Fabric network is a real one, where
    // holding another member's keys lets one member act as another (issue 15): the operator must say whose
    // gateway this is.
    if (ledger !== 'embedded') {
      problems.push(
        `GEC_ORGANISATION is required with LEDGER=${ledger}: the organisation whose gateway this is ` +
          `(${MEMBER_MSPS.join(', ')}; all only for a development network)`,
      );
    }
    return 'all';
  }
  if (!(GATEWAY_ORGANISATIONS as readonly string[]).includes(raw)) {
    problems.push(`GEC_ORGANISATION must be one of ${GATEWAY_ORGANISATIONS.join(', ')} (got "${raw}")`);
    return 'all';
  }
  return raw as GatewayOrganisation;
}

function databaseUrl(env: Env, problems: string[]): string | undefined {
  const raw = env.DATABASE_URL?.trim();
  if (!raw) return undefined;
  try {
    const url = new URL(raw);
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      problems.push(
        `DATABASE_URL must be a postgres:// or postgresql:// URL (got protocol "${url.protocol}")`,
      );
    }
  } catch {
    // Never echo the value: it usually holds a password.
    problems.push('DATABASE_URL is not a valid URL (expected postgresql://user:password@host:port/database)');
  }
  return raw;
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function trustProxy(env: Env, problems: string[]): number | string | undefined {
  const raw = env.TRUST_PROXY?.trim();
  if (!raw) return undefined;
  if (/^\d+$/.test(raw)) return integer(env, 'TRUST_PROXY', 0, 0, 100, problems);
  const entries = raw.split(',').map((entry) => entry.trim());
  const bad = entries.filter((entry) => {
    if (PROXY_NAMES.has(entry)) return false;
    const [address, prefix, extra] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || extra !== undefined) return true;
    return prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
  });
  if (bad.length === 0) return entries.join(',');
  problems.push(
    `TRUST_PROXY must be a number of hops or addresses, networks, loopback, linklocal or uniquelocal (got ${bad.join(', ')})`,
  );
  return undefined;
}

function publicUrl(env: Env, problems: string[]): string | undefined {
  const raw = env.PUBLIC_URL?.trim();
  if (!raw) return undefined;
  try {
    const url = new URL(raw);
    if ((url.protocol === 'https:' || url.protocol === 'http:') && url.search === '' && url.hash === '') {
      return url.toString().replace(/\/$/, '');
    }
  } catch {
    // reported below
  }
  problems.push(
    `PUBLIC_URL must be an http(s) address without query, e.g. https://gec.example.cn (got "${raw}")`,
  );
  return undefined;
}

export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const host = env.HOST?.trim() || '127.0.0.1';
  const dataDirRaw = env.GEC_DATA_DIR?.trim();
  const bodyLimit = env.BODY_LIMIT?.trim() || '1mb';
  if (!/^\d+(b|kb|mb)$/i.test(bodyLimit))
    problems.push(`BODY_LIMIT must look like 100kb or 1mb (got "${bodyLimit}")`);
  const config: AppConfig = {
    port: integer(env, 'PORT', 3000, 0, 65535, problems),
    host,
    dataDir: path.resolve(dataDirRaw || path.join(REPO_ROOT, '.data')),
    databaseUrl: databaseUrl(env, problems),
    embeddedPostgresPort: integer(env, 'EMBEDDED_PG_PORT', 5433, 1, 65535, problems),
    dbPoolSize: integer(env, 'DB_POOL_SIZE', 10, 1, 200, problems),
    ledger: oneOf(env, 'LEDGER', LEDGER_KINDS, 'embedded', problems),
    organisation: 'all',
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info', problems),
    projectionWaitMs: integer(env, 'PROJECTION_WAIT_MS', 10000, 0, 600000, problems),
    bodyLimit,
    expirySweepIntervalMs: env.EXPIRY_SWEEP_INTERVAL_MS?.trim()
      ? integer(env, 'EXPIRY_SWEEP_INTERVAL_MS', 0, 0, 31 * DAY_MS, problems)
      : undefined,
    expirySweepStartDelayMs: integer(env, 'EXPIRY_SWEEP_START_DELAY_MS', 5000, 0, DAY_MS, problems),
    rateLimitPerMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 600, 0, 10_000_000, problems),
    rateLimitReadsPerMinute: integer(env, 'RATE_LIMIT_READS_PER_MINUTE', 3000, 0, 10_000_000, problems),
    chainVerifyIntervalS: integer(env, 'CHAIN_VERIFY_INTERVAL_S', 300, 0, 31 * 86_400, problems),
    chainVerifySweepBlocks: integer(env, 'CHAIN_VERIFY_SWEEP_BLOCKS', 2000, 0, 100_000_000, problems),
    publicUrl: publicUrl(env, problems),
    publicRateLimitPerMinute: integer(env, 'PUBLIC_RATE_LIMIT_PER_MINUTE', 60, 0, 10_000_000, problems),
    trustProxy: trustProxy(env, problems),
    callbackAllow: (env.CALLBACK_ALLOW ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== ''),
  };
  const badAllow = CallbackPolicy.invalidEntries(config.callbackAllow);
  if (badAllow.length > 0) {
    problems.push(
      `CALLBACK_ALLOW entries must be host names, addresses or networks (got ${badAllow.join(', ')})`,
    );
  }
  config.organisation = organisation(env, config.ledger, problems);
  // A Fabric ledger needs its FABRIC_* settings; report them with everything else at start. The settings are
  // kept with the config: the ledger is opened from the same environment the config was read from.
  try {
    config.ledgerSettings = ledgerConfigFromEnv(env, { dataDir: ledgerDir(config) });
    problems.push(...validateLedgerConfig(config.ledgerSettings));
    problems.push(...settleServiceIdentity(config));
  } catch (err) {
    if (err instanceof LedgerConfigError)
      problems.push(...err.problems.filter((p) => !p.startsWith('LEDGER ')));
    else throw err;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * Sets the identity Fabric events and block look-ups are read as, unless FABRIC_SERVICE_IDENTITY names one: the
 * organisation's client identity (a reader needs no admin). Returns the problems of one that is named: it must
 * be of this gateway's organisation.
 */
function settleServiceIdentity(config: AppConfig): string[] {
  const settings = config.ledgerSettings;
  if (!settings) return [];
  const named = settings.serviceIdentity;
  if (!named) {
    settings.serviceIdentity = gatewayIdentity(config.organisation);
    return [];
  }
  if (config.organisation === 'all' || named.mspId === config.organisation) return [];
  const whose = isConsortiumMsp(named.mspId) ? `an identity of ${named.mspId}` : 'not a consortium identity';
  return [
    `FABRIC_SERVICE_IDENTITY ${named.mspId}/${named.name} is ${whose}; this gateway is ${config.organisation}'s ` +
      `(GEC_ORGANISATION) and holds only ${config.organisation} identities`,
  ];
}

/** The folders under the data directory. */
export function ledgerDir(config: AppConfig): string {
  return path.join(config.dataDir, 'ledger');
}

export function postgresDir(config: AppConfig): string {
  return path.join(config.dataDir, 'postgres');
}

export function firstAdminKeyFile(config: AppConfig): string {
  return path.join(config.dataDir, 'first-admin-key.txt');
}

/** Injection token of the AppConfig. */
export const APP_CONFIG = Symbol('APP_CONFIG');
