import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { MARKET_PARTICIPANT_KINDS } from '../identity/participant';
import {
  ROLE_ADMIN,
  ROLE_TRADING_CENTER,
  requireAnyWriter,
  requireMember,
  requireWriter,
} from '../lib/access';
import { emitEvent } from '../lib/events';
import { GecError } from '../lib/errors';
import { GecContract } from '../lib/gec-contract';
import { addMonths, atOrAfter, compactMonth, monthEnd, monthStart } from '../lib/months';
import { PAGE_FIELDS, pageRequest } from '../lib/paging';
import { requireActiveParticipant, requireHolderManagedBy, requireManagedBy } from '../lib/parties';
import {
  compositeKey,
  deleteIndex,
  getJson,
  keyAttributes,
  parseJson,
  putIndex,
  putJson,
  queryPage,
} from '../lib/state';
import { txTime } from '../lib/time';
import {
  optionalBoolean,
  optionalEnum,
  parseQuery,
  parseRequest,
  requireId,
  requireInteger,
  requireMonth,
  requireText,
} from '../lib/validate';
import { findAttestation } from '../metering/metering-contract';
import { ConsortiumParameters, MAX_SEQUENCE, readParameters } from '../parameters/consortium-parameters';
import { GenerationUnit } from '../units/unit';
import { readUnit, unitKey } from '../units/units-contract';
import {
  ISSUANCE_OBJECT,
  Issuance,
  IssuanceMeter,
  IssuancePage,
  WH_PER_CERTIFICATE,
  issuanceFromState,
  issuanceKey,
  readIssuance,
} from './issuance';
import { LISTING_STATUSES, Listing, ListingPage, ListingStatus, listingFromState } from './listing';
import { CertificateLot, ELECTRICITY_CLASS, LotStatus, TRADE_CLASS, formatSerial, parseSerial } from './lot';
import {
  LotChanges,
  findLotBySerial,
  lotVolume,
  readLot,
  requireLive,
  requireNotFinal,
  requireOwner,
  requireStatus,
  requireTradable,
} from './lot-store';
import { ListingResult, LotChangeResult } from './results';

/** A listing: key `gec.listing\0<listingId>\0`. */
export const LISTING_OBJECT = 'gec.listing';
/** Listings by status: `gec.listing~status\0<status>\0<listingId>\0`. */
export const LISTING_BY_STATUS_INDEX = 'gec.listing~status';

export const CERTIFICATES_ISSUED_EVENT = 'CertificatesIssued';
export const LOT_SPLIT_EVENT = 'LotSplit';
export const LOT_TRANSFERRED_EVENT = 'LotTransferred';
export const LOT_LISTED_EVENT = 'LotListed';
export const LOT_DELISTED_EVENT = 'LotDelisted';
export const LISTING_SOLD_EVENT = 'ListingSold';
export const LOT_EXPIRED_EVENT = 'LotExpired';
export const LOT_WITHDRAWN_EVENT = 'LotWithdrawn';

/** The issuing body (注册/核发): the registry run by the grid, i.e. `gec.role` admin of GridMSP. */
export const ISSUERS = { orgs: ['PLATFORM_OPERATOR'], roles: [ROLE_ADMIN] } as const;
/** The power trading center acting for market participants: `gec.role` admin or trading-center of TradingCenterMSP. */
export const MARKET_OPERATORS = {
  orgs: ['TRADING_CENTER'],
  roles: [ROLE_ADMIN, ROLE_TRADING_CENTER],
} as const;

const REASON_MAX = 256;
const UNIT_PRICE_FEN_MAX = 100_000_000;

@Info({
  title: 'certificates',
  description:
    'Green certificates: issuance into serial-range lots, split, transfer, listing, expiry, withdrawal',
})
export class CertificatesContract extends GecContract {
  constructor() {
    super('certificates');
  }

