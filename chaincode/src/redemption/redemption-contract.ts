import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { MARKET_OPERATORS, requireLotId } from '../certificates/certificates-contract';
import { CertificateLot } from '../certificates/lot';
import {
  LotChanges,
  findLotBySerial,
  lotVolume,
  requireLive,
  requireOwner,
  requireStatus,
  requireTradable,
} from '../certificates/lot-store';
import { MARKET_PARTICIPANT_KINDS } from '../identity/participant';
import { requireMember, requireWriter } from '../lib/access';
import { emitEvent } from '../lib/events';
import { GecError } from '../lib/errors';
import { GecContract } from '../lib/gec-contract';
import { monthEnd, monthStart } from '../lib/months';
import { requireActiveParticipant, requireManagedBy } from '../lib/parties';
import { compositeKey, getJson, putJson } from '../lib/state';
import { txTime } from '../lib/time';
import {
  parseRequest,
  requireArray,
  requireId,
  requireMonth,
  requireObject,
  requireText,
} from '../lib/validate';
import { ConsumedRange, Exchange, Redemption, RedemptionCheck } from './redemption';

/** A redemption: key `gec.redemption\0<redemptionId>\0`. */
export const REDEMPTION_OBJECT = 'gec.redemption';
/** An exchange: key `gec.exchange\0<exchangeId>\0`. */
export const EXCHANGE_OBJECT = 'gec.exchange';

export const CERTIFICATES_REDEEMED_EVENT = 'CertificatesRedeemed';
export const CERTIFICATES_EXCHANGED_EVENT = 'CertificatesExchanged';

const ITEMS_MAX = 100;
const TEXT_MAX = 256;
const NAME_MAX = 200;

@Info({
  title: 'redemption',
  description:
    'Redemption (兑付/核销), redemption check by serial (兑付信息核查) and exchange for green electricity (绿电兑换)',
})
export class RedemptionContract extends GecContract {
  constructor() {
    super('redemption');
  }

  /**
   * Redeem whole or part of one or more lots for a beneficiary's consumption. `request`: `{ redemptionId,
   * owner, beneficiary, purpose, consumptionStartMonth, consumptionEndMonth (YYYY-MM, inclusive), items: [{ lotId,
   * volume? }] (1-100, distinct lots) }`. Every lot ACTIVE, unexpired and held by `owner` (an ACTIVE generator or
   * consumer); the redeemed certificates are final. Trading center.
   */
  @Transaction()
  @Returns('Redemption')
  async Redeem(ctx: Context, request: string): Promise<Redemption> {
    const caller = requireWriter(ctx, MARKET_OPERATORS);
    const fields = parseRequest(request, [
      'redemptionId',
      'owner',
      'beneficiary',
      'purpose',
      'consumptionStartMonth',
      'consumptionEndMonth',
      'items',
    ]);
    const redemptionId = requireId(fields.redemptionId, 'redemptionId');
    const owner = requireId(fields.owner, 'owner');
    const beneficiary = requireText(fields.beneficiary, 'beneficiary', NAME_MAX);
    const purpose = requireText(fields.purpose, 'purpose', TEXT_MAX);
    const startMonth = requireMonth(fields.consumptionStartMonth, 'consumptionStartMonth');
    const endMonth = requireMonth(fields.consumptionEndMonth, 'consumptionEndMonth');
    if (endMonth < startMonth) {
      throw new GecError('INVALID_ARGUMENT', 'consumptionEndMonth must not be before consumptionStartMonth');
    }
    const items = parseItems(fields.items);
    if ((await getJson(ctx, redemptionKey(ctx, redemptionId))) !== undefined) {
      throw new GecError('REDEMPTION_EXISTS', `redemption ${redemptionId} already exists`);
    }
    const changes = new LotChanges(ctx, txTime(ctx), ctx.stub.getTxID());
    const taken = await consume(changes, items, owner, false, { status: 'REDEEMED', redemptionId });
    requireManagedBy(
      ctx,
      caller,
      await requireActiveParticipant(ctx, owner, 'owner', MARKET_PARTICIPANT_KINDS),
    );

    const redemption = Object.assign(new Redemption(), {
      id: redemptionId,
      owner,
      beneficiary,
      purpose,
      consumptionStartMonth: startMonth,
      consumptionEndMonth: endMonth,
      consumptionPeriodStart: monthStart(startMonth),
      consumptionPeriodEnd: monthEnd(endMonth),
      ranges: taken.map(toRange),
      volume: taken.reduce((sum, lot) => sum + lot.volume, 0),
      redeemedAt: changes.now,
      redeemedBy: caller.id,
      redeemedByMsp: caller.mspId,
      txId: changes.txId,
    });
    await putJson(ctx, redemptionKey(ctx, redemptionId), redemption);
    const lots = await changes.flush();
    emitEvent(ctx, CERTIFICATES_REDEEMED_EVENT, { redemption, lots });
    return redemption;
  }

