import { CREDENTIAL_CACHE_MS, ShortCache } from '../common/short-cache';
import { Coalescer } from '../common/coalescer';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit, SetMetadata } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { HttpRequest } from '../common/http';
import { ProblemError } from '../common/problem';
import { APP_CONFIG, AppConfig } from '../config/config';
import { SecretBox } from '../signing/secret-box';
import { SM2_DEFAULT_ID, sm2PublicPoint } from '../signing/sm2';
import { signatureVerifies } from '../signing/verify-signature';
import type { Principal } from './roles';

/**
 * Request signing of integrations (docs/api.md, "request signing").
 *
 * A state-changing request (POST, PUT, PATCH, DELETE) of an API key whose `requireSignature` is true carries
 *
 *     X-Gec-Timestamp: 2026-11-21T16:00:00+08:00          (RFC 3339)
 *     X-Gec-Nonce:     8–128 of A-Z a-z 0-9 . _ ~ + / = -  (unique per key within the window)
 *     X-Gec-Signature: keyId=<API key id>, alg=hmac-sha256|sm2-sm3, sig=<base64>
 *
 * `sig` signs the UTF-8 bytes of `METHOD \n PATH?QUERY \n TIMESTAMP \n NONCE \n hex(SHA-256(body))`: the method
 * in capitals, the request target exactly as sent (path and query string, no scheme or host), the two header
 * values as sent, the lowercase hex SHA-256 of the exact body bytes (of the empty string when there is no body),
 * joined by single `\n`, no trailing newline. hmac-sha256: HMAC-SHA256 keyed with the UTF-8 bytes of the secret
 * returned at key creation; sm2-sm3: SM2 signature (DER or raw r‖s) with SM3 and the registered distinguishing
 * identifier, verified with the registered public key.
 *
 * Refusals (401 problem+json): SIGNATURE_MISSING (a header is absent), SIGNATURE_INVALID (malformed header or
 * timestamp or nonce, keyId not the caller's key, alg not registered for the key, signature does not verify),
 * SIGNATURE_EXPIRED (timestamp more than 5 minutes from the gateway's clock), SIGNATURE_REPLAYED (nonce already
 * used by the key within the window). The signature is verified before time and nonce, so only authentic
 * requests consume nonces. Nonces live in PostgreSQL (`api_key_nonces`, unique per key) so every gateway
 * instance on the database shares the replay protection; expired ones are pruned every minute.
 *
 * Keys without `requireSignature` may still sign: a request that carries X-Gec-Signature is always verified.
 *
 * Streamed bodies (bulk ingestion, routes marked `@SignedStream()`): the body is not in memory when the guard
 * runs, so the guard checks the headers, the keyId, the algorithm and the time window at once and the handler
 * reads the body through `signedBody(req)`, which hashes it while it streams and, when it has ended, verifies
 * the signature and records the nonce — before the handler commits anything (ingestion stages lines in a
 * session-local table and writes nothing real until the whole body has been read). The client signs exactly
 * as for any request: no extra header.
 */

export const REQUEST_SIGNING_ALGORITHMS = ['hmac-sha256', 'sm2-sm3'] as const;
export type RequestSigningAlgorithm = (typeof REQUEST_SIGNING_ALGORITHMS)[number];

export const SIGNATURE_HEADER = 'x-gec-signature';
export const TIMESTAMP_HEADER = 'x-gec-timestamp';
export const NONCE_HEADER = 'x-gec-nonce';

/** ± this much between X-Gec-Timestamp and the gateway's clock. */
export const SIGNATURE_WINDOW_MS = 5 * 60_000;
/** Nonces are kept this much longer than strictly needed: clocks of gateway instances differ a little. */
const NONCE_MARGIN_MS = 60_000;
const NONCE_PRUNE_INTERVAL_MS = 60_000;

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const NONCE_PATTERN = /^[A-Za-z0-9._~+/=-]{8,128}$/;
const TIMESTAMP_PATTERN = /^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/_-]+={0,2}$/;
const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** The string a request signature signs. */
export function signingString(
  method: string,
  pathAndQuery: string,
  timestamp: string,
  nonce: string,
  bodySha256Hex: string,
): string {
  return [method.toUpperCase(), pathAndQuery, timestamp, nonce, bodySha256Hex].join('\n');
}

