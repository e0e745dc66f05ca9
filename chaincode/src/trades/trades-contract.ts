import { createHash } from 'node:crypto';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { findTradeSigningKey, tradeSignatureVerifies } from '../consortium/trade-signing-key';
import { canonicalJson } from '../lib/canonical-json';
import { requireLotId, requireTransferSize } from '../certificates/certificates-contract';
import { CertificateLot, copyLot } from '../certificates/lot';
import {
  LotChanges,
  lotVolume,
  moveWithGreenPowerTrade,
  requireLive,
  requireOwner,
  requireStatus,
  requireTradable,
} from '../certificates/lot-store';
import { Caller, ROLE_ADMIN, ROLE_ENERGY_PLATFORM, requireMember, requireWriter } from '../lib/access';
import { emitEvent } from '../lib/events';
import { GecError } from '../lib/errors';
import { GecContract } from '../lib/gec-contract';
import { addMonths, atOrAfter, monthStart } from '../lib/months';
import { PAGE_FIELDS, pageRequest } from '../lib/paging';
import { requireActiveParticipant } from '../lib/parties';
import { compositeKey, getJson, keyAttributes, parseJson, putIndex, putJson, queryPage } from '../lib/state';
import { txTime } from '../lib/time';
import {
  parseQuery,
  parseRequest,
  requireArray,
  requireDigest,
  requireEnum,
  requireId,
  requireInteger,
  requireMonth,
  requireObject,
} from '../lib/validate';
import { consumerMeterIds, readConsumptionMeter } from '../metering/consumption-meter';
import {
  GREEN_CONSUMPTION_OBJECT,
  GREEN_GENERATION_OBJECT,
  GreenTotal,
  GreenTotalKind,
  readGreenTotal,
  writeGreenTotal,
} from '../metering/green-claims';
import { attestedWh, findAttestation } from '../metering/metering-contract';
import { readParameters } from '../parameters/consortium-parameters';
import { GenerationUnit } from '../units/unit';
import { readUnit } from '../units/units-contract';
import { Voucher, VoucherLot, VoucherStatusChange } from '../vouchers/voucher';
import { findVoucher, writeVoucher } from '../vouchers/voucher-store';
import {
  TRADE_KINDS,
  TradeAttestation,
  TradeAttestationResult,
  TradeKind,
  TradeLot,
  TradeMonth,
  TradePage,
  TradeSignatureCheck,
  tradeFromState,
} from './trade';
import { keyValidAt, requireTradeSignature } from './trade-signature';

/** A trade attestation: key `gec.trade\0<tradeId>\0` (trade ids are unique across trading centers, forever). */
export const TRADE_OBJECT = 'gec.trade';
/** Trades by seller: `gec.trade~seller\0<seller>\0<tradeId>\0`. */
export const TRADE_BY_SELLER_INDEX = 'gec.trade~seller';
/** Trades by buyer: `gec.trade~buyer\0<buyer>\0<tradeId>\0`. */
export const TRADE_BY_BUYER_INDEX = 'gec.trade~buyer';
/** Trades by the trading center that signed them: `gec.trade~center\0<mspId>\0<tradeId>\0`. */
export const TRADE_BY_CENTER_INDEX = 'gec.trade~center';

export const TRADE_ATTESTED_EVENT = 'TradeAttested';

/**
 * The energy internet platform that runs the trade pipeline (存证校验, then attestation), or its admin; the
 * trading center's consent is its own signature over the trade data, verified here.
 */
export const TRADE_ATTESTERS = {
  orgs: ['PLATFORM_OPERATOR'],
  roles: [ROLE_ENERGY_PLATFORM, ROLE_ADMIN],
} as const;

const WH_PER_KWH = 1000n;
const KWH_PER_CERTIFICATE = 1000;
const VOLUME_KWH_MAX = 1_000_000_000_000;
const PRICE_FEN_MAX = Number.MAX_SAFE_INTEGER;
const DELIVERY_MONTHS_MAX = 12;
const ITEMS_MAX = 100;
const CHECKS_MAX = 50;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;

interface LotRequest {
  lotId: string;
  volume: unknown;
}

