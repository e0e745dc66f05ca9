import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { ISSUANCE_OBJECT, Issuance, issuanceFromState } from '../certificates/issuance';
import { ROLE_ADMIN, ROLE_ENERGY_PLATFORM, requireMember, requireWriter } from '../lib/access';
import { PAGE_FIELDS, pageRequest } from '../lib/paging';
import { requireActiveParticipant } from '../lib/parties';
import { emitEvent } from '../lib/events';
import { GecError } from '../lib/errors';
import { GecContract } from '../lib/gec-contract';
import { atOrAfter, monthEnd, monthStart } from '../lib/months';
import {
  compositeKey,
  getJson,
  keyAttributes,
  parseJson,
  putIndex,
  putJson,
  queryAll,
  queryPage,
} from '../lib/state';
import { txTime } from '../lib/time';
import {
  parseQuery,
  parseRequest,
  requireDigest,
  requireId,
  requireInteger,
  requireMonth,
  requireText,
  requireWh,
} from '../lib/validate';
import { GenerationUnit } from '../units/unit';
import { UNIT_ADMINS, meterHolder, readUnit, unitKey } from '../units/units-contract';
import {
  CONSUMPTION_METER_BY_CONSUMER_INDEX,
  ConsumptionMeter,
  ConsumptionMeterPage,
  consumerMeterIds,
  consumptionMeterKey,
  findConsumptionMeter,
  readConsumptionMeter,
} from './consumption-meter';
import {
  GREEN_CONSUMPTION_OBJECT,
  GREEN_GENERATION_OBJECT,
  GreenTotalKind,
  readGreenTotal,
} from './green-claims';
import { MeterAttestation, MeterAttestationVersion } from './meter-attestation';

/** An attestation: key `gec.meterattestation\0<meterId>\0<YYYY-MM>\0`. */
export const METER_ATTESTATION_OBJECT = 'gec.meterattestation';

export const METER_PERIOD_ATTESTED_EVENT = 'MeterPeriodAttested';
export const METER_PERIOD_CORRECTED_EVENT = 'MeterPeriodCorrected';
export const CONSUMPTION_METER_REGISTERED_EVENT = 'ConsumptionMeterRegistered';

/** The grid operator (GridMSP) through its energy internet platform, or a grid admin. */
export const METER_ATTESTERS = {
  orgs: ['PLATFORM_OPERATOR'],
  roles: [ROLE_ENERGY_PLATFORM, ROLE_ADMIN],
} as const;
/**
 * Who registers a consumer's meter: the grid's energy platform, which operates the meters and attests their
 * totals, or an admin of the grid or the trading center (who register consumers and units).
 */
export const CONSUMPTION_METER_REGISTRARS = [METER_ATTESTERS, UNIT_ADMINS] as const;

const REASON_MAX = 256;

@Info({
  title: 'metering',
  description: 'Meter attestations: monthly totals and digests of interval readings',
})
export class MeteringContract extends GecContract {
  constructor() {
    super('metering');
  }

  /**
   * Attest a meter's total for a closed month. `request`: `{ meterId, period (YYYY-MM), totalWh (integer, number
   * or decimal string), digest (64 hex) }`. Once per meter and period (ATTESTATION_EXISTS); the month must have
   * ended by the transaction time (PERIOD_NOT_CLOSED).
   */
  @Transaction()
  @Returns('MeterAttestation')
  async AttestMeterPeriod(ctx: Context, request: string): Promise<MeterAttestation> {
    const caller = requireWriter(ctx, METER_ATTESTERS);
    const fields = parseRequest(request, ['meterId', 'period', 'totalWh', 'digest']);
    const meterId = requireId(fields.meterId, 'meterId');
    const period = requireMonth(fields.period, 'period');
    const totalWh = requireWh(fields.totalWh, 'totalWh');
    const digest = requireDigest(fields.digest, 'digest');
    const now = txTime(ctx);
    requireClosed(period, now);
    const key = attestationKey(ctx, meterId, period);
    const existing = await getJson(ctx, key);
    if (existing !== undefined) {
      const current = attestationFromState(existing);
      throw new GecError(
        'ATTESTATION_EXISTS',
        `meter ${meterId} is already attested for ${period} (version ${current.version}); correct it with metering:CorrectMeterPeriod`,
      );
    }
    const version = Object.assign(new MeterAttestationVersion(), {
      version: 1,
      totalWh,
      digest,
      reason: '',
      attestedAt: now,
      attestedBy: caller.id,
      attestedByMsp: caller.mspId,
      txId: ctx.stub.getTxID(),
    });
    const attestation = toAttestation(meterId, period, [version]);
    await putJson(ctx, key, attestation);
    emitEvent(ctx, METER_PERIOD_ATTESTED_EVENT, { attestation });
    return attestation;
  }

