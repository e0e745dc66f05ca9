import { createHash, timingSafeEqual } from 'crypto';
import { Context } from 'fabric-contract-api';
import { GecError } from '../lib/errors';

/**
 * The unified social credit code (统一社会信用代码, GB 32100-2015) of a participant, and its salted hash.
 *
 * The code arrives in clear only in the transaction's transient map, which Fabric passes to the endorsers and
 * never writes to a block; the ledger keeps only `credentialHash`.
 */

/** The transient-map entry that carries the credit code. */
export const CREDIT_CODE_TRANSIENT_KEY = 'creditCode';

/** 18 characters: registration authority and kind, 6-digit region, 9-character organisation code, check character. */
const CREDIT_CODE_PATTERN = /^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/;

/** The credit code from the transient map: CREDIT_CODE_REQUIRED when absent, INVALID_ARGUMENT when malformed. */
export function readCreditCode(ctx: Context): string {
  const bytes = ctx.stub.getTransient().get(CREDIT_CODE_TRANSIENT_KEY);
  if (!bytes || bytes.length === 0) {
    throw new GecError(
      'CREDIT_CODE_REQUIRED',
      `the unified social credit code must be passed in the transient map under ${CREDIT_CODE_TRANSIENT_KEY}`,
    );
  }
  const code = Buffer.from(bytes).toString('utf8');
  if (!CREDIT_CODE_PATTERN.test(code)) {
    // The value itself is not echoed: error messages are returned to clients and logged.
    throw new GecError(
      'INVALID_ARGUMENT',
      `transient ${CREDIT_CODE_TRANSIENT_KEY} must be an 18-character unified social credit code (GB 32100)`,
    );
  }
  return code;
}

/**
 * The per-participant salt: hex(SHA-256('gec-credential-salt:' + txId + ':' + id)).
 *
 * Why this and not a random salt: every endorser must compute the same state, so chaincode cannot draw
 * randomness. The transaction id is the same on every endorser (it is fixed in the signed proposal) but is a
 * hash of the client's fresh nonce and identity, so nobody can know it before the registering transaction is
 * created; hashing it with the participant id gives each participant its own salt. That defeats precomputed
 * tables over the (structured, fairly small) credit-code space: an attacker with ledger access must attack
 * each participant's hash separately. The salt is public on the ledger, so this is not a secret pepper.
 */
export function credentialSalt(txId: string, participantId: string): string {
  return sha256Hex(`gec-credential-salt:${txId}:${participantId}`);
}

/** hex(SHA-256(salt + ':' + creditCode)). */
export function credentialHash(salt: string, creditCode: string): string {
  return sha256Hex(`${salt}:${creditCode}`);
}

/** Whether `creditCode` is the one behind `expectedHash` (compared in constant time). */
export function matchesCredential(salt: string, expectedHash: string, creditCode: string): boolean {
  const actual = Buffer.from(credentialHash(salt, creditCode), 'hex');
  const expected = Buffer.from(expectedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