  /**
   * Issue the certificates of a unit for a production month (注册绿证). `request`: `{ unitId, month (YYYY-MM),
   * tradable? (default true; false for self-consumption) }`. Issuer only. Creates one lot of
   * floor((attested Wh of all the unit's meters for the month + carried Wh) / 1,000,000) certificates, owned by
   * the unit's owner, and carries the remainder to the unit's next issuance. Refused once the consortium's
   * issuance window after the month has closed (ISSUANCE_WINDOW_CLOSED): no certificate is born expired.
   */
  @Transaction()
  @Returns('Issuance')
  async Issue(ctx: Context, request: string): Promise<Issuance> {
    const caller = requireWriter(ctx, ISSUERS);
    const fields = parseRequest(request, ['unitId', 'month', 'tradable']);
    const unitId = requireId(fields.unitId, 'unitId');
    const month = requireMonth(fields.month, 'month');
    const tradable = optionalBoolean(fields.tradable, 'tradable', true);
    const now = txTime(ctx);
    const txId = ctx.stub.getTxID();

    const unit = await readUnit(ctx, unitId);
    if (unit.status !== 'ACTIVE') {
      throw new GecError('UNIT_NOT_ACTIVE', `unit ${unitId} is ${unit.status}; only ACTIVE units are issued`);
    }
    await requireActiveParticipant(ctx, unit.owner, 'unit owner', ['GENERATOR']);
    if (!atOrAfter(now, monthEnd(month))) {
      throw new GecError(
        'PERIOD_NOT_CLOSED',
        `month ${month} ends at ${monthEnd(month)}; the transaction time is ${now}`,
      );
    }
    const parameters = await readParameters(ctx);
    const windowCloses = monthStart(addMonths(month, 1 + parameters.issuanceWindowMonths));
    if (atOrAfter(now, windowCloses)) {
      throw new GecError(
        'ISSUANCE_WINDOW_CLOSED',
        `certificates for ${month} could be issued until ${windowCloses} (issuanceWindowMonths ` +
          `${parameters.issuanceWindowMonths}); the transaction time is ${now}, and they would expire at ` +
          `${monthStart(addMonths(month, parameters.validityMonths))}`,
      );
    }
    if (month < unit.commissioningDate.slice(0, 7)) {
      throw new GecError(
        'MONTH_BEFORE_COMMISSIONING',
        `unit ${unitId} was commissioned on ${unit.commissioningDate}; nothing to issue for ${month}`,
      );
    }
    if ((await getJson(ctx, issuanceKey(ctx, unitId, month))) !== undefined) {
      throw new GecError(
        'ISSUANCE_EXISTS',
        `unit ${unitId} has already been issued certificates for ${month}`,
      );
    }
    if (unit.lastIssuedMonth !== '' && month <= unit.lastIssuedMonth) {
      throw new GecError(
        'ISSUANCE_OUT_OF_ORDER',
        `unit ${unitId} was last issued for ${unit.lastIssuedMonth}; issuance goes month by month forwards, and ${month} is earlier`,
      );
    }

    const meters: IssuanceMeter[] = [];
    const missing: string[] = [];
    let attestedWh = 0n;
    for (const meterId of unit.meterIds) {
      const attestation = await findAttestation(ctx, meterId, month);
      if (attestation === undefined) {
        missing.push(meterId);
        continue;
      }
      attestedWh += BigInt(attestation.totalWh);
      meters.push(
        Object.assign(new IssuanceMeter(), {
          meterId,
          version: attestation.version,
          totalWh: attestation.totalWh,
        }),
      );
    }
    if (missing.length > 0) {
      throw new GecError(
        'METER_NOT_ATTESTED',
        `unit ${unitId} cannot be issued for ${month}: no attestation for meter(s) ${missing.join(', ')}`,
      );
    }
    const carryInWh = BigInt(unit.carryWh);
    const available = attestedWh + carryInWh;
    const certificatesBig = available / WH_PER_CERTIFICATE;
    if (certificatesBig > BigInt(MAX_SEQUENCE)) {
      throw new GecError(
        'SERIAL_SPACE_EXHAUSTED',
        `${certificatesBig} certificates exceed the ${MAX_SEQUENCE} serial numbers of one unit and month`,
      );
    }
    const certificates = Number(certificatesBig);
    const carryOutWh = available - certificatesBig * WH_PER_CERTIFICATE;

    const expiresAt = monthStart(addMonths(month, parameters.validityMonths));
    const electricityClass = ELECTRICITY_CLASS[unit.technology];
    const tradeClass = tradable ? TRADE_CLASS.tradable : TRADE_CLASS.notTradable;
    const serial = (sequence: number) =>
      formatSerial({
        projectCode: unit.projectCode,
        productionMonth: month,
        sequence,
        electricityClass,
        tradeClass,
      });
    const issuanceId = unit.projectCode + compactMonth(month);

    const changes = new LotChanges(ctx, now, txId);
    let lotId = '';
    if (certificates > 0) {
      lotId = serial(1);
      await changes.create(
        Object.assign(new CertificateLot(), {
          id: lotId,
          serialStart: lotId,
          serialEnd: serial(certificates),
          sequenceStart: 1,
          sequenceEnd: certificates,
          volume: certificates,
          projectCode: unit.projectCode,
          unitId,
          technology: unit.technology,
          province: unit.province,
          productionMonth: month,
          productionPeriodStart: monthStart(month),
          productionPeriodEnd: monthEnd(month),
          electricityClass,
          tradeClass,
          issuanceId,
          issuedAt: now,
          expiresAt,
          owner: unit.owner,
          status: 'ACTIVE' as LotStatus,
          tradable,
          boundToGreenPowerTrade: false,
          greenPowerTradeId: '',
          parentLotId: '',
          listingId: '',
          redemptionId: '',
          exchangeId: '',
          statusReason: '',
          createdAt: now,
          createdTxId: txId,
          updatedAt: now,
          updatedTxId: txId,
        }),
      );
    }
    const issuance = Object.assign(new Issuance(), {
      id: issuanceId,
      unitId,
      projectCode: unit.projectCode,
      productionMonth: month,
      periodStart: monthStart(month),
      periodEnd: monthEnd(month),
      meters,
      attestedWh: attestedWh.toString(),
      carryInWh: carryInWh.toString(),
      carryOutWh: carryOutWh.toString(),
      certificates,
      lotId,
      serialStart: certificates > 0 ? serial(1) : '',
      serialEnd: certificates > 0 ? serial(certificates) : '',
      tradable,
      electricityClass,
      tradeClass,
      validityMonths: parameters.validityMonths,
      expiresAt,
      issuedAt: now,
      issuedBy: caller.id,
      issuedByMsp: caller.mspId,
      txId,
      updatedAt: now,
      updatedTxId: txId,
    });
    const updatedUnit = Object.assign(new GenerationUnit(), unit, {
      carryWh: carryOutWh.toString(),
      lastIssuedMonth: month,
      updatedAt: now,
      updatedTxId: txId,
    });
    await putJson(ctx, issuanceKey(ctx, unitId, month), issuance);
    await putJson(ctx, unitKey(ctx, unitId), updatedUnit);
    const lots = await changes.flush();
    emitEvent(ctx, CERTIFICATES_ISSUED_EVENT, { issuance, lots, unit: updatedUnit });
    return issuance;
  }

