/**
 * Trades end to end over HTTP: the real gateway on the embedded ledger and a real PostgreSQL. A month of
 * 15-minute readings for wind units and factories is ingested and attested; trades are posted with HMAC check
 * data and go through verification (存证校验) to the ledger, or are rejected with every failed check.
 */
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { rm } from 'node:fs/promises';
import canonicalize from 'canonicalize';
import { DataSource } from 'typeorm';
import { sm2PublicKeyPem, sm2Sign } from '../src/signing/sm2';
import { interval, ledgerOf, Market, setupMarket, tradeBody, tradeData, waitFinal } from './trades-fixture';
import {
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  TestGateway,
  TestPostgres,
} from './support/harness';

jest.setTimeout(110000);

const PROBLEM = /^application\/problem\+json/;

describe('trades', () => {
  let postgres: TestPostgres;
  let dataDir: string;
  let gateway: TestGateway;
  let market: Market;
  let idem = 0;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-trades-');
    // The test's callback receiver listens on 127.0.0.1: allowed on purpose (everything else internal is not).
    gateway = await startGateway({
      dataDir,
      databaseUrl: await postgres.newDatabase(),
      env: { CALLBACK_ALLOW: '127.0.0.1' },
    });
    market = await setupMarket(gateway.http, gateway.app, await readFirstAdminKey(dataDir), {
      sellers: ['GEN-1', 'GEN-2'],
      consumers: { 'CON-1': 40, 'CON-2': 40, 'CON-3': 40, 'CON-4': 5 },
      incomplete: ['CON-3'],
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await postgres?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const lot = (seller: string) => {
    const id = market.lots[seller].shift();
    if (!id) throw new Error(`no free lot of ${seller}`);
    return id;
  };
  const post = (body: unknown, key = `idem-${++idem}`, role: keyof Market['keys'] = 'trading-center') =>
    gateway.http
      .post('/v1/trades')
      .set('X-API-Key', market.keys[role])
      .set('Idempotency-Key', key)
      .send(body as object);
  const get = (path: string, role: keyof Market['keys'] = 'trading-center') =>
    gateway.http.get(path).set('X-API-Key', market.keys[role]);
  const final = (tradeId: string) => waitFinal((id) => get(`/v1/trades/${id}`), tradeId);
  const failed = (status: { checks?: unknown; [key: string]: unknown }) =>
    ((status.checks ?? []) as Array<{ name: string; passed: boolean }>)
      .filter((c) => !c.passed)
      .map((c) => c.name);
  const onLedger = async (tradeId: string) => {
    try {
      const bytes = await ledgerOf(gateway.app).evaluate({
        identity: { mspId: 'RegulatorMSP', name: 'regulator' },
        transaction: 'trades:GetTrade',
        args: [tradeId],
      });
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as {
        tradeDataHash: string;
        txId: string;
        voucherId: string;
      };
    } catch (error) {
      if (/TRADE_NOT_FOUND/.test((error as Error).message)) return undefined;
      throw error;
    }
  };

  describe('a trade that passes every check', () => {
    let committed: Record<string, unknown>;

    it('is accepted with 202 and a status URL, then committed with its voucher in custody', async () => {
      const body = tradeBody(market, {
        tradeId: 'T-OK-1',
        seller: 'GEN-1',
        buyer: 'CON-1',
        lots: [{ lotId: lot('GEN-1') }],
      });
      const res = await post(body).expect(202);
      expect(res.headers.location).toBe('/v1/trades/T-OK-1');
      expect(res.body).toMatchObject({ tradeId: 'T-OK-1', tradingCenter: 'TC-1', volumeKwh: 10000 });
      expect(['RECEIVED', 'VERIFYING', 'COMMITTING', 'COMMITTED']).toContain(res.body.state);

      committed = await final('T-OK-1');
      expect(committed.state).toBe('COMMITTED');
      expect(failed(committed)).toEqual([]);
      expect((committed.checks as Array<{ name: string }>).map((c) => c.name)).toEqual(
        expect.arrayContaining([
          'parties',
          'signature',
          'seller-units',
          'buyer-meters',
          'meter-data-complete',
          'meter-data-attested',
          'generation-covers-volume',
          'consumption-covers-volume',
          'certificates',
        ]),
      );
      expect(committed).toMatchObject({
        voucherId: 'VCH-T-OK-1',
        txId: expect.stringMatching(/^[0-9a-f]{64}$/),
        ledger: { validationCode: 'VALID', txId: committed.txId },
        meterEvidenceDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      expect(committed.blockNumber).toBeGreaterThan(0);

      const chain = await onLedger('T-OK-1');
      expect(chain).toMatchObject({
        tradeDataHash: committed.tradeDataHash,
        txId: committed.txId,
        voucherId: 'VCH-T-OK-1',
      });
    });

    it('shows the voucher with its source serial ranges, trade and ledger proof', async () => {
      const res = await get('/v1/vouchers/VCH-T-OK-1').expect(200);
      expect(res.body).toMatchObject({
        id: 'VCH-T-OK-1',
        consumer: 'CON-1',
        seller: 'GEN-1',
        volumeKwh: 10000,
        status: 'IN_CUSTODY',
        trade: { tradeId: 'T-OK-1', kind: 'GREEN_POWER', tradeDataHash: committed.tradeDataHash },
        ledger: { txId: committed.txId, blockNumber: committed.blockNumber, validationCode: 'VALID' },
      });
      expect(res.body.sourceLots).toHaveLength(1);
      expect(res.body.sourceLots[0]).toMatchObject({
        volume: 10,
        serialStart: expect.stringMatching(/^P3309/),
      });
      const list = await get('/v1/vouchers?consumer=CON-1&status=IN_CUSTODY', 'regulator').expect(200);
      expect(list.body.items.map((v: { id: string }) => v.id)).toContain('VCH-T-OK-1');
    });

    it('prints the voucher as a self-contained HTML page', async () => {
      const res = await get('/v1/vouchers/VCH-T-OK-1/print').expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain('绿电凭证');
      expect(res.text).toContain('Green Electricity');
      expect(res.text).toContain(committed.txId as string);
      expect(res.text).toContain('CON-1');
      expect(res.text).not.toMatch(/<script|<link|src="http/);
    });

    it('replays the same request with the same Idempotency-Key, changing nothing', async () => {
      const body = tradeBody(market, {
        tradeId: 'T-IDEM',
        seller: 'GEN-1',
        buyer: 'CON-1',
        lots: [{ lotId: lot('GEN-1') }],
      });
      const first = await post(body, 'idem-replay').expect(202);
      const again = await post(body, 'idem-replay').expect(202);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.headers.location).toBe('/v1/trades/T-IDEM');
      expect(again.body.tradeId).toBe(first.body.tradeId);
      expect(again.body.receivedAt).toBe(first.body.receivedAt);
      const done = await final('T-IDEM');
      const third = await post(body, 'idem-replay').expect(202);
      expect(third.body).toMatchObject({ state: done.state, txId: done.txId });
    });

    it('refuses the same Idempotency-Key with another body (409 IDEMPOTENCY_KEY_REUSED)', async () => {
      const body = tradeBody(market, {
        tradeId: 'T-IDEM',
        seller: 'GEN-1',
        buyer: 'CON-1',
        volumeKwh: 20000,
      });
      const res = await post(body, 'idem-replay').expect(409);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    });

    it('refuses the same trade id under another Idempotency-Key (409 TRADE_EXISTS)', async () => {
      const body = tradeBody(market, { tradeId: 'T-IDEM', seller: 'GEN-1', buyer: 'CON-1' });
      const res = await post(body, 'another-key').expect(409);
      expect(res.body.code).toBe('TRADE_EXISTS');
    });

    it('stores a trade posted several times at once exactly once (trades stored together keep their keys)', async () => {
      const body = tradeBody(market, {
        tradeId: 'T-BURST',
        seller: 'GEN-1',
        buyer: 'CON-1',
        lots: [{ lotId: lot('GEN-1') }],
      });
      // The same request under one key, and the same trade id under other keys, all at once.
      const answers = await Promise.all([
        ...Array.from({ length: 4 }, () => post(body, 'burst-key')),
        ...Array.from({ length: 3 }, (_, i) => post(body, `burst-other-${i}`)),
      ]);
      const same = answers.slice(0, 4);
      expect(same.map((a) => a.status)).toEqual([202, 202, 202, 202]);
      expect(same.filter((a) => a.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
      expect(new Set(same.map((a) => a.body.receivedAt)).size).toBe(1);
      for (const other of answers.slice(4)) {
        expect(other.status).toBe(409);
        expect(other.body.code).toBe('TRADE_EXISTS');
      }
      const db = gateway.app.get(DataSource);
      const rows = (await db.query(
        `SELECT (SELECT count(*)::int FROM trades WHERE trade_id = 'T-BURST') AS trades,
                (SELECT count(*)::int FROM trade_transactions WHERE trade_id = 'T-BURST') AS txs`,
      )) as Array<{ trades: number; txs: number }>;
      expect(rows[0].trades).toBe(1);
      expect((await final('T-BURST')).state).toBe('COMMITTED');
      const after = (await db.query(
        `SELECT count(*)::int AS n FROM trade_transactions WHERE trade_id = 'T-BURST' AND outcome = 'VALID'`,
      )) as Array<{ n: number }>;
      expect(after[0].n).toBe(1);
    });
  });

  describe('acquisition', () => {
    it('requires an Idempotency-Key', async () => {
      const res = await gateway.http
        .post('/v1/trades')
        .set('X-API-Key', market.keys['trading-center'])
        .send(tradeBody(market, { tradeId: 'T-NOKEY', seller: 'GEN-1', buyer: 'CON-1' }))
        .expect(400);
      expect(res.body.errors[0].field).toBe('Idempotency-Key');
    });

    it('names every invalid field (400)', async () => {
      const trade = {
        ...tradeData({ tradeId: 'T-BAD', seller: 'GEN-1', buyer: 'CON-1' }),
        volumeKwh: 1.5,
        currency: 'USD',
      };
      const res = await post({ trade, checkData: { keyId: 'k', alg: 'md5', signature: 'x' } }).expect(400);
      const fields = res.body.errors.map((e: { field: string }) => e.field);
      expect(fields).toEqual(expect.arrayContaining(['trade.volumeKwh', 'trade.currency', 'checkData.alg']));
    });

    it('refuses a delivery period that is not whole months', async () => {
      const trade = {
        ...tradeData({ tradeId: 'T-HALF', seller: 'GEN-1', buyer: 'CON-1' }),
        deliveryEnd: '2026-10-15T00:00:00+08:00',
      };
      const res = await post({
        trade,
        checkData: { keyId: 'k', alg: 'hmac-sha256', signature: 'AAAA' },
      }).expect(400);
      expect(res.body.errors[0].field).toBe('trade.deliveryEnd');
      const midMonthStart = await post({
        trade: {
          ...trade,
          deliveryStart: '2026-10-15T00:00:00+08:00',
          deliveryEnd: '2026-11-01T00:00:00+08:00',
        },
        checkData: { keyId: 'k', alg: 'hmac-sha256', signature: 'AAAA' },
      }).expect(400);
      expect(midMonthStart.body.errors[0].field).toBe('trade.deliveryStart');
    });

    it('is for trading-center keys only', async () => {
      const body = tradeBody(market, { tradeId: 'T-ROLE', seller: 'GEN-1', buyer: 'CON-1' });
      await post(body, 'role-1', 'regulator').expect(403);
      await post(body, 'role-2', 'energy-platform').expect(403);
    });
  });

  describe('rejection, with every failed check and nothing on the ledger', () => {
    const rejected = async (tradeId: string) => {
      const status = await final(tradeId);
      expect(status.state).toBe('REJECTED');
      expect(status).toMatchObject({ failure: { code: 'VERIFICATION_FAILED' }, txId: null, voucherId: null });
      expect(await onLedger(tradeId)).toBeUndefined();
      return status;
    };

    it('a bad signature', async () => {
      const body = tradeBody(market, {
        tradeId: 'T-SIG',
        seller: 'GEN-1',
        buyer: 'CON-1',
        lots: [{ lotId: market.lots['GEN-1'][0] }],
      });
      body.checkData.signature = Buffer.from('forged'.padEnd(32, '!')).toString('base64');
      await post(body).expect(202);
      const status = await rejected('T-SIG');
      expect(failed(status)).toEqual(['signature']);
      const check = (
        status.checks as Array<{ name: string; reason: string; inputs: { keyId: string } }>
      ).find((c) => c.name === 'signature')!;
      expect(check.reason).toMatch(/does not match/);
      expect(check.inputs.keyId).toBe(market.keyId);
    });

    it('trade data changed after signing', async () => {
      const body = tradeBody(market, {
        tradeId: 'T-TAMPER',
        seller: 'GEN-1',
        buyer: 'CON-1',
        lots: [{ lotId: market.lots['GEN-1'][0] }],
      });
      (body.trade as { priceFen: number }).priceFen = 1;
      await post(body).expect(202);
      expect(failed(await rejected('T-TAMPER'))).toEqual(['signature']);
    });

    it('an unregistered buyer', async () => {
      await post(
        tradeBody(market, {
          tradeId: 'T-PARTY',
          seller: 'GEN-1',
          buyer: 'CON-404',
          lots: [{ lotId: market.lots['GEN-1'][0] }],
        }),
      ).expect(202);
      const status = await rejected('T-PARTY');
      expect(failed(status)).toEqual(expect.arrayContaining(['parties', 'buyer-meters']));
    });

    it('incomplete and unattested meter data', async () => {
      await post(
        tradeBody(market, {
          tradeId: 'T-GAPS',
          seller: 'GEN-1',
          buyer: 'CON-3',
          lots: [{ lotId: market.lots['GEN-1'][0] }],
        }),
      ).expect(202);
      const status = await rejected('T-GAPS');
      expect(failed(status)).toEqual(expect.arrayContaining(['meter-data-complete', 'meter-data-attested']));
      const complete = (status.checks as Array<{ name: string; reason: string }>).find(
        (c) => c.name === 'meter-data-complete',
      )!;
      expect(complete.reason).toContain('M-CON-3 2026-10: 200 of 2976 intervals');
    });

    it('consumption that does not cover the volume together with earlier trades', async () => {
      // CON-4 consumed 2976 × 5 kWh = 14,880 kWh: one trade of 10,000 kWh fits, a second does not.
      await post(
        tradeBody(market, {
          tradeId: 'T-COVER-1',
          seller: 'GEN-1',
          buyer: 'CON-4',
          lots: [{ lotId: lot('GEN-1') }],
        }),
      ).expect(202);
      expect((await final('T-COVER-1')).state).toBe('COMMITTED');
      await post(
        tradeBody(market, {
          tradeId: 'T-COVER-2',
          seller: 'GEN-1',
          buyer: 'CON-4',
          lots: [{ lotId: market.lots['GEN-1'][0] }],
        }),
      ).expect(202);
      const status = await rejected('T-COVER-2');
      expect(failed(status)).toEqual(['consumption-covers-volume']);
      const check = (status.checks as Array<{ name: string; inputs: { months: unknown[] } }>).find(
        (c) => c.name === 'consumption-covers-volume',
      )!;
      expect(check.inputs.months).toEqual([
        { month: '2026-10', capacityWh: '14880000', earlierKwh: 10000, thisKwh: 10000 },
      ]);
    });

    it('certificates not held by the seller, or already bound to a green-power trade', async () => {
      await post(
        tradeBody(market, {
          tradeId: 'T-LOT-1',
          seller: 'GEN-1',
          buyer: 'CON-2',
          lots: [{ lotId: market.lots['GEN-2'][0] }],
        }),
      ).expect(202);
      const first = await rejected('T-LOT-1');
      expect(failed(first)).toEqual(['certificates']);
      const used = (await get('/v1/vouchers/VCH-T-OK-1').expect(200)).body.sourceLots[0].lotId as string;
      await post(
        tradeBody(market, { tradeId: 'T-LOT-2', seller: 'GEN-1', buyer: 'CON-2', lots: [{ lotId: used }] }),
      ).expect(202);
      const second = await rejected('T-LOT-2');
      expect(failed(second)).toEqual(['certificates']);
      const reason = (second.checks as Array<{ name: string; reason: string }>).find(
        (c) => c.name === 'certificates',
      )!.reason;
      expect(reason).toMatch(/not by the seller|IN_CUSTODY|bound/);
    });

    it('certificates that do not cover the volume', async () => {
      await post(
        tradeBody(market, {
          tradeId: 'T-LOT-3',
          seller: 'GEN-1',
          buyer: 'CON-2',
          volumeKwh: 12000,
          lots: [{ lotId: market.lots['GEN-1'][0] }],
        }),
      ).expect(202);
      expect(failed(await rejected('T-LOT-3'))).toEqual(['certificates']);
    });

    it('an interval profile that claims more than was consumed in an interval', async () => {
      // CON-4's meter reads 5 kWh per interval; the profile puts 10,000 kWh into one.
      const profile = [{ intervalStart: interval(0), kwh: 10000 }];
      await post(
        tradeBody(market, {
          tradeId: 'T-PROFILE-X',
          seller: 'GEN-2',
          buyer: 'CON-2',
          profile,
          lots: [{ lotId: market.lots['GEN-2'][0] }],
        }),
      ).expect(202);
      const status = await rejected('T-PROFILE-X');
      expect(failed(status)).toEqual(['profile-matching']);
    });
  });

  it('commits a trade whose interval profile matches generation and consumption', async () => {
    const profile = Array.from({ length: 2000 }, (_, i) => ({ intervalStart: interval(i), kwh: '5.000' }));
    await post(
      tradeBody(market, {
        tradeId: 'T-PROFILE-OK',
        seller: 'GEN-2',
        buyer: 'CON-2',
        profile,
        lots: [{ lotId: lot('GEN-2') }],
      }),
    ).expect(202);
    const status = await final('T-PROFILE-OK');
    expect(failed(status)).toEqual([]);
    expect(status.state).toBe('COMMITTED');
  });

  it('commits a CERTIFICATE_ONLY trade (no electricity: the generation check does not apply)', async () => {
    const body = tradeBody(market, {
      tradeId: 'T-CERT-ONLY',
      kind: 'CERTIFICATE_ONLY',
      seller: 'GEN-1',
      buyer: 'CON-2',
      lots: [{ lotId: lot('GEN-1') }],
    });
    await post(body).expect(202);
    const status = await final('T-CERT-ONLY');
    expect(status.state).toBe('COMMITTED');
    const generation = (status.checks as Array<{ name: string; reason: string }>).find(
      (c) => c.name === 'generation-covers-volume',
    );
    expect(generation?.reason).toMatch(/not applicable/);
    const voucher = await get('/v1/vouchers/VCH-T-CERT-ONLY').expect(200);
    expect(voucher.body.trade.kind).toBe('CERTIFICATE_ONLY');
  });

  describe('SM2 with SM3 check data', () => {
    const d = BigInt(`0x${randomBytes(31).toString('hex')}`) + 1n;
    const sm2Body = (tradeId: string, key: bigint, lots: Array<{ lotId: string }>) => {
      const trade = tradeData({ tradeId, seller: 'GEN-2', buyer: 'CON-1', lots });
      const signature = sm2Sign(Buffer.from(canonicalize(trade) as string, 'utf8'), key).toString('base64');
      return { trade, checkData: { keyId: 'tc-sm2', alg: 'sm2-sm3', signature } };
    };

    beforeAll(async () => {
      await gateway.http
        .post('/v1/trading-centers/TC-1/check-keys')
        .set('X-API-Key', market.keys.admin)
        .send({ keyId: 'tc-sm2', alg: 'sm2-sm3', publicKeyPem: sm2PublicKeyPem(d) })
        .expect(201);
    });

    it('commits a trade signed with the registered SM2 key', async () => {
      await post(sm2Body('T-SM2-OK', d, [{ lotId: lot('GEN-2') }])).expect(202);
      const status = await final('T-SM2-OK');
      expect(status.state).toBe('COMMITTED');
      const check = (status.checks as Array<{ name: string; reason: string }>).find(
        (c) => c.name === 'signature',
      );
      expect(check?.reason).toBe(
        'SM2/SM3 signature valid (verified again by the chaincode on every endorsing peer)',
      );
    });

    it('rejects a trade signed with another SM2 key', async () => {
      await post(sm2Body('T-SM2-BAD', d + 1n, [{ lotId: market.lots['GEN-2'][0] }])).expect(202);
      const status = await final('T-SM2-BAD');
      expect(status.state).toBe('REJECTED');
      expect(failed(status)).toEqual(['signature']);
    });

    it('rejects check data signed with a revoked key', async () => {
      await gateway.http
        .post('/v1/trading-centers/TC-1/check-keys/tc-sm2/revoke')
        .set('X-API-Key', market.keys.admin)
        .expect(200);
      await post(sm2Body('T-SM2-REVOKED', d, [{ lotId: market.lots['GEN-2'][0] }])).expect(202);
      const status = await final('T-SM2-REVOKED');
      expect(status.state).toBe('REJECTED');
      const check = (status.checks as Array<{ name: string; reason: string }>).find(
        (c) => c.name === 'signature',
      );
      expect(check?.reason).toMatch(/revoked/);
    });

    it('refuses a public key that is not SM2 (400) and lists keys without secrets', async () => {
      await gateway.http
        .post('/v1/trading-centers/TC-1/check-keys')
        .set('X-API-Key', market.keys.admin)
        .send({ keyId: 'tc-bad', alg: 'sm2-sm3', publicKeyPem: 'not a key' })
        .expect(400);
      const list = await get('/v1/trading-centers/TC-1/check-keys').expect(200);
      expect(list.body.map((k: { keyId: string }) => k.keyId)).toEqual(['tc-key-1', 'tc-sm2']);
      expect(JSON.stringify(list.body)).not.toContain(market.secret.toString('base64'));
    });
  });

  describe('ECDSA P-256 check data, verified by the chaincode itself', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ledgerRead = async (transaction: string, arg: string) =>
      JSON.parse(
        Buffer.from(
          await ledgerOf(gateway.app).evaluate({
            identity: { mspId: 'RegulatorMSP', name: 'regulator' },
            transaction,
            args: [arg],
          }),
        ).toString('utf8'),
      ) as Record<string, unknown>;

    it('registers the key on the ledger under the trading center organisation, with its admin identity', async () => {
      const registered = await gateway.http
        .post('/v1/trading-centers/TC-1/check-keys')
        .set('X-API-Key', market.keys.admin)
        .send({
          keyId: 'tc-p256',
          alg: 'ecdsa-p256-sha256',
          publicKeyPem: key.publicKey.export({ type: 'spki', format: 'pem' }),
        })
        .expect(201);
      expect(registered.body).toMatchObject({ organisation: 'TradingCenterMSP', verifiedBy: 'CHAINCODE' });
      const onLedger = await ledgerRead(
        'consortium:GetTradeSigningKey',
        JSON.stringify({ mspId: 'TradingCenterMSP', keyId: 'tc-p256' }),
      );
      expect(onLedger).toMatchObject({ alg: 'ecdsa-p256-sha256', status: 'ACTIVE', verifiedBy: 'CHAINCODE' });
      expect(String(onLedger.registeredBy)).toMatch(/admin/);
      // The same key again is a conflict, not a second registration.
      await gateway.http
        .post('/v1/trading-centers/TC-1/check-keys')
        .set('X-API-Key', market.keys.admin)
        .send({
          keyId: 'tc-p256',
          alg: 'ecdsa-p256-sha256',
          publicKeyPem: key.publicKey.export({ type: 'spki', format: 'pem' }),
        })
        .expect(409);
      await gateway.http
        .post('/v1/trading-centers/TC-1/check-keys')
        .set('X-API-Key', market.keys.admin)
        .send({ keyId: 'tc-p256-bad', alg: 'ecdsa-p256-sha256', publicKeyPem: sm2PublicKeyPem(5n) })
        .expect(400);
    });

    it('commits a trade whose signature the ledger re-verifies from its own data', async () => {
      const trade = tradeData({
        tradeId: 'T-P256-OK',
        seller: 'GEN-2',
        buyer: 'CON-1',
        lots: [{ lotId: lot('GEN-2') }],
      });
      const signature = sign(
        'sha256',
        Buffer.from(canonicalize(trade) as string, 'utf8'),
        key.privateKey,
      ).toString('base64');
      await post({ trade, checkData: { keyId: 'tc-p256', alg: 'ecdsa-p256-sha256', signature } }).expect(202);
      const status = await final('T-P256-OK');
      expect(status.state).toBe('COMMITTED');
      const onLedger = await ledgerRead('trades:GetTrade', 'T-P256-OK');
      expect(onLedger).toMatchObject({
        tradingCenter: 'TradingCenterMSP',
        signature: { keyId: 'tc-p256', alg: 'ecdsa-p256-sha256', value: signature, verifiedBy: 'CHAINCODE' },
        tradeData: canonicalize(trade),
        attestedByMsp: 'GridMSP',
      });
      expect(await ledgerRead('trades:CheckTradeSignature', 'T-P256-OK')).toMatchObject({
        valid: true,
        signatureVerifies: true,
      });
    });

    it('an HMAC-signed trade is marked on the ledger as verified by the gateway only', async () => {
      await post(
        tradeBody(market, {
          tradeId: 'T-HMAC-MARK',
          seller: 'GEN-2',
          buyer: 'CON-1',
          lots: [{ lotId: lot('GEN-2') }],
        }),
      ).expect(202);
      expect((await final('T-HMAC-MARK')).state).toBe('COMMITTED');
      const onLedger = await ledgerRead('trades:GetTrade', 'T-HMAC-MARK');
      expect(onLedger.signature).toMatchObject({ alg: 'hmac-sha256', verifiedBy: 'GATEWAY' });
      expect(await ledgerRead('trades:CheckTradeSignature', 'T-HMAC-MARK')).toMatchObject({ valid: false });
    });

    it('revoking the key through the gateway revokes it on the ledger: later trades are refused there too', async () => {
      await gateway.http
        .post('/v1/trading-centers/TC-1/check-keys/tc-p256/revoke')
        .set('X-API-Key', market.keys.admin)
        .expect(200);
      const onLedger = await ledgerRead(
        'consortium:GetTradeSigningKey',
        JSON.stringify({ mspId: 'TradingCenterMSP', keyId: 'tc-p256' }),
      );
      expect(onLedger).toMatchObject({ status: 'REVOKED' });
      expect(await ledgerRead('trades:CheckTradeSignature', 'T-P256-OK')).toMatchObject({ valid: true });
    });
  });

  describe('vouchers in custody', () => {
    it("are another trading center's to see only as 404: no custody action, no check-key metadata", async () => {
      const other = await gateway.http
        .post('/v1/api-keys')
        .set('X-API-Key', market.keys.admin)
        .send({ label: 'another trading center', role: 'trading-center', actsFor: 'TC-2' })
        .expect(201);
      for (const action of ['release', 'claim']) {
        const res = await gateway.http
          .post(`/v1/vouchers/VCH-T-OK-1/${action}`)
          .set('X-API-Key', other.body.key)
          .send(
            action === 'claim'
              ? { purpose: 'x', reportingStartMonth: '2026-01', reportingEndMonth: '2026-12' }
              : {},
          )
          .expect(404);
        expect(res.body.code).toBe('VOUCHER_NOT_FOUND');
      }
      const voucher = await gateway.http.get('/v1/vouchers/VCH-T-OK-1').set('X-API-Key', market.keys.admin);
      expect(voucher.body.status).toBe('IN_CUSTODY');
      const keys = await gateway.http
        .get('/v1/trading-centers/TC-1/check-keys')
        .set('X-API-Key', other.body.key)
        .expect(404);
      expect(keys.body.code).toBe('TRADING_CENTER_NOT_FOUND');
      await gateway.http
        .get('/v1/trading-centers/TC-1/check-keys')
        .set('X-API-Key', market.keys['trading-center'])
        .expect(200);
    });

    it('are released and claimed by the trading center for the holder, and final once claimed', async () => {
      const released = await gateway.http
        .post('/v1/vouchers/VCH-T-OK-1/release')
        .set('X-API-Key', market.keys['trading-center'])
        .send({})
        .expect(200);
      expect(released.body.status).toBe('RELEASED');
      const claimed = await gateway.http
        .post('/v1/vouchers/VCH-T-OK-1/claim')
        .set('X-API-Key', market.keys['trading-center'])
        .send({
          purpose: '2026 年度绿电消费核算',
          reportingStartMonth: '2026-01',
          reportingEndMonth: '2026-12',
        })
        .expect(200);
      expect(claimed.body).toMatchObject({
        status: 'CLAIMED',
        claimedFor: { purpose: '2026 年度绿电消费核算' },
      });
      const revoke = await gateway.http
        .post('/v1/vouchers/VCH-T-OK-1/revoke')
        .set('X-API-Key', market.keys.admin)
        .send({ reason: 'dispute' })
        .expect(409);
      expect(revoke.body.code).toBe('VOUCHER_CLAIMED');
    });

    it('are revoked by the issuer with a reason (never by a regulator)', async () => {
      await gateway.http
        .post('/v1/vouchers/VCH-T-PROFILE-OK/revoke')
        .set('X-API-Key', market.keys.regulator)
        .send({ reason: 'x' })
        .expect(403);
      const res = await gateway.http
        .post('/v1/vouchers/VCH-T-PROFILE-OK/revoke')
        .set('X-API-Key', market.keys.admin)
        .send({ reason: 'trade disputed by the seller' })
        .expect(200);
      expect(res.body).toMatchObject({ status: 'REVOKED', statusReason: 'trade disputed by the seller' });
    });
  });

  describe('reading trades', () => {
    it('lists trades with filters and cursor pagination', async () => {
      const res = await get('/v1/trades?state=REJECTED&limit=2', 'regulator').expect(200);
      expect(res.body.items).toHaveLength(2);
      expect(res.body.items.every((t: { state: string }) => t.state === 'REJECTED')).toBe(true);
      const next = await get(
        `/v1/trades?state=REJECTED&limit=100&cursor=${res.body.nextCursor}`,
        'regulator',
      ).expect(200);
      const ids = [...res.body.items, ...next.body.items].map((t: { tradeId: string }) => t.tradeId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(expect.arrayContaining(['T-SIG', 'T-PARTY', 'T-GAPS', 'T-COVER-2']));
      const byBuyer = await get('/v1/trades?buyer=CON-4', 'admin').expect(200);
      expect(byBuyer.body.items.map((t: { tradeId: string }) => t.tradeId).sort()).toEqual([
        'T-COVER-1',
        'T-COVER-2',
      ]);
    });

    it('hides a trade from other trading centers (404), and their lists', async () => {
      const other = await gateway.http
        .post('/v1/api-keys')
        .set('X-API-Key', market.keys.admin)
        .send({ label: 'another trading center', role: 'trading-center', actsFor: 'TC-2' })
        .expect(201);
      await gateway.http.get('/v1/trades/T-OK-1').set('X-API-Key', other.body.key).expect(404);
      const list = await gateway.http.get('/v1/trades').set('X-API-Key', other.body.key).expect(200);
      expect(list.body.items).toEqual([]);
    });

    it('re-checks a committed trade’s evidence against the ledger and the stored readings', async () => {
      const res = await get('/v1/trades/T-OK-1/evidence', 'regulator').expect(200);
      expect(res.body).toMatchObject({
        ok: true,
        tradeDataHash: { matches: true },
        checkDataHash: { matches: true },
        meterEvidenceDigest: { matches: true },
      });
      expect(res.body.meters.map((m: { meterId: string }) => m.meterId).sort()).toEqual([
        'M-CON-1',
        'M-GEN-1',
      ]);
      expect(res.body.meters.every((m: { matches: boolean }) => m.matches)).toBe(true);
      await get('/v1/trades/T-SIG/evidence', 'regulator').expect(409);
    });

    it('refuses, before storing anything, a correction that takes the buyer below the green electricity it claimed', async () => {
      const db = gateway.app.get(DataSource);
      const stored = async () =>
        (await db.query(
          `SELECT count(*)::int AS n, sum(wh)::text AS wh, max(version)::int AS version FROM meter_readings
           WHERE meter_id = 'M-CON-1'`,
        )) as Array<{ n: number; wh: string; version: number }>;
      const before = await stored();
      // 1 kWh in every interval of the month: 2,976 kWh, below the 10,000 kWh T-OK-1 attested against CON-1.
      const lines = Array.from({ length: 31 * 96 }, (_, i) =>
        JSON.stringify({ meterId: 'M-CON-1', intervalStart: interval(i), kwh: '1' }),
      );
      const refused = await gateway.http
        .post('/v1/meter-readings?mode=partial&correction=true&reason=CT%20ratio')
        .set('X-API-Key', market.keys['energy-platform'])
        .set('Content-Type', 'application/x-ndjson')
        .send(`${lines.join('\n')}\n`)
        .expect(409);
      expect(refused.body).toMatchObject({ code: 'ATTESTATION_BELOW_CLAIMED' });
      expect(refused.body.detail).toContain('M-CON-1 2026-10');
      expect(refused.body.detail).toContain('nothing was stored');
      // Nothing changed: the readings, the closed period, the evidence of the trade.
      expect(await stored()).toEqual(before);
      const period = await gateway.http
        .get('/v1/meters/M-CON-1/periods/2026-10')
        .set('X-API-Key', market.keys['energy-platform'])
        .expect(200);
      expect(period.body).toMatchObject({ status: 'CLOSED' });
      expect((await get('/v1/trades/T-OK-1/evidence', 'regulator').expect(200)).body.ok).toBe(true);
      // A correction the ledger accepts (still above what was claimed) is stored and reopens the period.
      const accepted = await gateway.http
        .post('/v1/meter-readings?mode=partial&correction=true&reason=CT%20ratio')
        .set('X-API-Key', market.keys['energy-platform'])
        .set('Content-Type', 'application/x-ndjson')
        .send(`${JSON.stringify({ meterId: 'M-CON-1', intervalStart: interval(0), kwh: '39' })}\n`)
        .expect(200);
      expect(accepted.body).toMatchObject({ corrected: 1 });
      // Closed again: the ledger takes the correction as attestation version 2, and the meter serves trades again.
      const reclosed = await gateway.http
        .post('/v1/meters/M-CON-1/periods/2026-10/close')
        .set('X-API-Key', market.keys['energy-platform'])
        .send({})
        .expect(200);
      expect(reclosed.body).toMatchObject({ status: 'CLOSED', version: 2, totalKwh: '119039.000' });
    });

    it('notices stored trade data that no longer hashes to what the ledger holds', async () => {
      await gateway.app
        .get(DataSource)
        .query(
          `UPDATE trades SET trade = jsonb_set(trade, '{priceFen}', '1') WHERE trade_id = 'T-CERT-ONLY'`,
        );
      const res = await get('/v1/trades/T-CERT-ONLY/evidence', 'admin').expect(200);
      expect(res.body.ok).toBe(false);
      expect(res.body.tradeDataHash.matches).toBe(false);
      expect(res.body.checkDataHash.matches).toBe(true);
    });

    it('counts finished trades and the outbox depth in the Prometheus metrics', async () => {
      const res = await gateway.http.get('/metrics').expect(200);
      expect(res.text).toMatch(/gec_trades_finished_total\{state="COMMITTED",code=""\} [1-9]/);
      expect(res.text).toMatch(
        /gec_trades_finished_total\{state="REJECTED",code="VERIFICATION_FAILED"\} [1-9]/,
      );
      expect(res.text).toMatch(/gec_trade_outbox_depth \d+/);
    });

    it('is not open to energy-platform keys', async () => {
      await get('/v1/trades/T-OK-1', 'energy-platform').expect(403);
    });
  });

  describe('callbacks', () => {
    let server: Server;
    const received: Array<{ body: { tradeId: string; state: string } }> = [];

    beforeAll(async () => {
      server = createServer((req: IncomingMessage, res) => {
        let text = '';
        req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        req.on('end', () => {
          received.push({ body: JSON.parse(text) });
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });

    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('POSTs the final state to the callback URL', async () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trades`;
      await post(
        tradeBody(
          market,
          { tradeId: 'T-CALLBACK', seller: 'GEN-2', buyer: 'CON-1', lots: [{ lotId: lot('GEN-2') }] },
          { callbackUrl: url },
        ),
      ).expect(202);
      expect((await final('T-CALLBACK')).state).toBe('COMMITTED');
      const deadline = Date.now() + 15000;
      while (!received.some((r) => r.body.tradeId === 'T-CALLBACK') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(received.find((r) => r.body.tradeId === 'T-CALLBACK')?.body).toMatchObject({
        state: 'COMMITTED',
        voucherId: 'VCH-T-CALLBACK',
      });
      // The gateway records DELIVERED once the receiver's answer is back, which may be after the receiver has
      // the body (a race seen on a loaded machine): wait for it, within the same deadline.
      let state: string | undefined;
      do {
        state = (await get('/v1/trades/T-CALLBACK').expect(200)).body.callbackState;
        if (state !== 'PENDING') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      } while (Date.now() < deadline);
      expect(state).toBe('DELIVERED');
    });

    it("POSTs the final state to the posting key's callback URL when the trade names none", async () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/by-key`;
      const created = await gateway.http
        .post('/v1/api-keys')
        .set('X-API-Key', market.keys.admin)
        .send({ label: 'ERP with callback', role: 'trading-center', actsFor: 'TC-1', callbackUrl: url })
        .expect(201);
      expect(created.body.callbackUrl).toBe(url);
      await gateway.http
        .post('/v1/trades')
        .set('X-API-Key', created.body.key)
        .set('Idempotency-Key', 'idem-key-callback')
        .send(
          tradeBody(market, {
            tradeId: 'T-KEY-CALLBACK',
            seller: 'GEN-2',
            buyer: 'CON-1',
            lots: [{ lotId: lot('GEN-2') }],
          }) as object,
        )
        .expect(202);
      expect((await final('T-KEY-CALLBACK')).state).toBe('COMMITTED');
      const deadline = Date.now() + 15000;
      while (!received.some((r) => r.body.tradeId === 'T-KEY-CALLBACK') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(received.find((r) => r.body.tradeId === 'T-KEY-CALLBACK')?.body).toMatchObject({
        state: 'COMMITTED',
      });
    });

    it('refuses a callback URL on a key that does not post trades', async () => {
      const res = await gateway.http
        .post('/v1/api-keys')
        .set('X-API-Key', market.keys.admin)
        .send({
          label: 'platform',
          role: 'energy-platform',
          actsFor: 'GRID',
          callbackUrl: 'https://example.org/x',
        })
        .expect(400);
      expect(res.body.errors[0].field).toBe('callbackUrl');
    });

    it('refuses callback URLs that point inside (SSRF), on trades and on keys, naming the field', async () => {
      for (const callbackUrl of [
        'http://169.254.169.254/latest/meta-data/',
        'https://[::ffff:127.0.0.2]/v1/api-keys',
        'https://localhost:3000/v1/api-keys',
        'https://user:pass@tc.example/cb',
        'http://tc.example/cb',
        'https://10.0.0.8/cb',
      ]) {
        const trade = await post(
          tradeBody(market, { tradeId: 'T-CB-SSRF', seller: 'GEN-2', buyer: 'CON-1' }, { callbackUrl }),
        );
        expect({ callbackUrl, status: trade.status, field: trade.body.errors?.[0]?.field }).toEqual({
          callbackUrl,
          status: 400,
          field: 'callbackUrl',
        });
        const key = await gateway.http
          .post('/v1/api-keys')
          .set('X-API-Key', market.keys.admin)
          .send({ label: 'ssrf', role: 'trading-center', actsFor: 'TC-1', callbackUrl });
        expect({ callbackUrl, status: key.status, field: key.body.errors?.[0]?.field }).toEqual({
          callbackUrl,
          status: 400,
          field: 'callbackUrl',
        });
      }
      await get('/v1/trades/T-CB-SSRF').expect(404);
    });

    it('refuses a non-http callback URL', async () => {
      const res = await post(
        tradeBody(
          market,
          { tradeId: 'T-CB-BAD', seller: 'GEN-2', buyer: 'CON-1' },
          { callbackUrl: 'file:///etc/passwd' },
        ),
      ).expect(400);
      expect(res.body.errors[0].field).toBe('callbackUrl');
    });
  });
});