  /**
   * Correct an attestation with a new version. `request`: `{ meterId, period, totalWh, digest, reason, version
   * (the new version: current + 1, else ATTESTATION_VERSION_CONFLICT) }`. When the period was used for an
   * issuance, the difference flows into that issuance's and every later issuance's carried remainder; a
   * correction that would leave any of them below what was issued is refused (ATTESTATION_BELOW_ISSUED).
   */
  @Transaction()
  @Returns('MeterAttestation')
  async CorrectMeterPeriod(ctx: Context, request: string): Promise<MeterAttestation> {
    const caller = requireWriter(ctx, METER_ATTESTERS);
    const fields = parseRequest(request, ['meterId', 'period', 'totalWh', 'digest', 'reason', 'version']);
    const meterId = requireId(fields.meterId, 'meterId');
    const period = requireMonth(fields.period, 'period');
    const totalWh = requireWh(fields.totalWh, 'totalWh');
    const digest = requireDigest(fields.digest, 'digest');
    const reason = requireText(fields.reason, 'reason', REASON_MAX);
    const newVersion = requireInteger(fields.version, 'version', 2, 1_000_000);
    const current = await readAttestation(ctx, meterId, period);
    if (newVersion !== current.version + 1) {
      throw new GecError(
        'ATTESTATION_VERSION_CONFLICT',
        `meter ${meterId} ${period} is at version ${current.version}; a correction must be version ${current.version + 1}, not ${newVersion}`,
      );
    }
    const delta = BigInt(totalWh) - BigInt(current.totalWh);
    if (delta < 0n) await requireClaimsCovered(ctx, meterId, period, BigInt(totalWh));
    const now = txTime(ctx);
    const txId = ctx.stub.getTxID();
    const adjusted = await adjustIssuances(ctx, meterId, period, newVersion, totalWh, delta, now, txId);

    const version = Object.assign(new MeterAttestationVersion(), {
      version: newVersion,
      totalWh,
      digest,
      reason,
      attestedAt: now,
      attestedBy: caller.id,
      attestedByMsp: caller.mspId,
      txId,
    });
    const attestation = toAttestation(meterId, period, [...current.versions, version]);
    await putJson(ctx, attestationKey(ctx, meterId, period), attestation);
    emitEvent(ctx, METER_PERIOD_CORRECTED_EVENT, {
      attestation,
      previousVersion: current.version,
      deltaWh: delta.toString(),
      issuances: adjusted.issuances,
      unit: adjusted.unit,
    });
    return attestation;
  }

  /**
   * Register a consumer's consumption meter, so that its attestations count as that consumer's consumption.
   * `request`: `{ meterId, consumer }`. The grid's energy platform, or an admin of GridMSP or TradingCenterMSP.
   * The consumer must be an ACTIVE
   * CONSUMER; the meter must be neither a generation meter of a unit nor already registered
   * (METER_ALREADY_ASSIGNED). Its monthly totals are attested with AttestMeterPeriod like any meter.
   */
  @Transaction()
  @Returns('ConsumptionMeter')
  async RegisterConsumptionMeter(ctx: Context, request: string): Promise<ConsumptionMeter> {
    const caller = requireWriter(ctx, CONSUMPTION_METER_REGISTRARS);
    const fields = parseRequest(request, ['meterId', 'consumer']);
    const meterId = requireId(fields.meterId, 'meterId');
    const consumer = requireId(fields.consumer, 'consumer');
    await requireActiveParticipant(ctx, consumer, 'consumer', ['CONSUMER']);
    const unitId = await meterHolder(ctx, meterId);
    if (unitId !== undefined) {
      throw new GecError(
        'METER_ALREADY_ASSIGNED',
        `meter ${meterId} is a generation meter of unit ${unitId}`,
      );
    }
    const existing = await findConsumptionMeter(ctx, meterId);
    if (existing !== undefined) {
      throw new GecError(
        'METER_ALREADY_ASSIGNED',
        `meter ${meterId} is already a consumption meter of ${existing.consumer}`,
      );
    }
    const meter = Object.assign(new ConsumptionMeter(), {
      meterId,
      consumer,
      registeredAt: txTime(ctx),
      registeredBy: caller.id,
      registeredByMsp: caller.mspId,
      registeredTxId: ctx.stub.getTxID(),
    });
    await putJson(ctx, consumptionMeterKey(ctx, meterId), meter);
    await putIndex(ctx, CONSUMPTION_METER_BY_CONSUMER_INDEX, [consumer, meterId]);
    emitEvent(ctx, CONSUMPTION_METER_REGISTERED_EVENT, { meter });
    return meter;
  }

