import { createHmac, randomUUID } from 'node:crypto';
import { canonicalBytes, sha256Hex } from './canonical';

/** The two signature algorithms the gateway verifies, for requests and for check data alike. */
export type SignatureAlg = 'hmac-sha256' | 'sm2-sm3';

/**
 * Something that signs bytes with one key: the signature of `message`, raw bytes. HMAC-SHA256 is built in
 * ({@link hmacRequestSigner}, {@link hmacCheckSigner}). For SM2 with SM3, pass your own: an HSM, a GM/T library,
 * OpenSSL; it signs the message as GB/T 32918.2 says (Z = SM3(ENTL ‖ ID ‖ curve ‖ public key), e = SM3(Z ‖ M)),
 * with the distinguishing identifier the key was registered with, and returns the signature as DER or as the raw
 * 64 bytes r ‖ s (the gateway accepts both). Node's crypto cannot sign SM2 with an imported key, and signing
 * with a hand-written, not constant-time curve implementation would put the private key at risk: so the client
 * does not sign SM2 itself.
 */
export interface Signer {
  /** For request signing: the API key's id. For check data: the check key's id (`keyId` of the check key). */
  readonly keyId: string;
  readonly alg: SignatureAlg;
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

function hmacSigner(keyId: string, key: Uint8Array): Signer {
  const bytes = Buffer.from(key);
  return {
    keyId,
    alg: 'hmac-sha256',
    sign: (message) => createHmac('sha256', bytes).update(message).digest(),
  };
}

/**
 * Request signing with an API key's HMAC secret (shown once, when the key is created or rotated): the HMAC key is
 * the UTF-8 bytes of the secret exactly as shown (`gecs_…`), not base64-decoded (docs/api.md, "Two secrets").
 */
export function hmacRequestSigner(apiKeyId: string, secret: string): Signer {
  if (secret.length === 0) throw new TypeError('hmacRequestSigner: the secret is empty');
  return hmacSigner(apiKeyId, Buffer.from(secret, 'utf8'));
}

/**
 * Check data (校验相关数据) with a trading center's HMAC check key: the key is registered as base64 of at least 32
 * random bytes, and the HMAC key is the decoded bytes, not the base64 text (docs/api.md, "Two secrets").
 */
export function hmacCheckSigner(checkKeyId: string, base64Secret: string): Signer {
  // Decoded as the gateway decodes it (Node's base64 reader, which also takes the URL-safe alphabet).
  const bytes = Buffer.from(base64Secret, 'base64');
  if (bytes.length < 32) {
    throw new TypeError(`hmacCheckSigner: the check key is ${bytes.length} bytes, at least 32 are needed`);
  }
  return hmacSigner(checkKeyId, bytes);
}

/** The check data of a trade: the signature over the RFC 8785 canonical bytes of `trade`. */
export interface CheckData {
  keyId: string;
  alg: SignatureAlg;
  signature: string;
}

export async function signTrade(trade: unknown, signer: Signer): Promise<CheckData> {
  const signature = await signer.sign(canonicalBytes(trade));
  return { keyId: signer.keyId, alg: signer.alg, signature: Buffer.from(signature).toString('base64') };
}

/**
 * The signing string of docs/api.md: `METHOD \n PATH?QUERY \n TIMESTAMP \n NONCE \n hex(SHA-256(body))`, the
 * request target exactly as sent, no trailing newline.
 */
export function signingString(
  method: string,
  target: string,
  timestamp: string,
  nonce: string,
  body: Uint8Array | string = '',
): string {
  return [method.toUpperCase(), target, timestamp, nonce, sha256Hex(body)].join('\n');
}

export interface SigningInput {
  method: string;
  /** Path and query string exactly as sent (no scheme, no host). */
  target: string;
  body?: Uint8Array | string;
  /** Defaults: now (RFC 3339, UTC) and a random UUID. */
  timestamp?: string;
  nonce?: string;
}

/** The X-Gec-Timestamp, X-Gec-Nonce and X-Gec-Signature headers of one request. */
export async function signatureHeaders(signer: Signer, input: SigningInput): Promise<Record<string, string>> {
  const timestamp = input.timestamp ?? new Date().toISOString();
  const nonce = input.nonce ?? randomUUID();
  const message = Buffer.from(
    signingString(input.method, input.target, timestamp, nonce, input.body),
    'utf8',
  );
  const sig = Buffer.from(await signer.sign(message)).toString('base64');
  return {
    'X-Gec-Timestamp': timestamp,
    'X-Gec-Nonce': nonce,
    'X-Gec-Signature': `keyId=${signer.keyId}, alg=${signer.alg}, sig=${sig}`,
  };
}
