/**
 * Fixtures for the trades and vouchers tests: a generator with a unit issued certificates for a month, a consumer
 * with attested consumption meters, and trade requests as the gateway submits them after its verification.
 */
import { addMonths } from '../../src/lib/months';
import { GecClient, type LotJson, type PageJson, digestOf, utf8 } from './gec-client';

export const CHECKS = [
  'PARTIES_ACTIVE',
  'SIGNATURE_VALID',
  'METER_DATA_COMPLETE',
  'VOLUME_COVERED',
  'CERTIFICATES_VALID',
];

export interface Seller {
  seller: string;
  unitId: string;
  projectCode: string;
  meterIds: string[];
  lot: LotJson;
}

export interface Buyer {
  buyer: string;
  meterIds: string[];
}

export interface TradeJson {
  tradeId: string;
  kind: string;
  seller: string;
  buyer: string;
  volumeKwh: number;
  priceFen: number;
  deliveryStart: string;
  deliveryEnd: string;
  months: Array<{ month: string; volumeKwh: number }>;
  lots: Array<{
    lotId: string;
    serialStart: string;
    serialEnd: string;
    volume: number;
    unitId: string;
    productionMonth: string;
  }>;
  voucherId: string;
  txId: string;
  attestedAt: string;
  [key: string]: unknown;
}

export interface VoucherJson {
  voucherId: string;
  consumer: string;
  volumeKwh: number;
  periodStart: string;
  periodEnd: string;
  tradeId: string;
  tradeKind: string;
  sourceLots: Array<{ lotId: string; serialStart: string; serialEnd: string; volume: number }>;
  status: string;
  statusReason: string;
  claimedFor?: Record<string, string>;
  history: Array<{ status: string; txId: string; reason: string; byMsp: string }>;
  [key: string]: unknown;
}

export interface AttestResult {
  trade: TradeJson;
  voucher: VoucherJson;
  lots: LotJson[];
}

export interface GreenTotalJson {
  subject: string;
  month: string;
  greenKwh: number;
  trades: number;
}

/** A generator with a one-meter unit, `certificates` certificates issued for `month` (and earlier months first). */
export async function seller(
  gec: GecClient,
  month: string,
  certificates: number,
  options: { tradable?: boolean; owner?: string } = {},
): Promise<Seller> {
  const owner = options.owner ?? (await gec.participant('GENERATOR'));
  const unit = await gec.unit(owner);
  await gec.attest(unit.meterIds[0], month, certificates * 1_000_000);
  const issuance = await gec.issue(unit.id, month, options.tradable);
  return {
    seller: owner,
    unitId: unit.id,
    projectCode: unit.projectCode,
    meterIds: unit.meterIds,
    lot: await gec.lot(issuance.lotId),
  };
}

/** A consumer with one registered consumption meter per entry of `kwh`, each attested for `month`. */
export async function buyer(gec: GecClient, month: string, kwh: number[]): Promise<Buyer> {
  const id = await gec.participant('CONSUMER');
  const meterIds: string[] = [];
  for (const value of kwh) {
    const meterId = `cm-${gec.next()}`;
    await gec.submit(gec.ids.gridAdmin, 'metering:RegisterConsumptionMeter', { meterId, consumer: id });
    await gec.attest(meterId, month, value * 1000);
    meterIds.push(meterId);
  }
  return { buyer: id, meterIds };
}

/** Start of `month` in Asia/Shanghai as the trading center writes it (+08:00). */
export function shanghai(month: string): string {
  return `${month}-01T00:00:00+08:00`;
}

/** Fields of AttestTrade's request outside the signed trade data. */
const OUTER_FIELDS = [
  'tradingCenter',
  'signature',
  'checkDataHash',
  'meterEvidenceDigest',
  'checksPassed',
  'voucherId',
  'monthlyKwh',
];

/**
 * An AttestTrade request as the platform submits it: the trade data signed by the trading center
 * (TradingCenterMSP, the client's registered key), and the platform's verification digests. `extra` overrides
 * any field: request fields (voucherId, monthlyKwh, signature, ...) outside, trade fields inside the signed
 * data (signed after the override).
 */