  /**
   * Split a lot: its highest `volume` certificates become a new lot with the same owner and status ACTIVE.
   * `request`: `{ lotId, owner, volume (1 .. lot volume - 1) }`. Trading center.
   */
  @Transaction()
  @Returns('LotChangeResult')
  async Split(ctx: Context, request: string): Promise<LotChangeResult> {
    const caller = requireWriter(ctx, MARKET_OPERATORS);
    const fields = parseRequest(request, ['lotId', 'owner', 'volume']);
    const lotId = requireLotId(fields.lotId, 'lotId');
    const owner = requireId(fields.owner, 'owner');
    const changes = new LotChanges(ctx, txTime(ctx), ctx.stub.getTxID());
    const lot = await changes.get(lotId);
    requireLive(lot, changes.now);
    requireStatus(lot, ['ACTIVE']);
    requireOwner(lot, owner);
    await requireHolderManagedBy(ctx, caller, owner);
    const volume = lotVolume(fields.volume, 'volume', lot);
    if (volume === undefined || volume >= lot.volume) {
      throw new GecError(
        'INVALID_ARGUMENT',
        `volume must be from 1 to ${lot.volume - 1} to split lot ${lot.id}`,
      );
    }
    const child = await changes.split(lot, volume, {});
    const lots = await changes.flush();
    emitEvent(ctx, LOT_SPLIT_EVENT, { lotId: child.id, parentLotId: lot.id, volume, lots });
    return lotResult(child.id, lots);
  }

