/**
 * The gateway's wallet: one folder per identity, `<wallet>/<mspId>/<name>/{cert.pem,key.pem}` (what
 * network/scripts/enroll.sh writes). An IdentityRef names an entry; nothing is cached across processes.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IdentityRef } from '../port';

export interface WalletIdentity {
  mspId: string;
  name: string;
  /** PEM certificate bytes. */
  certificate: Buffer;
  privateKey: KeyObject;
}

export class WalletError extends Error {
  override readonly name = 'WalletError';
}

const SAFE_PART = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

export function walletPaths(walletDir: string, ref: IdentityRef): { cert: string; key: string } {
  if (!SAFE_PART.test(ref.mspId) || !SAFE_PART.test(ref.name)) {
    throw new WalletError(
      `invalid identity ${ref.mspId}/${ref.name}: MSP id and name must be plain folder names`,
    );
  }
  const dir = join(walletDir, ref.mspId, ref.name);
  return { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

export async function loadWalletIdentity(walletDir: string, ref: IdentityRef): Promise<WalletIdentity> {
  const paths = walletPaths(walletDir, ref);
  let certificate: Buffer;
  let keyPem: Buffer;
  try {
    [certificate, keyPem] = await Promise.all([readFile(paths.cert), readFile(paths.key)]);
  } catch (err) {
    throw new WalletError(
      `identity ${ref.mspId}/${ref.name} is not in the wallet ${walletDir} (expected ${paths.cert} and ${paths.key}): ${(err as Error).message}`,
    );
  }
  return { mspId: ref.mspId, name: ref.name, certificate, privateKey: createPrivateKey(keyPem) };
}

/** "GridMSP/admin" → IdentityRef. */
export function parseIdentityRef(value: string): IdentityRef {
  const [mspId, name, ...rest] = value.split('/');
  if (!mspId || !name || rest.length > 0)
    throw new WalletError(`"${value}" is not an identity (expected MSPID/name)`);
  return { mspId, name };
}

/** The same, synchronously (the port's `prepare()` is synchronous; each identity is read once). */
export function loadWalletIdentitySync(walletDir: string, ref: IdentityRef): WalletIdentity {
  const paths = walletPaths(walletDir, ref);
  let certificate: Buffer;
  let keyPem: Buffer;
  try {
    certificate = readFileSync(paths.cert);
    keyPem = readFileSync(paths.key);
  } catch (err) {
    throw new WalletError(
      `identity ${ref.mspId}/${ref.name} is not in the wallet ${walletDir} (expected ${paths.cert} and ${paths.key}): ${(err as Error).message}`,
    );
  }
  return { mspId: ref.mspId, name: ref.name, certificate, privateKey: createPrivateKey(keyPem) };
}
