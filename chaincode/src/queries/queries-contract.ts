import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { CertificateLot, LOT_STATUSES, LotPage, lotFromState, parseSerial } from '../certificates/lot';
import {
  LOT_MOVE_INDEX,
  LOT_BY_OWNER_INDEX,
  LOT_BY_STATUS_INDEX,
  LOT_BY_UNIT_INDEX,
  LOT_OBJECT,
  findLotBySerial,
  lotKey,
  onlyShrank,
  readLot,
} from '../certificates/lot-store';
import { ISSUANCE_OBJECT, Issuance, issuanceFromState, issuanceKey } from '../certificates/issuance';
import { Exchange, Redemption } from '../redemption/redemption';
import { readExchange, readRedemption } from '../redemption/redemption-contract';
import { TradeAttestation, tradeFromState } from '../trades/trade';
import { tradeKey } from '../trades/trades-contract';
import { Voucher } from '../vouchers/voucher';
import { VOUCHER_BY_LOT_INDEX, VOUCHER_OBJECT, readVoucher } from '../vouchers/voucher-store';
import { requireLotId } from '../certificates/certificates-contract';
import { requireMember } from '../lib/access';
import { GecError } from '../lib/errors';
import { GecContract } from '../lib/gec-contract';
import { PAGE_FIELDS, pageRequest } from '../lib/paging';
import { PartialKeyQuery, getJson, keyAttributes, parseJson, queryAll, queryPage } from '../lib/state';
import { optionalEnum, parseQuery, requireEnum, requireId, requireMonth } from '../lib/validate';
import { LISTING_OBJECT } from '../certificates/certificates-contract';
import { PARTICIPANT_OBJECT } from '../identity/identity-contract';
import { CONSUMPTION_METER_OBJECT } from '../metering/consumption-meter';
import { METER_ATTESTATION_OBJECT } from '../metering/metering-contract';
import { EXCHANGE_OBJECT, REDEMPTION_OBJECT } from '../redemption/redemption-contract';
import { TRADE_OBJECT } from '../trades/trades-contract';
import { UNIT_OBJECT } from '../units/units-contract';
import {
  LotHistory,
  LotHistoryEntry,
  ProvenanceStep,
  SerialProvenance,
  StateObject,
  StateObjectPage,
  VoucherProvenance,
} from './provenance';

/** The object types `ListObjects` reads, by the name a caller gives, and the key type each is stored under. */
export const STATE_OBJECT_TYPES: Readonly<Record<string, string>> = {
  participant: PARTICIPANT_OBJECT,
  unit: UNIT_OBJECT,
  consumptionMeter: CONSUMPTION_METER_OBJECT,
  meterAttestation: METER_ATTESTATION_OBJECT,
  issuance: ISSUANCE_OBJECT,
  lot: LOT_OBJECT,
  listing: LISTING_OBJECT,
  trade: TRADE_OBJECT,
  voucher: VOUCHER_OBJECT,
  redemption: REDEMPTION_OBJECT,
  exchange: EXCHANGE_OBJECT,
};

/** Longest lineage followed (a lot split over and over); far beyond any real chain. */
const MAX_LINEAGE = 10_000;

@Info({
  title: 'queries',
  description: 'Lots by owner, status, unit and month; lot history; serial provenance',
})
export class QueriesContract extends GecContract {
  constructor() {
    super('queries');
  }

  /**
   * Lots, one page at a time. `query`: `{ owner?, status?, unitId?, month?, pageSize? (1-1000, default 50),
   * bookmark? }`: by owner (optionally one status; ordered by status then lot id), by unit (optionally one
   * production month; ordered by month then lot id), by status alone, or all lots (lot id order). Any member.
   */
  @Transaction(false)
  @Returns('LotPage')
  async ListLots(ctx: Context, query: string): Promise<LotPage> {
    requireMember(ctx);
    const fields = parseQuery(query, ['owner', 'status', 'unitId', 'month', ...PAGE_FIELDS]);
    const owner = fields.owner === undefined ? undefined : requireId(fields.owner, 'owner');
    const unitId = fields.unitId === undefined ? undefined : requireId(fields.unitId, 'unitId');
    const status = optionalEnum(fields.status, 'status', LOT_STATUSES);
    const month = fields.month === undefined ? undefined : requireMonth(fields.month, 'month');
    const { pageSize, bookmark } = pageRequest(fields);
    if (owner !== undefined && unitId !== undefined) {
      throw new GecError('INVALID_ARGUMENT', 'owner and unitId cannot be combined; filter by one of them');
    }
    if (month !== undefined && unitId === undefined) {
      throw new GecError('INVALID_ARGUMENT', 'month filters the lots of one unit: give unitId too');
    }
    if (status !== undefined && unitId !== undefined) {
      throw new GecError(
        'INVALID_ARGUMENT',
        'status cannot be combined with unitId; filter by owner or status',
      );
    }

    let index: PartialKeyQuery;
    if (owner !== undefined) {
      index = {
        objectType: LOT_BY_OWNER_INDEX,
        attributes: status === undefined ? [owner] : [owner, status],
      };
    } else if (unitId !== undefined) {
      index = { objectType: LOT_BY_UNIT_INDEX, attributes: month === undefined ? [unitId] : [unitId, month] };
    } else if (status !== undefined) {
      index = { objectType: LOT_BY_STATUS_INDEX, attributes: [status] };
    } else {
      index = { objectType: LOT_OBJECT, attributes: [] };
    }
    const page = await queryPage(ctx, index, pageSize, bookmark);
    const items: CertificateLot[] = [];
    for (const record of page.records) {
      if (index.objectType === LOT_OBJECT) {
        items.push(lotFromState(parseJson(record.value)));
      } else {
        const attributes = keyAttributes(ctx, record.key);
        items.push(await readLot(ctx, attributes[attributes.length - 1]));
      }
    }
    return Object.assign(new LotPage(), { items, bookmark: page.bookmark, fetchedCount: page.fetchedCount });
  }