  /** A consumption meter by id (METER_NOT_REGISTERED); any member. */
  @Transaction(false)
  @Returns('ConsumptionMeter')
  async GetConsumptionMeter(ctx: Context, meterId: string): Promise<ConsumptionMeter> {
    requireMember(ctx);
    return readConsumptionMeter(ctx, requireId(meterId, 'meterId'));
  }

  /** A consumer's consumption meters in id order. `query`: `{ consumer, pageSize?, bookmark? }`; any member. */
  @Transaction(false)
  @Returns('ConsumptionMeterPage')
  async ListConsumptionMeters(ctx: Context, query: string): Promise<ConsumptionMeterPage> {
    requireMember(ctx);
    const fields = parseQuery(query, ['consumer', ...PAGE_FIELDS]);
    const consumer = requireId(fields.consumer, 'consumer');
    const { pageSize, bookmark } = pageRequest(fields);
    const page = await queryPage(
      ctx,
      { objectType: CONSUMPTION_METER_BY_CONSUMER_INDEX, attributes: [consumer] },
      pageSize,
      bookmark,
    );
    const items: ConsumptionMeter[] = [];
    for (const record of page.records) {
      items.push(await readConsumptionMeter(ctx, keyAttributes(ctx, record.key)[1]));
    }
    return Object.assign(new ConsumptionMeterPage(), {
      items,
      bookmark: page.bookmark,
      fetchedCount: page.fetchedCount,
    });
  }

  /** The attestation of a meter and period, with every version. `query`: `{ meterId, period }`; any member. */
  @Transaction(false)
  @Returns('MeterAttestation')
  async GetMeterAttestation(ctx: Context, query: string): Promise<MeterAttestation> {
    requireMember(ctx);
    const fields = parseRequest(query, ['meterId', 'period'], 'query');
    return readAttestation(ctx, requireId(fields.meterId, 'meterId'), requireMonth(fields.period, 'period'));
  }
}

export function attestationKey(ctx: Context, meterId: string, period: string): string {
  return compositeKey(ctx, METER_ATTESTATION_OBJECT, [meterId, period]);
}

export function attestationFromState(value: unknown): MeterAttestation {
  const attestation = Object.assign(new MeterAttestation(), value as MeterAttestation);
  attestation.versions = attestation.versions.map((v) => Object.assign(new MeterAttestationVersion(), v));
  return attestation;
}

/** The current attestation, or undefined. */
export async function findAttestation(
  ctx: Context,
  meterId: string,
  period: string,
): Promise<MeterAttestation | undefined> {
  const stored = await getJson(ctx, attestationKey(ctx, meterId, period));
  return stored === undefined ? undefined : attestationFromState(stored);
}

async function readAttestation(ctx: Context, meterId: string, period: string): Promise<MeterAttestation> {
  const found = await findAttestation(ctx, meterId, period);
  if (found === undefined) {
    throw new GecError('ATTESTATION_NOT_FOUND', `meter ${meterId} has no attestation for ${period}`);
  }
  return found;
}

function requireClosed(period: string, now: string): void {
  const end = monthEnd(period);
  if (!atOrAfter(now, end)) {
    throw new GecError(
      'PERIOD_NOT_CLOSED',
      `period ${period} ends at ${end} (Asia/Shanghai month end); the transaction time is ${now}`,
    );
  }
}

function toAttestation(
  meterId: string,
  period: string,
  versions: MeterAttestationVersion[],
): MeterAttestation {
  const current = versions[versions.length - 1];
  return Object.assign(new MeterAttestation(), {
    meterId,
    period,
    periodStart: monthStart(period),
    periodEnd: monthEnd(period),
    version: current.version,
    totalWh: current.totalWh,
    digest: current.digest,
    reason: current.reason,
    attestedAt: current.attestedAt,
    attestedBy: current.attestedBy,
    attestedByMsp: current.attestedByMsp,
    txId: current.txId,
    versions,
  });
}

/**
 * Apply a correction of `delta` Wh to the issuances it affects: the issuance of the meter's unit for `period`
 * (its attested total) and every later issuance of the unit (their carries), and the unit's current carry.
 * Nothing changes when the period was never issued.
 */
