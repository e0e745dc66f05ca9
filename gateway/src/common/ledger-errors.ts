import { ProblemError } from './problem';

/**
 * The one mapping from ledger failures to HTTP.
 *
 * The chaincode's rule errors reach us as `EndorseError` whose `chaincodeMessage` is `CODE: message`; a
 * transaction that was ordered but invalidated arrives as `CommitError` carrying the validation code. Errors
 * are recognised by `name` (not `instanceof`), as with `@hyperledger/fabric-gateway`'s error classes.
 */

export const CHAINCODE_ERROR_STATUS: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  CREDIT_CODE_REQUIRED: 422,
  PARTICIPANT_EXISTS: 409,
  PARTICIPANT_NOT_FOUND: 404,
  ROLE_NOT_PERMITTED: 403,
  REGULATOR_READ_ONLY: 403,
  UNKNOWN_ORGANISATION: 403,
  STATUS_UNCHANGED: 409,
  PARTICIPANT_REVOKED: 409,
  KIND_NOT_PERMITTED: 403,
  // Consortium parameters and pause: a paused consortium refuses every write, naming who paused and why. 409
  // (the request conflicts with the consortium's current state), not 503: the gateway and the ledger are up,
  // reads work, and retrying will not help until an admin resumes.
  CONSORTIUM_PAUSED: 409,
  NOT_PAUSED: 409,
  // Parties named in a request.
  PARTICIPANT_NOT_ACTIVE: 409,
  PARTY_KIND_NOT_PERMITTED: 422,
  SAME_PARTY: 422,
  // Generation units.
  UNIT_EXISTS: 409,
  UNIT_NOT_FOUND: 404,
  UNIT_NOT_ACTIVE: 409,
  UNIT_DECOMMISSIONED: 409,
  PROJECT_CODE_EXISTS: 409,
  METER_ALREADY_ASSIGNED: 409,
  OWNER_NOT_GENERATOR: 422,
  // Meter attestations.
  PERIOD_NOT_CLOSED: 422,
  ATTESTATION_EXISTS: 409,
  ATTESTATION_NOT_FOUND: 404,
  ATTESTATION_VERSION_CONFLICT: 409,
  ATTESTATION_BELOW_ISSUED: 409,
  // Issuance.
  ISSUANCE_EXISTS: 409,
  ISSUANCE_NOT_FOUND: 404,
  ISSUANCE_OUT_OF_ORDER: 409,
  // Too late: the month's certificates would be born with less validity than the consortium allows (or none).
  ISSUANCE_WINDOW_CLOSED: 422,
  METER_NOT_ATTESTED: 409,
  MONTH_BEFORE_COMMISSIONING: 422,
  SERIAL_SPACE_EXHAUSTED: 422,
  // Certificate lots: the lot's current state forbids the action.
  LOT_NOT_FOUND: 404,
  LOT_NOT_OWNED: 409,
  LOT_LISTED: 409,
  LOT_NOT_LISTED: 409,
  LOT_IN_CUSTODY: 409,
  LOT_REDEEMED: 409,
  LOT_EXCHANGED: 409,
  LOT_EXPIRED: 409,
  LOT_WITHDRAWN: 409,
  LOT_NOT_EXPIRED: 409,
  LOT_NOT_TRADABLE: 409,
  LOT_BOUND_TO_GREEN_POWER_TRADE: 409,
  // Volumes: well-formed numbers a rule refuses.
  VOLUME_EXCEEDS_LOT: 422,
  TRANSFER_BELOW_MINIMUM: 422,
  TRANSFER_ABOVE_MAXIMUM: 422,
  SERIAL_NOT_FOUND: 404,
  // Listings (绿证售卖).
  LISTING_EXISTS: 409,
  LISTING_NOT_FOUND: 404,
  LISTING_NOT_OPEN: 409,
  // Redemption (兑付/核销) and exchange (绿电兑换).
  REDEMPTION_EXISTS: 409,
  REDEMPTION_NOT_FOUND: 404,
  EXCHANGE_EXISTS: 409,
  EXCHANGE_NOT_FOUND: 404,
  // Consumption meters.
  METER_NOT_REGISTERED: 404,
  METER_NOT_OWNED: 409,
  ATTESTATION_BELOW_CLAIMED: 409,
  // The consortium's registry and the trading centers' trade-signing keys.
  CONSORTIUM_NOT_INITIALISED: 409,
  CONSORTIUM_ALREADY_INITIALISED: 409,
  ORGANISATION_EXISTS: 409,
  ORGANISATION_NOT_FOUND: 404,
  ORGANISATION_ALREADY_APPROVED: 409,
  NOT_A_TRADING_CENTER: 422,
  PARTICIPANT_NOT_MANAGED: 403,
  TRADE_SIGNING_KEY_EXISTS: 409,
  TRADE_SIGNING_KEY_NOT_FOUND: 404,
  TRADE_SIGNING_KEY_NOT_VALID: 422,
  TRADE_SIGNATURE_INVALID: 422,
  // Trade attestation.
  TRADE_ALREADY_ATTESTED: 409,
  TRADE_NOT_FOUND: 404,
  UNIT_NOT_OWNED: 409,
  LOT_NOT_FROM_SELLER_UNIT: 422,
  LOT_OUTSIDE_DELIVERY_PERIOD: 422,
  CERTIFICATES_DO_NOT_COVER_VOLUME: 422,
  GREEN_CONSUMPTION_EXCEEDS_ATTESTED: 422,
  GREEN_GENERATION_EXCEEDS_ATTESTED: 422,
  // Vouchers (custody).
  VOUCHER_EXISTS: 409,
  VOUCHER_NOT_FOUND: 404,
  VOUCHER_NOT_HELD: 409,
  VOUCHER_STATUS_NOT_PERMITTED: 409,
  VOUCHER_CLAIMED: 409,
  CLAIM_PERIOD_MISMATCH: 422,
};

