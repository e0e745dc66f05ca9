/**
 * A small green-electricity market for the trade tests: a trading center with an HMAC check key, generators
 * with a wind unit each (one generation meter), consumers with one consumption meter each, a month (2026-10) of
 * 15-minute readings ingested through the metering REST endpoint and attested on the ledger by closing the
 * period, and the units' certificates issued and split into lots of 10 (10,000 kWh each).
 *
 * Units, consumption-meter registrations, issuance and splits go to the ledger directly through the gateway's
 * ledger port (so these tests depend only on the chaincode, not on the REST modules of other work in flight).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import canonicalize from 'canonicalize';
import type request from 'supertest';
import { LEDGER_PORT } from '../src/ledger-module/ledger.tokens';
import type { IdentityRef, LedgerPort } from '../src/ledger/port';
import { creditCode } from './support/harness';

export const MONTH = '2026-10';
export const DELIVERY_START = '2026-10-01T00:00:00+08:00';
export const DELIVERY_END = '2026-11-01T00:00:00+08:00';
export const INTERVALS = 31 * 96;
const GRID_ADMIN: IdentityRef = { mspId: 'GridMSP', name: 'admin' };
const TC_ADMIN: IdentityRef = { mspId: 'TradingCenterMSP', name: 'admin' };

type Http = ReturnType<typeof request>;

export interface Market {
  keys: Record<'admin' | 'trading-center' | 'energy-platform' | 'regulator', string>;
  secret: Buffer;
  keyId: string;
  /** Free lots of 10 certificates per seller. */
  lots: Record<string, string[]>;
}

export interface MarketOptions {
  sellers: string[];
  /** Consumer id → kWh per 15-minute interval (0 intervals given: `incomplete`). */
  consumers: Record<string, number>;
  /** Consumers whose meter gets only part of the month (never attested). */
  incomplete?: string[];
  generationKwhPerInterval?: number;
}

export function ledgerOf(app: INestApplication): LedgerPort {
  return app.get<LedgerPort>(LEDGER_PORT);
}

async function submit(
  ledger: LedgerPort,
  identity: IdentityRef,
  transaction: string,
  arg: unknown,
): Promise<unknown> {
  const tx = await ledger.submit({ identity, transaction, args: [JSON.stringify(arg)] });
  return JSON.parse(Buffer.from(tx.result).toString('utf8'));
}

export function interval(i: number): string {
  return new Date(Date.parse(DELIVERY_START) + i * 15 * 60000).toISOString();
}

async function ingest(
  http: Http,
  key: string,
  meterId: string,
  kwh: number,
  count = INTERVALS,
): Promise<void> {
  const lines: string[] = [];
  for (let i = 0; i < count; i++)
    lines.push(JSON.stringify({ meterId, intervalStart: interval(i), kwh: String(kwh) }));
  const res = await http
    .post('/v1/meter-readings?mode=atomic')
    .set('X-API-Key', key)
    .set('Content-Type', 'application/x-ndjson')
    .send(`${lines.join('\n')}\n`);
  if (res.status !== 200) throw new Error(`ingest ${meterId}: ${res.status} ${JSON.stringify(res.body)}`);
}