@Info({
  title: 'trades',
  description:
    'Trade attestation (存证): a verified trade, its certificates moved and its voucher in custody',
})
export class TradesContract extends GecContract {
  constructor() {
    super('trades');
  }

  /**
   * Attest a trade the platform has verified (存证校验), move its certificates to the buyer and put its voucher
   * (绿电凭证) in custody, in one transaction with one event (TradeAttested). `request`: `{ tradingCenter (the
   * trading center organisation's MSP id), trade (the trade data as the trading center signed it: { tradeId, kind
   * (GREEN_POWER | CERTIFICATE_ONLY), seller, buyer, volumeKwh, priceFen (total), currency ('CNY'),
   * deliveryStart, deliveryEnd (RFC 3339; whole Asia/Shanghai months, half-open, 1-12 months, ended),
   * sellerUnitIds, buyerMeterIds, lots: [{ lotId, volume? }], profile? }), signature: { keyId, alg, value
   * (base64) } (the trading center's signature over the RFC 8785 canonical JSON of `trade`), monthlyKwh? ([{
   * month, volumeKwh }]: CERTIFICATE_ONLY over several months only), checkDataHash, meterEvidenceDigest (64 hex
   * each), checksPassed, voucherId }`. A platform operator with gec.role energy-platform or admin.
   *
   * Rules: the trading center an active member whose key on the ledger, valid now, verifies the signature (an
   * hmac-sha256 key: recorded as verified by the gateway only); the trade id once ever; the voucher id new;
   * seller an ACTIVE GENERATOR owning ACTIVE seller units; buyer an ACTIVE CONSUMER whose registered consumption
   * meters are listed and attested for every delivery month; certificates cover the volume exactly (Σ lot
   * volumes × 1,000 kWh = volumeKwh); lots held by the seller, ACTIVE, unexpired, tradable, not bound to an
   * earlier green-power trade (GREEN_POWER also: from the seller's units and produced in the delivery period);
   * green kWh per consumer-month within the consumer's attested consumption and (GREEN_POWER) per unit-month
   * within the unit's attested generation, counting every earlier trade.
   */
  @Transaction()
  @Returns('TradeAttestationResult')
  async AttestTrade(ctx: Context, request: string): Promise<TradeAttestationResult> {
    const caller = requireWriter(ctx, TRADE_ATTESTERS);
    const fields = parseRequest(request, [
      'tradingCenter',
      'trade',
      'signature',
      'checkDataHash',
      'meterEvidenceDigest',
      'checksPassed',
      'voucherId',
      'monthlyKwh',
    ]);
    // What the trading center signed: every term of the trade comes from it, so nothing attested can differ
    // from what the trading center agreed to.
    const signed = requireObject(fields.trade, 'trade', [
      'tradeId',
      'kind',
      'seller',
      'buyer',
      'volumeKwh',
      'priceFen',
      'currency',
      'deliveryStart',
      'deliveryEnd',
      'sellerUnitIds',
      'buyerMeterIds',
      'lots',
      'profile',
    ]);
    const tradeId = requireId(signed.tradeId, 'trade.tradeId');
    const kind = requireEnum(signed.kind, 'trade.kind', TRADE_KINDS);
    const seller = requireId(signed.seller, 'trade.seller');
    const buyer = requireId(signed.buyer, 'trade.buyer');
    const volumeKwh = requireInteger(signed.volumeKwh, 'trade.volumeKwh', 1, VOLUME_KWH_MAX);
    const priceFen = requireInteger(signed.priceFen, 'trade.priceFen', 0, PRICE_FEN_MAX);
    const currency = requireEnum(signed.currency, 'trade.currency', ['CNY'] as const);
    const startMonth = requireMonthInstant(signed.deliveryStart, 'trade.deliveryStart');
    const endMonth = requireMonthInstant(signed.deliveryEnd, 'trade.deliveryEnd');
    const months = monthsBetween(startMonth, endMonth);
    const sellerUnitIds = requireIdList(signed.sellerUnitIds, 'trade.sellerUnitIds');
    const buyerMeterIds = requireIdList(signed.buyerMeterIds, 'trade.buyerMeterIds');
    // No lots at all is refused below as certificates not covering the volume, as an empty list is.
    const lotRequests = parseLots(signed.lots ?? []);
    const checkDataHash = requireDigest(fields.checkDataHash, 'checkDataHash');
    const meterEvidenceDigest = requireDigest(fields.meterEvidenceDigest, 'meterEvidenceDigest');
    const checksPassed = requireIdList(fields.checksPassed, 'checksPassed', CHECKS_MAX, false);
    const voucherId = requireId(fields.voucherId, 'voucherId');
    const monthlyKwh = parseMonthly(fields.monthlyKwh, kind, months, volumeKwh);
    const now = txTime(ctx);
    const txId = ctx.stub.getTxID();

    // The trading center's consent: its signature, with its key on the ledger, valid now.
    const tradingCenter = requireId(fields.tradingCenter, 'tradingCenter');
    const tradeData = canonicalJson(fields.trade);
    const tradeDataHash = createHash('sha256').update(tradeData, 'utf8').digest('hex');
    const signature = await requireTradeSignature(ctx, tradingCenter, fields.signature, tradeData, now);

    // Once ever.
    const existing = await getJson(ctx, tradeKey(ctx, tradeId));
    if (existing !== undefined) {
      const trade = tradeFromState(existing);
      throw new GecError(
        'TRADE_ALREADY_ATTESTED',
        `trade ${tradeId} was attested at ${trade.attestedAt} in transaction ${trade.txId}`,
      );
    }
    if ((await findVoucher(ctx, voucherId)) !== undefined) {
      throw new GecError('VOUCHER_EXISTS', `voucher ${voucherId} already exists`);
    }
    const deliveryStart = monthStart(startMonth);
    const deliveryEnd = monthStart(endMonth);
    if (!atOrAfter(now, deliveryEnd)) {
      throw new GecError(
        'PERIOD_NOT_CLOSED',
        `the delivery period ends at ${deliveryEnd}; the transaction time is ${now}`,
      );
    }

    // Parties.
    await requireActiveParticipant(ctx, seller, 'seller', ['GENERATOR']);
    await requireActiveParticipant(ctx, buyer, 'buyer', ['CONSUMER']);

    // The seller's units.
    const units = new Map<string, GenerationUnit>();
    for (const unitId of sellerUnitIds) {
      const unit = await readUnit(ctx, unitId);
      if (unit.owner !== seller) {
        throw new GecError(
          'UNIT_NOT_OWNED',
          `unit ${unitId} belongs to ${unit.owner}, not to seller ${seller}`,
        );
      }
      if (unit.status !== 'ACTIVE') {
        throw new GecError('UNIT_NOT_ACTIVE', `unit ${unitId} is ${unit.status}, not ACTIVE`);
      }
      if (kind === 'GREEN_POWER') await requireAttested(ctx, unit.meterIds, months, `unit ${unitId}`);
      units.set(unitId, unit);
    }

    // The buyer's meters.
    for (const meterId of buyerMeterIds) {
      const meter = await readConsumptionMeter(ctx, meterId);
      if (meter.consumer !== buyer) {
        throw new GecError(
          'METER_NOT_OWNED',
          `meter ${meterId} is a consumption meter of ${meter.consumer}, not of buyer ${buyer}`,
        );
      }
    }
    await requireAttested(ctx, buyerMeterIds, months, `buyer ${buyer}`);

    // The certificates.
    const changes = new LotChanges(ctx, now, txId);
    const parameters = kind === 'CERTIFICATE_ONLY' ? await readParameters(ctx) : undefined;
    const moved: CertificateLot[] = [];
    for (const [i, item] of lotRequests.entries()) {
      const lot = await changes.get(item.lotId);
      requireLive(lot, now);
      requireStatus(lot, ['ACTIVE']);
      requireOwner(lot, seller);
      requireTradable(lot);
      const volume = lotVolume(item.volume, `lots[${i}].volume`, lot);
      if (kind === 'GREEN_POWER') {
        if (!units.has(lot.unitId)) {
          throw new GecError(
            'LOT_NOT_FROM_SELLER_UNIT',
            `lot ${lot.id} is from unit ${lot.unitId}, which is not among the seller units ${sellerUnitIds.join(', ')}`,
          );
        }
        if (!months.includes(lot.productionMonth)) {
          throw new GecError(
            'LOT_OUTSIDE_DELIVERY_PERIOD',
            `lot ${lot.id} was produced in ${lot.productionMonth}, outside the delivery period ${startMonth} to ${addMonths(endMonth, -1)}`,
          );
        }
        const bound = await moveWithGreenPowerTrade(changes, {
          lotId: lot.id,
          from: seller,
          to: buyer,
          volume,
          tradeId,
        });
        const held = copyLot(bound, { status: 'IN_CUSTODY' });
        changes.update(held);
        moved.push(held);
      } else {
        requireTransferSize(volume ?? lot.volume, parameters!);
        moved.push(await changes.take(lot, volume, { owner: buyer, status: 'IN_CUSTODY' }));
      }
    }
    const certificates = moved.reduce((sum, lot) => sum + lot.volume, 0);
    if (volumeKwh % KWH_PER_CERTIFICATE !== 0 || certificates * KWH_PER_CERTIFICATE !== volumeKwh) {
      throw new GecError(
        'CERTIFICATES_DO_NOT_COVER_VOLUME',
        `${volumeKwh} kWh needs exactly ${volumeKwh / KWH_PER_CERTIFICATE} certificates (1 per 1,000 kWh, whole MWh only); the lots give ${certificates}`,
      );
    }

    // Green consumption per consumer-month, green generation per unit-month.
    const allocation =
      kind === 'GREEN_POWER' ? allocateByLots(moved, months, (lot) => lot.productionMonth) : monthlyKwh;
    const consumerMeters = await consumerMeterIds(ctx, buyer);
    const totals: Array<{ kind: GreenTotalKind; total: GreenTotal }> = [];
    for (const { month, volumeKwh: kwh } of allocation) {
      if (kwh === 0) continue;
      const total = await readGreenTotal(ctx, GREEN_CONSUMPTION_OBJECT, buyer, month);
      const cap = await attestedWh(ctx, consumerMeters, month);
      if (BigInt(total.greenKwh + kwh) * WH_PER_KWH > cap) {
        throw new GecError(
          'GREEN_CONSUMPTION_EXCEEDS_ATTESTED',
          `consumer ${buyer} ${month}: ${total.greenKwh} kWh already attested green + ${kwh} kWh of trade ${tradeId} ` +
            `exceeds the attested consumption of its meters (${cap} Wh)`,
        );
      }
      totals.push({ kind: GREEN_CONSUMPTION_OBJECT, total: added(total, kwh, tradeId, now, txId) });
    }
    if (kind === 'GREEN_POWER') {
      const byUnitMonth = new Map<string, { unitId: string; month: string; kwh: number }>();
      for (const lot of moved) {
        const key = `${lot.unitId}\u0000${lot.productionMonth}`;
        const entry = byUnitMonth.get(key) ?? { unitId: lot.unitId, month: lot.productionMonth, kwh: 0 };
        entry.kwh += lot.volume * KWH_PER_CERTIFICATE;
        byUnitMonth.set(key, entry);
      }
      for (const key of [...byUnitMonth.keys()].sort()) {
        const { unitId, month, kwh } = byUnitMonth.get(key)!;
        const total = await readGreenTotal(ctx, GREEN_GENERATION_OBJECT, unitId, month);
        const cap = await attestedWh(ctx, units.get(unitId)!.meterIds, month);
        if (BigInt(total.greenKwh + kwh) * WH_PER_KWH > cap) {
          throw new GecError(
            'GREEN_GENERATION_EXCEEDS_ATTESTED',
            `unit ${unitId} ${month}: ${total.greenKwh} kWh already attested green + ${kwh} kWh of trade ${tradeId} ` +
              `exceeds its attested generation (${cap} Wh)`,
          );
        }
        totals.push({ kind: GREEN_GENERATION_OBJECT, total: added(total, kwh, tradeId, now, txId) });
      }
    }

    // Write.
    const lots = await changes.flush();
    const tradeLots = moved.map((lot) =>
      Object.assign(new TradeLot(), {
        lotId: lot.id,
        serialStart: lot.serialStart,
        serialEnd: lot.serialEnd,
        volume: lot.volume,
        unitId: lot.unitId,
        productionMonth: lot.productionMonth,
      }),
    );
    const trade = Object.assign(new TradeAttestation(), {
      tradeId,
      kind,
      seller,
      buyer,
      volumeKwh,
      priceFen,
      currency,
      deliveryStart,
      deliveryEnd,
      months: allocation,
      sellerUnitIds,
      buyerMeterIds,
      lots: tradeLots,
      tradeDataHash,
      checkDataHash,
      meterEvidenceDigest,
      checksPassed,
      voucherId,
      tradingCenter,
      tradeData,
      signature,
      attestedAt: now,
      attestedBy: caller.id,
      attestedByMsp: caller.mspId,
      txId,
    });
    await putJson(ctx, tradeKey(ctx, tradeId), trade);
    await putIndex(ctx, TRADE_BY_SELLER_INDEX, [seller, tradeId]);
    await putIndex(ctx, TRADE_BY_BUYER_INDEX, [buyer, tradeId]);
    await putIndex(ctx, TRADE_BY_CENTER_INDEX, [tradingCenter, tradeId]);
    const voucher = Object.assign(new Voucher(), {
      voucherId,
      consumer: buyer,
      volumeKwh,
      periodStart: deliveryStart,
      periodEnd: deliveryEnd,
      tradeId,
      tradeKind: kind,
      seller,
      sourceLots: tradeLots.map((lot) =>
        Object.assign(new VoucherLot(), {
          lotId: lot.lotId,
          serialStart: lot.serialStart,
          serialEnd: lot.serialEnd,
          volume: lot.volume,
        }),
      ),
      priceFen,
      currency,
      status: 'IN_CUSTODY' as const,
      issuedAt: now,
      issuedTxId: txId,
      statusChangedAt: now,
      statusReason: '',
      history: [
        Object.assign(new VoucherStatusChange(), {
          status: 'IN_CUSTODY' as const,
          at: now,
          txId,
          by: caller.id,
          byMsp: caller.mspId,
          reason: `trade ${tradeId} attested`,
        }),
      ],
    });
    await writeVoucher(ctx, voucher);
    for (const { kind: totalKind, total } of totals) await writeGreenTotal(ctx, totalKind, total);
    emitEvent(ctx, TRADE_ATTESTED_EVENT, { trade, voucher, lots });
    return Object.assign(new TradeAttestationResult(), { trade, voucher, lots });
  }