  /**
   * Surrender certificates for green electricity at the trading center. `request`: `{ exchangeId, owner,
   * electricityReference, purpose?, items: [{ lotId, volume? }] }`. Lots ACTIVE, unexpired, tradable, not bound
   * to a green-power trade, held by `owner`; the surrendered certificates are final (EXCHANGED). Trading center.
   */
  @Transaction()
  @Returns('Exchange')
  async Exchange(ctx: Context, request: string): Promise<Exchange> {
    const caller = requireWriter(ctx, MARKET_OPERATORS);
    const fields = parseRequest(request, ['exchangeId', 'owner', 'electricityReference', 'purpose', 'items']);
    const exchangeId = requireId(fields.exchangeId, 'exchangeId');
    const owner = requireId(fields.owner, 'owner');
    const electricityReference = requireText(fields.electricityReference, 'electricityReference', TEXT_MAX);
    const purpose = fields.purpose === undefined ? '' : requireText(fields.purpose, 'purpose', TEXT_MAX);
    const items = parseItems(fields.items);
    if ((await getJson(ctx, exchangeKey(ctx, exchangeId))) !== undefined) {
      throw new GecError('EXCHANGE_EXISTS', `exchange ${exchangeId} already exists`);
    }
    const changes = new LotChanges(ctx, txTime(ctx), ctx.stub.getTxID());
    const taken = await consume(changes, items, owner, true, { status: 'EXCHANGED', exchangeId });
    requireManagedBy(
      ctx,
      caller,
      await requireActiveParticipant(ctx, owner, 'owner', MARKET_PARTICIPANT_KINDS),
    );

    const exchange = Object.assign(new Exchange(), {
      id: exchangeId,
      owner,
      electricityReference,
      purpose,
      ranges: taken.map(toRange),
      volume: taken.reduce((sum, lot) => sum + lot.volume, 0),
      exchangedAt: changes.now,
      exchangedBy: caller.id,
      exchangedByMsp: caller.mspId,
      txId: changes.txId,
    });
    await putJson(ctx, exchangeKey(ctx, exchangeId), exchange);
    const lots = await changes.flush();
    emitEvent(ctx, CERTIFICATES_EXCHANGED_EVENT, { exchange, lots });
    return exchange;
  }

  /**
   * Redemption check (兑付信息核查) of one serial number: redeemed or not, by whom, when and for what, with the
   * lot and redemption (or exchange) ids. Any member, the regulator included. SERIAL_NOT_FOUND for a serial no
   * lot holds.
   */
  @Transaction(false)
  @Returns('RedemptionCheck')
  async CheckRedemption(ctx: Context, serial: string): Promise<RedemptionCheck> {
    requireMember(ctx);
    const lot = await findLotBySerial(ctx, serial);
    const check = Object.assign(new RedemptionCheck(), {
      serial,
      lotId: lot.id,
      status: lot.status,
      owner: lot.owner,
      unitId: lot.unitId,
      productionMonth: lot.productionMonth,
      redeemed: lot.status === 'REDEEMED',
      exchanged: lot.status === 'EXCHANGED',
      redemptionId: lot.redemptionId,
      beneficiary: '',
      purpose: '',
      consumptionPeriodStart: '',
      consumptionPeriodEnd: '',
      consumedAt: '',
      consumedTxId: '',
      exchangeId: lot.exchangeId,
      electricityReference: '',
    });
    if (check.redeemed) {
      const redemption = await readRedemption(ctx, lot.redemptionId);
      Object.assign(check, {
        beneficiary: redemption.beneficiary,
        purpose: redemption.purpose,
        consumptionPeriodStart: redemption.consumptionPeriodStart,
        consumptionPeriodEnd: redemption.consumptionPeriodEnd,
        consumedAt: redemption.redeemedAt,
        consumedTxId: redemption.txId,
      });
    } else if (check.exchanged) {
      const exchange = await readExchange(ctx, lot.exchangeId);
      Object.assign(check, {
        purpose: exchange.purpose,
        electricityReference: exchange.electricityReference,
        consumedAt: exchange.exchangedAt,
        consumedTxId: exchange.txId,
      });
    }
    return check;
  }