async function expectStatus(res: request.Response | Promise<request.Response>, status: number, what: string) {
  const r = await res;
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

export async function createKeys(
  http: Http,
  adminKey: string,
  tradingCenter = 'TC-1',
): Promise<Market['keys']> {
  const keys = { admin: adminKey } as Market['keys'];
  for (const [role, actsFor] of [
    ['trading-center', tradingCenter],
    ['energy-platform', 'GRID'],
    ['regulator', 'NEA'],
  ] as const) {
    const res = await expectStatus(
      http.post('/v1/api-keys').set('X-API-Key', adminKey).send({ label: role, role, actsFor }),
      201,
      `key ${role}`,
    );
    keys[role] = res.body.key;
  }
  return keys;
}

let creditSerial = 100;

export async function registerParticipant(
  http: Http,
  adminKey: string,
  id: string,
  kind: string,
): Promise<void> {
  await expectStatus(
    http
      .post('/v1/participants')
      .set('X-API-Key', adminKey)
      .send({ id, kind, name: `${id} 有限公司`, region: '330000', creditCode: creditCode(creditSerial++) }),
    201,
    `participant ${id}`,
  );
}

export async function setupMarket(
  http: Http,
  app: INestApplication,
  adminKey: string,
  options: MarketOptions,
): Promise<Market> {
  const ledger = ledgerOf(app);
  const keys = await createKeys(http, adminKey);
  await registerParticipant(http, adminKey, 'TC-1', 'TRADING_CENTER');
  for (const seller of options.sellers) await registerParticipant(http, adminKey, seller, 'GENERATOR');
  for (const consumer of Object.keys(options.consumers))
    await registerParticipant(http, adminKey, consumer, 'CONSUMER');

  const secret = randomBytes(32);
  const keyId = 'tc-key-1';
  await expectStatus(
    http
      .post('/v1/trading-centers/TC-1/check-keys')
      .set('X-API-Key', adminKey)
      .send({ keyId, alg: 'hmac-sha256', secret: secret.toString('base64') }),
    201,
    'check key',
  );

  const lots: Record<string, string[]> = {};
  for (const [i, seller] of options.sellers.entries()) {
    const unitId = `U-${seller}`;
    const meterId = `M-${seller}`;
    await submit(ledger, GRID_ADMIN, 'units:RegisterUnit', {
      id: unitId,
      owner: seller,
      name: `${seller} 风电场`,
      projectCode: `P33090020240000${String(10 + i).padStart(2, '0')}`,
      technology: 'WIND',
      capacityKw: 50000,
      province: '330000',
      meterIds: [meterId],
      commissioningDate: '2024-06-30',
    });
    await expectStatus(
      http
        .post('/v1/meters')
        .set('X-API-Key', keys['energy-platform'])
        .send({ meterId, kind: 'GENERATION', owner: seller, unitId }),
      201,
      `meter ${meterId}`,
    );
    await ingest(http, keys['energy-platform'], meterId, options.generationKwhPerInterval ?? 100);
    await expectStatus(
      http
        .post(`/v1/meters/${meterId}/periods/${MONTH}/close`)
        .set('X-API-Key', keys['energy-platform'])
        .send({}),
      200,
      `close ${meterId}`,
    );
  }
  for (const [consumer, kwh] of Object.entries(options.consumers)) {
    const meterId = `M-${consumer}`;
    await submit(ledger, GRID_ADMIN, 'metering:RegisterConsumptionMeter', { meterId, consumer });
    await expectStatus(
      http
        .post('/v1/meters')
        .set('X-API-Key', keys['energy-platform'])
        .send({ meterId, kind: 'CONSUMPTION', owner: consumer }),
      201,
      `meter ${meterId}`,
    );
    if (options.incomplete?.includes(consumer)) {
      await ingest(http, keys['energy-platform'], meterId, kwh, 200);
      continue;
    }
    await ingest(http, keys['energy-platform'], meterId, kwh);
    await expectStatus(
      http
        .post(`/v1/meters/${meterId}/periods/${MONTH}/close`)
        .set('X-API-Key', keys['energy-platform'])
        .send({}),
      200,
      `close ${meterId}`,
    );
  }
  for (const seller of options.sellers) {
    const issuance = (await submit(ledger, GRID_ADMIN, 'certificates:Issue', {
      unitId: `U-${seller}`,
      month: MONTH,
    })) as {
      lotId: string;
      certificates: number;
    };
    let remaining = issuance.certificates;
    lots[seller] = [];
    while (remaining > 10) {
      const result = (await submit(ledger, TC_ADMIN, 'certificates:Split', {
        lotId: issuance.lotId,
        owner: seller,
        volume: 10,
      })) as { lots: Array<{ id: string }> };
      const created = result.lots.map((l) => l.id).filter((id) => id !== issuance.lotId);
      lots[seller].push(...created);
      remaining -= 10;
    }
    if (remaining === 10) lots[seller].push(issuance.lotId);
  }
  return { keys, secret, keyId, lots };
}

export interface TradeOptions {
  tradeId: string;
  seller: string;
  buyer: string;
  volumeKwh?: number;
  lots?: Array<{ lotId: string; volume?: number }>;
  profile?: Array<{ intervalStart: string; kwh: number | string }>;
  kind?: string;
}

export function tradeData(o: TradeOptions): Record<string, unknown> {
  return {
    tradeId: o.tradeId,
    kind: o.kind ?? 'GREEN_POWER',
    seller: o.seller,
    buyer: o.buyer,
    volumeKwh: o.volumeKwh ?? 10000,
    priceFen: 4_500_000,
    currency: 'CNY',
    deliveryStart: DELIVERY_START,
    deliveryEnd: DELIVERY_END,
    sellerUnitIds: [`U-${o.seller}`],
    buyerMeterIds: [`M-${o.buyer}`],
    ...(o.lots ? { lots: o.lots } : {}),
    ...(o.profile ? { profile: o.profile } : {}),
  };
}

export function sign(market: Pick<Market, 'secret' | 'keyId'>, trade: unknown): Record<string, string> {
  const bytes = Buffer.from(canonicalize(trade) as string, 'utf8');
  return {
    keyId: market.keyId,
    alg: 'hmac-sha256',
    signature: createHmac('sha256', market.secret).update(bytes).digest('base64'),
  };
}

export function tradeBody(
  market: Pick<Market, 'secret' | 'keyId'>,
  o: TradeOptions,
  extra: Record<string, unknown> = {},
) {
  const trade = tradeData(o);
  return { trade, checkData: sign(market, trade), ...extra };
}

const FINAL = ['REJECTED', 'COMMITTED'];

/** Poll a trade's status until it is final. */
export async function waitFinal(
  get: (tradeId: string) => Promise<{ status: number; body: { state: string } }>,
  tradeId: string,
  timeoutMs = 30000,
): Promise<{ state: string; [key: string]: unknown }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await get(tradeId);
    if (res.status === 200 && FINAL.includes(res.body.state)) return res.body;
    if (Date.now() > deadline)
      throw new Error(`trade ${tradeId} not final within ${timeoutMs} ms: ${JSON.stringify(res.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Post a trade as the trading center (its id as the Idempotency-Key) and wait until it is final: its state. */
export async function tradeToFinal(http: Http, market: Market, o: TradeOptions): Promise<string> {
  await expectStatus(
    http
      .post('/v1/trades')
      .set('X-API-Key', market.keys['trading-center'])
      .set('Idempotency-Key', o.tradeId)
      .send(tradeBody(market, o)),
    202,
    `trade ${o.tradeId}`,
  );
  const final = await waitFinal(
    (id) => http.get(`/v1/trades/${id}`).set('X-API-Key', market.keys.admin),
    o.tradeId,
  );
  return final.state;
}

/** Release a voucher to its holder and claim it as the holder's 2026 consumption evidence. */
export async function releaseAndClaim(http: Http, market: Market, voucherId: string): Promise<void> {
  const as = (path: string) => http.post(path).set('X-API-Key', market.keys['trading-center']);
  await expectStatus(as(`/v1/vouchers/${voucherId}/release`).send({}), 200, `release ${voucherId}`);
  await expectStatus(
    as(`/v1/vouchers/${voucherId}/claim`).send({
      purpose: '2026 年度绿电消费核算',
      reportingStartMonth: '2026-01',
      reportingEndMonth: '2026-12',
    }),
    200,
    `claim ${voucherId}`,
  );
}
