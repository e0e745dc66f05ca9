/**
 * A green-electricity market built entirely through the REST API of a running gateway, as integrators build
 * theirs: a trading center with an HMAC check key, seller/buyer pairs (a generator with a wind unit and its
 * generation meter, a consumer with its consumption meter), last month's 15-minute readings for both meters,
 * both periods closed (attested on the ledger), and the month's certificates issued to each unit.
 *
 * Trades are planned and signed here too (the trading center signs the RFC 8785 canonical trade data).
 */
import { createHmac, randomBytes } from 'node:crypto';
import canonicalize from 'canonicalize';
import { creditCode } from '../../../gateway/test/support/harness';
import { Api } from './api';

const SHANGHAI_MS = 8 * 3600_000;

/** The first instant (UTC ms) of the Asia/Shanghai month `back` months before the current one. */
function monthStart(back: number): number {
  const now = new Date(Date.now() + SHANGHAI_MS);
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1) - SHANGHAI_MS;
}

/** An instant as RFC 3339 in Asia/Shanghai time. */
function shanghai(ms: number): string {
  return `${new Date(ms + SHANGHAI_MS).toISOString().slice(0, 19)}+08:00`;
}

export interface Pair {
  seller: string;
  buyer: string;
  unitId: string;
  /** The unit's 17-character project code: the first characters of its certificates' serial numbers. */
  projectCode: string;
  generationMeter: string;
  consumptionMeter: string;
  /** The issuance's lot (it keeps its id while parts are split off it). */
  lotId: string;
  certificates: number;
}

export interface Market {
  api: Api;
  keys: { admin: string; tradingCenter: string; platform: string; regulator: string };
  tradingCenter: string;
  checkKey: { keyId: string; secret: Buffer };
  month: string;
  deliveryStart: string;
  deliveryEnd: string;
  pairs: Pair[];
  /** Certificates issued in total (the conservation checks compare every lot against it). */
  issued: number;
}

let creditSerial = 7_000;

/**
 * Build the market: `pairs` pairs, each seller's unit generating and each buyer consuming `kwhPerInterval` kWh
 * every 15 minutes of last month (31 days × 96 intervals × 100 kWh ≈ 297 certificates).
 */
