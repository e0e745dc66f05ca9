/** Signing identities: an enrolled certificate plus its private key, signing as a Fabric client SDK does. */
import { sign as nodeSign, type KeyObject } from 'node:crypto';
import { msp } from '@hyperledger/fabric-protos';
import { p1363ToLowSDer } from './ecdsa';
import type { NodeRole } from './types';

export interface SigningIdentity {
  readonly mspId: string;
  readonly name: string;
  readonly role: NodeRole;
  readonly certificatePem: string;
  /** `msp.SerializedIdentity` protobuf bytes `{ mspid, id_bytes = PEM bytes }` (the creator of a proposal). */
  serialize(): Uint8Array;
  /** ECDSA P-256 over SHA-256(message), DER encoded, always low-S. */
  sign(message: Uint8Array): Uint8Array;
  /** As `sign`, computed on libuv's thread pool so the event loop stays free. */
  signAsync(message: Uint8Array): Promise<Uint8Array>;
}

/** `msp.SerializedIdentity` bytes for a certificate. */
export function serializeIdentity(mspId: string, certificatePem: string): Uint8Array {
  const sid = new msp.SerializedIdentity();
  sid.setMspid(mspId);
  sid.setIdBytes(Buffer.from(certificatePem, 'utf8'));
  return sid.serializeBinary();
}

export class LocalSigningIdentity implements SigningIdentity {
  private readonly serialized: Uint8Array;

  constructor(
    readonly mspId: string,
    readonly name: string,
    readonly role: NodeRole,
    readonly attrs: Readonly<Record<string, string>>,
    readonly certificatePem: string,
    private readonly privateKey: KeyObject,
  ) {
    this.serialized = serializeIdentity(mspId, certificatePem);
  }

  serialize(): Uint8Array {
    return this.serialized.slice();
  }

  sign(message: Uint8Array): Uint8Array {
    const raw = nodeSign('sha256', message, { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return new Uint8Array(p1363ToLowSDer(raw));
  }

  signAsync(message: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) =>
      nodeSign('sha256', message, { key: this.privateKey, dsaEncoding: 'ieee-p1363' }, (err, raw) =>
        err ? reject(err) : resolve(new Uint8Array(p1363ToLowSDer(raw))),
      ),
    );
  }

  toJSON(): object {
    // Never leak the key through logging.
    return { mspId: this.mspId, name: this.name, role: this.role };
  }
}