  /**
   * Transfer a whole lot, or part of it (split off with lineage), between ACTIVE generators or consumers.
   * `request`: `{ lotId, from, to, volume? (default: the whole lot) }`. Trading center, stating the holder
   * `from`; the volume must lie within the consortium's minTransferVolume..maxTransferVolume.
   */
  @Transaction()
  @Returns('LotChangeResult')
  async Transfer(ctx: Context, request: string): Promise<LotChangeResult> {
    const caller = requireWriter(ctx, MARKET_OPERATORS);
    const fields = parseRequest(request, ['lotId', 'from', 'to', 'volume']);
    const lotId = requireLotId(fields.lotId, 'lotId');
    const from = requireId(fields.from, 'from');
    const to = requireId(fields.to, 'to');
    if (from === to) throw new GecError('SAME_PARTY', `from and to are both ${from}`);
    const changes = new LotChanges(ctx, txTime(ctx), ctx.stub.getTxID());
    const lot = await changes.get(lotId);
    requireLive(lot, changes.now);
    requireStatus(lot, ['ACTIVE']);
    requireOwner(lot, from);
    requireTradable(lot);
    const volume = lotVolume(fields.volume, 'volume', lot) ?? lot.volume;
    requireTransferSize(volume, await readParameters(ctx));
    requireManagedBy(
      ctx,
      caller,
      await requireActiveParticipant(ctx, from, 'from', MARKET_PARTICIPANT_KINDS),
    );
    await requireActiveParticipant(ctx, to, 'to', MARKET_PARTICIPANT_KINDS);
    const moved = await changes.take(lot, volume, { owner: to });
    const lots = await changes.flush();
    emitEvent(ctx, LOT_TRANSFERRED_EVENT, { lotId: moved.id, from, to, volume, lots });
    return lotResult(moved.id, lots);
  }

  /**
   * List certificates for sale (绿证售卖). `request`: `{ listingId, lotId, owner, volume? (default: whole lot),
   * unitPriceFen (per certificate, 0-100,000,000) }`. The listed part becomes LISTED. Trading center.
   */
  @Transaction()
  @Returns('ListingResult')
  async List(ctx: Context, request: string): Promise<ListingResult> {
    const caller = requireWriter(ctx, MARKET_OPERATORS);
    const fields = parseRequest(request, ['listingId', 'lotId', 'owner', 'volume', 'unitPriceFen']);
    const listingId = requireId(fields.listingId, 'listingId');
    const lotId = requireLotId(fields.lotId, 'lotId');
    const owner = requireId(fields.owner, 'owner');
    const unitPriceFen = requireInteger(fields.unitPriceFen, 'unitPriceFen', 0, UNIT_PRICE_FEN_MAX);
    if ((await getJson(ctx, listingKey(ctx, listingId))) !== undefined) {
      throw new GecError('LISTING_EXISTS', `listing ${listingId} already exists`);
    }
    const changes = new LotChanges(ctx, txTime(ctx), ctx.stub.getTxID());
    const lot = await changes.get(lotId);
    requireLive(lot, changes.now);
    requireStatus(lot, ['ACTIVE']);
    requireOwner(lot, owner);
    requireTradable(lot);
    const volume = lotVolume(fields.volume, 'volume', lot) ?? lot.volume;
    requireManagedBy(
      ctx,
      caller,
      await requireActiveParticipant(ctx, owner, 'owner', MARKET_PARTICIPANT_KINDS),
    );
    const listed = await changes.take(lot, volume, { status: 'LISTED', listingId });
    const listing = Object.assign(new Listing(), {
      id: listingId,
      lotId: listed.id,
      seller: owner,
      volume,
      soldVolume: 0,
      unitPriceFen,
      status: 'OPEN' as ListingStatus,
      closedReason: '',
      listedBy: caller.id,
      listedByMsp: caller.mspId,
      listedAt: changes.now,
      txId: changes.txId,
      updatedAt: changes.now,
      updatedTxId: changes.txId,
    });
    await writeListing(ctx, listing);
    const lots = await changes.flush();
    emitEvent(ctx, LOT_LISTED_EVENT, { listing, lotId: listed.id, lots });
    return listingResult(listing, listed.id, lots);
  }

