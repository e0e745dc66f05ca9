/**
 * The `gec` chaincode: the contract classes Fabric loads (`contracts`), and the model types and error codes
 * the gateway shares.
 */
import { CertificatesContract } from './certificates/certificates-contract';
import { ConsortiumContract } from './consortium/consortium-contract';
import { IdentityContract } from './identity/identity-contract';
import { MeteringContract } from './metering/metering-contract';
import { ParametersContract } from './parameters/parameters-contract';
import { QueriesContract } from './queries/queries-contract';
import { RedemptionContract } from './redemption/redemption-contract';
import { TradesContract } from './trades/trades-contract';
import { UnitsContract } from './units/units-contract';
import { VouchersContract } from './vouchers/vouchers-contract';

export const contracts = [
  ConsortiumContract,
  IdentityContract,
  UnitsContract,
  MeteringContract,
  CertificatesContract,
  TradesContract,
  VouchersContract,
  RedemptionContract,
  QueriesContract,
  ParametersContract,
];

export {
  CertificatesContract,
  ConsortiumContract,
  IdentityContract,
  MeteringContract,
  ParametersContract,
  QueriesContract,
  RedemptionContract,
  TradesContract,
  UnitsContract,
  VouchersContract,
};
export {
  PARTICIPANT_BY_KIND_INDEX,
  PARTICIPANT_OBJECT,
  PARTICIPANT_REGISTERED_EVENT,
  PARTICIPANT_STATUS_CHANGED_EVENT,
} from './identity/identity-contract';
export {
  MARKET_PARTICIPANT_KINDS,
  PARTICIPANT_KINDS,
  PARTICIPANT_STATUSES,
  Participant,
  ParticipantPage,
} from './identity/participant';
export type { ParticipantKind, ParticipantStatus } from './identity/participant';
export { CREDIT_CODE_TRANSIENT_KEY } from './identity/credential';
export { ERROR_CODES, GecError, errorCodeOf } from './lib/errors';
export type { ErrorCode } from './lib/errors';
export {
  CONSORTIUM_MSPS,
  GRID_MSP,
  REGULATOR_MSP,
  ROLE_ADMIN,
  ROLE_ATTRIBUTE,
  ROLE_ENERGY_PLATFORM,
  ROLE_REGULATOR,
  ROLE_TRADING_CENTER,
  TRADING_CENTER_MSP,
} from './lib/access';
export { canonicalJson, canonicalJsonBytes } from './lib/canonical-json';
export { GecContract } from './lib/gec-contract';
export { emitEvent } from './lib/events';
export { txTime } from './lib/time';

