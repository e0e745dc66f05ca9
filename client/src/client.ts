import { randomUUID } from 'node:crypto';
import { GecApiError, GecNetworkError, GecTimeoutError, Problem } from './errors';
import { OPERATIONS, OperationSpec } from './operations';
import { signatureHeaders, Signer, signTrade } from './signing';
import type {
  OperationId,
  PageItem,
  PaginatedOperationId,
  PathParams,
  QueryParams,
  RequestBody,
  Schemas,
  SuccessBody,
} from './types';

export interface RetryOptions {
  /** Retries after the first attempt (default 3; 0 turns retrying off). */
  retries?: number;
  /** First backoff delay when the gateway names none; doubled on each retry, with jitter (default 250 ms). */
  baseDelayMs?: number;
  /** Longest backoff delay (default 10 s). */
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the error is thrown (default 60 s). */
  maxRetryAfterMs?: number;
}

/** Told before each retry: for an integration's logs and metrics. */
export interface RetryEvent {
  operationId: OperationId;
  /** The attempt that failed (1 for the first). */
  attempt: number;
  /** What it got: an answer's status and code, or the network error. */
  status?: number;
  code?: string;
  error?: unknown;
  /** How long the client waits before the next attempt; from Retry-After when the gateway sent one. */
  delayMs: number;
  idempotencyKey?: string;
}

export interface GecClientOptions {
  /** The gateway's address, e.g. `https://gec.example.cn` or `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** Sent as X-API-Key. */
  apiKey: string;
  /**
   * Signs every POST, PUT, PATCH and DELETE (X-Gec-Timestamp, X-Gec-Nonce, X-Gec-Signature): trading-center and
   * energy-platform keys need it. `hmacRequestSigner(key.id, key.signing.secret)`, or an SM2 signer of your own.
   */
  signer?: Signer;
  /** Signs the check data of trades submitted without one: `hmacCheckSigner(checkKeyId, base64Secret)`. */
  checkSigner?: Signer;
  retry?: RetryOptions;
  /** Per attempt (default 60 s). */
  timeoutMs?: number;
  onRetry?: (event: RetryEvent) => void;
  /** A fetch of your own (a proxy agent, instrumentation); default: Node's global fetch. */
  fetch?: typeof fetch;
  /** Default `gec-ledger-client/<version>`. */
  userAgent?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Per attempt; default the client's. */
  timeoutMs?: number;
  /** Extra request headers (e.g. X-Request-Id to correlate with your logs). */
  headers?: Record<string, string>;
}

export interface WriteOptions extends CallOptions {
  /**
   * The Idempotency-Key. Default: a new UUID for the call (every retry of the call reuses it). Give your own, stored
   * with the work it stands for, when the same write may be sent again after your process restarts.
   */
  idempotencyKey?: string;
}

export interface SubmitTradeOptions extends WriteOptions {
  /** Signs the check data when the body has none; default the client's checkSigner. */
  checkSigner?: Signer;
}

/** A request body that is sent as it is (NDJSON, CSV): the signature covers exactly these bytes. */
export type RawBody = string | Uint8Array;

/** What `send` needs besides the operationId; the humane methods fill it in. */
export interface SendInput<K extends OperationId> extends WriteOptions {
  path?: PathParams<K>;
  query?: QueryParams<K>;
  /** JSON (serialized once; those bytes are signed and sent) or raw bytes with `contentType`. */
  body?: RequestBody<K> | RawBody;
  contentType?: string;
}

/** An answer with what the humane methods leave out: status, headers, replay. */
export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  data: T;
  /** The answer is the stored one of an earlier request with the same Idempotency-Key (Idempotent-Replayed). */
  replayed: boolean;
  idempotencyKey?: string;
  attempts: number;
  requestId?: string;
}

export type SubmitTradeBody = Omit<Schemas['SubmitTradeDto'], 'checkData'> & {
  checkData?: Schemas['CheckDataDto'];
};

