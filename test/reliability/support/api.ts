/**
 * An integration's HTTP client for the reliability stages: plain `fetch` against a gateway process (as a
 * trading center's system would call it), signing every state-changing request of the keys it created (the
 * signing secret is shown once, in the answer that creates the key).
 */
import { hmacSignatureHeaders } from '../../../gateway/src/auth/request-signing';

export interface Reply {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
  text: string;
}

export class Api {
  private readonly signers = new Map<string, { keyId: string; secret: string }>();

  constructor(public base: string) {}

  /** One request; throws only when no HTTP answer came (connection refused or reset). */
  async call(
    key: string | undefined,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const signer = key ? this.signers.get(key) : undefined;
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        ...(key ? { 'X-API-Key': key } : {}),
        ...(payload !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...(signer && method !== 'GET'
          ? hmacSignatureHeaders({ method, target: path, body: payload, ...signer })
          : {}),
        ...headers,
      },
      body: payload,
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      const parsed = text ? (JSON.parse(text) as unknown) : {};
      json = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    } catch {
      json = {};
    }
    const signing = json.signing as { keyId: string; secret: string } | null | undefined;
    if (method === 'POST' && path === '/v1/api-keys' && typeof json.key === 'string' && signing) {
      this.signers.set(json.key, { keyId: signing.keyId, secret: signing.secret });
    }
    return { status: res.status, headers: res.headers, json, text };
  }

  /** A call that must answer `status` (setup steps); anything else throws with what the gateway said. */
  async expect(
    status: number,
    what: string,
    key: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Record<string, unknown>> {
    const res = await this.call(key, method, path, body, headers);
    if (res.status !== status) {
      throw new Error(`${what}: ${method} ${path} answered ${res.status} ${res.text.slice(0, 800)}`);
    }
    return res.json;
  }
}

/** Answers after which the same request (same Idempotency-Key) is to be sent again: the gateway said so. */
export function retryable(status: number, json: Record<string, unknown>): boolean {
  return (
    status === 503 ||
    status === 429 ||
    (status === 409 && (json.code === 'IDEMPOTENCY_KEY_IN_PROGRESS' || json.code === 'LEDGER_CONFLICT'))
  );
}
