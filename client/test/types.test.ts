/**
 * The operation types the client derives from the generated OpenAPI types, checked by the compiler (`npm run lint`
 * type-checks tests): a regenerated document that changes them fails here first, with the reason.
 */
import type {
  GecClient,
  PageItem,
  PaginatedOperationId,
  QueryParams,
  RequestBody,
  Schemas,
  SuccessBody,
} from '@gec-ledger/client';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const holds = <T extends true>(value: T) => value;

describe('operation types derived from the OpenAPI document', () => {
  it('types bodies and answers by operationId', () => {
    holds<Equal<RequestBody<'submitTrade'>, Schemas['SubmitTradeDto']>>(true);
    holds<Equal<SuccessBody<'submitTrade'>, Schemas['TradeStatusDto']>>(true);
    holds<Equal<RequestBody<'closeMeterPeriod'>, Schemas['ClosePeriodDto']>>(true);
    // No body, a body that is not JSON (NDJSON or CSV), an answer without body, an HTML page.
    holds<Equal<RequestBody<'expireLot'>, never>>(true);
    holds<Equal<RequestBody<'ingestMeterReadings'>, never>>(true);
    holds<Equal<SuccessBody<'revokeApiKey'>, undefined>>(true);
    holds<Equal<SuccessBody<'printVoucher'>, string>>(true);
    holds<Equal<SuccessBody<'verifyVoucher'>, string>>(true);
    holds<Equal<Awaited<ReturnType<GecClient['waitForTrade']>>, Schemas['TradeStatusDto']>>(true);
    const period: QueryParams<'getMeterCompleteness'> = { period: '2026-10' };
    expect(period.period).toBe('2026-10');
  });

  it('knows which operations are paginated, and their items', () => {
    holds<Equal<PageItem<'listTrades'>, Schemas['TradeStatusDto']>>(true);
    holds<Equal<PageItem<'listLots'>, Schemas['LotDto']>>(true);
    holds<
      Equal<
        PaginatedOperationId,
        | 'listApiKeys'
        | 'listParticipants'
        | 'listUnits'
        | 'listMeterAttestations'
        | 'listIssuances'
        | 'listLots'
        | 'listListings'
        | 'listRedemptions'
        | 'listExchanges'
        | 'listTrades'
        | 'listVouchers'
        | 'listRegulatorAuditLog'
      >
    >(true);
  });
});