/** A meter reading, sent as one NDJSON line (kWh with up to 3 decimals; a string keeps them exact). */
export interface MeterReading {
  meterId: string;
  intervalStart: string;
  kwh: string | number;
}

export interface IngestOptions extends CallOptions {
  /** A string or bytes are sent as they are: say which format (default `ndjson`). */
  format?: 'ndjson' | 'csv';
  mode?: 'partial' | 'atomic';
  /** Corrections supersede stored values, kept as versions; they need a `reason`. */
  correction?: boolean;
  reason?: string;
}

export interface WaitOptions {
  /** How long to wait for a final state (default 120 s). */
  timeoutMs?: number;
  /** Between polls (default 500 ms). */
  intervalMs?: number;
  signal?: AbortSignal;
}

export type TradeStatus = Schemas['TradeStatusDto'];

const FINAL_TRADE_STATES: ReadonlyArray<TradeStatus['state']> = ['COMMITTED', 'REJECTED'];
const SIGNED_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const VERSION = '0.1.0';

type Query = Record<string, string | number | boolean | null | undefined>;

/**
 * A typed client of the gec-ledger gateway's REST API. One method per operation, named by its operationId
 * (`submitTrade`, `getTrade`, `listLots`); each answers the success body typed from the OpenAPI document, and
 * throws {@link GecApiError} (the RFC 9457 problem, typed) or {@link GecNetworkError}.
 *
 * What it does for every call (docs/api.md): X-API-Key; request signing of state-changing requests with the
 * configured signer, afresh on every attempt (new timestamp and nonce, exact body bytes); an Idempotency-Key on
 * the operations that take one, the same on every retry of the call; retries with backoff of requests that are
 * safe to repeat (GET, keyed writes, meter readings) on 503 (after Retry-After), on 409 IDEMPOTENCY_KEY_IN_PROGRESS
 * or LEDGER_CONFLICT of a keyed write, and on a lost connection or a timeout; of any request on 429 (refused before
 * anything ran) after Retry-After. A write that is not safe to repeat is never sent twice.
 */
export class GecClient {
  private readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly signer?: Signer;
  private readonly checkSigner?: Signer;
  private readonly retry: Required<RetryOptions>;
  private readonly timeoutMs: number;
  private readonly onRetry?: (event: RetryEvent) => void;
  private readonly fetch: typeof fetch;
  private readonly userAgent: string;

  constructor(options: GecClientOptions) {
    if (!options.apiKey) throw new TypeError('GecClient: apiKey is required');
    this.baseUrl = new URL(options.baseUrl).href.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.signer = options.signer;
    this.checkSigner = options.checkSigner;
    this.retry = {
      retries: options.retry?.retries ?? 3,
      baseDelayMs: options.retry?.baseDelayMs ?? 250,
      maxDelayMs: options.retry?.maxDelayMs ?? 10_000,
      maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? 60_000,
    };
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.onRetry = options.onRetry;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.userAgent = options.userAgent ?? `gec-ledger-client/${VERSION}`;
  }

