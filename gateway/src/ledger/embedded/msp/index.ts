/** The embedded ledger's MSP: CA and signing identities (client side), verifier (peer/committer side). */
export {
  DEFAULT_ORGS,
  SECOND_TRADING_CENTER,
  NODE_ROLES,
  isNodeRole,
  tradingCenterOrg,
  type IdentitySpec,
  type NodeRole,
  type OrgSpec,
} from './types';
export { serializeIdentity, type SigningIdentity } from './identity';
export { EmbeddedCa } from './ca';
export {
  MspVerificationError,
  MspVerifier,
  type MspErrorReason,
  type MspVerifierOptions,
  type PrincipalRole,
  type VerifiedIdentity,
} from './verifier';
export { FABRIC_CERT_ATTR_OID, readCertificateInfo, type CertificateInfo } from './certificate';
