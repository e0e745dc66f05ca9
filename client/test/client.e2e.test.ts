/**
 * The client against a live gateway (real embedded ledger, real PostgreSQL): a green-power trade along its whole
 * path, every call through the client as an integration makes it — trading center and check key, participants,
 * unit, meters, a month of readings (NDJSON and CSV) attested, issuance, the trade with check data the client
 * signs, polled to COMMITTED, the voucher and the evidence — then what the client adds, verified by the real
 * gateway: signatures (a wrong secret is the typed 401; SM2 through an injected signer), Idempotency-Key replay
 * after a lost answer, 503 retries after Retry-After, pagination over every page, typed problems.
 *
 * Lost answers and 503s come from a proxy in front of the gateway (support/fault-proxy.ts), so they happen
 * exactly where the test says; the gateway's own 503 while PostgreSQL is away is tested in
 * gateway/test/database-loss.e2e.test.ts.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import {
  canonicalSha256,
  GecApiError,
  GecClient,
  hmacCheckSigner,
  hmacRequestSigner,
  type MeterReading,
  type RetryEvent,
  type Schemas,
  type Signer,
} from '@gec-ledger/client';
import { sm2PublicKeyPem, sm2Sign } from '../../gateway/src/signing/sm2';
import {
  creditCode,
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  type TestGateway,
  type TestPostgres,
} from '../../gateway/test/support/harness';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy';

jest.setTimeout(120000);

type TradeData = Schemas['TradeDataDto'];

/** Last month in Asia/Shanghai (the delivery period must have ended), and the month after it. */
function lastMonth(): { month: string; next: string } {
  const now = new Date(Date.now() + 8 * 3600e3);
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const next = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
  return { month: start.toISOString().slice(0, 7), next: next.toISOString().slice(0, 7) };
}

/** Every hour of `month` (Asia/Shanghai) as RFC 3339 with +08:00. */
function hours(month: string): string[] {
  const [year, monthNumber] = month.split('-').map(Number);
  const start = Date.UTC(year, monthNumber - 1, 1) - 8 * 3600e3;
  const end = Date.UTC(year, monthNumber, 1) - 8 * 3600e3;
  const result: string[] = [];
  for (let t = start; t < end; t += 3600e3) {
    result.push(`${new Date(t + 8 * 3600e3).toISOString().slice(0, 19)}+08:00`);
  }
  return result;
}