  /**
   * Every stored object of one type, one page at a time, in key order, each as stored: its key's attributes and
   * its JSON text exactly as written (for audits: a regulator or gateway compares its own copies, e.g. a
   * PostgreSQL projection, with the ledger's state). `query`: `{ type: participant | unit | consumptionMeter |
   * meterAttestation | issuance | lot | listing | trade | voucher | redemption | exchange, pageSize? (1-1000,
   * default 50), bookmark? }`. Any member.
   */
  @Transaction(false)
  @Returns('StateObjectPage')
  async ListObjects(ctx: Context, query: string): Promise<StateObjectPage> {
    requireMember(ctx);
    const fields = parseQuery(query, ['type', ...PAGE_FIELDS]);
    const type = requireEnum(fields.type, 'type', Object.keys(STATE_OBJECT_TYPES));
    const { pageSize, bookmark } = pageRequest(fields);
    const page = await queryPage(
      ctx,
      { objectType: STATE_OBJECT_TYPES[type], attributes: [] },
      pageSize,
      bookmark,
    );
    return Object.assign(new StateObjectPage(), {
      type,
      items: page.records.map((record) =>
        Object.assign(new StateObject(), {
          key: keyAttributes(ctx, record.key),
          value: Buffer.from(record.value).toString('utf8'),
        }),
      ),
      bookmark: page.bookmark,
      fetchedCount: page.fetchedCount,
    });
  }

  /** Every committed version of a lot, oldest first, each with its transaction id and time. Any member. */
  @Transaction(false)
  @Returns('LotHistory')
  async GetLotHistory(ctx: Context, lotId: string): Promise<LotHistory> {
    requireMember(ctx);
    const id = requireLotId(lotId, 'lotId');
    await readLot(ctx, id);
    return Object.assign(new LotHistory(), { lotId: id, entries: await lotHistory(ctx, id) });
  }

  /**
   * Provenance of a serial number: the chain of lots from the one its issuance created to the one holding it
   * now (via parentLotId), each with its moves while it held the serial (creation, transfers, listing, custody,
   * redemption, …; not the splits that took other serials away), each with its transaction and acting
   * organisation; and the issuance, vouchers, trade attestations, redemption and exchange on that path. The lot
   * holding the serial is found with one range read of the serial-range index, each lot's moves with one read of
   * its move index: the cost follows the serial's path, not the lot's siblings or versions. Any member.
   */
  @Transaction(false)
  @Returns('SerialProvenance')
  async GetSerialProvenance(ctx: Context, serial: string): Promise<SerialProvenance> {
    requireMember(ctx);
    const { sequence } = parseSerial(serial);
    return provenanceOf(ctx, serial, await findLotBySerial(ctx, serial), sequence);
  }

  /** Provenance of a lot: the path of its serials from their issuance to it, and its own moves. Any member. */
  @Transaction(false)
  @Returns('SerialProvenance')
  async GetLotProvenance(ctx: Context, lotId: string): Promise<SerialProvenance> {
    requireMember(ctx);
    const lot = await readLot(ctx, requireLotId(lotId, 'lotId'));
    return provenanceOf(ctx, lot.id, lot, lot.sequenceStart);
  }

  /** Provenance of every lot a voucher holds (its source lots, in custody). Any member. */
  @Transaction(false)
  @Returns('VoucherProvenance')
  async GetVoucherProvenance(ctx: Context, voucherId: string): Promise<VoucherProvenance> {
    requireMember(ctx);
    const voucher = await readVoucher(ctx, requireId(voucherId, 'voucherId'));
    const lots: SerialProvenance[] = [];
    for (const source of voucher.sourceLots) {
      const lot = await readLot(ctx, source.lotId);
      lots.push(await provenanceOf(ctx, lot.id, lot, lot.sequenceStart));
    }
    return Object.assign(new VoucherProvenance(), { voucher, lots });
  }
}

