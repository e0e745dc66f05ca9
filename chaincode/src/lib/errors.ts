/**
 * Errors the chaincode raises when a rule is broken.
 *
 * The message of every such error is exactly `${code}: ${message}`: Fabric passes the message (and nothing
 * else) back to the client, and the gateway maps the leading UPPER_SNAKE code to an HTTP status.
 */

/** Every error code the chaincode can raise. The gateway imports this list to build its HTTP mapping. */
export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'CREDIT_CODE_REQUIRED',
  'PARTICIPANT_EXISTS',
  'PARTICIPANT_NOT_FOUND',
  'ROLE_NOT_PERMITTED',
  'REGULATOR_READ_ONLY',
  'UNKNOWN_ORGANISATION',
  'STATUS_UNCHANGED',
  'PARTICIPANT_REVOKED',
  'KIND_NOT_PERMITTED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class GecError extends Error {
  override readonly name = 'GecError';

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

const CODE_PREFIX = /^([A-Z][A-Z0-9_]*): /;

/** The chaincode error code at the start of a message (e.g. a Fabric endorsement error), if it is one of ours. */
export function errorCodeOf(message: string): ErrorCode | undefined {
  const match = CODE_PREFIX.exec(message);
  if (!match) return undefined;
  return (ERROR_CODES as readonly string[]).includes(match[1]) ? (match[1] as ErrorCode) : undefined;
}
