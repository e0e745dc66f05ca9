import { createHash, createPublicKey, verify } from 'node:crypto';
import { Context, Object as DataType, Property } from 'fabric-contract-api';
import { GecError } from '../lib/errors';
import { publicKeyObject, sm2PublicPointOf } from '../lib/public-keys';
import { SM2_DEFAULT_ID, sm2PublicPoint, sm2Verify } from '../lib/sm2';
import { compositeKey, getJson, putJson } from '../lib/state';

/**
 * A trading center's trade-signing key (its check-data key, 校验相关数据), registered on the ledger by that
 * trading center's own admin. The chaincode verifies every attested trade's signature with it, so the ledger
 * alone shows that the trading center agreed to the trade.
 *
 * Verification is deterministic: ECDSA P-256 with SHA-256 through node:crypto (verification draws no
 * randomness) and SM2 with SM3 in plain BigInt arithmetic (`lib/sm2.ts`). An `hmac-sha256` key cannot be
 * verified on chain (its secret would have to be public): registering one records the trading center's consent
 * that the platform's gateway verifies it, and trades signed with it are marked as verified by the gateway only.
 */

export const TRADE_SIGNING_ALGORITHMS = ['ecdsa-p256-sha256', 'sm2-sm3', 'hmac-sha256'] as const;
export type TradeSigningAlgorithm = (typeof TRADE_SIGNING_ALGORITHMS)[number];

/** ACTIVE, or ended: RETIRED (rotated out) or REVOKED (compromised or withdrawn). */
export const TRADE_SIGNING_KEY_STATUSES = ['ACTIVE', 'RETIRED', 'REVOKED'] as const;
export type TradeSigningKeyStatus = (typeof TRADE_SIGNING_KEY_STATUSES)[number];

/** Who checked a trade's signature: the chaincode on every endorsing peer, or only the platform's gateway. */
export type SignatureVerifier = 'CHAINCODE' | 'GATEWAY';

/** Key `gec.tradekey\0<mspId>\0<keyId>\0`. */
export const TRADE_SIGNING_KEY_OBJECT = 'gec.tradekey';

@DataType()
export class TradeSigningKey {
  /** The trading center organisation that signs with it. */
  @Property()
  mspId!: string;

  @Property()
  keyId!: string;

  @Property()
  alg!: TradeSigningAlgorithm;

  /** SubjectPublicKeyInfo PEM ('' for hmac-sha256). */
  @Property()
  publicKeyPem!: string;

  /** hex SHA-256 of the public key's DER ('' for hmac-sha256): what a regulator compares out of band. */
  @Property()
  publicKeyDigest!: string;

  /** SM2 distinguishing identifier ('' unless sm2-sm3). */
  @Property()
  sm2Id!: string;

  @Property()
  verifiedBy!: SignatureVerifier;

  @Property()
  status!: TradeSigningKeyStatus;

  /** Trades attested at or after this instant may use it. */
  @Property()
  validFrom!: string;

  /** Trades attested at or after this instant may not ('' while ACTIVE). */
  @Property()
  validUntil!: string;

  /** The key that replaced it in a rotation (''). */
  @Property()
  replacedBy!: string;

  @Property()
  registeredBy!: string;

  @Property()
  registeredTxId!: string;

  @Property()
  endedBy!: string;

  @Property()
  endedTxId!: string;

  @Property()
  endReason!: string;
}

export function tradeSigningKeyKey(ctx: Context, mspId: string, keyId: string): string {
  return compositeKey(ctx, TRADE_SIGNING_KEY_OBJECT, [mspId, keyId]);
}

export async function findTradeSigningKey(
  ctx: Context,
  mspId: string,
  keyId: string,
): Promise<TradeSigningKey | undefined> {
  const stored = await getJson(ctx, tradeSigningKeyKey(ctx, mspId, keyId));
  return stored === undefined ? undefined : Object.assign(new TradeSigningKey(), stored);
}

export async function readTradeSigningKey(
  ctx: Context,
  mspId: string,
  keyId: string,
): Promise<TradeSigningKey> {
  const key = await findTradeSigningKey(ctx, mspId, keyId);
  if (key === undefined) {
    throw new GecError(
      'TRADE_SIGNING_KEY_NOT_FOUND',
      `trading center ${mspId} has no trade-signing key ${keyId}`,
    );
  }
  return key;
}

export async function writeTradeSigningKey(ctx: Context, key: TradeSigningKey): Promise<void> {
  await putJson(ctx, tradeSigningKeyKey(ctx, key.mspId, key.keyId), key);
}

/**
 * A public key's PEM as stored, and the digest of its DER; INVALID_ARGUMENT when it is not a key of `alg`.
 */
export function parsePublicKey(alg: TradeSigningAlgorithm, pem: string): { pem: string; digest: string } {
  let der: Buffer;
  try {
    const key = createPublicKey(pem);
    if (alg === 'ecdsa-p256-sha256') {
      const details = key.asymmetricKeyDetails;
      if (key.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1')
        throw new Error('not P-256');
    }
    der = key.export({ type: 'spki', format: 'der' });
  } catch {
    throw new GecError(
      'INVALID_ARGUMENT',
      `publicKeyPem must be a ${describeAlg(alg)} public key (SubjectPublicKeyInfo PEM)`,
    );
  }
  if (alg === 'sm2-sm3' && sm2PublicPoint(pem) === undefined) {
    throw new GecError(
      'INVALID_ARGUMENT',
      'publicKeyPem must be an SM2 public key (SubjectPublicKeyInfo PEM)',
    );
  }
  // Line endings normalised so that every peer stores the same bytes whatever the client sent.
  const normalised = `${pem.trim().replace(/\r\n?/g, '\n')}\n`;
  return { pem: normalised, digest: createHash('sha256').update(der).digest('hex') };
}

function describeAlg(alg: TradeSigningAlgorithm): string {
  return alg === 'ecdsa-p256-sha256' ? 'ECDSA P-256' : 'SM2';
}

/**
 * Whether `signature` (DER, or raw r‖s of 64 bytes) over `message` verifies with `key`: one verification, with
 * the key's PEM (as read from the ledger) parsed once per process (`lib/public-keys.ts`). hmac-sha256 keys are
 * never verified here (see above): callers record those as verified by the gateway.
 */
export function tradeSignatureVerifies(key: TradeSigningKey, message: Buffer, signature: Buffer): boolean {
  if (key.alg === 'sm2-sm3') {
    const point = sm2PublicPointOf(key.publicKeyPem);
    return point !== undefined && sm2Verify(message, signature, point, key.sm2Id || SM2_DEFAULT_ID);
  }
  if (key.alg === 'ecdsa-p256-sha256') {
    const dsaEncoding = signature.length === 64 ? 'ieee-p1363' : 'der';
    try {
      return verify('sha256', message, { key: publicKeyObject(key.publicKeyPem), dsaEncoding }, signature);
    } catch {
      return false; // a malformed DER signature, or a stored key that does not parse
    }
  }
  return false;
}