// The consortium's members and the trading centers' trade-signing keys.
export {
  CONSORTIUM_INITIALISED_EVENT,
  ORGANISATION_APPROVED_EVENT,
  ORGANISATION_PROPOSED_EVENT,
  TRADE_KEY_ADMINS,
  TRADE_SIGNING_KEY_ENDED_EVENT,
  TRADE_SIGNING_KEY_REGISTERED_EVENT,
} from './consortium/consortium-contract';
export {
  Consortium,
  MemberOrganisation,
  ORGANISATION_ROLES,
  ORGANISATION_STATUSES,
} from './consortium/organisation';
export type { OrganisationRole, OrganisationStatus } from './consortium/organisation';
export { CONSORTIUM_OBJECT } from './consortium/registry';
export {
  TRADE_SIGNING_ALGORITHMS,
  TRADE_SIGNING_KEY_OBJECT,
  TRADE_SIGNING_KEY_STATUSES,
  TradeSigningKey,
} from './consortium/trade-signing-key';
export type {
  SignatureVerifier,
  TradeSigningAlgorithm,
  TradeSigningKeyStatus,
} from './consortium/trade-signing-key';
// Consortium parameters.
export {
  ConsortiumParameters,
  DEFAULT_MAX_TRANSFER_VOLUME,
  DEFAULT_MIN_TRANSFER_VOLUME,
  DEFAULT_VALIDITY_MONTHS,
  MAX_SEQUENCE,
  PARAMETERS_OBJECT,
} from './parameters/consortium-parameters';
export {
  CONSORTIUM_ADMINS,
  CONSORTIUM_PAUSED_EVENT,
  CONSORTIUM_RESUMED_EVENT,
  PARAMETERS_CHANGED_EVENT,
} from './parameters/parameters-contract';
// Generation units.
export { GenerationUnit, TECHNOLOGIES, UNIT_STATUSES, UnitPage } from './units/unit';
export type { Technology, UnitStatus } from './units/unit';
export {
  UNIT_ADMINS,
  UNIT_BY_METER,
  UNIT_BY_OWNER_INDEX,
  UNIT_BY_PROJECT_CODE,
  UNIT_OBJECT,
  UNIT_REGISTERED_EVENT,
  UNIT_STATUS_CHANGED_EVENT,
} from './units/units-contract';
// Meter attestations.
export { MeterAttestation, MeterAttestationVersion } from './metering/meter-attestation';
export {
  CONSUMPTION_METER_REGISTERED_EVENT,
  METER_ATTESTATION_OBJECT,
  METER_ATTESTERS,
  METER_PERIOD_ATTESTED_EVENT,
  METER_PERIOD_CORRECTED_EVENT,
} from './metering/metering-contract';
export {
  CONSUMPTION_METER_BY_CONSUMER_INDEX,
  CONSUMPTION_METER_OBJECT,
  ConsumptionMeter,
  ConsumptionMeterPage,
} from './metering/consumption-meter';
export { GREEN_CONSUMPTION_OBJECT, GREEN_GENERATION_OBJECT, GreenTotal } from './metering/green-claims';
// Certificates.
export {
  ISSUANCE_OBJECT,
  Issuance,
  IssuanceMeter,
  IssuancePage,
  WH_PER_CERTIFICATE,
} from './certificates/issuance';
export {
  CertificateLot,
  ELECTRICITY_CLASS,
  FINAL_LOT_STATUSES,
  LOT_STATUSES,
  LotPage,
  TRADE_CLASS,
  formatSerial,
  parseSerial,
} from './certificates/lot';
export type { LotStatus, SerialParts } from './certificates/lot';
export { LISTING_STATUSES, Listing, ListingPage } from './certificates/listing';
export type { ListingStatus } from './certificates/listing';
export { ListingResult, LotChangeResult } from './certificates/results';
export {
  LOT_BY_OWNER_INDEX,
  LOT_BY_STATUS_INDEX,
  LOT_BY_UNIT_INDEX,
  LOT_OBJECT,
  LOT_MOVE_INDEX,
  LOT_RANGE_PREFIX,
  LotChanges,
  moveWithGreenPowerTrade,
} from './certificates/lot-store';
export {
  CERTIFICATES_ISSUED_EVENT,
  ISSUERS,
  LISTING_BY_STATUS_INDEX,
  LISTING_OBJECT,
  LISTING_SOLD_EVENT,
  LOT_DELISTED_EVENT,
  LOT_EXPIRED_EVENT,
  LOT_LISTED_EVENT,
  LOT_SPLIT_EVENT,
  LOT_TRANSFERRED_EVENT,
  LOT_WITHDRAWN_EVENT,
  MARKET_OPERATORS,
} from './certificates/certificates-contract';
// Redemption and exchange.
export { ConsumedRange, Exchange, Redemption, RedemptionCheck } from './redemption/redemption';
export {
  CERTIFICATES_EXCHANGED_EVENT,
  CERTIFICATES_REDEEMED_EVENT,
  EXCHANGE_OBJECT,
  REDEMPTION_OBJECT,
} from './redemption/redemption-contract';
// Trade attestation (存证) and voucher custody (绿电凭证托管).
export {
  TRADE_KINDS,
  TradeAttestation,
  TradeAttestationResult,
  TradeLot,
  TradeMonth,
  TradePage,
} from './trades/trade';
export type { TradeKind } from './trades/trade';
export {
  TRADE_ATTESTED_EVENT,
  TRADE_ATTESTERS,
  TRADE_BY_BUYER_INDEX,
  TRADE_BY_SELLER_INDEX,
  TRADE_OBJECT,
} from './trades/trades-contract';
export {
  VOUCHER_STATUSES,
  Voucher,
  VoucherClaim,
  VoucherLot,
  VoucherPage,
  VoucherStatusChange,
} from './vouchers/voucher';
export type { VoucherStatus } from './vouchers/voucher';
export {
  VOUCHER_BY_CONSUMER_INDEX,
  VOUCHER_BY_LOT_INDEX,
  VOUCHER_BY_STATUS_INDEX,
  VOUCHER_OBJECT,
} from './vouchers/voucher-store';
export {
  VOUCHER_CLAIMED_EVENT,
  VOUCHER_RELEASED_EVENT,
  VOUCHER_REVOKED_EVENT,
} from './vouchers/vouchers-contract';
// Queries.
export {
  LotHistory,
  LotHistoryEntry,
  ProvenanceStep,
  SerialProvenance,
  StateObject,
  StateObjectPage,
  VoucherProvenance,
} from './queries/provenance';
export { STATE_OBJECT_TYPES } from './queries/queries-contract';
// Public keys parsed once per PEM text (the gateway's check of trade signatures uses them too).
export { publicKeyObject, sm2PublicPointOf } from './lib/public-keys';
// SM2/SM3 (the gateway verifies with the same code as the chaincode).
export {
  SM2_DEFAULT_ID,
  sm2Digest,
  sm2PublicKeyPem,
  sm2PublicPoint,
  sm2Sign,
  sm2Verify,
  sm2Z,
} from './lib/sm2';