  /** Withdraw an open listing; its lot returns to ACTIVE. `request`: `{ listingId, owner }`. Trading center. */
  @Transaction()
  @Returns('ListingResult')
  async Delist(ctx: Context, request: string): Promise<ListingResult> {
    const caller = requireWriter(ctx, MARKET_OPERATORS);
    const fields = parseRequest(request, ['listingId', 'owner']);
    const listingId = requireId(fields.listingId, 'listingId');
    const owner = requireId(fields.owner, 'owner');
    const current = await readListing(ctx, listingId);
    requireOpen(current);
    const changes = new LotChanges(ctx, txTime(ctx), ctx.stub.getTxID());
    const lot = await changes.get(current.lotId);
    requireLive(lot, changes.now);
    requireStatus(lot, ['LISTED']);
    requireOwner(lot, owner);
    await requireHolderManagedBy(ctx, caller, owner);
    const returned = await changes.take(lot, undefined, { status: 'ACTIVE', listingId: '' });
    const listing = await closeListing(ctx, current, 'CANCELLED', 'delisted', changes);
    const lots = await changes.flush();
    emitEvent(ctx, LOT_DELISTED_EVENT, { listing, lotId: returned.id, lots });
    return listingResult(listing, returned.id, lots);
  }

  /**
   * Sell certificates from an open listing to a buyer (the sale completed at the trading center). `request`:
   * `{ listingId, buyer, volume? (default: all still listed) }`. The sold part moves to the buyer as ACTIVE; the
   * rest stays listed. Seller and buyer ACTIVE generators/consumers; transfer size limits apply. Trading center.
   */
  @Transaction()
  @Returns('ListingResult')
  async SellFromListing(ctx: Context, request: string): Promise<ListingResult> {
    const caller = requireWriter(ctx, MARKET_OPERATORS);
    const fields = parseRequest(request, ['listingId', 'buyer', 'volume']);
    const listingId = requireId(fields.listingId, 'listingId');
    const buyer = requireId(fields.buyer, 'buyer');
    const current = await readListing(ctx, listingId);
    requireOpen(current);
    if (buyer === current.seller) throw new GecError('SAME_PARTY', `buyer ${buyer} is the seller`);
    const changes = new LotChanges(ctx, txTime(ctx), ctx.stub.getTxID());
    const lot = await changes.get(current.lotId);
    requireLive(lot, changes.now);
    requireStatus(lot, ['LISTED']);
    requireTradable(lot);
    const volume = lotVolume(fields.volume, 'volume', lot) ?? lot.volume;
    requireTransferSize(volume, await readParameters(ctx));
    requireManagedBy(
      ctx,
      caller,
      await requireActiveParticipant(ctx, current.seller, 'seller', MARKET_PARTICIPANT_KINDS),
    );
    await requireActiveParticipant(ctx, buyer, 'buyer', MARKET_PARTICIPANT_KINDS);
    const sold = await changes.take(lot, volume, { owner: buyer, status: 'ACTIVE', listingId: '' });
    const listing =
      volume === lot.volume
        ? await closeListing(ctx, current, 'SOLD', '', changes, volume)
        : await shrinkListing(ctx, current, volume, changes, true);
    const lots = await changes.flush();
    emitEvent(ctx, LISTING_SOLD_EVENT, {
      listing,
      lotId: sold.id,
      seller: current.seller,
      buyer,
      volume,
      unitPriceFen: current.unitPriceFen,
      amountFen: volume * current.unitPriceFen,
      lots,
    });
    return listingResult(listing, sold.id, lots);
  }

  /**
   * Mark a lot EXPIRED once the transaction time has reached its expiresAt. `request`: `{ lotId }`. Any member
   * except the regulator (the gateway's daily sweep, an admin, ...). A listed lot's listing is CLOSED.
   */
  @Transaction()
  @Returns('LotChangeResult')
  async Expire(ctx: Context, request: string): Promise<LotChangeResult> {
    requireAnyWriter(ctx);
    const fields = parseRequest(request, ['lotId']);
    const lotId = requireLotId(fields.lotId, 'lotId');
    const changes = new LotChanges(ctx, txTime(ctx), ctx.stub.getTxID());
    const lot = await changes.get(lotId);
    requireNotFinal(lot);
    requireStatus(lot, ['ACTIVE', 'LISTED']);
    if (!atOrAfter(changes.now, lot.expiresAt)) {
      throw new GecError(
        'LOT_NOT_EXPIRED',
        `lot ${lot.id} expires at ${lot.expiresAt}; the transaction time is ${changes.now}`,
      );
    }
    let listing: Listing | null = null;
    if (lot.status === 'LISTED') {
      listing = await closeListing(
        ctx,
        await readListing(ctx, lot.listingId),
        'CLOSED',
        'lot expired',
        changes,
      );
    }
    await changes.take(lot, undefined, { status: 'EXPIRED', listingId: '' });
    const lots = await changes.flush();
    emitEvent(ctx, LOT_EXPIRED_EVENT, { lotId: lot.id, listing, lots });
    return lotResult(lot.id, lots);
  }

