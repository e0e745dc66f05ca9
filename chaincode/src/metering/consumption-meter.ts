import { Context, Object as DataType, Property } from 'fabric-contract-api';
import { GecError } from '../lib/errors';
import { compositeKey, getJson, keyAttributes, queryAll } from '../lib/state';

/**
 * A consumer's consumption meter (用电计量点). Generation meters belong to a unit (`units`); consumption meters
 * are registered here to one CONSUMER, so the trades contract can tell whose consumption an attestation of the
 * `metering` contract measures. A meter is either a generation meter or a consumption meter, never both.
 */
@DataType()
export class ConsumptionMeter {
  @Property()
  meterId!: string;

  /** Participant id of the consumer (a CONSUMER). */
  @Property()
  consumer!: string;

  @Property()
  registeredAt!: string;

  @Property()
  registeredBy!: string;

  @Property()
  registeredByMsp!: string;

  @Property()
  registeredTxId!: string;
}

/** One page of consumption meters, with the bookmark of the next page ('' after the last). */
@DataType()
export class ConsumptionMeterPage {
  @Property('items', 'ConsumptionMeter[]')
  items!: ConsumptionMeter[];

  @Property()
  bookmark!: string;

  @Property()
  fetchedCount!: number;
}

/** A consumption meter: key `gec.consumptionmeter\0<meterId>\0`. */
export const CONSUMPTION_METER_OBJECT = 'gec.consumptionmeter';
/** Consumption meters by consumer: `gec.consumptionmeter~consumer\0<consumer>\0<meterId>\0`. */
export const CONSUMPTION_METER_BY_CONSUMER_INDEX = 'gec.consumptionmeter~consumer';

export function consumptionMeterKey(ctx: Context, meterId: string): string {
  return compositeKey(ctx, CONSUMPTION_METER_OBJECT, [meterId]);
}

export function consumptionMeterFromState(value: unknown): ConsumptionMeter {
  return Object.assign(new ConsumptionMeter(), value as ConsumptionMeter);
}

/** The consumption meter `meterId`, or undefined when it is not registered as one. */
export async function findConsumptionMeter(
  ctx: Context,
  meterId: string,
): Promise<ConsumptionMeter | undefined> {
  const stored = await getJson(ctx, consumptionMeterKey(ctx, meterId));
  return stored === undefined ? undefined : consumptionMeterFromState(stored);
}

/** The consumption meter `meterId`, or METER_NOT_REGISTERED. */
export async function readConsumptionMeter(ctx: Context, meterId: string): Promise<ConsumptionMeter> {
  const meter = await findConsumptionMeter(ctx, meterId);
  if (meter === undefined) {
    throw new GecError('METER_NOT_REGISTERED', `meter ${meterId} is not a registered consumption meter`);
  }
  return meter;
}

/**
 * Every consumption meter of `consumer`, sorted (a non-paginated range read, so it can run in a write; Fabric
 * re-checks it at validation, so a meter registered concurrently invalidates the reader).
 */
export async function consumerMeterIds(ctx: Context, consumer: string): Promise<string[]> {
  const records = await queryAll(ctx, CONSUMPTION_METER_BY_CONSUMER_INDEX, [consumer]);
  return records.map((r) => keyAttributes(ctx, r.key)[1]).sort();
}
