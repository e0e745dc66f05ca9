import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { ROLE_ADMIN, requireMember, requireWriter } from '../lib/access';
import { emitEvent } from '../lib/events';
import { GecError } from '../lib/errors';
import { GecContract } from '../lib/gec-contract';
import { PAGE_FIELDS, pageRequest } from '../lib/paging';
import { requireActiveParticipant } from '../lib/parties';
import { compositeKey, getJson, keyAttributes, parseJson, putIndex, putJson, queryPage } from '../lib/state';
import { txTime } from '../lib/time';
import { findConsumptionMeter } from '../metering/consumption-meter';
import {
  parseQuery,
  parseRequest,
  requireArray,
  requireDate,
  requireEnum,
  requireId,
  requireInteger,
  requireProvinceCode,
  requireText,
} from '../lib/validate';
import {
  GenerationUnit,
  PROJECT_CODE_PATTERN,
  TECHNOLOGIES,
  UNIT_STATUSES,
  UnitPage,
  UnitStatus,
} from './unit';

/** A unit: key `gec.unit\0<unitId>\0`. */
export const UNIT_OBJECT = 'gec.unit';
/** Units by owner: `gec.unit~owner\0<owner>\0<unitId>\0`, value a NUL byte. */
export const UNIT_BY_OWNER_INDEX = 'gec.unit~owner';
/** Unique project codes: `gec.unit~projectcode\0<code>\0` → `{"unitId":...}`. */
export const UNIT_BY_PROJECT_CODE = 'gec.unit~projectcode';
/** Unique meters: `gec.unit~meter\0<meterId>\0` → `{"unitId":...}`. */
export const UNIT_BY_METER = 'gec.unit~meter';

export const UNIT_REGISTERED_EVENT = 'UnitRegistered';
export const UNIT_STATUS_CHANGED_EVENT = 'UnitStatusChanged';

/** Who registers units and changes their status: `gec.role` admin of GridMSP or TradingCenterMSP. */
export const UNIT_ADMINS = { orgs: ['PLATFORM_OPERATOR', 'TRADING_CENTER'], roles: [ROLE_ADMIN] } as const;

const NAME_MAX = 200;
const REASON_MAX = 256;
const METERS_MAX = 100;
const CAPACITY_KW_MAX = 100_000_000;

@Info({ title: 'units', description: 'Generation units: registration, meters, status' })
export class UnitsContract extends GecContract {
  constructor() {
    super('units');
  }

  /**
   * Register a generation unit. `request`: `{ id, owner, name, projectCode (17 chars 0-9A-Z), technology,
   * capacityKw, province, meterIds (1-100), commissioningDate (YYYY-MM-DD) }`. The owner must be an ACTIVE
   * GENERATOR; the project code and every meter must be new.
   */
  @Transaction()
  @Returns('GenerationUnit')
  async RegisterUnit(ctx: Context, request: string): Promise<GenerationUnit> {
    const caller = requireWriter(ctx, UNIT_ADMINS);
    const fields = parseRequest(request, [
      'id',
      'owner',
      'name',
      'projectCode',
      'technology',
      'capacityKw',
      'province',
      'meterIds',
      'commissioningDate',
    ]);
    const id = requireId(fields.id, 'id');
    const owner = requireId(fields.owner, 'owner');
    const name = requireText(fields.name, 'name', NAME_MAX);
    if (typeof fields.projectCode !== 'string' || !PROJECT_CODE_PATTERN.test(fields.projectCode)) {
      throw new GecError('INVALID_ARGUMENT', 'projectCode must be 17 characters of 0-9 A-Z');
    }
    const projectCode = fields.projectCode;
    const technology = requireEnum(fields.technology, 'technology', TECHNOLOGIES);
    const capacityKw = requireInteger(fields.capacityKw, 'capacityKw', 1, CAPACITY_KW_MAX);
    const province = requireProvinceCode(fields.province, 'province');
    const meterIds = requireArray(fields.meterIds, 'meterIds', METERS_MAX).map((m, i) =>
      requireId(m, `meterIds[${i}]`),
    );
    if (new Set(meterIds).size !== meterIds.length) {
      throw new GecError('INVALID_ARGUMENT', 'meterIds must not repeat a meter');
    }
    meterIds.sort();
    const commissioningDate = requireDate(fields.commissioningDate, 'commissioningDate');

    const participant = await requireActiveParticipant(ctx, owner, 'owner');
    if (participant.kind !== 'GENERATOR') {
      throw new GecError('OWNER_NOT_GENERATOR', `owner ${owner} is a ${participant.kind}, not a GENERATOR`);
    }
    if ((await getJson(ctx, unitKey(ctx, id))) !== undefined) {
      throw new GecError('UNIT_EXISTS', `unit ${id} is already registered`);
    }
    const codeHolder = (await getJson(ctx, compositeKey(ctx, UNIT_BY_PROJECT_CODE, [projectCode]))) as
      { unitId: string } | undefined;
    if (codeHolder !== undefined) {
      throw new GecError(
        'PROJECT_CODE_EXISTS',
        `project code ${projectCode} is already registered to unit ${codeHolder.unitId}`,
      );
    }
    for (const meterId of meterIds) {
      const holder = await meterHolder(ctx, meterId);
      if (holder !== undefined) {
        throw new GecError('METER_ALREADY_ASSIGNED', `meter ${meterId} already belongs to unit ${holder}`);
      }
      const consumption = await findConsumptionMeter(ctx, meterId);
      if (consumption !== undefined) {
        throw new GecError(
          'METER_ALREADY_ASSIGNED',
          `meter ${meterId} is a consumption meter of ${consumption.consumer}`,
        );
      }
    }

    const now = txTime(ctx);
    const txId = ctx.stub.getTxID();
    const unit = Object.assign(new GenerationUnit(), {
      id,
      owner,
      name,
      projectCode,
      technology,
      capacityKw,
      province,
      meterIds,
      commissioningDate,
      status: 'ACTIVE' as UnitStatus,
      statusReason: '',
      carryWh: '0',
      lastIssuedMonth: '',
      registeredBy: caller.id,
      registeredByMsp: caller.mspId,
      registeredAt: now,
      registeredTxId: txId,
      updatedAt: now,
      updatedTxId: txId,
    });
    await putJson(ctx, unitKey(ctx, id), unit);
    await putIndex(ctx, UNIT_BY_OWNER_INDEX, [owner, id]);
    await putJson(ctx, compositeKey(ctx, UNIT_BY_PROJECT_CODE, [projectCode]), { unitId: id });
    for (const meterId of meterIds) {
      await putJson(ctx, compositeKey(ctx, UNIT_BY_METER, [meterId]), { unitId: id });
    }
    emitEvent(ctx, UNIT_REGISTERED_EVENT, { unit });
    return unit;
  }