/** The HMAC-SHA256 key of a request-signing secret: the UTF-8 bytes of the secret as shown (not decoded). */
export function requestSigningSecretBytes(secret: string): Buffer {
  return Buffer.from(secret, 'utf8');
}

/**
 * The client side, for tools and tests that play an integration: the three headers of a request signed with
 * HMAC-SHA256 (`secret` as returned at key creation; `target` the path and query exactly as sent).
 */
export function hmacSignatureHeaders(options: {
  method: string;
  target: string;
  body?: Buffer | string;
  keyId: string;
  secret: string;
  timestamp?: string;
  nonce?: string;
}): Record<string, string> {
  const timestamp = options.timestamp ?? new Date().toISOString();
  const nonce = options.nonce ?? randomUUID();
  const bodyHash = createHash('sha256')
    .update(options.body ?? '')
    .digest('hex');
  const message = signingString(options.method, options.target, timestamp, nonce, bodyHash);
  const sig = createHmac('sha256', requestSigningSecretBytes(options.secret))
    .update(message, 'utf8')
    .digest('base64');
  return {
    'X-Gec-Timestamp': timestamp,
    'X-Gec-Nonce': nonce,
    'X-Gec-Signature': `keyId=${options.keyId}, alg=hmac-sha256, sig=${sig}`,
  };
}

export interface SignatureHeader {
  keyId: string;
  alg: string;
  sig: string;
}

/** `keyId=…, alg=…, sig=…` (any order, values optionally in double quotes), or undefined when malformed. */
export function parseSignatureHeader(header: string): SignatureHeader | undefined {
  const fields = new Map<string, string>();
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) return undefined;
    const name = part.slice(0, at).trim();
    let value = part.slice(at + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!['keyId', 'alg', 'sig'].includes(name) || fields.has(name) || value === '') return undefined;
    fields.set(name, value);
  }
  const keyId = fields.get('keyId');
  const alg = fields.get('alg');
  const sig = fields.get('sig');
  if (!keyId || !alg || !sig) return undefined;
  return { keyId, alg, sig };
}

