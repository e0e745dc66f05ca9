import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { ISSUANCE_OBJECT, Issuance, issuanceFromState } from '../certificates/issuance';
import { GRID_MSP, ROLE_ADMIN, ROLE_ENERGY_PLATFORM, requireMember, requireWriter } from '../lib/access';
import { emitEvent } from '../lib/events';
import { GecError } from '../lib/errors';
import { GecContract } from '../lib/gec-contract';
import { atOrAfter, monthEnd, monthStart } from '../lib/months';
import { compositeKey, getJson, keyAttributes, parseJson, putJson, queryAll } from '../lib/state';
import { txTime } from '../lib/time';
import {
  parseRequest,
  requireDigest,
  requireId,
  requireInteger,
  requireMonth,
  requireText,
  requireWh,
} from '../lib/validate';
import { GenerationUnit } from '../units/unit';
import { meterHolder, readUnit, unitKey } from '../units/units-contract';
import { MeterAttestation, MeterAttestationVersion } from './meter-attestation';

/** An attestation: key `gec.meterattestation\0<meterId>\0<YYYY-MM>\0`. */
export const METER_ATTESTATION_OBJECT = 'gec.meterattestation';

export const METER_PERIOD_ATTESTED_EVENT = 'MeterPeriodAttested';
export const METER_PERIOD_CORRECTED_EVENT = 'MeterPeriodCorrected';

/** The grid operator (GridMSP) through its energy internet platform, or a grid admin. */
export const METER_ATTESTERS = { msps: [GRID_MSP], roles: [ROLE_ENERGY_PLATFORM, ROLE_ADMIN] } as const;

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
