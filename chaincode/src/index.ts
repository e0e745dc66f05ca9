/**
 * The `gec` chaincode: the contract classes Fabric loads (`contracts`), and the model types and error codes
 * the gateway shares.
 */
import { IdentityContract } from './identity/identity-contract';

export const contracts = [IdentityContract];

export { IdentityContract };
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
  ROLE_REGULATOR,
  TRADING_CENTER_MSP,
} from './lib/access';
export { canonicalJson, canonicalJsonBytes } from './lib/canonical-json';
export { GecContract } from './lib/gec-contract';