  /**
   * Re-verify an attested trade's signature from the ledger alone: the stored trade data against its hash, the
   * signature against the trading center's key (kept on the ledger after rotation or revocation), and the key's
   * validity at the attestation time. Any member (a regulator's check); a trading center only for its own
   * trades. TRADE_NOT_FOUND.
   */
  @Transaction(false)
  @Returns('TradeSignatureCheck')
  async CheckTradeSignature(ctx: Context, tradeId: string): Promise<TradeSignatureCheck> {
    const caller = requireMember(ctx);
    const trade = visibleTrade(caller, await readTrade(ctx, requireId(tradeId, 'tradeId')));
    const hash = createHash('sha256').update(trade.tradeData, 'utf8').digest('hex');
    const tradeDataHashMatches = hash === trade.tradeDataHash;
    const key = await findTradeSigningKey(ctx, trade.tradingCenter, trade.signature.keyId);
    const signatureVerifies =
      key !== undefined &&
      key.verifiedBy === 'CHAINCODE' &&
      key.alg === trade.signature.alg &&
      tradeSignatureVerifies(
        key,
        Buffer.from(trade.tradeData, 'utf8'),
        Buffer.from(trade.signature.value, 'base64'),
      );
    const keyValidAtAttestation = key !== undefined && keyValidAt(key, trade.attestedAt);
    const problems = [
      tradeDataHashMatches
        ? ''
        : `the stored trade data hashes to ${hash}, not to tradeDataHash ${trade.tradeDataHash}`,
      key === undefined ? `key ${trade.signature.keyId} of ${trade.tradingCenter} is not on the ledger` : '',
      key?.verifiedBy === 'GATEWAY'
        ? `key ${trade.signature.keyId} is hmac-sha256: verified by the platform's gateway only, not provable from the ledger`
        : key !== undefined && !signatureVerifies
          ? 'the signature does not verify over the stored trade data'
          : '',
      key !== undefined && !keyValidAtAttestation ? `the key was not valid at ${trade.attestedAt}` : '',
    ].filter((p) => p !== '');
    return Object.assign(new TradeSignatureCheck(), {
      tradeId: trade.tradeId,
      tradingCenter: trade.tradingCenter,
      keyId: trade.signature.keyId,
      alg: trade.signature.alg,
      verifiedBy: trade.signature.verifiedBy,
      tradeDataHashMatches,
      signatureVerifies,
      keyValidAtAttestation,
      keyStatus: key?.status ?? '',
      keyValidFrom: key?.validFrom ?? '',
      keyValidUntil: key?.validUntil ?? '',
      attestedAt: trade.attestedAt,
      valid: problems.length === 0,
      detail:
        problems.length === 0
          ? `signed by ${trade.tradingCenter} with ${trade.signature.keyId}`
          : problems.join('; '),
    });
  }