  /** A redemption statement by id; any member. */
  @Transaction(false)
  @Returns('Redemption')
  async GetRedemption(ctx: Context, redemptionId: string): Promise<Redemption> {
    requireMember(ctx);
    return readRedemption(ctx, requireId(redemptionId, 'redemptionId'));
  }

  /** An exchange by id; any member. */
  @Transaction(false)
  @Returns('Exchange')
  async GetExchange(ctx: Context, exchangeId: string): Promise<Exchange> {
    requireMember(ctx);
    return readExchange(ctx, requireId(exchangeId, 'exchangeId'));
  }
}

interface Item {
  lotId: string;
  volume: unknown;
}

function parseItems(value: unknown): Item[] {
  const items = requireArray(value, 'items', ITEMS_MAX).map((raw, i) => {
    const item = requireObject(raw, `items[${i}]`, ['lotId', 'volume']);
    return { lotId: requireLotId(item.lotId, `items[${i}].lotId`), volume: item.volume };
  });
  if (new Set(items.map((i) => i.lotId)).size !== items.length) {
    throw new GecError('INVALID_ARGUMENT', 'items must name each lot once');
  }
  return items;
}

/** Take each item's certificates out of circulation with `changes` applied; the lots that took them. */
async function consume(
  changes: LotChanges,
  items: Item[],
  owner: string,
  tradableOnly: boolean,
  apply: Partial<CertificateLot>,
): Promise<CertificateLot[]> {
  const taken: CertificateLot[] = [];
  for (const [i, item] of items.entries()) {
    const lot = await changes.get(item.lotId);
    requireLive(lot, changes.now);
    requireStatus(lot, ['ACTIVE']);
    requireOwner(lot, owner);
    if (tradableOnly) requireTradable(lot);
    const volume = lotVolume(item.volume, `items[${i}].volume`, lot);
    taken.push(await changes.take(lot, volume, apply));
  }
  return taken;
}

function toRange(lot: CertificateLot): ConsumedRange {
  return Object.assign(new ConsumedRange(), {
    lotId: lot.id,
    serialStart: lot.serialStart,
    serialEnd: lot.serialEnd,
    volume: lot.volume,
  });
}

function redemptionKey(ctx: Context, id: string): string {
  return compositeKey(ctx, REDEMPTION_OBJECT, [id]);
}

function exchangeKey(ctx: Context, id: string): string {
  return compositeKey(ctx, EXCHANGE_OBJECT, [id]);
}

export async function readRedemption(ctx: Context, id: string): Promise<Redemption> {
  const stored = await getJson(ctx, redemptionKey(ctx, id));
  if (stored === undefined) throw new GecError('REDEMPTION_NOT_FOUND', `redemption ${id} does not exist`);
  return Object.assign(new Redemption(), stored as Redemption);
}

export async function readExchange(ctx: Context, id: string): Promise<Exchange> {
  const stored = await getJson(ctx, exchangeKey(ctx, id));
  if (stored === undefined) throw new GecError('EXCHANGE_NOT_FOUND', `exchange ${id} does not exist`);
  return Object.assign(new Exchange(), stored as Exchange);
}
