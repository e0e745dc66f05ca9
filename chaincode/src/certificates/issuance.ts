import { Context, Object as DataType, Property } from 'fabric-contract-api';
import { GecError } from '../lib/errors';
import { compositeKey, getJson } from '../lib/state';

/** An issuance: key `gec.issuance\0<unitId>\0<YYYY-MM>\0` (so a unit's issuances are in month order). */
export const ISSUANCE_OBJECT = 'gec.issuance';

/** Wh per certificate: 1 certificate = 1 MWh = 1,000 kWh. */
export const WH_PER_CERTIFICATE = 1_000_000n;

/** One meter's attested total as used (or, after a correction, as now counted) by an issuance. */
@DataType()
export class IssuanceMeter {
  @Property()
  meterId!: string;

  @Property()
  version!: number;

  /** Decimal string. */
  @Property()
  totalWh!: string;
}

/**
 * The issuance of one unit for one production month (注册绿证). Energy is counted in Wh (decimal strings):
 * certificates = floor((attestedWh + carryInWh) / 1,000,000) and carryOutWh is the rest, carried into the
 * unit's next issuance. Corrections of the month's attestations adjust attestedWh and the carries of this and
 * every later issuance (never the certificates).
 */
@DataType()
export class Issuance {
  /** projectCode + YYYYMM (23 characters). */
  @Property()
  id!: string;

  @Property()
  unitId!: string;

  @Property()
  projectCode!: string;

  @Property()
  productionMonth!: string;

  @Property()
  periodStart!: string;

  @Property()
  periodEnd!: string;

  @Property('meters', 'IssuanceMeter[]')
  meters!: IssuanceMeter[];

  @Property()
  attestedWh!: string;

  @Property()
  carryInWh!: string;

  @Property()
  carryOutWh!: string;

  /** Whole certificates issued (0 when the month and the carry make less than 1 MWh: then no lot). */
  @Property()
  certificates!: number;

  /** The lot created ('' when no certificate was issued). */
  @Property()
  lotId!: string;

  @Property()
  serialStart!: string;

  @Property()
  serialEnd!: string;

  @Property()
  tradable!: boolean;

  @Property()
  electricityClass!: string;

  @Property()
  tradeClass!: string;

  @Property()
  validityMonths!: number;

  @Property()
  expiresAt!: string;

  @Property()
  issuedAt!: string;

  @Property()
  issuedBy!: string;

  @Property()
  issuedByMsp!: string;

  @Property()
  txId!: string;

  @Property()
  updatedAt!: string;

  @Property()
  updatedTxId!: string;
}

/** One page of issuances of a unit, in month order. */
@DataType()
export class IssuancePage {
  @Property('items', 'Issuance[]')
  items!: Issuance[];

  @Property()
  bookmark!: string;

  @Property()
  fetchedCount!: number;
}

export function issuanceKey(ctx: Context, unitId: string, month: string): string {
  return compositeKey(ctx, ISSUANCE_OBJECT, [unitId, month]);
}

export function issuanceFromState(value: unknown): Issuance {
  const issuance = Object.assign(new Issuance(), value as Issuance);
  issuance.meters = issuance.meters.map((m) => Object.assign(new IssuanceMeter(), m));
  return issuance;
}

export async function readIssuance(ctx: Context, unitId: string, month: string): Promise<Issuance> {
  const stored = await getJson(ctx, issuanceKey(ctx, unitId, month));
  if (stored === undefined) {
    throw new GecError('ISSUANCE_NOT_FOUND', `unit ${unitId} has no issuance for ${month}`);
  }
  return issuanceFromState(stored);
}