  /**
   * Withdraw certificates (dispute handling). `request`: `{ lotId, volume? (default: whole lot), reason }`.
   * Issuer only. ACTIVE or LISTED certificates only: never redeemed, exchanged, expired or in custody.
   */
  @Transaction()
  @Returns('LotChangeResult')
  async Withdraw(ctx: Context, request: string): Promise<LotChangeResult> {
    requireWriter(ctx, ISSUERS);
    const fields = parseRequest(request, ['lotId', 'volume', 'reason']);
    const lotId = requireLotId(fields.lotId, 'lotId');
    const reason = requireText(fields.reason, 'reason', REASON_MAX);
    const changes = new LotChanges(ctx, txTime(ctx), ctx.stub.getTxID());
    const lot = await changes.get(lotId);
    requireLive(lot, changes.now);
    requireStatus(lot, ['ACTIVE', 'LISTED']);
    const volume = lotVolume(fields.volume, 'volume', lot) ?? lot.volume;
    let listing: Listing | null = null;
    if (lot.status === 'LISTED') {
      const current = await readListing(ctx, lot.listingId);
      listing =
        volume === lot.volume
          ? await closeListing(ctx, current, 'CLOSED', `withdrawn: ${reason}`, changes)
          : await shrinkListing(ctx, current, volume, changes, false);
    }
    const withdrawn = await changes.take(lot, volume, {
      status: 'WITHDRAWN',
      statusReason: reason,
      listingId: '',
    });
    const lots = await changes.flush();
    emitEvent(ctx, LOT_WITHDRAWN_EVENT, { lotId: withdrawn.id, volume, reason, listing, lots });
    return lotResult(withdrawn.id, lots);
  }

  /** A lot by id (its first serial at creation); any member. */
  @Transaction(false)
  @Returns('CertificateLot')
  async GetLot(ctx: Context, lotId: string): Promise<CertificateLot> {
    requireMember(ctx);
    return readLot(ctx, requireLotId(lotId, 'lotId'));
  }

  /** The lot holding a serial number (one range read); SERIAL_NOT_FOUND when none does. Any member. */
  @Transaction(false)
  @Returns('CertificateLot')
  async GetLotBySerial(ctx: Context, serial: string): Promise<CertificateLot> {
    requireMember(ctx);
    return findLotBySerial(ctx, serial);
  }

  /** The issuance of a unit for a month. `query`: `{ unitId, month }`; any member. */
  @Transaction(false)
  @Returns('Issuance')
  async GetIssuance(ctx: Context, query: string): Promise<Issuance> {
    requireMember(ctx);
    const fields = parseRequest(query, ['unitId', 'month'], 'query');
    return readIssuance(ctx, requireId(fields.unitId, 'unitId'), requireMonth(fields.month, 'month'));
  }

  /** A unit's issuances in month order. `query`: `{ unitId, pageSize?, bookmark? }`; any member. */
  @Transaction(false)
  @Returns('IssuancePage')
  async ListIssuances(ctx: Context, query: string): Promise<IssuancePage> {
    requireMember(ctx);
    const fields = parseRequest(query, ['unitId', ...PAGE_FIELDS], 'query');
    const unitId = requireId(fields.unitId, 'unitId');
    const { pageSize, bookmark } = pageRequest(fields);
    const page = await queryPage(
      ctx,
      { objectType: ISSUANCE_OBJECT, attributes: [unitId] },
      pageSize,
      bookmark,
    );
    return Object.assign(new IssuancePage(), {
      items: page.records.map((r) => issuanceFromState(parseJson(r.value))),
      bookmark: page.bookmark,
      fetchedCount: page.fetchedCount,
    });
  }

  /** A listing by id; any member. */
  @Transaction(false)
  @Returns('Listing')
  async GetListing(ctx: Context, listingId: string): Promise<Listing> {
    requireMember(ctx);
    return readListing(ctx, requireId(listingId, 'listingId'));
  }

