import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { CertificateLot, LOT_STATUSES, LotPage, lotFromState, parseSerial } from '../certificates/lot';
import {
  LOT_BY_OWNER_INDEX,
  LOT_BY_STATUS_INDEX,
  LOT_BY_UNIT_INDEX,
  LOT_OBJECT,
  findLotBySerial,
  lotKey,
  readLot,
} from '../certificates/lot-store';
import { requireLotId } from '../certificates/certificates-contract';
import { requireMember } from '../lib/access';
import { GecError } from '../lib/errors';
import { GecContract } from '../lib/gec-contract';
import { PAGE_FIELDS, pageRequest } from '../lib/paging';
import { PartialKeyQuery, keyAttributes, parseJson, queryPage } from '../lib/state';
import { optionalEnum, parseQuery, requireEnum, requireId, requireMonth } from '../lib/validate';
import { ISSUANCE_OBJECT } from '../certificates/issuance';
import { LISTING_OBJECT } from '../certificates/certificates-contract';
import { PARTICIPANT_OBJECT } from '../identity/identity-contract';
import { CONSUMPTION_METER_OBJECT } from '../metering/consumption-meter';
import { METER_ATTESTATION_OBJECT } from '../metering/metering-contract';
import { EXCHANGE_OBJECT, REDEMPTION_OBJECT } from '../redemption/redemption-contract';
import { TRADE_OBJECT } from '../trades/trades-contract';
import { UNIT_OBJECT } from '../units/units-contract';
import { VOUCHER_OBJECT } from '../vouchers/voucher-store';
import {
  LotHistory,
  LotHistoryEntry,
  ProvenanceStep,
  SerialProvenance,
  StateObject,
  StateObjectPage,
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
   * now (via parentLotId), each with the versions that held the serial and their transactions. Any member.
   */
  @Transaction(false)
  @Returns('SerialProvenance')
  async GetSerialProvenance(ctx: Context, serial: string): Promise<SerialProvenance> {
    requireMember(ctx);
    const { sequence } = parseSerial(serial);
    const current = await findLotBySerial(ctx, serial);
    const steps: ProvenanceStep[] = [];
    for (let lot: CertificateLot | undefined = current; lot !== undefined;) {
      if (steps.length >= MAX_LINEAGE) throw new Error(`lineage of ${serial} is longer than ${MAX_LINEAGE}`);
      const entries = (await lotHistory(ctx, lot.id)).filter(
        (e) => !e.isDelete && e.lot.sequenceStart <= sequence && sequence <= e.lot.sequenceEnd,
      );
      steps.push(
        Object.assign(new ProvenanceStep(), {
          lotId: lot.id,
          parentLotId: lot.parentLotId,
          createdTxId: lot.createdTxId,
          createdAt: lot.createdAt,
          entries,
        }),
      );
      lot = lot.parentLotId === '' ? undefined : await readLot(ctx, lot.parentLotId);
    }
    steps.reverse();
    return Object.assign(new SerialProvenance(), {
      serial,
      lotId: current.id,
      status: current.status,
      owner: current.owner,
      steps,
    });
  }
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
        }),
      );
    }
  } finally {
    await iterator.close();
  }
  // Fabric returns newest first.
  return entries.reverse();
}