  /**
   * A trade attestation by trade id (TRADE_NOT_FOUND); any member, a trading center only for the trades it
   * signed (another's trade is not found for it).
   */
  @Transaction(false)
  @Returns('TradeAttestation')
  async GetTrade(ctx: Context, tradeId: string): Promise<TradeAttestation> {
    const caller = requireMember(ctx);
    return visibleTrade(caller, await readTrade(ctx, requireId(tradeId, 'tradeId')));
  }

  /**
   * Trades one page at a time. `query`: `{ seller? | buyer? (not both), pageSize? (1-1000, default 50),
   * bookmark? }`: by trade id, or by the party and then trade id. Any member; a trading center sees the trades
   * it signed only (by trade id; by a party, the party's trades of other trading centers are left out of each
   * page, which may then hold fewer than pageSize: follow the bookmark).
   */
  @Transaction(false)
  @Returns('TradePage')
  async ListTrades(ctx: Context, query: string): Promise<TradePage> {
    const caller = requireMember(ctx);
    const ownOnly = caller.organisation.role === 'TRADING_CENTER' ? caller.mspId : undefined;
    const fields = parseQuery(query, ['seller', 'buyer', ...PAGE_FIELDS]);
    const seller = fields.seller === undefined ? undefined : requireId(fields.seller, 'seller');
    const buyer = fields.buyer === undefined ? undefined : requireId(fields.buyer, 'buyer');
    if (seller !== undefined && buyer !== undefined) {
      throw new GecError('INVALID_ARGUMENT', 'query.seller and query.buyer cannot be combined');
    }
    const { pageSize, bookmark } = pageRequest(fields);
    const items: TradeAttestation[] = [];
    let page;
    if (seller === undefined && buyer === undefined && ownOnly === undefined) {
      page = await queryPage(ctx, { objectType: TRADE_OBJECT, attributes: [] }, pageSize, bookmark);
      for (const record of page.records) items.push(tradeFromState(parseJson(record.value)));
    } else {
      const [objectType, attribute] =
        seller !== undefined
          ? [TRADE_BY_SELLER_INDEX, seller]
          : buyer !== undefined
            ? [TRADE_BY_BUYER_INDEX, buyer]
            : [TRADE_BY_CENTER_INDEX, ownOnly!];
      page = await queryPage(ctx, { objectType, attributes: [attribute] }, pageSize, bookmark);
      for (const record of page.records) {
        const trade = await readTrade(ctx, keyAttributes(ctx, record.key)[1]);
        if (ownOnly === undefined || trade.tradingCenter === ownOnly) items.push(trade);
      }
    }
    return Object.assign(new TradePage(), {
      items,
      bookmark: page.bookmark,
      fetchedCount: page.fetchedCount,
    });
  }

