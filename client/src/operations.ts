import type { OperationId } from './types';
import type { paths } from './generated/openapi';

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

export interface OperationSpec {
  method: HttpMethod;
  /** The path template as the OpenAPI document writes it. */
  path: keyof paths;
  /**
   * Whether the operation takes an Idempotency-Key: the client then always sends one (its own, or a new UUID), the
   * same on every retry of the call.
   */
  idempotencyKey?: 'required' | 'optional';
  /**
   * Safe to send again after a lost answer though it is neither a GET nor keyed: meter readings are idempotent per
   * meter and interval (the same value again is `unchanged`).
   */
  repeatable?: true;
}

/**
 * Every operation of the gateway by its operationId (docs/api.md: stable method names), as the OpenAPI document
 * declares it. `satisfies` makes the compiler insist on exactly the operationIds of the generated types (one
 * missing or one too many fails to compile); client/test/openapi-types.e2e.test.ts checks each method, path and
 * Idempotency-Key against the served document.
 */
export const OPERATIONS = {
  checkLiveness: { method: 'GET', path: '/health' },
  checkReadiness: { method: 'GET', path: '/health/ready' },
  openRegulatorPage: { method: 'GET', path: '/regulator' },

  createApiKey: { method: 'POST', path: '/v1/api-keys' },
  listApiKeys: { method: 'GET', path: '/v1/api-keys' },
  registerSigningKey: { method: 'POST', path: '/v1/api-keys/{id}/signing-key' },
  revokeApiKey: { method: 'DELETE', path: '/v1/api-keys/{id}' },

  registerParticipant: { method: 'POST', path: '/v1/participants', idempotencyKey: 'optional' },
  listParticipants: { method: 'GET', path: '/v1/participants' },
  getParticipant: { method: 'GET', path: '/v1/participants/{id}' },
  changeParticipantStatus: { method: 'POST', path: '/v1/participants/{id}/status' },

  registerUnit: { method: 'POST', path: '/v1/units', idempotencyKey: 'optional' },
  listUnits: { method: 'GET', path: '/v1/units' },
  getUnit: { method: 'GET', path: '/v1/units/{id}' },
  changeUnitStatus: { method: 'POST', path: '/v1/units/{id}/status' },

  registerMeter: { method: 'POST', path: '/v1/meters', idempotencyKey: 'optional' },
  getMeter: { method: 'GET', path: '/v1/meters/{id}' },
  ingestMeterReadings: { method: 'POST', path: '/v1/meter-readings', repeatable: true },
  getMeterCompleteness: { method: 'GET', path: '/v1/meters/{id}/completeness' },
  getMeterPeriod: { method: 'GET', path: '/v1/meters/{id}/periods/{period}' },
  closeMeterPeriod: { method: 'POST', path: '/v1/meters/{id}/periods/{period}/close' },
  listMeterAttestations: { method: 'GET', path: '/v1/meter-attestations' },
  getMeterAttestation: { method: 'GET', path: '/v1/meter-attestations/{meterId}/{period}' },

  issueCertificates: { method: 'POST', path: '/v1/issuances', idempotencyKey: 'optional' },
  listIssuances: { method: 'GET', path: '/v1/issuances' },

  listLots: { method: 'GET', path: '/v1/lots' },
  getLot: { method: 'GET', path: '/v1/lots/{lotId}' },
  getLotHistory: { method: 'GET', path: '/v1/lots/{lotId}/history' },
  getLotProvenance: { method: 'GET', path: '/v1/lots/{lotId}/provenance' },
  splitLot: { method: 'POST', path: '/v1/lots/{lotId}/split', idempotencyKey: 'optional' },
  transferLot: { method: 'POST', path: '/v1/lots/{lotId}/transfer', idempotencyKey: 'optional' },
  expireLot: { method: 'POST', path: '/v1/lots/{lotId}/expire' },
  withdrawLot: { method: 'POST', path: '/v1/lots/{lotId}/withdraw' },
  checkCertificateRedemption: { method: 'GET', path: '/v1/certificates/{serial}/redemption' },
  getCertificateProvenance: { method: 'GET', path: '/v1/certificates/{serial}/provenance' },

  createListing: { method: 'POST', path: '/v1/listings', idempotencyKey: 'optional' },
  listListings: { method: 'GET', path: '/v1/listings' },
  getListing: { method: 'GET', path: '/v1/listings/{id}' },
  cancelListing: { method: 'POST', path: '/v1/listings/{id}/cancel' },
  sellFromListing: { method: 'POST', path: '/v1/listings/{id}/sell', idempotencyKey: 'optional' },

  registerCheckKey: { method: 'POST', path: '/v1/trading-centers/{id}/check-keys' },
  listCheckKeys: { method: 'GET', path: '/v1/trading-centers/{id}/check-keys' },
  revokeCheckKey: { method: 'POST', path: '/v1/trading-centers/{id}/check-keys/{keyId}/revoke' },

  submitTrade: { method: 'POST', path: '/v1/trades', idempotencyKey: 'required' },
  listTrades: { method: 'GET', path: '/v1/trades' },
  getTrade: { method: 'GET', path: '/v1/trades/{tradeId}' },
  getTradeEvidence: { method: 'GET', path: '/v1/trades/{tradeId}/evidence' },

  listVouchers: { method: 'GET', path: '/v1/vouchers' },
  getVoucher: { method: 'GET', path: '/v1/vouchers/{id}' },
  getVoucherProvenance: { method: 'GET', path: '/v1/vouchers/{id}/provenance' },
  printVoucher: { method: 'GET', path: '/v1/vouchers/{id}/print' },
  verifyVoucher: { method: 'GET', path: '/verify/{voucherId}/{code}' },
  releaseVoucher: { method: 'POST', path: '/v1/vouchers/{id}/release' },
  claimVoucher: { method: 'POST', path: '/v1/vouchers/{id}/claim' },
  revokeVoucher: { method: 'POST', path: '/v1/vouchers/{id}/revoke' },

  createRedemption: { method: 'POST', path: '/v1/redemptions', idempotencyKey: 'optional' },
  listRedemptions: { method: 'GET', path: '/v1/redemptions' },
  getRedemption: { method: 'GET', path: '/v1/redemptions/{id}' },

  createExchange: { method: 'POST', path: '/v1/exchanges', idempotencyKey: 'optional' },
  listExchanges: { method: 'GET', path: '/v1/exchanges' },
  getExchange: { method: 'GET', path: '/v1/exchanges/{id}' },

  listRegulatorAuditLog: { method: 'GET', path: '/v1/audit/log' },
  verifyChain: { method: 'GET', path: '/v1/audit/chain' },
  checkProjection: { method: 'GET', path: '/v1/audit/projection' },

  getCertificateStatistics: { method: 'GET', path: '/v1/statistics/certificates' },
  getGreenConsumptionStatistics: { method: 'GET', path: '/v1/statistics/green-consumption' },
  getRejectedTradeStatistics: { method: 'GET', path: '/v1/statistics/rejected-trades' },

  exportLots: { method: 'GET', path: '/v1/exports/lots' },
  exportIssuances: { method: 'GET', path: '/v1/exports/issuances' },
  exportTrades: { method: 'GET', path: '/v1/exports/trades' },
  exportVouchers: { method: 'GET', path: '/v1/exports/vouchers' },
  exportRedemptions: { method: 'GET', path: '/v1/exports/redemptions' },
  exportExchanges: { method: 'GET', path: '/v1/exports/exchanges' },
  exportParticipants: { method: 'GET', path: '/v1/exports/participants' },
  exportUnits: { method: 'GET', path: '/v1/exports/units' },
  exportListings: { method: 'GET', path: '/v1/exports/listings' },
  exportMeterAttestations: { method: 'GET', path: '/v1/exports/meter-attestations' },
  exportRegulatorAuditLog: { method: 'GET', path: '/v1/exports/audit-log' },

  getParameters: { method: 'GET', path: '/v1/parameters' },
  setParameters: { method: 'POST', path: '/v1/parameters' },
  pauseConsortium: { method: 'POST', path: '/v1/parameters/pause' },
  resumeConsortium: { method: 'POST', path: '/v1/parameters/resume' },
} as const satisfies { [K in OperationId]: OperationSpec };