export function tradeRequest(
  gec: GecClient,
  s: Seller,
  b: Buyer,
  month: string,
  lots: Array<{ lotId: string; volume?: number }>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const n = gec.next();
  const certificates = lots.reduce((sum, l) => sum + (l.volume ?? 0), 0);
  const outer: Record<string, unknown> = {};
  const inner: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(extra)) {
    (OUTER_FIELDS.includes(field) ? outer : inner)[field] = value;
  }
  const trade = {
    tradeId: `T-${n}`,
    kind: 'GREEN_POWER',
    seller: s.seller,
    buyer: b.buyer,
    volumeKwh: certificates * 1000,
    priceFen: certificates * 38_000,
    currency: 'CNY',
    deliveryStart: shanghai(month),
    deliveryEnd: shanghai(addMonths(month, 1)),
    sellerUnitIds: [s.unitId],
    buyerMeterIds: b.meterIds,
    lots,
    ...inner,
  };
  for (const [field, value] of Object.entries(trade)) {
    if (value === undefined) delete (trade as Record<string, unknown>)[field];
  }
  return {
    tradingCenter: 'TradingCenterMSP',
    trade,
    signature: gec.signTrade(trade),
    checkDataHash: digestOf(`check:${n}`),
    meterEvidenceDigest: digestOf(`meters:${n}`),
    checksPassed: CHECKS,
    voucherId: `V-${n}`,
    ...outer,
  };
}

/** The signed trade data of a request. */
export function tradeOf(request: Record<string, unknown>): Record<string, unknown> {
  return request.trade as Record<string, unknown>;
}

/** `request` with `changes` made to its trade data, signed again by the trading center (a new, valid request). */
export function resigned(
  gec: GecClient,
  request: Record<string, unknown>,
  changes: Record<string, unknown>,
): Record<string, unknown> {
  const trade = { ...tradeOf(request), ...changes };
  return { ...request, trade, signature: gec.signTrade(trade) };
}

export function attestTrade(gec: GecClient, request: unknown): Promise<AttestResult> {
  return gec.call<AttestResult>(gec.ids.gridPlatform, 'trades:AttestTrade', request);
}

export function greenConsumption(gec: GecClient, consumer: string, month: string): Promise<GreenTotalJson> {
  return gec.evaluate<GreenTotalJson>('trades:GetGreenConsumption', { consumer, month });
}

export function voucher(gec: GecClient, voucherId: string): Promise<VoucherJson> {
  return gec.evaluate<VoucherJson>('vouchers:GetVoucher', voucherId);
}

/** Everything a refused trade or voucher call could have touched, for "nothing changed" checks. */
export async function snapshot(gec: GecClient, parties: string[], month: string): Promise<unknown> {
  const result: Record<string, unknown> = {
    trades: await gec.evaluate<PageJson<TradeJson>>('trades:ListTrades', { pageSize: 1000 }),
    vouchers: await gec.evaluate<PageJson<VoucherJson>>('vouchers:ListVouchers', { pageSize: 1000 }),
  };
  for (const party of parties) {
    result[`lots:${party}`] = await gec.evaluate<PageJson<LotJson>>('queries:ListLots', {
      owner: party,
      pageSize: 1000,
    });
    result[`green:${party}`] = await greenConsumption(gec, party, month);
  }
  return result;
}

/** The chaincode event of transaction `txId` (Fabric keeps one per transaction), read from the start. */
export async function eventOf(
  gec: GecClient,
  txId: string,
): Promise<{ eventName: string; payload: unknown }> {
  const stream = gec.ledger.chaincodeEvents({ start: { blockNumber: 0 } });
  try {
    for await (const event of stream) {
      if (event.txId === txId)
        return { eventName: event.eventName, payload: JSON.parse(utf8(event.payload)) };
    }
  } finally {
    stream.close();
  }
  throw new Error(`no event for ${txId}`);
}
