/**
 * What the client does on the wire, against a scripted HTTP server on 127.0.0.1 (the end-to-end tests do the same
 * against a live gateway): signing every attempt afresh, one Idempotency-Key per call, which answers and failures
 * are retried and which never are, Retry-After, problem answers as typed errors, pagination and polling.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GecApiError,
  GecClient,
  GecNetworkError,
  GecTimeoutError,
  hmacCheckSigner,
  hmacRequestSigner,
  parseRetryAfter,
  signingString,
  type GecClientOptions,
  type RetryEvent,
} from '@gec-ledger/client';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

type Responder = (request: Received, res: ServerResponse) => void;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Responder => {
  return (_request, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
};

const problem = (
  status: number,
  code: string,
  headers: Record<string, string> = {},
  extra = {},
): Responder => {
  return (_request, res) => {
    res.writeHead(status, { 'Content-Type': 'application/problem+json', ...headers });
    res.end(
      JSON.stringify({
        type: `urn:gec-ledger:problem:${code.toLowerCase()}`,
        title: code,
        status,
        detail: `${code} detail`,
        code,
        ...extra,
      }),
    );
  };
};

/** The connection is dropped without an answer (a lost response, a reset). */
const drop: Responder = (request, res) => res.socket?.destroy();
/** No answer at all, until the client gives up. */
const hang: Responder = () => undefined;

const SECRET = 'gecs_test-secret-of-an-integration-key-000000';
const KEY_ID = '5f0c6a3e-8b1d-4c2a-9e7f-1a2b3c4d5e6f';