  /**
   * Green kWh attested by trades for a consumer and month. `query`: `{ consumer, month }`; any member. A zero
   * total when no trade has claimed the month.
   */
  @Transaction(false)
  @Returns('GreenTotal')
  async GetGreenConsumption(ctx: Context, query: string): Promise<GreenTotal> {
    requireMember(ctx);
    const fields = parseRequest(query, ['consumer', 'month'], 'query');
    return readGreenTotal(
      ctx,
      GREEN_CONSUMPTION_OBJECT,
      requireId(fields.consumer, 'consumer'),
      requireMonth(fields.month, 'month'),
    );
  }

  /** Green kWh attested by green-power trades for a unit and month. `query`: `{ unitId, month }`; any member. */
  @Transaction(false)
  @Returns('GreenTotal')
  async GetGreenGeneration(ctx: Context, query: string): Promise<GreenTotal> {
    requireMember(ctx);
    const fields = parseRequest(query, ['unitId', 'month'], 'query');
    return readGreenTotal(
      ctx,
      GREEN_GENERATION_OBJECT,
      requireId(fields.unitId, 'unitId'),
      requireMonth(fields.month, 'month'),
    );
  }
}

export function tradeKey(ctx: Context, tradeId: string): string {
  return compositeKey(ctx, TRADE_OBJECT, [tradeId]);
}