  /** Any operation by its operationId, with the whole answer. The methods below are this, returning `data`. */
  async send<K extends OperationId>(
    operationId: K,
    input: SendInput<K> = {},
  ): Promise<ApiResponse<SuccessBody<K>>> {
    const spec: OperationSpec = OPERATIONS[operationId];
    if (!spec) throw new TypeError(`unknown operation ${String(operationId)}`);
    const url = this.url(spec, input.path as Query | undefined, input.query as Query | undefined);
    const target = url.pathname + url.search;
    const { body, contentType } = encodeBody(input.body, input.contentType);
    const idempotencyKey = spec.idempotencyKey ? (input.idempotencyKey ?? randomUUID()) : undefined;
    const repeatable = spec.method === 'GET' || idempotencyKey !== undefined || spec.repeatable === true;

    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = {
        Accept: 'application/json, application/problem+json, text/html;q=0.5',
        'User-Agent': this.userAgent,
        ...input.headers,
        'X-API-Key': this.apiKey,
      };
      if (contentType) headers['Content-Type'] = contentType;
      if (idempotencyKey !== undefined) headers['Idempotency-Key'] = idempotencyKey;
      if (this.signer && SIGNED_METHODS.has(spec.method)) {
        Object.assign(headers, await signatureHeaders(this.signer, { method: spec.method, target, body }));
      }

      let response: Response;
      try {
        response = await this.fetch(url, {
          method: spec.method,
          headers,
          body,
          signal: attemptSignal(input.timeoutMs ?? this.timeoutMs, input.signal),
          redirect: 'manual',
        });
      } catch (error) {
        if (input.signal?.aborted) throw input.signal.reason;
        if (!repeatable || attempt > this.retry.retries) {
          throw new GecNetworkError(error, { operationId, idempotencyKey, attempts: attempt });
        }
        const delayMs = this.backoff(attempt);
        this.onRetry?.({ operationId, attempt, error, delayMs, idempotencyKey });
        await sleep(delayMs, input.signal);
        continue;
      }

      const text = await response.text();
      if (response.ok) {
        return {
          status: response.status,
          headers: response.headers,
          data: parseSuccess(response, text) as SuccessBody<K>,
          replayed: response.headers.get('idempotent-replayed') === 'true',
          idempotencyKey,
          attempts: attempt,
          requestId: response.headers.get('x-request-id') ?? undefined,
        };
      }

      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      const error = new GecApiError(problemOf(response, text), { operationId, idempotencyKey, retryAfterMs });
      const retryable =
        error.status === 429 ||
        (repeatable && error.status === 503) ||
        (idempotencyKey !== undefined &&
          error.status === 409 &&
          (error.code === 'IDEMPOTENCY_KEY_IN_PROGRESS' || error.code === 'LEDGER_CONFLICT'));
      const delayMs = retryAfterMs ?? this.backoff(attempt);
      if (!retryable || attempt > this.retry.retries || delayMs > this.retry.maxRetryAfterMs) throw error;
      this.onRetry?.({
        operationId,
        attempt,
        status: error.status,
        code: error.code,
        delayMs,
        idempotencyKey,
      });
      await sleep(delayMs, input.signal);
    }
  }

  /** `send`, answering the body only. */
  private async call<K extends OperationId>(
    operationId: K,
    input: SendInput<K> = {},
  ): Promise<SuccessBody<K>> {
    return (await this.send(operationId, input)).data;
  }

  private url(spec: OperationSpec, path: Query | undefined, query: Query | undefined): URL {
    const filled = String(spec.path).replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = path?.[name];
      if (value === undefined || value === null || value === '') {
        throw new TypeError(`${spec.method} ${spec.path}: path parameter ${name} is missing`);
      }
      return encodeURIComponent(String(value));
    });
    const pairs = Object.entries(query ?? {})
      .filter(([, value]) => value !== undefined && value !== null)
      .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`);
    return new URL(`${this.baseUrl}${filled}${pairs.length > 0 ? `?${pairs.join('&')}` : ''}`);
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  // ── Pagination and polling ─────────────────────────────────────────────────────────────────────────────────

  /** Every page of a list operation, following `nextCursor` until it is null. */
  async *pages<K extends PaginatedOperationId>(
    operationId: K,
    query?: Omit<QueryParams<K>, 'cursor'>,
    options: CallOptions = {},
  ): AsyncGenerator<SuccessBody<K>, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.call(operationId, {
        ...options,
        query: { ...query, cursor } as QueryParams<K>,
      });
      yield page;
      const next = (page as { nextCursor?: string | null }).nextCursor ?? undefined;
      if (next !== undefined && next === cursor) {
        throw new Error(`${operationId}: the gateway answered the same cursor twice`);
      }
      cursor = next;
    } while (cursor !== undefined);
  }

  /** Every item of a list operation, page after page: `for await (const lot of client.paginate('listLots', { owner }))`. */
  async *paginate<K extends PaginatedOperationId>(
    operationId: K,
    query?: Omit<QueryParams<K>, 'cursor'>,
    options: CallOptions = {},
  ): AsyncGenerator<PageItem<K>, void, undefined> {
    for await (const page of this.pages(operationId, query, options)) {
      yield* (page as { items: Array<PageItem<K>> }).items;
    }
  }

  /**
   * Polls a trade's status until it is final: COMMITTED (on the ledger, voucher issued) or REJECTED (with every
   * failed check). Throws {@link GecTimeoutError} when it is not final within `timeoutMs`.
   */
  async waitForTrade(tradeId: string, options: WaitOptions = {}): Promise<TradeStatus> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const intervalMs = options.intervalMs ?? 500;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.getTrade(tradeId, { signal: options.signal });
      if (FINAL_TRADE_STATES.includes(status.state)) return status;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new GecTimeoutError(
          `trade ${tradeId} is not final after ${timeoutMs} ms (state ${status.state})`,
          status.state,
        );
      }
      await sleep(Math.min(intervalMs, left), options.signal);
    }
  }

  // ── health ───────────────────────────────────────────────────────────────────────────────────────────────────

  checkLiveness(options?: CallOptions) {
    return this.call('checkLiveness', { ...options });
  }

  checkReadiness(options?: CallOptions) {
    return this.call('checkReadiness', { ...options });
  }

  // ── pages ────────────────────────────────────────────────────────────────────────────────────────────────────

  /** The regulator page's HTML (people open /regulator in a browser; this is for completeness). */
  openRegulatorPage(options?: CallOptions) {
    return this.call('openRegulatorPage', { ...options });
  }

  // ── api-keys (admin) ───────────────────────────────────────────────────────────────────────────────────────

  createApiKey(body: RequestBody<'createApiKey'>, options?: CallOptions) {
    return this.call('createApiKey', { ...options, body });
  }

  listApiKeys(query?: QueryParams<'listApiKeys'>, options?: CallOptions) {
    return this.call('listApiKeys', { ...options, query });
  }

  registerSigningKey(id: string, body: RequestBody<'registerSigningKey'>, options?: CallOptions) {
    return this.call('registerSigningKey', { ...options, path: { id }, body });
  }

  revokeApiKey(id: string, options?: CallOptions) {
    return this.call('revokeApiKey', { ...options, path: { id } });
  }

  // ── participants ────────────────────────────────────────────────────────────────────────────────────────────

  registerParticipant(body: RequestBody<'registerParticipant'>, options?: WriteOptions) {
    return this.call('registerParticipant', { ...options, body });
  }

  listParticipants(query?: QueryParams<'listParticipants'>, options?: CallOptions) {
    return this.call('listParticipants', { ...options, query });
  }

  getParticipant(id: string, options?: CallOptions) {
    return this.call('getParticipant', { ...options, path: { id } });
  }

  changeParticipantStatus(id: string, body: RequestBody<'changeParticipantStatus'>, options?: CallOptions) {
    return this.call('changeParticipantStatus', { ...options, path: { id }, body });
  }

  // ── units ────────────────────────────────────────────────────────────────────────────────────────────────────

  registerUnit(body: RequestBody<'registerUnit'>, options?: WriteOptions) {
    return this.call('registerUnit', { ...options, body });
  }

  listUnits(query?: QueryParams<'listUnits'>, options?: CallOptions) {
    return this.call('listUnits', { ...options, query });
  }

  getUnit(id: string, options?: CallOptions) {
    return this.call('getUnit', { ...options, path: { id } });
  }

  changeUnitStatus(id: string, body: RequestBody<'changeUnitStatus'>, options?: CallOptions) {
    return this.call('changeUnitStatus', { ...options, path: { id }, body });
  }

  // ── metering ─────────────────────────────────────────────────────────────────────────────────────────────────

  registerMeter(body: RequestBody<'registerMeter'>, options?: WriteOptions) {
    return this.call('registerMeter', { ...options, body });
  }

  getMeter(id: string, options?: CallOptions) {
    return this.call('getMeter', { ...options, path: { id } });
  }

  /**
   * Bulk interval readings: an array is sent as NDJSON; a string or bytes as they are, in `format` (NDJSON or CSV
   * with a header). Bad lines come back in `errors` (mode `partial`) or as a 422 READINGS_REJECTED problem
   * (mode `atomic`, nothing stored).
   */
  ingestMeterReadings(readings: readonly MeterReading[] | RawBody, options: IngestOptions = {}) {
    const { format, mode, correction, reason, ...call } = options;
    const raw = typeof readings === 'string' || readings instanceof Uint8Array;
    const body = raw ? readings : readings.map((reading) => `${JSON.stringify(reading)}\n`).join('');
    return this.call('ingestMeterReadings', {
      ...call,
      query: {
        mode,
        correction: correction === undefined ? undefined : correction ? 'true' : 'false',
        reason,
      },
      body,
      contentType: raw && format === 'csv' ? 'text/csv' : 'application/x-ndjson',
    });
  }

  getMeterCompleteness(id: string, period: string, options?: CallOptions) {
    return this.call('getMeterCompleteness', { ...options, path: { id }, query: { period } });
  }

  getMeterPeriod(id: string, period: string, options?: CallOptions) {
    return this.call('getMeterPeriod', { ...options, path: { id, period } });
  }

  closeMeterPeriod(
    id: string,
    period: string,
    body: RequestBody<'closeMeterPeriod'> = {},
    options?: CallOptions,
  ) {
    return this.call('closeMeterPeriod', { ...options, path: { id, period }, body });
  }

  listMeterAttestations(query?: QueryParams<'listMeterAttestations'>, options?: CallOptions) {
    return this.call('listMeterAttestations', { ...options, query });
  }

  getMeterAttestation(meterId: string, period: string, options?: CallOptions) {
    return this.call('getMeterAttestation', { ...options, path: { meterId, period } });
  }

  // ── issuances, lots, certificates ───────────────────────────────────────────────────────────────────────────

  issueCertificates(body: RequestBody<'issueCertificates'>, options?: WriteOptions) {
    return this.call('issueCertificates', { ...options, body });
  }

  listIssuances(query?: QueryParams<'listIssuances'>, options?: CallOptions) {
    return this.call('listIssuances', { ...options, query });
  }

  listLots(query?: QueryParams<'listLots'>, options?: CallOptions) {
    return this.call('listLots', { ...options, query });
  }

  getLot(lotId: string, options?: CallOptions) {
    return this.call('getLot', { ...options, path: { lotId } });
  }

  getLotHistory(lotId: string, options?: CallOptions) {
    return this.call('getLotHistory', { ...options, path: { lotId } });
  }

  /** The lot's provenance from the ledger: its serials' path from issuance and its own moves. */
  getLotProvenance(lotId: string, options?: CallOptions) {
    return this.call('getLotProvenance', { ...options, path: { lotId } });
  }

  splitLot(lotId: string, body: RequestBody<'splitLot'>, options?: WriteOptions) {
    return this.call('splitLot', { ...options, path: { lotId }, body });
  }

  transferLot(lotId: string, body: RequestBody<'transferLot'>, options?: WriteOptions) {
    return this.call('transferLot', { ...options, path: { lotId }, body });
  }

  expireLot(lotId: string, options?: CallOptions) {
    return this.call('expireLot', { ...options, path: { lotId } });
  }

  withdrawLot(lotId: string, body: RequestBody<'withdrawLot'>, options?: CallOptions) {
    return this.call('withdrawLot', { ...options, path: { lotId }, body });
  }

  checkCertificateRedemption(serial: string, options?: CallOptions) {
    return this.call('checkCertificateRedemption', { ...options, path: { serial } });
  }

  getCertificateProvenance(serial: string, options?: CallOptions) {
    return this.call('getCertificateProvenance', { ...options, path: { serial } });
  }

  // ── listings ─────────────────────────────────────────────────────────────────────────────────────────────────

  createListing(body: RequestBody<'createListing'>, options?: WriteOptions) {
    return this.call('createListing', { ...options, body });
  }

  listListings(query?: QueryParams<'listListings'>, options?: CallOptions) {
    return this.call('listListings', { ...options, query });
  }

  getListing(id: string, options?: CallOptions) {
    return this.call('getListing', { ...options, path: { id } });
  }

  cancelListing(id: string, body: RequestBody<'cancelListing'>, options?: CallOptions) {
    return this.call('cancelListing', { ...options, path: { id }, body });
  }

  sellFromListing(id: string, body: RequestBody<'sellFromListing'>, options?: WriteOptions) {
    return this.call('sellFromListing', { ...options, path: { id }, body });
  }

  // ── trades and check keys ───────────────────────────────────────────────────────────────────────────────────

  registerCheckKey(tradingCenterId: string, body: RequestBody<'registerCheckKey'>, options?: CallOptions) {
    return this.call('registerCheckKey', { ...options, path: { id: tradingCenterId }, body });
  }

  listCheckKeys(tradingCenterId: string, options?: CallOptions) {
    return this.call('listCheckKeys', { ...options, path: { id: tradingCenterId } });
  }

  revokeCheckKey(tradingCenterId: string, keyId: string, options?: CallOptions) {
    return this.call('revokeCheckKey', { ...options, path: { id: tradingCenterId, keyId } });
  }

  /**
   * Posts a completed trade (202: stored, verification follows; poll with {@link waitForTrade}). Without
   * `checkData` in the body, the check data is signed here over the trade's RFC 8785 canonical bytes with the
   * check signer. The Idempotency-Key defaults to `trade-<tradeId>`, so that sending the same trade again (a retry
   * after a crash) answers the original trade, marked as replayed.
   */
  async submitTrade(body: SubmitTradeBody, options: SubmitTradeOptions = {}) {
    return (await this.sendTrade(body, options)).data;
  }

  /** {@link submitTrade} with the whole answer (Location, Idempotent-Replayed). */
  async sendTrade(body: SubmitTradeBody, options: SubmitTradeOptions = {}) {
    const { checkSigner = this.checkSigner, idempotencyKey, ...call } = options;
    let checkData = body.checkData;
    if (checkData === undefined) {
      if (!checkSigner) {
        throw new TypeError('submitTrade: the body has no checkData and the client has no checkSigner');
      }
      checkData = await signTrade(body.trade, checkSigner);
    }
    return this.send('submitTrade', {
      ...call,
      idempotencyKey: idempotencyKey ?? `trade-${body.trade.tradeId}`,
      body: { ...body, checkData },
    });
  }

  listTrades(query?: QueryParams<'listTrades'>, options?: CallOptions) {
    return this.call('listTrades', { ...options, query });
  }

  getTrade(tradeId: string, options?: CallOptions) {
    return this.call('getTrade', { ...options, path: { tradeId } });
  }

  getTradeEvidence(tradeId: string, options?: CallOptions) {
    return this.call('getTradeEvidence', { ...options, path: { tradeId } });
  }

  // ── vouchers ─────────────────────────────────────────────────────────────────────────────────────────────────

  listVouchers(query?: QueryParams<'listVouchers'>, options?: CallOptions) {
    return this.call('listVouchers', { ...options, query });
  }

  getVoucher(id: string, options?: CallOptions) {
    return this.call('getVoucher', { ...options, path: { id } });
  }

  /** The provenance of every lot the voucher holds, from the ledger. */
  getVoucherProvenance(id: string, options?: CallOptions) {
    return this.call('getVoucherProvenance', { ...options, path: { id } });
  }

  /** The voucher as a self-contained HTML page, with the QR code of its public verification page. */
  printVoucher(id: string, options?: CallOptions) {
    return this.call('printVoucher', { ...options, path: { id } });
  }

  /** The public verification page (扫码验真) of a voucher, by the id and code of its printed link; HTML. */
  verifyVoucher(voucherId: string, code: string, options?: CallOptions) {
    return this.call('verifyVoucher', { ...options, path: { voucherId, code } });
  }

  releaseVoucher(id: string, body: RequestBody<'releaseVoucher'>, options?: CallOptions) {
    return this.call('releaseVoucher', { ...options, path: { id }, body });
  }

  claimVoucher(id: string, body: RequestBody<'claimVoucher'>, options?: CallOptions) {
    return this.call('claimVoucher', { ...options, path: { id }, body });
  }

  revokeVoucher(id: string, body: RequestBody<'revokeVoucher'>, options?: CallOptions) {
    return this.call('revokeVoucher', { ...options, path: { id }, body });
  }

  // ── redemptions and exchanges ───────────────────────────────────────────────────────────────────────────────

  createRedemption(body: RequestBody<'createRedemption'>, options?: WriteOptions) {
    return this.call('createRedemption', { ...options, body });
  }

  listRedemptions(query?: QueryParams<'listRedemptions'>, options?: CallOptions) {
    return this.call('listRedemptions', { ...options, query });
  }

  getRedemption(id: string, options?: CallOptions) {
    return this.call('getRedemption', { ...options, path: { id } });
  }

  createExchange(body: RequestBody<'createExchange'>, options?: WriteOptions) {
    return this.call('createExchange', { ...options, body });
  }

  listExchanges(query?: QueryParams<'listExchanges'>, options?: CallOptions) {
    return this.call('listExchanges', { ...options, query });
  }

  getExchange(id: string, options?: CallOptions) {
    return this.call('getExchange', { ...options, path: { id } });
  }

  // ── audit (regulator, admin) ────────────────────────────────────────────────────────────────────────────────

  /** The regulator audit log: every request of a regulator key, oldest first (regulators only). */
  listRegulatorAuditLog(query?: QueryParams<'listRegulatorAuditLog'>, options?: CallOptions) {
    return this.call('listRegulatorAuditLog', { ...options, query });
  }

  /** Verifies a range of blocks of the ledger, naming each failure by block, check, expected and found. */
  verifyChain(query?: QueryParams<'verifyChain'>, options?: CallOptions) {
    return this.call('verifyChain', { ...options, query });
  }

  /** Compares the gateway's projections with the ledger's state, naming each difference. */
  checkProjection(query?: QueryParams<'checkProjection'>, options?: CallOptions) {
    return this.call('checkProjection', { ...options, query });
  }

  // ── statistics and exports (regulator, admin) ─────────────────────────────────────────────────────────────────
  // A statistic answers JSON; `format: 'csv' | 'ndjson'` in the query gets its rows as text instead. An export
  // answers its text (CSV unless `format: 'ndjson'`) once it has all arrived: for exports too large to hold in
  // memory, read `send(...)`'s raw answer or stream the URL with your own HTTP client.

  /** Certificates issued, traded, redeemed, exchanged, expired and withdrawn in a range, grouped. */
  getCertificateStatistics(query: QueryParams<'getCertificateStatistics'>, options?: CallOptions) {
    return this.call('getCertificateStatistics', { ...options, query });
  }

  /** Green consumption attested per consumer in a range. */
  getGreenConsumptionStatistics(query: QueryParams<'getGreenConsumptionStatistics'>, options?: CallOptions) {
    return this.call('getGreenConsumptionStatistics', { ...options, query });
  }

  /** Trades rejected in a range, by failed check. */
  getRejectedTradeStatistics(query: QueryParams<'getRejectedTradeStatistics'>, options?: CallOptions) {
    return this.call('getRejectedTradeStatistics', { ...options, query });
  }

  exportLots(query?: QueryParams<'exportLots'>, options?: CallOptions) {
    return this.call('exportLots', { ...options, query });
  }

  exportIssuances(query?: QueryParams<'exportIssuances'>, options?: CallOptions) {
    return this.call('exportIssuances', { ...options, query });
  }

  exportTrades(query?: QueryParams<'exportTrades'>, options?: CallOptions) {
    return this.call('exportTrades', { ...options, query });
  }

  exportVouchers(query?: QueryParams<'exportVouchers'>, options?: CallOptions) {
    return this.call('exportVouchers', { ...options, query });
  }

  exportRedemptions(query?: QueryParams<'exportRedemptions'>, options?: CallOptions) {
    return this.call('exportRedemptions', { ...options, query });
  }

  exportExchanges(query?: QueryParams<'exportExchanges'>, options?: CallOptions) {
    return this.call('exportExchanges', { ...options, query });
  }

  exportParticipants(query?: QueryParams<'exportParticipants'>, options?: CallOptions) {
    return this.call('exportParticipants', { ...options, query });
  }

  exportUnits(query?: QueryParams<'exportUnits'>, options?: CallOptions) {
    return this.call('exportUnits', { ...options, query });
  }

  exportListings(query?: QueryParams<'exportListings'>, options?: CallOptions) {
    return this.call('exportListings', { ...options, query });
  }

  exportMeterAttestations(query?: QueryParams<'exportMeterAttestations'>, options?: CallOptions) {
    return this.call('exportMeterAttestations', { ...options, query });
  }

  exportRegulatorAuditLog(query?: QueryParams<'exportRegulatorAuditLog'>, options?: CallOptions) {
    return this.call('exportRegulatorAuditLog', { ...options, query });
  }

  // ── parameters ───────────────────────────────────────────────────────────────────────────────────────────────

  getParameters(options?: CallOptions) {
    return this.call('getParameters', { ...options });
  }

  setParameters(body: RequestBody<'setParameters'>, options?: CallOptions) {
    return this.call('setParameters', { ...options, body });
  }

  pauseConsortium(body: RequestBody<'pauseConsortium'>, options?: CallOptions) {
    return this.call('pauseConsortium', { ...options, body });
  }

  resumeConsortium(body: RequestBody<'resumeConsortium'>, options?: CallOptions) {
    return this.call('resumeConsortium', { ...options, body });
  }
}

function encodeBody(
  body: unknown,
  contentType: string | undefined,
): { body?: Uint8Array; contentType?: string } {
  if (body === undefined) return {};
  if (typeof body === 'string') return { body: Buffer.from(body, 'utf8'), contentType };
  if (body instanceof Uint8Array) return { body, contentType };
  // Serialized once: these exact bytes are hashed for the signature and sent.
  return {
    body: Buffer.from(JSON.stringify(body), 'utf8'),
    contentType: contentType ?? 'application/json',
  };
}

function attemptSignal(timeoutMs: number, signal: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110), in milliseconds. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function mediaType(response: Response): string {
  return (response.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
}

function parseSuccess(response: Response, text: string): unknown {
  if (response.status === 204 || text.length === 0) return undefined;
  const media = mediaType(response);
  if (media === 'application/json' || media.endsWith('+json')) return JSON.parse(text);
  return text;
}

function problemOf(response: Response, text: string): Problem {
  const media = mediaType(response);
  if (media === 'application/problem+json' || media === 'application/json') {
    try {
      const parsed = JSON.parse(text) as Partial<Problem>;
      if (parsed && typeof parsed === 'object' && typeof parsed.code === 'string') {
        return {
          ...parsed,
          type: parsed.type ?? 'about:blank',
          title: parsed.title ?? response.statusText,
          status: typeof parsed.status === 'number' ? parsed.status : response.status,
          detail: parsed.detail ?? '',
          code: parsed.code,
        };
      }
    } catch {
      // Not JSON after all: described below like any other answer that is not a problem.
    }
  }
  return {
    type: 'about:blank',
    title: response.statusText,
    status: response.status,
    detail: text.slice(0, 500),
    code: `HTTP_${response.status}`,
  };
}