describe('the client on the wire', () => {
  let server: Server;
  let baseUrl: string;
  let script: Responder[] = [];
  let received: Received[] = [];
  let retries: RetryEvent[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request = {
          method: req.method!,
          url: req.url!,
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        received.push(request);
        const next = script.shift() ?? problem(500, 'UNSCRIPTED');
        next(request, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    script = [];
    received = [];
    retries = [];
  });

  const client = (options: Partial<GecClientOptions> = {}) =>
    new GecClient({
      baseUrl,
      apiKey: 'gec_test-key',
      signer: hmacRequestSigner(KEY_ID, SECRET),
      retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 2 },
      onRetry: (event) => retries.push(event),
      ...options,
    });

  /** The signature a gateway would compute for what it received. */
  const verifies = (request: Received) => {
    const header = String(request.headers['x-gec-signature']);
    const message = signingString(
      request.method,
      request.url,
      String(request.headers['x-gec-timestamp']),
      String(request.headers['x-gec-nonce']),
      request.body,
    );
    const expected = createHmac('sha256', Buffer.from(SECRET, 'utf8')).update(message).digest('base64');
    return header === `keyId=${KEY_ID}, alg=hmac-sha256, sig=${expected}`;
  };

  const participant = {
    id: 'CON-1',
    kind: 'CONSUMER',
    name: '上海某数据中心',
    region: '310000',
    creditCode: 'X',
  };

  it('signs a write over the exact target and body it sends, with the API key', async () => {
    script = [json(201, { id: 'CON-1' })];
    await client().registerParticipant(participant as never);
    const [request] = received;
    expect(request.headers['x-api-key']).toBe('gec_test-key');
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body.toString('utf8'))).toEqual(participant);
    expect(verifies(request)).toBe(true);
  });

  it('signs the query exactly as sent, percent-encoded, and raw bodies byte for byte', async () => {
    script = [
      json(200, { accepted: 1, unchanged: 0, corrected: 0, rejected: 0, errors: [], errorsTruncated: false }),
    ];
    const csv = 'meterId,intervalStart,kwh\r\nM-1,2026-10-01T00:00:00+08:00,1.5\r\n';
    await client().ingestMeterReadings(csv, {
      format: 'csv',
      mode: 'atomic',
      correction: true,
      reason: '表计校准 1/2',
    });
    const [request] = received;
    expect(request.url).toBe(
      '/v1/meter-readings?mode=atomic&correction=true&reason=%E8%A1%A8%E8%AE%A1%E6%A0%A1%E5%87%86%201%2F2',
    );
    expect(request.headers['content-type']).toBe('text/csv');
    expect(request.body.toString('utf8')).toBe(csv);
    expect(verifies(request)).toBe(true);
  });

  it('sends readings given as objects as NDJSON', async () => {
    script = [json(200, { accepted: 2 })];
    await client().ingestMeterReadings([
      { meterId: 'M-1', intervalStart: '2026-10-01T00:00:00+08:00', kwh: '1.500' },
      { meterId: 'M-1', intervalStart: '2026-10-01T00:15:00+08:00', kwh: 2 },
    ]);
    expect(received[0].headers['content-type']).toBe('application/x-ndjson');
    expect(received[0].body.toString('utf8')).toBe(
      '{"meterId":"M-1","intervalStart":"2026-10-01T00:00:00+08:00","kwh":"1.500"}\n' +
        '{"meterId":"M-1","intervalStart":"2026-10-01T00:15:00+08:00","kwh":2}\n',
    );
  });

  it('does not sign reads, and does not sign at all without a signer', async () => {
    script = [json(200, { id: 'CON-1' }), json(201, { id: 'CON-1' })];
    await client().getParticipant('CON-1');
    await client({ signer: undefined }).registerParticipant(participant as never);
    expect(received.map((r) => r.headers['x-gec-signature'])).toEqual([undefined, undefined]);
  });

  it('retries a keyed write on 503 after Retry-After, re-signed, with the same Idempotency-Key', async () => {
    script = [
      problem(503, 'DATABASE_UNAVAILABLE', { 'Retry-After': '0' }),
      problem(503, 'DATABASE_UNAVAILABLE', { 'Retry-After': new Date(0).toUTCString() }),
      json(201, { id: 'CON-1' }, { 'Idempotent-Replayed': 'true' }),
    ];
    const answer = await client().send('registerParticipant', { body: participant as never });
    expect(answer).toMatchObject({ status: 201, replayed: true, attempts: 3, data: { id: 'CON-1' } });
    const keys = received.map((r) => r.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.idempotencyKey).toBe(keys[0]);
    expect(new Set(received.map((r) => r.headers['x-gec-nonce'])).size).toBe(3);
    expect(received.every(verifies)).toBe(true);
    expect(retries.map((r) => [r.attempt, r.status, r.code, r.delayMs])).toEqual([
      [1, 503, 'DATABASE_UNAVAILABLE', 0],
      [2, 503, 'DATABASE_UNAVAILABLE', 0],
    ]);
  });

  it('waits as long as Retry-After says', async () => {
    script = [problem(503, 'DATABASE_UNAVAILABLE', { 'Retry-After': '1' }), json(200, { id: 'CON-1' })];
    await client().getParticipant('CON-1');
    expect(retries.map((r) => r.delayMs)).toEqual([1000]);
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:28:05 GMT', Date.parse('2026-10-21T07:28:00Z'))).toBe(5000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('uses the Idempotency-Key it is given, on every retry', async () => {
    script = [problem(503, 'DATABASE_UNAVAILABLE', { 'Retry-After': '0' }), json(201, { id: 'CON-1' })];
    await client().registerParticipant(participant as never, { idempotencyKey: 'reg-CON-1' });
    expect(received.map((r) => r.headers['idempotency-key'])).toEqual(['reg-CON-1', 'reg-CON-1']);
  });

  it('never sends a write without a key twice: 503 is thrown, typed, with Retry-After', async () => {
    script = [problem(503, 'DATABASE_UNAVAILABLE', { 'Retry-After': '5' })];
    const error = await client()
      .changeParticipantStatus('CON-1', { status: 'SUSPENDED', reason: 'audit' } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GecApiError);
    expect(error).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE', retryAfterMs: 5000 });
    expect(received).toHaveLength(1);
    expect(received[0].headers['idempotency-key']).toBeUndefined();
  });

  it('retries any request on 429: the gateway refused it before anything ran', async () => {
    script = [problem(429, 'RATE_LIMITED', { 'Retry-After': '0' }), json(200, { id: 'CON-1' })];
    await client().changeParticipantStatus('CON-1', { status: 'SUSPENDED', reason: 'audit' } as never);
    expect(received).toHaveLength(2);
    expect(retries[0]).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
  });

  it('retries a keyed write whose first attempt is still in progress, or met a ledger conflict', async () => {
    script = [
      problem(409, 'IDEMPOTENCY_KEY_IN_PROGRESS'),
      problem(409, 'LEDGER_CONFLICT'),
      json(201, { id: 'CON-1' }),
    ];
    await client().registerParticipant(participant as never);
    expect(received).toHaveLength(3);
    script = [problem(409, 'IDEMPOTENCY_KEY_REUSED')];
    await expect(client().registerParticipant(participant as never)).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
    expect(received).toHaveLength(4);
  });

  it('gives up after its retries, or at once when Retry-After is longer than it may wait', async () => {
    script = Array.from({ length: 5 }, () => problem(503, 'DATABASE_UNAVAILABLE', { 'Retry-After': '0' }));
    await expect(client().getParticipant('CON-1')).rejects.toMatchObject({ status: 503 });
    expect(received).toHaveLength(4);

    received = [];
    script = [problem(503, 'DATABASE_UNAVAILABLE', { 'Retry-After': '3600' })];
    await expect(client().getParticipant('CON-1')).rejects.toMatchObject({ retryAfterMs: 3_600_000 });
    expect(received).toHaveLength(1);
  });

  it('sends a keyed write again when the answer was lost, with the same key', async () => {
    script = [drop, json(201, { id: 'CON-1' }, { 'Idempotent-Replayed': 'true' })];
    const answer = await client().send('registerParticipant', { body: participant as never });
    expect(answer.replayed).toBe(true);
    expect(received).toHaveLength(2);
    expect(received[0].headers['idempotency-key']).toBe(received[1].headers['idempotency-key']);
    // undici's TypeError, from Node's realm rather than the test's: compared by what it says.
    expect(String(retries[0].error)).toMatch(/fetch failed/);
  });

  it('never sends a write without a key again after a lost answer: GecNetworkError', async () => {
    script = [drop];
    const error = await client()
      .changeParticipantStatus('CON-1', { status: 'SUSPENDED', reason: 'audit' } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GecNetworkError);
    expect(error).toMatchObject({ operationId: 'changeParticipantStatus', attempts: 1 });
    expect(received).toHaveLength(1);
  });

  it('retries a read that timed out, and says how often it tried when nothing answers', async () => {
    script = [hang, json(200, { id: 'CON-1' })];
    await expect(client({ timeoutMs: 200 }).getParticipant('CON-1')).resolves.toEqual({ id: 'CON-1' });
    received = [];
    script = [drop, drop];
    const error = await client({ retry: { retries: 1, baseDelayMs: 1 } })
      .submitTrade(
        { trade: { tradeId: 'T-1' } as never },
        { checkSigner: hmacCheckSigner('k', 'A'.repeat(44)) },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GecNetworkError);
    expect(error).toMatchObject({ attempts: 2, idempotencyKey: 'trade-T-1' });
  });

  it('turns a problem answer into GecApiError with status, code, detail and fields', async () => {
    script = [
      problem(
        400,
        'VALIDATION_FAILED',
        {},
        {
          errors: [
            { field: 'region', message: 'region must be a 6-digit code' },
            { field: 'creditCode', message: 'creditCode is invalid' },
          ],
          requestId: 'req-1',
        },
      ),
    ];
    const error = (await client()
      .registerParticipant(participant as never)
      .catch((e: unknown) => e)) as GecApiError;
    expect(error).toBeInstanceOf(GecApiError);
    expect(error).toMatchObject({
      name: 'GecApiError',
      status: 400,
      code: 'VALIDATION_FAILED',
      detail: 'VALIDATION_FAILED detail',
      requestId: 'req-1',
      operationId: 'registerParticipant',
    });
    expect(error.fields).toEqual(['region', 'creditCode']);
    expect(error.message).toBe('registerParticipant: 400 VALIDATION_FAILED: VALIDATION_FAILED detail');
  });

  it('describes an answer that is not a problem (a proxy page) as HTTP_<status>', async () => {
    script = [
      (_request, res) => {
        res.writeHead(502, { 'Content-Type': 'text/html' });
        res.end('<html>Bad Gateway</html>');
      },
    ];
    await expect(client().getParticipant('CON-1')).rejects.toMatchObject({
      status: 502,
      code: 'HTTP_502',
      detail: '<html>Bad Gateway</html>',
    });
  });

  it('signs check data when a trade comes without it, keyed trade-<tradeId> by default', async () => {
    const secret = Buffer.alloc(32, 7).toString('base64');
    const trade = { tradeId: 'T-9', volumeKwh: 10000, kind: 'GREEN_POWER' };
    script = [json(202, { tradeId: 'T-9', state: 'RECEIVED' }, { Location: '/v1/trades/T-9' })];
    const answer = await client({ checkSigner: hmacCheckSigner('tc-1', secret) }).sendTrade({
      trade: trade as never,
    });
    expect(answer.headers.get('location')).toBe('/v1/trades/T-9');
    const sent = JSON.parse(received[0].body.toString('utf8'));
    const expected = createHmac('sha256', Buffer.alloc(32, 7))
      .update('{"kind":"GREEN_POWER","tradeId":"T-9","volumeKwh":10000}')
      .digest('base64');
    expect(sent).toEqual({ trade, checkData: { keyId: 'tc-1', alg: 'hmac-sha256', signature: expected } });
    expect(received[0].headers['idempotency-key']).toBe('trade-T-9');

    await expect(client().submitTrade({ trade: trade as never })).rejects.toThrow(/no checkSigner/);
    expect(received).toHaveLength(1);
  });

  it('walks every page of a list, sending each cursor back', async () => {
    script = [
      json(200, { items: [{ id: 'A' }, { id: 'B' }], nextCursor: 'c1' }),
      json(200, { items: [{ id: 'C' }], nextCursor: 'c2/+=' }),
      json(200, { items: [], nextCursor: null }),
    ];
    const ids: string[] = [];
    for await (const participant of client().paginate('listParticipants', { kind: 'CONSUMER', limit: 2 })) {
      ids.push(participant.id);
    }
    expect(ids).toEqual(['A', 'B', 'C']);
    expect(received.map((r) => r.url)).toEqual([
      '/v1/participants?kind=CONSUMER&limit=2',
      '/v1/participants?kind=CONSUMER&limit=2&cursor=c1',
      '/v1/participants?kind=CONSUMER&limit=2&cursor=c2%2F%2B%3D',
    ]);
  });

  it('stops a list whose cursor does not move instead of looping', async () => {
    script = [json(200, { items: [], nextCursor: 'same' }), json(200, { items: [], nextCursor: 'same' })];
    const walk = async () => {
      for await (const _page of client().pages('listTrades')) {
        // nothing
      }
    };
    await expect(walk()).rejects.toThrow(/same cursor twice/);
  });

  it('polls a trade until it is final', async () => {
    script = ['RECEIVED', 'VERIFYING', 'COMMITTING', 'COMMITTED'].map((state) =>
      json(200, { tradeId: 'T-1', state }),
    );
    const status = await client().waitForTrade('T-1', { intervalMs: 1 });
    expect(status.state).toBe('COMMITTED');
    expect(received).toHaveLength(4);

    script = [json(200, { tradeId: 'T-2', state: 'REJECTED' })];
    await expect(client().waitForTrade('T-2')).resolves.toMatchObject({ state: 'REJECTED' });
  });

  it('says when a trade is not final in time', async () => {
    script = [json(200, { tradeId: 'T-1', state: 'VERIFYING' })];
    const error = await client()
      .waitForTrade('T-1', { timeoutMs: 0 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GecTimeoutError);
    expect(error).toMatchObject({ lastState: 'VERIFYING' });
  });

  it('stops when the caller aborts, without retrying', async () => {
    const controller = new AbortController();
    script = [hang];
    const pending = client().getParticipant('CON-1', { signal: controller.signal });
    while (received.length === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error('the integration is shutting down'));
    await expect(pending).rejects.toThrow('the integration is shutting down');
    expect(retries).toEqual([]);
  });
});