/**
 * A trade as `caller` may see it: a trading center sees only the trades it signed (its trade data and prices are
 * its own market's); the platform operators and the regulators see every trade. Another trading center's trade
 * is not found for it, so its existence is not disclosed either.
 */
function visibleTrade(caller: Caller, trade: TradeAttestation): TradeAttestation {
  if (caller.organisation.role === 'TRADING_CENTER' && trade.tradingCenter !== caller.mspId) {
    throw new GecError(
      'TRADE_NOT_FOUND',
      `trade ${trade.tradeId} is not among the trades ${caller.mspId} signed`,
    );
  }
  return trade;
}

export async function readTrade(ctx: Context, tradeId: string): Promise<TradeAttestation> {
  const stored = await getJson(ctx, tradeKey(ctx, tradeId));
  if (stored === undefined) throw new GecError('TRADE_NOT_FOUND', `trade ${tradeId} is not attested`);
  return tradeFromState(stored);
}

/** An RFC 3339 instant that is the first instant of an Asia/Shanghai month; that month. */
function requireMonthInstant(value: unknown, field: string): string {
  const ms = typeof value === 'string' && RFC3339.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new GecError('INVALID_ARGUMENT', `${field} must be an RFC 3339 date-time with offset`);
  }
  const month = new Date(ms + SHANGHAI_OFFSET_MS).toISOString().slice(0, 7);
  if (month < '2000-01' || month > '2999-12' || Date.parse(monthStart(month)) !== ms) {
    throw new GecError(
      'INVALID_ARGUMENT',
      `${field} must be the start of an Asia/Shanghai month (delivery periods are whole months, e.g. ` +
        `2026-03-01T00:00:00+08:00); got ${String(value)}`,
    );
  }
  return month;
}

