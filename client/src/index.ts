/**
 * @gec-ledger/client: a typed TypeScript/Node client of the gec-ledger gateway (docs/api.md). Node 20.19+, no
 * runtime dependencies (fetch and node:crypto).
 */
export {
  GecClient,
  parseRetryAfter,
  type ApiResponse,
  type CallOptions,
  type GecClientOptions,
  type IngestOptions,
  type MeterReading,
  type RawBody,
  type RetryEvent,
  type RetryOptions,
  type SendInput,
  type SubmitTradeBody,
  type SubmitTradeOptions,
  type TradeStatus,
  type WaitOptions,
  type WriteOptions,
} from './client';
export { canonicalBytes, canonicalize, canonicalSha256, sha256Hex } from './canonical';
export { GecApiError, GecNetworkError, GecTimeoutError, type FieldError, type Problem } from './errors';
export { OPERATIONS, type HttpMethod, type OperationSpec } from './operations';
export {
  hmacCheckSigner,
  hmacRequestSigner,
  signatureHeaders,
  signingString,
  signTrade,
  type CheckData,
  type SignatureAlg,
  type Signer,
  type SigningInput,
} from './signing';
export type {
  components,
  OperationId,
  operations,
  PageItem,
  PaginatedOperationId,
  PathParams,
  paths,
  QueryParams,
  RequestBody,
  Schemas,
  SuccessBody,
} from './types';
