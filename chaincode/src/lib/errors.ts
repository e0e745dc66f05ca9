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
  'PARTICIPANT_NOT_MANAGED',
  // The consortium's member registry and the trading centers' trade-signing keys.
  'CONSORTIUM_NOT_INITIALISED',
  'CONSORTIUM_ALREADY_INITIALISED',
  'ORGANISATION_EXISTS',
  'ORGANISATION_NOT_FOUND',
  'ORGANISATION_ALREADY_APPROVED',
  'NOT_A_TRADING_CENTER',
  'TRADE_SIGNING_KEY_EXISTS',
  'TRADE_SIGNING_KEY_NOT_FOUND',
  'TRADE_SIGNING_KEY_NOT_VALID',
  'TRADE_SIGNATURE_INVALID',
  // Consortium parameters and pause.
  'CONSORTIUM_PAUSED',
  'NOT_PAUSED',
  // Parties named in a request.
  'PARTICIPANT_NOT_ACTIVE',
  'PARTY_KIND_NOT_PERMITTED',
  'SAME_PARTY',
  // Generation units.
  'UNIT_EXISTS',
  'UNIT_NOT_FOUND',
  'UNIT_NOT_ACTIVE',
  'UNIT_DECOMMISSIONED',
  'PROJECT_CODE_EXISTS',
  'METER_ALREADY_ASSIGNED',
  'OWNER_NOT_GENERATOR',
  // Meter attestations.
  'PERIOD_NOT_CLOSED',
  'ATTESTATION_EXISTS',
  'ATTESTATION_NOT_FOUND',
  'ATTESTATION_VERSION_CONFLICT',
  'ATTESTATION_BELOW_ISSUED',
  // Issuance.
  'ISSUANCE_EXISTS',
  'ISSUANCE_NOT_FOUND',
  'ISSUANCE_OUT_OF_ORDER',
  'ISSUANCE_WINDOW_CLOSED',
  'METER_NOT_ATTESTED',
  'MONTH_BEFORE_COMMISSIONING',
  'SERIAL_SPACE_EXHAUSTED',
  // Certificate lots.
  'LOT_NOT_FOUND',
  'LOT_NOT_OWNED',
  'LOT_LISTED',
  'LOT_NOT_LISTED',
  'LOT_IN_CUSTODY',
  'LOT_REDEEMED',
  'LOT_EXCHANGED',
  'LOT_EXPIRED',
  'LOT_WITHDRAWN',
  'LOT_NOT_EXPIRED',
  'LOT_NOT_TRADABLE',
  'LOT_BOUND_TO_GREEN_POWER_TRADE',
  'VOLUME_EXCEEDS_LOT',
  'TRANSFER_BELOW_MINIMUM',
  'TRANSFER_ABOVE_MAXIMUM',
  'SERIAL_NOT_FOUND',
  // Listings (绿证售卖).
  'LISTING_EXISTS',
  'LISTING_NOT_FOUND',
  'LISTING_NOT_OPEN',
  // Redemption (兑付/核销) and exchange (绿电兑换).
  'REDEMPTION_EXISTS',
  'REDEMPTION_NOT_FOUND',
  'EXCHANGE_EXISTS',
  'EXCHANGE_NOT_FOUND',
  // Consumption meters (a consumer's meters, attested through the metering contract).
  'METER_NOT_REGISTERED',
  'METER_NOT_OWNED',
  'ATTESTATION_BELOW_CLAIMED',
  // Trade attestation (存证).
  'TRADE_ALREADY_ATTESTED',
  'TRADE_NOT_FOUND',
  'UNIT_NOT_OWNED',
  'LOT_NOT_FROM_SELLER_UNIT',
  'LOT_OUTSIDE_DELIVERY_PERIOD',
  'CERTIFICATES_DO_NOT_COVER_VOLUME',
  'GREEN_CONSUMPTION_EXCEEDS_ATTESTED',
  'GREEN_GENERATION_EXCEEDS_ATTESTED',
  // Vouchers (绿电凭证) in custody.
  'VOUCHER_EXISTS',
  'VOUCHER_NOT_FOUND',
  'VOUCHER_NOT_HELD',
  'VOUCHER_STATUS_NOT_PERMITTED',
  'VOUCHER_CLAIMED',
  'CLAIM_PERIOD_MISMATCH',
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