  /** Listings in id order. `query`: `{ status?, pageSize?, bookmark? }`; any member. */
  @Transaction(false)
  @Returns('ListingPage')
  async ListListings(ctx: Context, query: string): Promise<ListingPage> {
    requireMember(ctx);
    const fields = parseQuery(query, ['status', ...PAGE_FIELDS]);
    const status = optionalEnum(fields.status, 'status', LISTING_STATUSES);
    const { pageSize, bookmark } = pageRequest(fields);
    const items: Listing[] = [];
    let page;
    if (status === undefined) {
      page = await queryPage(ctx, { objectType: LISTING_OBJECT, attributes: [] }, pageSize, bookmark);
      for (const record of page.records) items.push(listingFromState(parseJson(record.value)));
    } else {
      page = await queryPage(
        ctx,
        { objectType: LISTING_BY_STATUS_INDEX, attributes: [status] },
        pageSize,
        bookmark,
      );
      for (const record of page.records) {
        items.push(await readListing(ctx, keyAttributes(ctx, record.key)[1]));
      }
    }
    return Object.assign(new ListingPage(), {
      items,
      bookmark: page.bookmark,
      fetchedCount: page.fetchedCount,
    });
  }
}

/** A lot id: the 32-character serial number it started at. */
export function requireLotId(value: unknown, field: string): string {
  parseSerial(value, field);
  return value as string;
}

export function requireTransferSize(volume: number, parameters: ConsortiumParameters): void {
  if (volume < parameters.minTransferVolume) {
    throw new GecError(
      'TRANSFER_BELOW_MINIMUM',
      `${volume} certificates is below the minimum transfer of ${parameters.minTransferVolume}`,
    );
  }
  if (volume > parameters.maxTransferVolume) {
    throw new GecError(
      'TRANSFER_ABOVE_MAXIMUM',
      `${volume} certificates is above the maximum transfer of ${parameters.maxTransferVolume}`,
    );
  }
}

function lotResult(lotId: string, lots: CertificateLot[]): LotChangeResult {
  return Object.assign(new LotChangeResult(), { lotId, lots });
}

function listingResult(listing: Listing, lotId: string, lots: CertificateLot[]): ListingResult {
  return Object.assign(new ListingResult(), { listing, lotId, lots });
}

export function listingKey(ctx: Context, listingId: string): string {
  return compositeKey(ctx, LISTING_OBJECT, [listingId]);
}

export async function readListing(ctx: Context, listingId: string): Promise<Listing> {
  const stored = await getJson(ctx, listingKey(ctx, listingId));
  if (stored === undefined) throw new GecError('LISTING_NOT_FOUND', `listing ${listingId} does not exist`);
  return listingFromState(stored);
}

function requireOpen(listing: Listing): void {
  if (listing.status !== 'OPEN') {
    throw new GecError('LISTING_NOT_OPEN', `listing ${listing.id} is ${listing.status}`);
  }
}

async function writeListing(ctx: Context, listing: Listing, previous?: Listing): Promise<void> {
  await putJson(ctx, listingKey(ctx, listing.id), listing);
  if (previous === undefined || previous.status !== listing.status) {
    if (previous !== undefined)
      await deleteIndex(ctx, LISTING_BY_STATUS_INDEX, [previous.status, previous.id]);
    await putIndex(ctx, LISTING_BY_STATUS_INDEX, [listing.status, listing.id]);
  }
}

/** Close a listing (nothing left offered); `soldVolume` adds to what was sold. */
async function closeListing(
  ctx: Context,
  current: Listing,
  status: ListingStatus,
  reason: string,
  changes: LotChanges,
  soldVolume = 0,
): Promise<Listing> {
  const listing = Object.assign(new Listing(), current, {
    status,
    closedReason: reason,
    volume: 0,
    soldVolume: current.soldVolume + soldVolume,
    updatedAt: changes.now,
    updatedTxId: changes.txId,
  });
  await writeListing(ctx, listing, current);
  return listing;
}

/** Part of a listed lot leaves the listing (sold, or withdrawn); the rest stays offered. */
async function shrinkListing(
  ctx: Context,
  current: Listing,
  volume: number,
  changes: LotChanges,
  sold: boolean,
): Promise<Listing> {
  const listing = Object.assign(new Listing(), current, {
    volume: current.volume - volume,
    soldVolume: current.soldVolume + (sold ? volume : 0),
    updatedAt: changes.now,
    updatedTxId: changes.txId,
  });
  await writeListing(ctx, listing, current);
  return listing;
}