export async function buildMarket(
  api: Api,
  adminKey: string,
  options: { pairs: number; kwhPerInterval: number; tag: string },
): Promise<Market> {
  const tag = options.tag;
  const key = async (role: string, actsFor: string) =>
    String(
      (
        await api.expect(201, `API key ${role}`, adminKey, 'POST', '/v1/api-keys', {
          label: `${role} ${tag}`,
          role,
          actsFor,
        })
      ).key,
    );
  const tradingCenter = `TC-${tag}`;
  const keys = {
    admin: adminKey,
    tradingCenter: await key('trading-center', tradingCenter),
    platform: await key('energy-platform', 'GRID'),
    regulator: await key('regulator', 'NEA'),
  };
  const participant = (id: string, kind: string) =>
    api.expect(201, `participant ${id}`, adminKey, 'POST', '/v1/participants', {
      id,
      kind,
      name: `${id} 有限公司`,
      region: '330000',
      creditCode: creditCode(creditSerial++),
    });
  await participant(tradingCenter, 'TRADING_CENTER');
  const checkKey = { keyId: `hmac-${tag}`, secret: randomBytes(32) };
  await api.expect(201, 'check key', adminKey, 'POST', `/v1/trading-centers/${tradingCenter}/check-keys`, {
    keyId: checkKey.keyId,
    alg: 'hmac-sha256',
    secret: checkKey.secret.toString('base64'),
  });

  const from = monthStart(1);
  const to = monthStart(0);
  const month = new Date(from + SHANGHAI_MS).toISOString().slice(0, 7);
  const intervals = (to - from) / (15 * 60_000);
  const pairs: Pair[] = [];
  for (let i = 0; i < options.pairs; i++) {
    const n = `${tag}-${String(i + 1).padStart(3, '0')}`;
    const pair: Pair = {
      seller: `G-${n}`,
      buyer: `C-${n}`,
      unitId: `U-${n}`,
      // 17 characters, unique per unit.
      projectCode: `P33${tag}${String(i).padStart(14 - tag.length, '0')}`,
      generationMeter: `MG-${n}`,
      consumptionMeter: `MC-${n}`,
      lotId: '',
      certificates: 0,
    };
    await participant(pair.seller, 'GENERATOR');
    await participant(pair.buyer, 'CONSUMER');
    await api.expect(201, `unit ${pair.unitId}`, adminKey, 'POST', '/v1/units', {
      id: pair.unitId,
      owner: pair.seller,
      name: `${pair.seller} 风电场`,
      projectCode: pair.projectCode,
      technology: 'WIND',
      capacityKw: 500000,
      province: '330000',
      meterIds: [pair.generationMeter],
      commissioningDate: '2024-06-30',
    });
    await api.expect(201, `meter ${pair.generationMeter}`, keys.platform, 'POST', '/v1/meters', {
      meterId: pair.generationMeter,
      kind: 'GENERATION',
      owner: pair.seller,
      unitId: pair.unitId,
    });
    // An admin key: a consumption meter is registered on the ledger too.
    await api.expect(201, `meter ${pair.consumptionMeter}`, adminKey, 'POST', '/v1/meters', {
      meterId: pair.consumptionMeter,
      kind: 'CONSUMPTION',
      owner: pair.buyer,
    });
    const lines: string[] = [];
    for (const meterId of [pair.generationMeter, pair.consumptionMeter]) {
      for (let k = 0; k < intervals; k++) {
        lines.push(
          `{"meterId":"${meterId}","intervalStart":"${shanghai(from + k * 15 * 60_000)}","kwh":"${options.kwhPerInterval}"}`,
        );
      }
    }
    const ingested = await api.call(
      keys.platform,
      'POST',
      '/v1/meter-readings?mode=atomic',
      `${lines.join('\n')}\n`,
      {
        'Content-Type': 'application/x-ndjson',
      },
    );
    if (ingested.status !== 200 || Number(ingested.json.accepted) !== lines.length) {
      throw new Error(`readings of ${pair.seller}: ${ingested.status} ${ingested.text.slice(0, 800)}`);
    }
    for (const meterId of [pair.generationMeter, pair.consumptionMeter]) {
      await api.expect(
        200,
        `close ${meterId}`,
        keys.platform,
        'POST',
        `/v1/meters/${meterId}/periods/${month}/close`,
        {},
      );
    }
    const issued = await api.expect(201, `issuance ${pair.unitId}`, adminKey, 'POST', '/v1/issuances', {
      unitId: pair.unitId,
      month,
    });
    pair.lotId = String(issued.lotId);
    pair.certificates = Number(issued.certificates);
    pairs.push(pair);
  }
  return {
    api,
    keys,
    tradingCenter,
    checkKey,
    month,
    deliveryStart: shanghai(from),
    deliveryEnd: shanghai(to),
    pairs,
    issued: pairs.reduce((sum, p) => sum + p.certificates, 0),
  };
}

export interface TradeRequest {
  tradeId: string;
  /** The request body, exactly as sent every time (same Idempotency-Key, same bytes). */
  body: string;
}

/**
 * A GREEN_POWER trade of `mwh` certificates of `lotId`, signed with the trading center's check key (or, with
 * `badSignature`, with another key: the pipeline must reject it).
 */
export function greenPowerTrade(
  market: Market,
  o: { tradeId: string; pair: Pair; mwh: number; lotId?: string; badSignature?: boolean },
): TradeRequest {
  const trade = {
    tradeId: o.tradeId,
    kind: 'GREEN_POWER',
    seller: o.pair.seller,
    buyer: o.pair.buyer,
    volumeKwh: o.mwh * 1000,
    priceFen: o.mwh * 42_000,
    currency: 'CNY',
    deliveryStart: market.deliveryStart,
    deliveryEnd: market.deliveryEnd,
    sellerUnitIds: [o.pair.unitId],
    buyerMeterIds: [o.pair.consumptionMeter],
    lots: [{ lotId: o.lotId ?? o.pair.lotId, volume: o.mwh }],
  };
  const secret = o.badSignature ? randomBytes(32) : market.checkKey.secret;
  const signature = createHmac('sha256', secret)
    .update(Buffer.from(canonicalize(trade) as string, 'utf8'))
    .digest('base64');
  return {
    tradeId: o.tradeId,
    body: JSON.stringify({
      trade,
      checkData: { keyId: market.checkKey.keyId, alg: 'hmac-sha256', signature },
    }),
  };
}