describe('the client against a live gateway', () => {
  let postgres: TestPostgres;
  let dataDir: string;
  let gateway: TestGateway;
  let proxy: FaultProxy;
  let baseUrl: string;
  const { month, next } = lastMonth();
  const retries: RetryEvent[] = [];

  let admin: GecClient;
  /** Trading center TC-HEBEI's key: signs its requests (HMAC) and its trades' check data. */
  let tc: GecClient;
  let tcKey: { key: string; keyId: string; secret: string };
  /** The energy platform's key. */
  let ep: GecClient;
  let checkSecret: string;
  let lotId: string;

  /** A client of a key created now, signing with its HMAC secret. */
  async function integration(
    role: 'trading-center' | 'energy-platform',
    actsFor: string,
  ): Promise<{ client: GecClient; key: string; keyId: string; secret: string }> {
    const created = await admin.createApiKey({ label: `${role} ${actsFor}`, role, actsFor });
    if (!created.signing) throw new Error('an integration key comes with a signing secret');
    const { keyId, secret } = created.signing;
    const client = new GecClient({ baseUrl, apiKey: created.key, signer: hmacRequestSigner(keyId, secret) });
    return { client, key: created.key, keyId, secret };
  }

  /** The admin's client through the fault proxy. */
  const adminViaProxy = async () =>
    new GecClient({
      baseUrl: proxy.url,
      apiKey: await readFirstAdminKey(dataDir),
      retry: { baseDelayMs: 10 },
      onRetry: (event) => retries.push(event),
    });

  /** The trading center's client through the fault proxy. */
  const tcViaProxy = () =>
    new GecClient({
      baseUrl: proxy.url,
      apiKey: tcKey.key,
      signer: hmacRequestSigner(tcKey.keyId, tcKey.secret),
      checkSigner: hmacCheckSigner('tc-2026-01', checkSecret),
      retry: { baseDelayMs: 10 },
      onRetry: (event) => retries.push(event),
    });

  const trade = (tradeId: string, volume: number): TradeData => ({
    tradeId,
    kind: 'GREEN_POWER',
    seller: 'GEN-HB-002',
    buyer: 'CON-SH-002',
    volumeKwh: volume * 1000,
    priceFen: volume * 45_000,
    currency: 'CNY',
    deliveryStart: `${month}-01T00:00:00+08:00`,
    deliveryEnd: `${next}-01T00:00:00+08:00`,
    sellerUnitIds: ['UNIT-HB-SOLAR-01'],
    buyerMeterIds: ['MTR-SH-0101'],
    lots: [{ lotId, volume }],
  });

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-client-e2e-');
    gateway = await startGateway({ dataDir, databaseUrl: await postgres.newDatabase() });
    const { port } = gateway.app.getHttpServer().address() as { port: number };
    baseUrl = `http://127.0.0.1:${port}`;
    proxy = await startFaultProxy({ port });
    admin = new GecClient({ baseUrl, apiKey: await readFirstAdminKey(dataDir) });
    const tradingCenter = await integration('trading-center', 'TC-HEBEI');
    tc = tradingCenter.client;
    tcKey = tradingCenter;
    ep = (await integration('energy-platform', 'GRID-HEBEI')).client;
  });

  afterAll(async () => {
    await proxy?.close();
    await gateway?.close();
    await postgres?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  describe('a green-power trade, registration to voucher', () => {
    it('registers the trading center and its HMAC check key', async () => {
      const center = await admin.registerParticipant({
        id: 'TC-HEBEI',
        kind: 'TRADING_CENTER',
        name: '河北电力交易中心',
        region: '130000',
        creditCode: creditCode(1),
      });
      expect(center).toMatchObject({ id: 'TC-HEBEI', kind: 'TRADING_CENTER', status: 'ACTIVE' });
      checkSecret = randomBytes(32).toString('base64');
      const key = await admin.registerCheckKey('TC-HEBEI', {
        keyId: 'tc-2026-01',
        alg: 'hmac-sha256',
        secret: checkSecret,
      });
      expect(key).toMatchObject({ tradingCenter: 'TC-HEBEI', keyId: 'tc-2026-01', revokedAt: null });
    });

    it('registers seller, buyer, the unit and both meters', async () => {
      await admin.registerParticipant({
        id: 'GEN-HB-002',
        kind: 'GENERATOR',
        name: '承德某光伏发电有限公司',
        region: '130000',
        creditCode: creditCode(2),
      });
      // Participants and units are an admin's to register on the ledger (a trading-center key is a client identity).
      await admin.registerParticipant({
        id: 'CON-SH-002',
        kind: 'CONSUMER',
        name: '上海某数据中心有限公司',
        region: '310000',
        creditCode: creditCode(3),
      });
      const unit = await admin.registerUnit({
        id: 'UNIT-HB-SOLAR-01',
        owner: 'GEN-HB-002',
        name: '承德光伏一期',
        projectCode: 'P1307002024000018',
        technology: 'SOLAR_PV',
        capacityKw: 20000,
        province: '130000',
        meterIds: ['MTR-HB-0101'],
        commissioningDate: '2024-09-30',
      });
      expect(unit).toMatchObject({ id: 'UNIT-HB-SOLAR-01', owner: 'GEN-HB-002' });
      await ep.registerMeter({
        meterId: 'MTR-HB-0101',
        kind: 'GENERATION',
        owner: 'GEN-HB-002',
        unitId: 'UNIT-HB-SOLAR-01',
        intervalMinutes: 60,
      });
      await ep.registerMeter({
        meterId: 'MTR-SH-0101',
        kind: 'CONSUMPTION',
        owner: 'CON-SH-002',
        intervalMinutes: 60,
      });
      expect(await admin.getMeter('MTR-SH-0101')).toMatchObject({ kind: 'CONSUMPTION', owner: 'CON-SH-002' });
    });

    it('ingests a month of readings, as NDJSON and as CSV, and attests both months', async () => {
      const generation: MeterReading[] = hours(month).map((intervalStart) => {
        const hour = Number(intervalStart.slice(11, 13));
        return { meterId: 'MTR-HB-0101', intervalStart, kwh: hour >= 6 && hour < 18 ? '150.000' : '0' };
      });
      const ndjson = await ep.ingestMeterReadings(generation, { mode: 'atomic' });
      expect(ndjson).toMatchObject({ accepted: generation.length, rejected: 0 });
      const csv = ['meterId,intervalStart,kwh', ...hours(month).map((h) => `MTR-SH-0101,${h},120.000`)].join(
        '\n',
      );
      const fromCsv = await ep.ingestMeterReadings(`${csv}\n`, { format: 'csv', mode: 'atomic' });
      expect(fromCsv).toMatchObject({ accepted: generation.length, rejected: 0 });
      expect(await ep.getMeterCompleteness('MTR-SH-0101', month)).toMatchObject({ missing: [] });
      for (const meter of ['MTR-HB-0101', 'MTR-SH-0101']) {
        const closed = await ep.closeMeterPeriod(meter, month);
        expect(closed).toMatchObject({ meterId: meter, period: month, status: 'CLOSED' });
      }
    });

    it('issues the unit’s certificates for the month', async () => {
      const issuance = await admin.issueCertificates({ unitId: 'UNIT-HB-SOLAR-01', month });
      const days = hours(month).length / 24;
      expect(issuance.certificates).toBe(Math.floor((days * 12 * 150) / 1000));
      expect(issuance.lotId).not.toBeNull();
      lotId = issuance.lotId!;
    });

    it('rejects a trade whose check data is keyed with the base64 text of the check key', async () => {
      const keyedWithText: Signer = {
        keyId: 'tc-2026-01',
        alg: 'hmac-sha256',
        sign: (message) => createHmac('sha256', Buffer.from(checkSecret, 'utf8')).update(message).digest(),
      };
      const received = await tc.submitTrade(
        { trade: trade(`T-${month}-B`, 50) },
        { checkSigner: keyedWithText },
      );
      expect(received.tradeId).toBe(`T-${month}-B`);
      const final = await tc.waitForTrade(`T-${month}-B`);
      expect(final.state).toBe('REJECTED');
      expect(final.checks.filter((check) => !check.passed).map((check) => check.name)).toEqual(['signature']);
    });

    it('submits the trade with check data the client signs, and polls it to COMMITTED', async () => {
      const data = trade(`T-${month}-0001`, 50);
      const signing = new GecClient({
        baseUrl,
        apiKey: tcKey.key,
        signer: hmacRequestSigner(tcKey.keyId, tcKey.secret),
        checkSigner: hmacCheckSigner('tc-2026-01', checkSecret),
      });
      const answer = await signing.sendTrade({ trade: data });
      expect(answer.status).toBe(202);
      expect(answer.headers.get('location')).toBe(`/v1/trades/${data.tradeId}`);
      expect(answer.replayed).toBe(false);
      expect(answer.data.tradeDataHash).toBe(canonicalSha256(data));

      // Sent again as a retry would be: the same trade, replayed (the key defaults to trade-<tradeId>).
      const again = await signing.sendTrade({ trade: data });
      expect(again.replayed).toBe(true);
      expect(again.idempotencyKey).toBe(`trade-${data.tradeId}`);
      expect(again.data.receivedAt).toBe(answer.data.receivedAt);

      const final = await signing.waitForTrade(data.tradeId, { timeoutMs: 60_000 });
      expect(final.state).toBe('COMMITTED');
      expect(final.checks.every((check) => check.passed)).toBe(true);
      expect(final.ledger).toMatchObject({ validationCode: 'VALID' });
    });

    it('shows the voucher in custody for the buyer, and evidence that checks out', async () => {
      const status = await tc.getTrade(`T-${month}-0001`);
      expect(status.voucherId).toBeTruthy();
      const voucher = await tc.getVoucher(status.voucherId!);
      expect(voucher).toMatchObject({
        consumer: 'CON-SH-002',
        seller: 'GEN-HB-002',
        volumeKwh: 50000,
        status: 'IN_CUSTODY',
      });
      expect(voucher.sourceLots.reduce((sum, lot) => sum + lot.volume, 0)).toBe(50);
      expect(await tc.getTradeEvidence(`T-${month}-0001`)).toMatchObject({ ok: true });
      const printed = await tc.printVoucher(status.voucherId!);
      expect(printed).toContain('绿电凭证');
      // The printed link opens the public verification page (no key needed; the client sends its own anyway).
      const [voucherId, code] = /\/verify\/([^/]+)\/([0-9a-f]{32})</.exec(printed)!.slice(1);
      expect(await tc.verifyVoucher(decodeURIComponent(voucherId), code)).toContain('验证通过');
    });

    it('audits through the client: the chain verifies and the projections match the ledger', async () => {
      const chain = await admin.verifyChain();
      expect(chain).toMatchObject({ ok: true, failureCount: 0 });
      expect(chain.blocksChecked).toBeGreaterThan(0);
      const projection = await admin.checkProjection();
      expect(projection).toMatchObject({ ok: true, differences: [] });
    });
  });

  describe('what the client adds, verified by the gateway', () => {
    const consumer = (n: number) => ({
      id: `CON-P-${n}`,
      kind: 'CONSUMER' as const,
      name: `客户 ${n}`,
      region: '310000',
      creditCode: creditCode(100 + n),
    });

    it('signs as the gateway verifies: a wrong secret is the typed 401 SIGNATURE_INVALID', async () => {
      const wrong = new GecClient({
        baseUrl,
        apiKey: tcKey.key,
        signer: hmacRequestSigner(tcKey.keyId, `${tcKey.secret.slice(0, -1)}x`),
      });
      const error = await wrong.registerParticipant(consumer(90)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GecApiError);
      expect(error).toMatchObject({
        status: 401,
        code: 'SIGNATURE_INVALID',
        operationId: 'registerParticipant',
      });

      const unsigned = new GecClient({ baseUrl, apiKey: tcKey.key });
      await expect(unsigned.registerParticipant(consumer(90))).rejects.toMatchObject({
        status: 401,
        code: 'SIGNATURE_MISSING',
      });
      await expect(admin.getParticipant('CON-P-90')).rejects.toMatchObject({ status: 404 });
    });

    it('signs with SM2/SM3 through an injected signer, against the key’s registered public key', async () => {
      const { key, keyId } = await integration('energy-platform', 'GRID-HEBEI');
      const d = BigInt(`0x${randomBytes(31).toString('hex')}`) + 1n;
      await admin.registerSigningKey(keyId, { alg: 'sm2-sm3', publicKeyPem: sm2PublicKeyPem(d) });
      const sm2: Signer = { keyId, alg: 'sm2-sm3', sign: (message) => sm2Sign(Buffer.from(message), d) };
      const client = new GecClient({ baseUrl, apiKey: key, signer: sm2 });
      await expect(
        client.registerMeter({ meterId: 'MTR-SM2-01', kind: 'CONSUMPTION', owner: 'CON-SH-002' }),
      ).resolves.toMatchObject({ meterId: 'MTR-SM2-01' });
      const otherKey = BigInt(`0x${randomBytes(31).toString('hex')}`) + 1n;
      const forged = new GecClient({
        baseUrl,
        apiKey: key,
        signer: { keyId, alg: 'sm2-sm3', sign: (message) => sm2Sign(Buffer.from(message), otherKey) },
      });
      await expect(
        forged.registerMeter({ meterId: 'MTR-SM2-02', kind: 'CONSUMPTION', owner: 'CON-SH-002' }),
      ).rejects.toMatchObject({ status: 401, code: 'SIGNATURE_INVALID' });
    });

    it('sends a trade again after its answer was lost: the same trade, Idempotent-Replayed, stored once', async () => {
      retries.length = 0;
      proxy.arm('POST', /^\/v1\/trades$/, { kind: 'lose-answer' });
      const data = trade(`T-${month}-LOST`, 1);
      const answer = await tcViaProxy().sendTrade({ trade: data });
      expect(answer).toMatchObject({ status: 202, replayed: true, attempts: 2 });
      expect(answer.data.tradeId).toBe(data.tradeId);
      expect(retries).toHaveLength(1);
      expect(retries[0]).toMatchObject({
        operationId: 'submitTrade',
        attempt: 1,
        idempotencyKey: `trade-${data.tradeId}`,
      });
      expect(proxy.seen.filter((s) => s.request === 'POST /v1/trades').map((s) => s.fault)).toEqual([
        'lose-answer',
        undefined,
      ]);
      const all = await tc.listTrades({ limit: 1000 });
      expect(all.items.filter((t) => t.tradeId === data.tradeId)).toHaveLength(1);
      await tc.waitForTrade(data.tradeId, { timeoutMs: 60_000 });

      // The same key with another body is refused, typed.
      const other = { ...data, priceFen: data.priceFen + 1 };
      await expect(
        tc.submitTrade({ trade: other }, { checkSigner: hmacCheckSigner('tc-2026-01', checkSecret) }),
      ).rejects.toMatchObject({
        status: 409,
        code: 'IDEMPOTENCY_KEY_REUSED',
      });
    });

    it('retries after a 503 as Retry-After says: reads and keyed writes, never an unkeyed write', async () => {
      retries.length = 0;
      const client = tcViaProxy();
      proxy.arm('GET', /^\/v1\/trades\//, { kind: 'unavailable', retryAfter: '1' });
      await expect(client.getTrade(`T-${month}-0001`)).resolves.toMatchObject({ state: 'COMMITTED' });
      proxy.arm('POST', /^\/v1\/participants$/, { kind: 'unavailable', retryAfter: '1' });
      const registrar = await adminViaProxy();
      await expect(registrar.registerParticipant(consumer(91))).resolves.toMatchObject({ id: 'CON-P-91' });
      expect(retries.map((r) => [r.operationId, r.status, r.code, r.delayMs])).toEqual([
        ['getTrade', 503, 'DATABASE_UNAVAILABLE', 1000],
        ['registerParticipant', 503, 'DATABASE_UNAVAILABLE', 1000],
      ]);

      proxy.arm('POST', /^\/v1\/participants\/CON-P-91\/status$/, { kind: 'unavailable', retryAfter: '1' });
      const error = await registrar
        .changeParticipantStatus('CON-P-91', { status: 'SUSPENDED', reason: 'audit' })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE', retryAfterMs: 1000 });
      expect(await admin.getParticipant('CON-P-91')).toMatchObject({ status: 'ACTIVE' });
    });

    it('walks every page of a list with the pagination iterator', async () => {
      for (let n = 1; n <= 5; n++) await admin.registerParticipant(consumer(n));
      const onePage = await admin.listParticipants({ kind: 'CONSUMER', limit: 1000 });
      expect(onePage.nextCursor).toBeNull();
      const pages: number[] = [];
      for await (const page of admin.pages('listParticipants', { kind: 'CONSUMER', limit: 2 })) {
        pages.push(page.items.length);
      }
      // Full pages of 2, then the rest (an empty last page is allowed): every item once, over 3 pages or more.
      expect(pages.slice(0, -1).every((count) => count === 2)).toBe(true);
      expect(pages.reduce((sum, count) => sum + count, 0)).toBe(onePage.items.length);
      expect(pages.length).toBeGreaterThanOrEqual(3);
      const ids: string[] = [];
      for await (const participant of admin.paginate('listParticipants', { kind: 'CONSUMER', limit: 2 })) {
        ids.push(participant.id);
      }
      expect(ids).toEqual(onePage.items.map((p) => p.id));
      expect(ids).toEqual(expect.arrayContaining(['CON-P-1', 'CON-P-2', 'CON-P-3', 'CON-P-4', 'CON-P-5']));
    });

    it('sends a POST that has no body (revoking a check key), and a DELETE', async () => {
      await admin.registerCheckKey('TC-HEBEI', {
        keyId: 'tc-2026-02',
        alg: 'hmac-sha256',
        secret: randomBytes(32).toString('base64'),
      });
      const revoked = await admin.revokeCheckKey('TC-HEBEI', 'tc-2026-02');
      expect(revoked).toMatchObject({ keyId: 'tc-2026-02', revokedAt: expect.any(String) });
      const { keyId } = await integration('energy-platform', 'GRID-HEBEI');
      await expect(admin.revokeApiKey(keyId)).resolves.toBeUndefined();
      const keys = await admin.listApiKeys({ limit: 1000 });
      expect(keys.items.find((key) => key.id === keyId)?.revokedAt).toEqual(expect.any(String));
    });

    it('turns the gateway’s problems into GecApiError: not found, invalid fields, rejected lines', async () => {
      await expect(admin.getParticipant('NOBODY')).rejects.toMatchObject({
        name: 'GecApiError',
        status: 404,
        code: 'PARTICIPANT_NOT_FOUND',
      });

      const invalid = (await tc
        .registerParticipant({ ...consumer(92), region: 'nowhere' })
        .catch((e: unknown) => e)) as GecApiError;
      expect(invalid).toBeInstanceOf(GecApiError);
      expect(invalid).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
      expect(invalid.fields).toContain('region');
      expect(invalid.requestId).toBeTruthy();

      const rejected = (await ep
        .ingestMeterReadings(
          [{ meterId: 'MTR-SH-0101', intervalStart: `${next}-01T00:00:00+08:00`, kwh: -1 }],
          {
            mode: 'atomic',
          },
        )
        .catch((e: unknown) => e)) as GecApiError;
      expect(rejected).toMatchObject({ status: 422, code: 'READINGS_REJECTED' });
      expect(rejected.errors[0]).toMatchObject({ line: 1, field: 'kwh', code: 'NEGATIVE_VALUE' });
      expect(rejected.problem.rejected).toBe(1);
    });
  });
});
