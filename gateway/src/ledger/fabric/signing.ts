/**
 * Signatures of the Fabric adapters' clients by OpenSSL (node:crypto). Both SDKs sign in JavaScript otherwise:
 * fabric-common with elliptic on bn.js, the Fabric Gateway client with noble-curves.
 */
import { sign, type KeyObject } from 'node:crypto';
import { p1363ToLowSDer } from '../embedded/msp/ecdsa';

/** Whether a private key is an ECDSA P-256 key (what `signP256` signs with). */
export function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

/** An ECDSA P-256 signature of `message` (SHA-256), DER with a low S, as Fabric's BCCSP wants it. */
export function signP256(message: Uint8Array, key: KeyObject): Buffer {
  return p1363ToLowSDer(sign('sha256', message, { key, dsaEncoding: 'ieee-p1363' }));
}