/** The months of [start, end): 1 to 12. */
function monthsBetween(start: string, end: string): string[] {
  const months: string[] = [];
  for (let m = start; m < end && months.length <= DELIVERY_MONTHS_MAX; m = addMonths(m, 1)) months.push(m);
  if (months.length === 0 || months.length > DELIVERY_MONTHS_MAX) {
    throw new GecError(
      'INVALID_ARGUMENT',
      `the delivery period must span 1 to ${DELIVERY_MONTHS_MAX} whole months (deliveryEnd after deliveryStart)`,
    );
  }
  return months;
}

/** A list of distinct ids, sorted unless `sort` is false. */
function requireIdList(value: unknown, field: string, max = ITEMS_MAX, sort = true): string[] {
  const ids = requireArray(value, field, max).map((item, i) => requireId(item, `${field}[${i}]`));
  if (new Set(ids).size !== ids.length) {
    throw new GecError('INVALID_ARGUMENT', `${field} must not repeat an item`);
  }
  return sort ? ids.sort() : ids;
}

function parseLots(value: unknown): LotRequest[] {
  const items = requireArray(value, 'lots', ITEMS_MAX).map((item, i) => {
    const fields = requireObject(item, `lots[${i}]`, ['lotId', 'volume']);
    return { lotId: requireLotId(fields.lotId, `lots[${i}].lotId`), volume: fields.volume };
  });
  if (new Set(items.map((i) => i.lotId)).size !== items.length) {
    throw new GecError('INVALID_ARGUMENT', 'lots must not repeat a lot');
  }
  return items;
}