/** Walk from `current` to the issued lot, keeping each lot's moves that held `sequence`, and gather the objects. */
async function provenanceOf(
  ctx: Context,
  serial: string,
  current: CertificateLot,
  sequence: number,
): Promise<SerialProvenance> {
  const steps: ProvenanceStep[] = [];
  for (let lot: CertificateLot | undefined = current; lot !== undefined;) {
    if (steps.length >= MAX_LINEAGE) throw new Error(`lineage of ${serial} is longer than ${MAX_LINEAGE}`);
    const { entries, source } = await lotMoves(ctx, lot);
    steps.push(
      Object.assign(new ProvenanceStep(), {
        lotId: lot.id,
        parentLotId: lot.parentLotId,
        createdTxId: lot.createdTxId,
        createdAt: lot.createdAt,
        // Ranges only shrink from the top, so a version held the serial exactly when its upper end reaches it.
        entries: entries.filter((e) => e.lot.sequenceStart <= sequence && sequence <= e.lot.sequenceEnd),
        source,
      }),
    );
    lot = lot.parentLotId === '' ? undefined : await readLot(ctx, lot.parentLotId);
  }
  steps.reverse();
  const pathLots = steps.map((step) => step.lotId);
  const versions = steps.flatMap((step) => step.entries.map((e) => e.lot));
  const issuances: Issuance[] = [];
  const root = versions[0] ?? current;
  const issuance = await getJson(ctx, issuanceKey(ctx, root.unitId, root.productionMonth));
  if (issuance !== undefined) issuances.push(issuanceFromState(issuance));
  const vouchers: Voucher[] = [];
  for (const lotId of pathLots) {
    for (const record of await queryAll(ctx, VOUCHER_BY_LOT_INDEX, [lotId])) {
      const voucherId = keyAttributes(ctx, record.key)[1];
      if (!vouchers.some((v) => v.voucherId === voucherId)) vouchers.push(await readVoucher(ctx, voucherId));
    }
  }
  const trades: TradeAttestation[] = [];
  for (const tradeId of new Set(vouchers.map((v) => v.tradeId))) {
    const trade = await getJson(ctx, tradeKey(ctx, tradeId));
    if (trade !== undefined) trades.push(tradeFromState(trade));
  }
  const redemptions: Redemption[] = [];
  for (const id of new Set(versions.map((v) => v.redemptionId).filter((id) => id !== ''))) {
    redemptions.push(await readRedemption(ctx, id));
  }
  const exchanges: Exchange[] = [];
  for (const id of new Set(versions.map((v) => v.exchangeId).filter((id) => id !== ''))) {
    exchanges.push(await readExchange(ctx, id));
  }
  return Object.assign(new SerialProvenance(), {
    serial,
    lotId: current.id,
    status: current.status,
    owner: current.owner,
    steps,
    issuances,
    vouchers,
    trades,
    redemptions,
    exchanges,
  });
}

/**
 * The moves of a lot, oldest first: from its move index, or, for a lot written before the index existed (its
 * creation is not in it), from its key history without the versions that only lost their highest serials.
 */
async function lotMoves(
  ctx: Context,
  lot: CertificateLot,
): Promise<{ entries: LotHistoryEntry[]; source: 'moves' | 'history' }> {
  const entries = (await queryAll(ctx, LOT_MOVE_INDEX, [lot.id])).map((record) => {
    const stored = parseJson(record.value) as { lot: CertificateLot; mspId: string };
    const version = lotFromState(stored.lot);
    return Object.assign(new LotHistoryEntry(), {
      txId: version.updatedTxId,
      timestamp: version.updatedAt,
      isDelete: false,
      lot: version,
      mspId: stored.mspId,
    });
  });
  if (entries.some((e) => e.txId === lot.createdTxId)) {
    // Keys are in transaction-id order; moves go by time, and a later move never has a higher upper end.
    entries.sort(
      (a, b) =>
        a.timestamp.localeCompare(b.timestamp) ||
        b.lot.sequenceEnd - a.lot.sequenceEnd ||
        a.txId.localeCompare(b.txId),
    );
    return { entries, source: 'moves' };
  }
  const history = (await lotHistory(ctx, lot.id)).filter((e) => !e.isDelete);
  return {
    entries: history.filter((e, i) => i === 0 || !onlyShrank(history[i - 1].lot, e.lot)),
    source: 'history',
  };
}

async function lotHistory(ctx: Context, lotId: string): Promise<LotHistoryEntry[]> {
  const iterator = await ctx.stub.getHistoryForKey(lotKey(ctx, lotId));
  const entries: LotHistoryEntry[] = [];
  try {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const { txId, value, isDelete, timestamp } = next.value;
      const millis =
        Number(String(timestamp?.seconds ?? 0)) * 1000 + Math.floor((timestamp?.nanos ?? 0) / 1_000_000);
      entries.push(
        Object.assign(new LotHistoryEntry(), {
          txId,
          timestamp: new Date(millis).toISOString(),
          isDelete,
          lot: isDelete ? new CertificateLot() : lotFromState(parseJson(value)),
          mspId: '',
        }),
      );
    }
  } finally {
    await iterator.close();
  }
  // Fabric returns newest first.
  return entries.reverse();
}