/** Epoch milliseconds of an RFC 3339 timestamp with an offset, or undefined. */
export function parseRfc3339(text: string): number | undefined {
  const match = TIMESTAMP_PATTERN.exec(text);
  if (!match) return undefined;
  const fraction = match[2] ? match[2].slice(0, 4).padEnd(4, '0') : '';
  const ms = Date.parse(`${match[1]}${fraction}${match[3].toUpperCase()}`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Routes whose body the handler streams (not parsed by a body parser): verified by `signedBody(req)`. */
export const SIGNED_STREAM_KEY = 'gec:signed-stream';
export const SignedStream = () => SetMetadata(SIGNED_STREAM_KEY, true);

const PENDING = Symbol('gec:pending-signature');
type PendingVerification = (bodySha256Hex: string) => Promise<void>;
interface PendingHolder {
  [PENDING]?: PendingVerification;
}

/**
 * The body of a `@SignedStream()` route: the request itself when no signature is to be verified, otherwise
 * the same chunks, hashed as they pass, with the signature verified (and the nonce recorded) once the body
 * has ended; a bad signature throws from the iteration (401) before the consumer sees the end of the body.
 */
export function signedBody(req: HttpRequest): AsyncIterable<Buffer | string> {
  const pending = (req as HttpRequest & PendingHolder)[PENDING];
  if (!pending) return req as AsyncIterable<Buffer | string>;
  return (async function* () {
    const hash = createHash('sha256');
    for await (const chunk of req as AsyncIterable<Buffer | string>) {
      hash.update(chunk);
      yield chunk;
    }
    await pending(hash.digest('hex'));
  })();
}

function missing(header: string): ProblemError {
  return new ProblemError(
    401,
    'SIGNATURE_MISSING',
    `this API key must sign state-changing requests: ${header} is missing ` +
      '(X-Gec-Timestamp, X-Gec-Nonce and X-Gec-Signature are required)',
  );
}

function invalid(detail: string): ProblemError {
  return new ProblemError(401, 'SIGNATURE_INVALID', detail);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

interface SigningKeyRow {
  api_key_id: string;
  alg: RequestSigningAlgorithm;
  secret_encrypted: string | null;
  public_key_pem: string | null;
  sm2_id: string | null;
  created_at: Date;
}

export interface SigningKeyInfo {
  keyId: string;
  alg: RequestSigningAlgorithm;
  createdAt: string;
}

/** Signing keys of API keys, and the verification of signed requests. */
@Injectable()
export class RequestSigningService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('RequestSigning');
  private readonly box: SecretBox;
  /** Signing keys by `apiKeyId alg`, read at most once a second (dropped here when replaced). */
  private readonly keys = new ShortCache<SigningKeyRow | undefined>(CREDENTIAL_CACHE_MS);
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.box = SecretBox.open(config.dataDir);
  }

  onModuleInit(): void {
    this.pruneTimer = setInterval(() => {
      this.pruneNonces().catch((error: unknown) =>
        this.logger.warn(`pruning expired nonces failed: ${(error as Error).message}`),
      );
    }, NONCE_PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
  }

  onModuleDestroy(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
  }

  /** Delete the nonces no request could be accepted with any more; how many. */
  async pruneNonces(): Promise<number> {
    const result = (await this.dataSource.query(`DELETE FROM api_key_nonces WHERE expires_at < now()`)) as [
      unknown,
      number,
    ];
    return result[1];
  }

  /** A new HMAC-SHA256 secret for the key (replacing any), stored encrypted; the secret, to show once. */
  async createHmacSecret(
    manager: EntityManager,
    apiKeyId: string,
    createdBy: string | null,
  ): Promise<{ secret: string; createdAt: Date }> {
    const secret = `gecs_${randomBytes(32).toString('base64url')}`;
    const rows = (await manager.query(
      `INSERT INTO api_key_signing_keys (api_key_id, alg, secret_encrypted, created_by)
       VALUES ($1, 'hmac-sha256', $2, $3)
       ON CONFLICT (api_key_id, alg) DO UPDATE
         SET secret_encrypted = EXCLUDED.secret_encrypted, created_at = now(), created_by = EXCLUDED.created_by
       RETURNING created_at`,
      [apiKeyId, this.box.seal(requestSigningSecretBytes(secret)), createdBy],
    )) as Array<{ created_at: Date }>;
    this.keys.delete(`${apiKeyId} hmac-sha256`);
    return { secret, createdAt: new Date(rows[0].created_at) };
  }

  /** Register (or replace) the SM2 public key of the key. */
  async registerSm2(
    apiKeyId: string,
    publicKeyPem: string,
    sm2Id: string | undefined,
    createdBy: string,
  ): Promise<Date> {
    if (!sm2PublicPoint(publicKeyPem)) {
      throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: publicKeyPem', {
        errors: [
          {
            field: 'publicKeyPem',
            message: 'publicKeyPem must be an SM2 public key (SubjectPublicKeyInfo PEM)',
          },
        ],
      });
    }
    const rows = (await this.dataSource.query(
      `INSERT INTO api_key_signing_keys (api_key_id, alg, public_key_pem, sm2_id, created_by)
       VALUES ($1, 'sm2-sm3', $2, $3, $4)
       ON CONFLICT (api_key_id, alg) DO UPDATE
         SET public_key_pem = EXCLUDED.public_key_pem, sm2_id = EXCLUDED.sm2_id, created_at = now(),
             created_by = EXCLUDED.created_by
       RETURNING created_at`,
      [apiKeyId, publicKeyPem.trim(), sm2Id ?? SM2_DEFAULT_ID, createdBy],
    )) as Array<{ created_at: Date }>;
    this.keys.delete(`${apiKeyId} sm2-sm3`);
    return new Date(rows[0].created_at);
  }

  /** The registered algorithms of each key. */
  async algorithmsOf(apiKeyIds: string[]): Promise<Map<string, RequestSigningAlgorithm[]>> {
    const result = new Map<string, RequestSigningAlgorithm[]>();
    if (apiKeyIds.length === 0) return result;
    const rows = (await this.dataSource.query(
      `SELECT api_key_id, alg FROM api_key_signing_keys WHERE api_key_id = ANY($1::uuid[]) ORDER BY alg`,
      [apiKeyIds],
    )) as Array<{ api_key_id: string; alg: RequestSigningAlgorithm }>;
    for (const row of rows) result.set(row.api_key_id, [...(result.get(row.api_key_id) ?? []), row.alg]);
    return result;
  }

  /**
   * Verify the request's signature when one is required (or sent). For a streamed route the body part is
   * left to `signedBody(req)`. Throws a 401 ProblemError when refused.
   */
  async verify(request: HttpRequest, principal: Principal, streamed: boolean): Promise<void> {
    const method = (request.method ?? '').toUpperCase();
    if (!STATE_CHANGING.has(method)) return;
    const header = single(request.headers[SIGNATURE_HEADER]);
    if (header === undefined && !principal.requireSignature) return;
    if (header === undefined) throw missing('X-Gec-Signature');
    const timestamp = single(request.headers[TIMESTAMP_HEADER]);
    if (timestamp === undefined) throw missing('X-Gec-Timestamp');
    const nonce = single(request.headers[NONCE_HEADER]);
    if (nonce === undefined) throw missing('X-Gec-Nonce');

    const parsed = parseSignatureHeader(header);
    if (!parsed) {
      throw invalid('X-Gec-Signature must be "keyId=<API key id>, alg=hmac-sha256|sm2-sm3, sig=<base64>"');
    }
    if (parsed.keyId !== principal.keyId) {
      throw invalid('keyId in X-Gec-Signature is not the id of the API key sent in X-API-Key');
    }
    if (!(REQUEST_SIGNING_ALGORITHMS as readonly string[]).includes(parsed.alg)) {
      throw invalid(`alg must be one of ${REQUEST_SIGNING_ALGORITHMS.join(', ')}`);
    }
    if (!BASE64_PATTERN.test(parsed.sig)) throw invalid('sig must be base64');
    const signature = Buffer.from(parsed.sig, 'base64');
    const at = parseRfc3339(timestamp);
    if (at === undefined) throw invalid('X-Gec-Timestamp must be an RFC 3339 timestamp with an offset');
    if (!NONCE_PATTERN.test(nonce)) throw invalid('X-Gec-Nonce must be 8-128 of A-Z a-z 0-9 . _ ~ + / = -');
    const key = await this.keys.get(`${principal.keyId} ${parsed.alg}`, async () => {
      const rows = (await this.dataSource.query(
        `SELECT * FROM api_key_signing_keys WHERE api_key_id = $1 AND alg = $2`,
        [principal.keyId, parsed.alg],
      )) as SigningKeyRow[];
      return rows[0];
    });
    if (!key) throw invalid(`no ${parsed.alg} signing key is registered for this API key`);

    const target = request.originalUrl ?? request.url ?? '';
    const finish = async (bodySha256Hex: string, checkTime: boolean): Promise<void> => {
      const message = Buffer.from(signingString(method, target, timestamp, nonce, bodySha256Hex), 'utf8');
      if (!this.signatureMatches(key, message, signature)) {
        throw invalid(
          'the signature does not verify over METHOD, PATH?QUERY, X-Gec-Timestamp, X-Gec-Nonce and the ' +
            'SHA-256 of the body',
        );
      }
      if (checkTime) this.checkWindow(at);
      await this.recordNonce(principal.keyId, nonce, at);
    };
    if (streamed) {
      // The body is still to come: refuse a stale request now (a long upload must not expire half-way),
      // verify the signature and record the nonce when the body has been read.
      this.checkWindow(at);
      (request as HttpRequest & PendingHolder)[PENDING] = (hex) => finish(hex, false);
      return;
    }
    const raw = (request as HttpRequest & { rawBody?: Buffer }).rawBody;
    await finish(raw && raw.length > 0 ? createHash('sha256').update(raw).digest('hex') : EMPTY_SHA256, true);
  }

  private checkWindow(at: number): void {
    const skew = Date.now() - at;
    if (Math.abs(skew) > SIGNATURE_WINDOW_MS) {
      throw new ProblemError(
        401,
        'SIGNATURE_EXPIRED',
        `X-Gec-Timestamp is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? 'in the past' : 'in the future'}; ` +
          `at most ${SIGNATURE_WINDOW_MS / 1000} s are accepted`,
      );
    }
  }

  private signatureMatches(key: SigningKeyRow, message: Buffer, signature: Buffer): boolean {
    try {
      if (key.alg === 'hmac-sha256') {
        return signatureVerifies(
          { alg: 'hmac-sha256', secret: this.box.open(key.secret_encrypted!) },
          message,
          signature,
        );
      }
      return signatureVerifies(
        { alg: 'sm2-sm3', publicKeyPem: key.public_key_pem!, sm2Id: key.sm2_id },
        message,
        signature,
      );
    } catch (error) {
      this.logger.warn(
        `signature of key ${key.api_key_id} could not be verified: ${(error as Error).message}`,
      );
      return false;
    }
  }

  /** Nonce recordings, numbered: two calls with one nonce are two items (the second is a replay). */
  private nonceCalls = 0;
  private readonly nonces = new Coalescer<NonceUse, boolean>(
    (uses) => this.recordNonces(uses),
    (use) => String(use.call),
    false,
  );

  /**
   * Record nonces of several requests in one statement; true for each call whose nonce was recorded. Of calls
   * with the same key and nonce in one batch only the first can be: the others are replays.
   */
  private async recordNonces(uses: NonceUse[]): Promise<Map<string, boolean>> {
    const first = new Map<string, NonceUse>();
    for (const use of uses) {
      const key = `${use.apiKeyId}\u0000${use.nonce}`;
      if (!first.has(key)) first.set(key, use);
    }
    const unique = [...first.values()];
    const rows = (await this.dataSource.query(
      `INSERT INTO api_key_nonces (api_key_id, nonce, expires_at)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[])
       ON CONFLICT (api_key_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at, created_at = now()
         WHERE api_key_nonces.expires_at < now()
       RETURNING api_key_id, nonce`,
      [unique.map((u) => u.apiKeyId), unique.map((u) => u.nonce), unique.map((u) => u.expiresAt)],
    )) as Array<{ api_key_id: string; nonce: string }>;
    return new Map(
      rows.map((r) => [String(first.get(`${r.api_key_id}\u0000${r.nonce}`)!.call), true] as const),
    );
  }

  /** Record the nonce; SIGNATURE_REPLAYED when the key used it within the window (an expired row is reused). */
  private async recordNonce(apiKeyId: string, nonce: string, at: number): Promise<void> {
    const expiresAt = new Date(Math.max(at, Date.now()) + SIGNATURE_WINDOW_MS + NONCE_MARGIN_MS);
    const recorded = await this.nonces.call({ call: this.nonceCalls++, apiKeyId, nonce, expiresAt });
    if (!recorded) {
      throw new ProblemError(
        401,
        'SIGNATURE_REPLAYED',
        'X-Gec-Nonce was already used by this API key within the signature window; use a fresh nonce',
      );
    }
  }
}

/** One request's nonce to record. */
interface NonceUse {
  call: number;
  apiKeyId: string;
  nonce: string;
  expiresAt: Date;
}