async function adjustIssuances(
  ctx: Context,
  meterId: string,
  period: string,
  version: number,
  totalWh: string,
  delta: bigint,
  now: string,
  txId: string,
): Promise<{ issuances: Issuance[]; unit: GenerationUnit | null }> {
  const unitId = await meterHolder(ctx, meterId);
  if (unitId === undefined) return { issuances: [], unit: null };
  const records = await queryAll(ctx, ISSUANCE_OBJECT, [unitId]);
  const affected = records
    .map((r) => ({ month: keyAttributes(ctx, r.key)[1], issuance: issuanceFromState(parseJson(r.value)) }))
    .filter((r) => r.month >= period);
  if (affected.length === 0 || affected[0].month !== period) return { issuances: [], unit: null };

  const updated: Issuance[] = [];
  for (const { month, issuance } of affected) {
    const carryOut = BigInt(issuance.carryOutWh) + delta;
    if (carryOut < 0n) {
      throw new GecError(
        'ATTESTATION_BELOW_ISSUED',
        `correcting meter ${meterId} ${period} by ${delta} Wh would leave issuance ${issuance.id} (${month}) ` +
          `${-carryOut} Wh short of the ${issuance.certificates} certificates issued`,
      );
    }
    const next = Object.assign(issuanceFromState(issuance), {
      carryOutWh: carryOut.toString(),
      updatedAt: now,
      updatedTxId: txId,
    });
    if (month === period) {
      next.attestedWh = (BigInt(issuance.attestedWh) + delta).toString();
      next.meters = next.meters.map((m) =>
        m.meterId === meterId ? Object.assign(m, { version, totalWh }) : m,
      );
    } else {
      next.carryInWh = (BigInt(issuance.carryInWh) + delta).toString();
    }
    updated.push(next);
  }
  for (const issuance of updated) {
    await putJson(
      ctx,
      compositeKey(ctx, ISSUANCE_OBJECT, [issuance.unitId, issuance.productionMonth]),
      issuance,
    );
  }
  const unit = await readUnit(ctx, unitId);
  const newUnit = Object.assign(new GenerationUnit(), unit, {
    carryWh: (BigInt(unit.carryWh) + delta).toString(),
    updatedAt: now,
    updatedTxId: txId,
  });
  await putJson(ctx, unitKey(ctx, unitId), newUnit);
  return { issuances: updated, unit: newUnit };
}

/**
 * The attested Wh of `meterIds` for `period` (a meter without an attestation counts 0), with `override` taking
 * the place of one meter's current total.
 */
export async function attestedWh(
  ctx: Context,
  meterIds: readonly string[],
  period: string,
  override?: { meterId: string; totalWh: bigint },
): Promise<bigint> {
  let sum = 0n;
  for (const meterId of meterIds) {
    if (override !== undefined && override.meterId === meterId) {
      sum += override.totalWh;
      continue;
    }
    const attestation = await findAttestation(ctx, meterId, period);
    if (attestation !== undefined) sum += BigInt(attestation.totalWh);
  }
  return sum;
}

/**
 * A correction lowering a meter's total to `totalWh` must leave the attested consumption of its consumer (a
 * consumption meter) or the attested generation of its unit (a generation meter) for the period at or above the
 * green kWh trades have already attested against it (ATTESTATION_BELOW_CLAIMED).
 */
async function requireClaimsCovered(
  ctx: Context,
  meterId: string,
  period: string,
  totalWh: bigint,
): Promise<void> {
  const consumption = await findConsumptionMeter(ctx, meterId);
  const unitId = consumption === undefined ? await meterHolder(ctx, meterId) : undefined;
  let kind: GreenTotalKind;
  let subject: string;
  let meterIds: string[];
  if (consumption !== undefined) {
    kind = GREEN_CONSUMPTION_OBJECT;
    subject = consumption.consumer;
    meterIds = await consumerMeterIds(ctx, subject);
  } else if (unitId !== undefined) {
    kind = GREEN_GENERATION_OBJECT;
    subject = unitId;
    meterIds = (await readUnit(ctx, unitId)).meterIds;
  } else {
    return;
  }
  const claimed = await readGreenTotal(ctx, kind, subject, period);
  if (claimed.greenKwh === 0) return;
  const remaining = await attestedWh(ctx, meterIds, period, { meterId, totalWh });
  if (BigInt(claimed.greenKwh) * 1000n > remaining) {
    const what = kind === GREEN_CONSUMPTION_OBJECT ? 'consumption of consumer' : 'generation of unit';
    throw new GecError(
      'ATTESTATION_BELOW_CLAIMED',
      `correcting meter ${meterId} ${period} to ${totalWh} Wh would leave the attested ${what} ${subject} ` +
        `(${remaining} Wh) below the ${claimed.greenKwh} kWh of green electricity trades attested against it`,
    );
  }
}
