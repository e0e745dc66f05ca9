/**
 * Request signing for tests, as an integration does it (docs/api.md, "request signing").
 *
 * `signingAgent(request(server))` is the harness's `http`: it remembers the request-signing secret of every
 * key it sees created (POST /v1/api-keys answers `key` and `signing.secret`; POST /v1/api-keys/{id}/signing-key
 * answers a new `secret`), and signs every state-changing request sent with such a key just before it goes
 * out — from the exact method, request target, and body bytes superagent is about to send. So every
 * integration write of the suite passes through the gateway's real verification. A request that already
 * carries X-Gec-Signature is sent as it is (tests that craft their own signatures).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ClientRequest } from 'node:http';
import superagent from 'superagent';
import type request from 'supertest';
import { hmacSignatureHeaders, signingString } from '../../src/auth/request-signing';
import { sm2Sign } from '../../src/signing/sm2';

interface KnownKey {
  keyId: string;
  secret: string;
}

/** API key (the secret sent as X-API-Key) → its id and HMAC signing secret. */
const keys = new Map<string, KnownKey>();
/** API key id → API key. */
const byId = new Map<string, string>();

/** Remember a key's signing secret (for tests that create keys another way). */
export function rememberSigningSecret(apiKey: string, keyId: string, secret: string): void {
  keys.set(apiKey, { keyId, secret });
  byId.set(keyId, apiKey);
}

/** Forget a key's secret: requests with it are then sent unsigned. */
export function forgetSigningSecret(apiKey: string): void {
  keys.delete(apiKey);
}

function remember(body: unknown): void {
  if (typeof body !== 'object' || body === null) return;
  const b = body as { id?: unknown; key?: unknown; signing?: { secret?: unknown } | null };
  if (typeof b.key === 'string' && typeof b.id === 'string' && typeof b.signing?.secret === 'string') {
    rememberSigningSecret(b.key, b.id, b.signing.secret);
  }
  const rotated = body as { keyId?: unknown; alg?: unknown; secret?: unknown };
  if (
    typeof rotated.keyId === 'string' &&
    rotated.alg === 'hmac-sha256' &&
    typeof rotated.secret === 'string'
  ) {
    const apiKey = byId.get(rotated.keyId);
    if (apiKey) rememberSigningSecret(apiKey, rotated.keyId, rotated.secret);
  }
}

export const sha256Hex = (body: Buffer | string = '') => createHash('sha256').update(body).digest('hex');

export interface SignOptions {
  method: string;
  /** The request target: path and query string, exactly as sent. */
  target: string;
  body?: Buffer | string;
  keyId: string;
  timestamp?: string;
  nonce?: string;
}

/** The three signing headers, HMAC-SHA256 with `secret` (the UTF-8 bytes of the string). */
export function hmacHeaders(options: SignOptions & { secret: string }): Record<string, string> {
  return hmacSignatureHeaders(options);
}

/** The three signing headers, SM2/SM3 with private scalar `d`. */
export function sm2Headers(options: SignOptions & { d: bigint; sm2Id?: string }): Record<string, string> {
  const timestamp = options.timestamp ?? new Date().toISOString();
  const nonce = options.nonce ?? randomUUID();
  const message = signingString(options.method, options.target, timestamp, nonce, sha256Hex(options.body));
  const sig = sm2Sign(Buffer.from(message, 'utf8'), options.d, options.sm2Id).toString('base64');
  return {
    'X-Gec-Timestamp': timestamp,
    'X-Gec-Nonce': nonce,
    'X-Gec-Signature': `keyId=${options.keyId}, alg=sm2-sm3, sig=${sig}`,
  };
}

/** Signing headers for a request with `apiKey` when its secret is known (else none): for `fetch` callers. */
export function signatureHeaders(
  apiKey: string,
  method: string,
  target: string,
  body?: Buffer | string,
): Record<string, string> {
  const known = keys.get(apiKey);
  if (!known || !['POST', 'PUT', 'PATCH', 'DELETE'].includes(method.toUpperCase())) return {};
  return hmacHeaders({ method, target, body, keyId: known.keyId, secret: known.secret });
}

/** What superagent's node client does to `_data` before sending it (lib/node/index.js, `_end`). */
function serialized(test: InternalRequest, req: ClientRequest): Buffer | string | undefined {
  const data = test._data;
  if (data === undefined || data === null) return undefined;
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data;
  let contentType = req.getHeader('Content-Type');
  if (typeof contentType === 'string') contentType = contentType.split(';')[0];
  const table = superagent.serialize as Record<string, (value: unknown) => string>;
  let serialize =
    test._serializer ??
    (typeof contentType === 'string' && Object.hasOwn(table, contentType) ? table[contentType] : undefined);
  if (!serialize && typeof contentType === 'string' && /[/+]json($|[^-\w])/i.test(contentType)) {
    serialize = table['application/json'];
  }
  return serialize ? serialize(data) : undefined;
}

interface InternalRequest {
  method: string;
  req?: ClientRequest;
  _data?: unknown;
  _serializer?: (value: unknown) => string;
  _end(): void;
  on(event: 'response', listener: (res: { body: unknown }) => void): unknown;
}

function signBeforeSending(test: InternalRequest): void {
  const end = test._end.bind(test);
  test._end = () => {
    const req = test.req;
    if (req && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(test.method.toUpperCase())) {
      const apiKey = req.getHeader('X-API-Key');
      const known = typeof apiKey === 'string' ? keys.get(apiKey) : undefined;
      if (known && req.getHeader('X-Gec-Signature') === undefined) {
        const body = serialized(test, req);
        // Send exactly the bytes that were hashed.
        if (body !== undefined) test._data = body;
        const headers = hmacHeaders({
          method: test.method,
          target: req.path,
          body,
          keyId: known.keyId,
          secret: known.secret,
        });
        for (const [name, value] of Object.entries(headers)) req.setHeader(name, value);
      }
    }
    end();
  };
  test.on('response', (res) => remember(res.body));
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'del', 'head', 'options']);

/** A supertest agent that signs as an integration does (see above). */
export function signingAgent<T extends ReturnType<typeof request>>(agent: T): T {
  return new Proxy(agent, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof property !== 'string' || !METHODS.has(property) || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const test = (value as (...a: unknown[]) => unknown).apply(target, args);
        signBeforeSending(test as InternalRequest);
        return test;
      };
    },
  });
}
