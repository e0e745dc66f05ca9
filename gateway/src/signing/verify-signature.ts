import { createHmac, timingSafeEqual, verify } from 'node:crypto';
import { publicKeyObject, sm2PublicPointOf } from '@gec/chaincode';
import { SM2_DEFAULT_ID, sm2Verify } from './sm2';

/**
 * A key a signature is verified with: an HMAC-SHA256 key (its bytes) or an SM2 public key (SPKI PEM) with its
 * distinguishing identifier. Request signing and check data (校验相关数据) differ only in how the HMAC key's
 * bytes are obtained: the request-signing secret as UTF-8 (`requestSigningSecretBytes`), the check-key secret
 * base64-decoded (`checkKeySecretBytes`); see docs/test-vectors/README.md.
 */
export type SignatureKey =
  | { alg: 'hmac-sha256'; secret: Buffer }
  | { alg: 'sm2-sm3'; publicKeyPem: string; sm2Id?: string | null }
  | { alg: 'ecdsa-p256-sha256'; publicKeyPem: string };

/**
 * Whether `signature` (HMAC: the 32 bytes; SM2, ECDSA: DER or raw r‖s) over `message` verifies with `key`. Public
 * keys are parsed once per PEM text, as the chaincode does (`chaincode/src/lib/public-keys.ts`).
 */
export function signatureVerifies(key: SignatureKey, message: Buffer, signature: Buffer): boolean {
  if (key.alg === 'hmac-sha256') {
    const expected = createHmac('sha256', key.secret).update(message).digest();
    return expected.length === signature.length && timingSafeEqual(expected, signature);
  }
  if (key.alg === 'ecdsa-p256-sha256') {
    const dsaEncoding = signature.length === 64 ? 'ieee-p1363' : 'der';
    try {
      return verify('sha256', message, { key: publicKeyObject(key.publicKeyPem), dsaEncoding }, signature);
    } catch {
      return false; // malformed DER, or a key that does not parse
    }
  }
  const point = sm2PublicPointOf(key.publicKeyPem);
  return point !== undefined && sm2Verify(message, signature, point, key.sm2Id ?? SM2_DEFAULT_ID);
}