  /**
   * Suspend, reactivate or decommission a unit. `request`: `{ id, status, reason }`. DECOMMISSIONED is final.
   * Same callers as registration.
   */
  @Transaction()
  @Returns('GenerationUnit')
  async SetUnitStatus(ctx: Context, request: string): Promise<GenerationUnit> {
    requireWriter(ctx, UNIT_ADMINS);
    const fields = parseRequest(request, ['id', 'status', 'reason']);
    const id = requireId(fields.id, 'id');
    const status = requireEnum(fields.status, 'status', UNIT_STATUSES);
    const reason = requireText(fields.reason, 'reason', REASON_MAX);
    const current = await readUnit(ctx, id);
    if (current.status === 'DECOMMISSIONED') {
      throw new GecError('UNIT_DECOMMISSIONED', `unit ${id} is decommissioned; that is final`);
    }
    if (current.status === status) throw new GecError('STATUS_UNCHANGED', `unit ${id} is already ${status}`);
    const updated = Object.assign(new GenerationUnit(), current, {
      status,
      statusReason: reason,
      updatedAt: txTime(ctx),
      updatedTxId: ctx.stub.getTxID(),
    });
    await putJson(ctx, unitKey(ctx, id), updated);
    emitEvent(ctx, UNIT_STATUS_CHANGED_EVENT, { unit: updated, previousStatus: current.status, reason });
    return updated;
  }

  /** A unit by id; any member. */
  @Transaction(false)
  @Returns('GenerationUnit')
  async GetUnit(ctx: Context, id: string): Promise<GenerationUnit> {
    requireMember(ctx);
    return readUnit(ctx, requireId(id, 'id'));
  }

  /** Units in id order, one page at a time. `query`: `{ owner?, pageSize? (1-1000, default 50), bookmark? }`. */
  @Transaction(false)
  @Returns('UnitPage')
  async ListUnits(ctx: Context, query: string): Promise<UnitPage> {
    requireMember(ctx);
    const fields = parseQuery(query, ['owner', ...PAGE_FIELDS]);
    const owner = fields.owner === undefined ? undefined : requireId(fields.owner, 'owner');
    const { pageSize, bookmark } = pageRequest(fields);
    const items: GenerationUnit[] = [];
    let page;
    if (owner === undefined) {
      page = await queryPage(ctx, { objectType: UNIT_OBJECT, attributes: [] }, pageSize, bookmark);
      for (const record of page.records) items.push(unitFromState(parseJson(record.value)));
    } else {
      page = await queryPage(
        ctx,
        { objectType: UNIT_BY_OWNER_INDEX, attributes: [owner] },
        pageSize,
        bookmark,
      );
      for (const record of page.records) {
        const [, unitId] = keyAttributes(ctx, record.key);
        items.push(await readUnit(ctx, unitId));
      }
    }
    return Object.assign(new UnitPage(), { items, bookmark: page.bookmark, fetchedCount: page.fetchedCount });
  }
}

export function unitKey(ctx: Context, id: string): string {
  return compositeKey(ctx, UNIT_OBJECT, [id]);
}

export function unitFromState(value: unknown): GenerationUnit {
  return Object.assign(new GenerationUnit(), value as GenerationUnit);
}

/** The unit `id`, or UNIT_NOT_FOUND. */
export async function readUnit(ctx: Context, id: string): Promise<GenerationUnit> {
  const stored = await getJson(ctx, unitKey(ctx, id));
  if (stored === undefined) throw new GecError('UNIT_NOT_FOUND', `unit ${id} is not registered`);
  return unitFromState(stored);
}

/** The unit a meter belongs to, if any. */
export async function meterHolder(ctx: Context, meterId: string): Promise<string | undefined> {
  const stored = (await getJson(ctx, compositeKey(ctx, UNIT_BY_METER, [meterId]))) as
    { unitId: string } | undefined;
  return stored?.unitId;
}