/**
 * The green kWh per delivery month. GREEN_POWER: derived from the lots' production months (monthlyKwh refused).
 * CERTIFICATE_ONLY: the whole volume for a one-month period; over several months, `monthlyKwh` must give every
 * month of the period once, summing to volumeKwh.
 */
function parseMonthly(value: unknown, kind: TradeKind, months: string[], volumeKwh: number): TradeMonth[] {
  const absent = value === undefined || value === null;
  if (kind === 'GREEN_POWER') {
    if (!absent) {
      throw new GecError(
        'INVALID_ARGUMENT',
        "monthlyKwh is only for CERTIFICATE_ONLY trades; a green-power trade's months follow its certificates' production months",
      );
    }
    return [];
  }
  if (absent) {
    if (months.length > 1) {
      throw new GecError(
        'INVALID_ARGUMENT',
        'monthlyKwh is required for a CERTIFICATE_ONLY trade delivered over more than one month',
      );
    }
    return [month(months[0], volumeKwh)];
  }
  const entries = requireArray(value, 'monthlyKwh', DELIVERY_MONTHS_MAX).map((item, i) => {
    const fields = requireObject(item, `monthlyKwh[${i}]`, ['month', 'volumeKwh']);
    return month(
      requireMonth(fields.month, `monthlyKwh[${i}].month`),
      requireInteger(fields.volumeKwh, `monthlyKwh[${i}].volumeKwh`, 0, VOLUME_KWH_MAX),
    );
  });
  entries.sort((a, b) => (a.month < b.month ? -1 : a.month > b.month ? 1 : 0));
  const sum = entries.reduce((s, e) => s + e.volumeKwh, 0);
  if (entries.map((e) => e.month).join() !== months.join() || sum !== volumeKwh) {
    throw new GecError(
      'INVALID_ARGUMENT',
      `monthlyKwh must give each delivery month (${months.join(', ')}) once, summing to volumeKwh ${volumeKwh}`,
    );
  }
  return entries;
}

function month(m: string, volumeKwh: number): TradeMonth {
  return Object.assign(new TradeMonth(), { month: m, volumeKwh });
}

/** kWh per delivery month from the moved certificates (1,000 kWh each), every month listed. */
function allocateByLots(
  lots: CertificateLot[],
  months: string[],
  monthOf: (lot: CertificateLot) => string,
): TradeMonth[] {
  return months.map((m) =>
    month(
      m,
      lots
        .filter((lot) => monthOf(lot) === m)
        .reduce((sum, lot) => sum + lot.volume * KWH_PER_CERTIFICATE, 0),
    ),
  );
}

/** Every meter attested for every month (METER_NOT_ATTESTED). */
async function requireAttested(
  ctx: Context,
  meterIds: readonly string[],
  months: readonly string[],
  whose: string,
): Promise<void> {
  for (const meterId of meterIds) {
    for (const m of months) {
      if ((await findAttestation(ctx, meterId, m)) === undefined) {
        throw new GecError(
          'METER_NOT_ATTESTED',
          `meter ${meterId} of ${whose} has no attestation for ${m}, a month of the delivery period`,
        );
      }
    }
  }
}

function added(total: GreenTotal, kwh: number, tradeId: string, now: string, txId: string): GreenTotal {
  return Object.assign(new GreenTotal(), total, {
    greenKwh: total.greenKwh + kwh,
    trades: total.trades + 1,
    lastTradeId: tradeId,
    updatedAt: now,
    updatedTxId: txId,
  });
}
