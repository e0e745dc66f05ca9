/**
 * The peer/committer side of the MSP: knows only each organisation's root certificate (as a channel configuration
 * carries them) and checks creators and endorsers as Fabric's X.509 MSP does with NodeOUs enabled.
 *
 * Validated identities are cached by the SHA-256 of their serialized bytes (bounded, oldest evicted first), so the
 * steady-state cost of `verify` is one hash, one map look-up and one ECDSA verification with a prepared KeyObject.
 */
import { X509Certificate, createHash, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { msp } from '@hyperledger/fabric-protos';
import { nodeRoleOf, readCertificateInfo, splitPemCertificates } from './certificate';
import { decodeDerSignature, isLowS } from './ecdsa';
import type { NodeRole } from './types';

export interface VerifiedIdentity {
  mspId: string;
  role: NodeRole;
  certificatePem: string;
  /** `x509::<subject>::<issuer>` as fabric-shim's `ClientIdentity.getID()` formats it. */
  id: string;
  /** Fabric CA attributes as chaincode sees them (including `hf.*`). */
  attrs: Record<string, string>;
}

export type MspErrorReason =
  | 'MALFORMED'
  | 'UNKNOWN_MSP'
  | 'UNTRUSTED_CERTIFICATE'
  | 'CA_CERTIFICATE'
  | 'UNSUPPORTED_KEY'
  | 'NO_ROLE'
  | 'NOT_YET_VALID'
  | 'EXPIRED'
  | 'BAD_SIGNATURE'
  | 'HIGH_S';

/** Every refusal of the verifier; `reason` lets callers map it (e.g. to `BAD_CREATOR_SIGNATURE`). */
export class MspVerificationError extends Error {
  constructor(
    readonly reason: MspErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'MspVerificationError';
  }
}

export type PrincipalRole = NodeRole | 'member';

interface CachedIdentity {
  identity: VerifiedIdentity;
  publicKey: KeyObject;
  /** Validity window of the identity and its root together (ms since epoch). */
  notBefore: number;
  notAfter: number;
}

export interface MspVerifierOptions {
  /** Maximum number of cached identities (default 10,000). */
  cacheSize?: number;
}

const PRINCIPAL_ROLES: readonly PrincipalRole[] = ['member', 'client', 'peer', 'admin', 'orderer'];

export class MspVerifier {
  private readonly roots = new Map<string, X509Certificate[]>();
  private readonly cache = new Map<string, CachedIdentity>();
  private readonly cacheSize: number;

  constructor(rootCertificates: Record<string, string>, options: MspVerifierOptions = {}) {
    this.cacheSize = Math.max(1, options.cacheSize ?? 10_000);
    for (const [mspId, pem] of Object.entries(rootCertificates)) {
      const blocks = splitPemCertificates(pem);
      if (blocks.length === 0) throw new Error(`MspVerifier: no root certificate PEM for ${mspId}`);
      this.roots.set(
        mspId,
        blocks.map((block) => {
          const cert = new X509Certificate(block);
          if (!cert.ca || !cert.checkIssued(cert) || !cert.verify(cert.publicKey)) {
            throw new Error(
              `MspVerifier: the root certificate of ${mspId} is not a self-signed CA certificate`,
            );
          }
          return cert;
        }),
      );
    }
  }

  /** The MSP ids this verifier trusts. */
  mspIds(): string[] {
    return [...this.roots.keys()];
  }

  /**
   * Validates a `msp.SerializedIdentity` and returns who it is. Throws `MspVerificationError` when it is malformed,
   * of an unknown MSP, not issued by that MSP's root CA, a CA certificate, without exactly one NodeOU role, or (only
   * when `atTime` is given) not valid at `atTime`.
   */
  deserialize(serializedIdentity: Uint8Array, atTime?: Date): VerifiedIdentity {
    return this.lookup(serializedIdentity, atTime).identity;
  }

  /**
   * Verifies `signature` (DER ECDSA over SHA-256(message), low-S) by the identity. Throws `MspVerificationError` on
   * any identity problem, a malformed, high-S or wrong signature.
   */
  verify(
    serializedIdentity: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    atTime?: Date,
  ): VerifiedIdentity {
    const entry = this.checkedSignature(serializedIdentity, signature, atTime);
    if (!nodeVerify('sha256', message, { key: entry.publicKey, dsaEncoding: 'der' }, signature)) {
      throw new MspVerificationError('BAD_SIGNATURE', `signature verification failed for ${describe(entry)}`);
    }
    return entry.identity;
  }

  /**
   * As `verify`, with the ECDSA check on libuv's thread pool: a committer verifies a block's signatures in
   * parallel (as Fabric's validator does with goroutines) while the event loop keeps serving endorsements.
   */
  async verifyAsync(
    serializedIdentity: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    atTime?: Date,
  ): Promise<VerifiedIdentity> {
    const entry = this.checkedSignature(serializedIdentity, signature, atTime);
    const ok = await new Promise<boolean>((resolve, reject) =>
      nodeVerify('sha256', message, { key: entry.publicKey, dsaEncoding: 'der' }, signature, (err, valid) =>
        err ? reject(err) : resolve(valid),
      ),
    );
    if (!ok)
      throw new MspVerificationError('BAD_SIGNATURE', `signature verification failed for ${describe(entry)}`);
    return entry.identity;
  }

  /** Identity and signature-encoding checks shared by both verify forms. */
  private checkedSignature(serializedIdentity: Uint8Array, signature: Uint8Array, atTime?: Date) {
    const entry = this.lookup(serializedIdentity, atTime);
    let s: bigint;
    try {
      s = decodeDerSignature(signature).s;
    } catch (err) {
      throw new MspVerificationError(
        'BAD_SIGNATURE',
        `invalid signature by ${describe(entry)}: ${(err as Error).message}`,
      );
    }
    if (!isLowS(s)) {
      throw new MspVerificationError(
        'HIGH_S',
        `invalid signature by ${describe(entry)}: high-S signatures are refused (Fabric requires low-S)`,
      );
    }
    return entry;
  }

  /**
   * Whether the identity satisfies an MSP principal `'<mspId>.<role>'` with role `member` (any valid identity of the
   * MSP), `client`, `peer`, `admin` or `orderer` (NodeOU role). Throws on a malformed principal.
   */
  satisfiesPrincipal(identity: VerifiedIdentity, principal: string): boolean {
    const { mspId, role } = parsePrincipal(principal);
    return identity.mspId === mspId && (role === 'member' || identity.role === role);
  }

  private lookup(serialized: Uint8Array, atTime: Date | undefined): CachedIdentity {
    const key = createHash('sha256').update(serialized).digest('base64');
    let entry = this.cache.get(key);
    if (!entry) {
      entry = this.validate(serialized);
      if (this.cache.size >= this.cacheSize) {
        const oldest = this.cache.keys().next();
        if (!oldest.done) this.cache.delete(oldest.value);
      }
      this.cache.set(key, entry);
    }
    if (atTime !== undefined) {
      const t = atTime.getTime();
      if (t < entry.notBefore) {
        throw new MspVerificationError(
          'NOT_YET_VALID',
          `${describe(entry)} is not valid before ${new Date(entry.notBefore).toISOString()} (checked at ${atTime.toISOString()})`,
        );
      }
      if (t > entry.notAfter) {
        throw new MspVerificationError(
          'EXPIRED',
          `${describe(entry)} expired at ${new Date(entry.notAfter).toISOString()} (checked at ${atTime.toISOString()})`,
        );
      }
    }
    return entry;
  }

  private validate(serialized: Uint8Array): CachedIdentity {
    let mspId: string;
    let idBytes: Uint8Array;
    try {
      const sid = msp.SerializedIdentity.deserializeBinary(serialized);
      mspId = sid.getMspid();
      idBytes = sid.getIdBytes_asU8();
    } catch (err) {
      throw new MspVerificationError('MALFORMED', `malformed serialized identity: ${(err as Error).message}`);
    }
    if (!mspId) throw new MspVerificationError('MALFORMED', 'malformed serialized identity: empty mspid');
    const roots = this.roots.get(mspId);
    if (!roots) throw new MspVerificationError('UNKNOWN_MSP', `identity of unknown MSP "${mspId}"`);

    const blocks = splitPemCertificates(Buffer.from(idBytes).toString('utf8'));
    if (blocks.length !== 1) {
      throw new MspVerificationError(
        'MALFORMED',
        `malformed ${mspId} identity: id_bytes must hold exactly one PEM certificate (found ${blocks.length})`,
      );
    }
    const pem = blocks[0];
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch (err) {
      throw new MspVerificationError(
        'MALFORMED',
        `malformed ${mspId} identity certificate: ${(err as Error).message}`,
      );
    }
    const subject = cert.subject.replace(/\n/g, ', ');
    if (cert.ca) {
      throw new MspVerificationError(
        'CA_CERTIFICATE',
        `${mspId} identity "${subject}" is a CA certificate, which cannot be used as an identity`,
      );
    }
    const issuer = roots.find((root) => cert.checkIssued(root) && cert.verify(root.publicKey));
    if (!issuer) {
      throw new MspVerificationError(
        'UNTRUSTED_CERTIFICATE',
        `identity "${subject}" is not issued by the root CA of ${mspId}`,
      );
    }
    const publicKey = cert.publicKey;
    if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new MspVerificationError(
        'UNSUPPORTED_KEY',
        `${mspId} identity "${subject}" does not have a P-256 key`,
      );
    }
    let info: ReturnType<typeof readCertificateInfo>;
    try {
      info = readCertificateInfo(pem);
    } catch (err) {
      throw new MspVerificationError(
        'MALFORMED',
        `${mspId} identity "${subject}": ${(err as Error).message}`,
      );
    }
    let role: NodeRole;
    try {
      role = nodeRoleOf(info);
    } catch (err) {
      throw new MspVerificationError('NO_ROLE', `${mspId} identity "${subject}": ${(err as Error).message}`);
    }
    const identity: VerifiedIdentity = Object.freeze({
      mspId,
      role,
      certificatePem: pem,
      id: info.id,
      attrs: Object.freeze({ ...info.attrs }) as Record<string, string>,
    });
    return {
      identity,
      publicKey,
      notBefore: Math.max(info.notBefore.getTime(), Date.parse(issuer.validFrom)),
      notAfter: Math.min(info.notAfter.getTime(), Date.parse(issuer.validTo)),
    };
  }
}

function describe(entry: CachedIdentity): string {
  return `${entry.identity.mspId} identity ${entry.identity.id}`;
}

function parsePrincipal(principal: string): { mspId: string; role: PrincipalRole } {
  const p = principal.trim().replace(/^'(.*)'$/, '$1');
  const dot = p.lastIndexOf('.');
  const mspId = p.slice(0, dot);
  const role = p.slice(dot + 1);
  if (dot <= 0 || !(PRINCIPAL_ROLES as readonly string[]).includes(role)) {
    throw new Error(
      `invalid MSP principal "${principal}": expected '<mspId>.<role>' with role one of ${PRINCIPAL_ROLES.join(', ')}`,
    );
  }
  return { mspId, role: role as PrincipalRole };
}