/**
 * The HTTP status of a chaincode error code: the table above, else by the code's form (`*_NOT_FOUND` 404,
 * `*_EXISTS` / `*_CONFLICT` 409, `*_NOT_PERMITTED` 403), else 422: a code we do not know yet is still a rule
 * the chaincode enforced, so the request was refused, not broken.
 */
export function chaincodeErrorStatus(code: string): number {
  const status = CHAINCODE_ERROR_STATUS[code];
  if (status !== undefined) return status;
  if (code.endsWith('_NOT_FOUND')) return 404;
  if (code.endsWith('_EXISTS') || code.endsWith('_CONFLICT')) return 409;
  if (code.endsWith('_NOT_PERMITTED')) return 403;
  return 422;
}

const CODE_PREFIX = /^([A-Z][A-Z0-9_]*): ([\s\S]*)$/;

interface EndorseErrorLike {
  name: 'EndorseError';
  chaincodeMessage: string;
  txId?: string;
}

interface CommitErrorLike {
  name: 'CommitError';
  status: { txId: string; blockNumber: number; validationCode: string };
}

function isEndorseError(error: unknown): error is EndorseErrorLike {
  return error instanceof Error && error.name === 'EndorseError' && 'chaincodeMessage' in error;
}

function isCommitError(error: unknown): error is CommitErrorLike {
  return error instanceof Error && error.name === 'CommitError' && 'status' in error;
}

/**
 * Validation codes that mean a concurrent transaction of the same block got there first, so the same request
 * simulated again can commit: MVCC and phantom reads, and ENDORSEMENT_POLICY_FAILURE, which is also what Fabric
 * gives a write to a key whose key-level endorsement policy an earlier transaction of the block changed (a lot
 * that changed hands). Every endorsement comes from the gateway's own plan (Fabric's discovery or the embedded
 * ledger's peers), so the policy failure of a correctly planned transaction is that race.
 */
export const CONFLICT_CODES: ReadonlySet<string> = new Set([
  'MVCC_READ_CONFLICT',
  'PHANTOM_READ_CONFLICT',
  'ENDORSEMENT_POLICY_FAILURE',
]);

/** The validation code of a transaction committed invalid, when `error` is one. */
export function commitCode(error: unknown): string | undefined {
  return isCommitError(error) ? error.status.validationCode : undefined;
}

/** What the chaincode said, when a ledger error is a rule refusal (`CODE: message`). */
export function chaincodeRefusal(error: unknown): { code: string; message: string } | undefined {
  if (isEndorseError(error)) {
    const match = CODE_PREFIX.exec(String(error.chaincodeMessage));
    if (match) return { code: match[1], message: match[2] };
  }
  return undefined;
}

/** A ProblemError for a ledger error, or undefined when `error` is not one. */
export function ledgerProblem(error: unknown): ProblemError | undefined {
  // The port of a single-organisation gateway refused to sign as an identity it does not hold (nothing was
  // sent): organisation/organisation-ledger.ts.
  if (error instanceof Error && error.name === 'IdentityNotHeldError') {
    return new ProblemError(403, 'IDENTITY_NOT_HELD', error.message);
  }
  if (isEndorseError(error)) {
    const match = CODE_PREFIX.exec(error.chaincodeMessage);
    if (match) {
      const [, code, message] = match;
      return new ProblemError(chaincodeErrorStatus(code), code, message);
    }
    return new ProblemError(
      502,
      'LEDGER_ENDORSEMENT_FAILED',
      'the ledger refused to endorse the transaction',
    );
  }
  if (isCommitError(error)) {
    const { validationCode, txId, blockNumber } = error.status;
    if (CONFLICT_CODES.has(validationCode)) {
      return new ProblemError(
        409,
        'LEDGER_CONFLICT',
        `transaction ${txId} conflicted with a concurrent change (${validationCode} in block ${blockNumber}); ` +
          'nothing was changed, retry the request',
      );
    }
    return new ProblemError(
      502,
      'LEDGER_COMMIT_FAILED',
      `transaction ${txId} was invalidated in block ${blockNumber} (${validationCode}); nothing was changed`,
    );
  }
  return undefined;
}
