import { Context, Object as DataType, Property } from 'fabric-contract-api';
import { GecError } from '../lib/errors';
import { compositeKey, getJson } from '../lib/state';

/** World-state object type of the consortium parameters: key `gec.parameters\0consortium\0`. */
export const PARAMETERS_OBJECT = 'gec.parameters';
const PARAMETERS_ID = 'consortium';

/** Largest sequence in a serial number (7 digits): no lot, transfer or issuance can exceed it. */
export const MAX_SEQUENCE = 9_999_999;

export const DEFAULT_VALIDITY_MONTHS = 24;
/**
 * Months after a production month ends during which its certificates may still be issued. Twelve keeps every
 * certificate born with at least a year of its 24-month validity left; it must stay below validityMonths, so no
 * certificate is ever born expired.
 */
export const DEFAULT_ISSUANCE_WINDOW_MONTHS = 12;
export const DEFAULT_MIN_TRANSFER_VOLUME = 1;
export const DEFAULT_MAX_TRANSFER_VOLUME = MAX_SEQUENCE;

/**
 * Parameters the consortium sets on chain. Until first set, the defaults apply (validity 24 months, issuance up to
 * 12 months after the production month, transfers of 1 to 9,999,999 certificates, not paused) and `updatedTxId`
 * is ''. Parameters stored before a parameter existed read with its default.
 */
@DataType()
export class ConsortiumParameters {
  /** Certificate validity in months, counted from the production month (inclusive); applied at issuance. */
  @Property()
  validityMonths!: number;

  /**
   * Months after the end of a production month during which its certificates may be issued; later issuance is
   * refused with ISSUANCE_WINDOW_CLOSED. Always below validityMonths.
   */
  @Property()
  issuanceWindowMonths!: number;

  /** Fewest certificates one transfer (or one sale from a listing) may move. */
  @Property()
  minTransferVolume!: number;

  /** Most certificates one transfer (or one sale from a listing) may move. */
  @Property()
  maxTransferVolume!: number;

  /** While true every write of every contract is refused with CONSORTIUM_PAUSED; reads stay open. */
  @Property()
  paused!: boolean;

  /** x509 identity of who paused ('' when not paused). */
  @Property()
  pausedBy!: string;

  @Property()
  pausedByMsp!: string;

  @Property()
  pausedAt!: string;

  @Property()
  pauseReason!: string;

  @Property()
  pausedTxId!: string;

  @Property()
  updatedBy!: string;

  @Property()
  updatedByMsp!: string;

  @Property()
  updatedAt!: string;

  @Property()
  updatedTxId!: string;
}

export function parametersKey(ctx: Context): string {
  return compositeKey(ctx, PARAMETERS_OBJECT, [PARAMETERS_ID]);
}

export function defaultParameters(): ConsortiumParameters {
  return Object.assign(new ConsortiumParameters(), {
    validityMonths: DEFAULT_VALIDITY_MONTHS,
    issuanceWindowMonths: DEFAULT_ISSUANCE_WINDOW_MONTHS,
    minTransferVolume: DEFAULT_MIN_TRANSFER_VOLUME,
    maxTransferVolume: DEFAULT_MAX_TRANSFER_VOLUME,
    paused: false,
    pausedBy: '',
    pausedByMsp: '',
    pausedAt: '',
    pauseReason: '',
    pausedTxId: '',
    updatedBy: '',
    updatedByMsp: '',
    updatedAt: '',
    updatedTxId: '',
  });
}

/** The parameters in force (the defaults until first set). */
export async function readParameters(ctx: Context): Promise<ConsortiumParameters> {
  const stored = await getJson(ctx, parametersKey(ctx));
  if (stored === undefined) return defaultParameters();
  return Object.assign(defaultParameters(), stored as Partial<ConsortiumParameters>);
}

/** Refuse the transaction while the consortium is paused, naming who paused, when and why. */
export async function requireNotPaused(ctx: Context): Promise<void> {
  const parameters = await readParameters(ctx);
  if (parameters.paused) {
    throw new GecError(
      'CONSORTIUM_PAUSED',
      `all writes are paused since ${parameters.pausedAt} by ${parameters.pausedBy} of ${parameters.pausedByMsp} ` +
        `(tx ${parameters.pausedTxId}): ${parameters.pauseReason}`,
    );
  }
}
