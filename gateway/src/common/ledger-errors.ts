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
};

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

/** A ProblemError for a ledger error, or undefined when `error` is not one. */
export function ledgerProblem(error: unknown): ProblemError | undefined {
  if (isEndorseError(error)) {
    const match = CODE_PREFIX.exec(error.chaincodeMessage);
    if (match) {
      const [, code, message] = match;
      // A code we do not know yet is still a rule the chaincode enforced: the request was refused, not broken.
      return new ProblemError(CHAINCODE_ERROR_STATUS[code] ?? 422, code, message);
    }
    return new ProblemError(
      502,
      'LEDGER_ENDORSEMENT_FAILED',
      'the ledger refused to endorse the transaction',
    );
  }
  if (isCommitError(error)) {
    const { validationCode, txId, blockNumber } = error.status;
    if (validationCode === 'MVCC_READ_CONFLICT' || validationCode === 'PHANTOM_READ_CONFLICT') {
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
