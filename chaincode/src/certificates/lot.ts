import { Object as DataType, Property } from 'fabric-contract-api';
import { GecError } from '../lib/errors';
import { compactMonth, expandMonth } from '../lib/months';
import { Technology } from '../units/unit';

/**
 * ACTIVE: held, may move. LISTED: offered for sale (绿证售卖). IN_CUSTODY: held by the voucher custody contract.
 * REDEEMED (兑付/核销), EXCHANGED (绿电兑换), EXPIRED, WITHDRAWN: final, the certificates never act again.
 */
export const LOT_STATUSES = [
  'ACTIVE',
  'LISTED',
  'IN_CUSTODY',
  'REDEEMED',
  'EXCHANGED',
  'EXPIRED',
  'WITHDRAWN',
] as const;
export type LotStatus = (typeof LOT_STATUSES)[number];

export const FINAL_LOT_STATUSES: readonly LotStatus[] = ['REDEEMED', 'EXCHANGED', 'EXPIRED', 'WITHDRAWN'];

/**
 * Electricity class, character 31 of a serial number: the generation technology.
 * W wind, S solar PV, H hydro, B biomass, G geothermal, O other.
 */
export const ELECTRICITY_CLASS: Record<Technology, string> = {
  WIND: 'W',
  SOLAR_PV: 'S',
  HYDRO: 'H',
  BIOMASS: 'B',
  GEOTHERMAL: 'G',
  OTHER: 'O',
};

/** Trade class, character 32 of a serial number: T tradable, N not tradable (self-consumption and the like). */
export const TRADE_CLASS = { tradable: 'T', notTradable: 'N' } as const;

/** 7-digit sequence within a unit and month: 0000001 to 9999999. */
export const SEQUENCE_DIGITS = 7;

const SERIAL_PATTERN = /^([0-9A-Z]{17})(\d{4}(?:0[1-9]|1[0-2]))(\d{7})([WSHBGO])([TN])$/;

/** The parts of a 32-character serial number. */
export interface SerialParts {
  projectCode: string;
  /** `YYYY-MM`. */
  productionMonth: string;
  sequence: number;
  electricityClass: string;
  tradeClass: string;
}

/**
 * A serial number: project code (17) + production month YYYYMM (6) + sequence (7, from 0000001) + electricity
 * class (1) + trade class (1) = 32 characters, e.g. `P3301002024000017` + `202503` + `0000001` + `W` + `T`.
 */
export function formatSerial(parts: SerialParts): string {
  return (
    parts.projectCode +
    compactMonth(parts.productionMonth) +
    String(parts.sequence).padStart(SEQUENCE_DIGITS, '0') +
    parts.electricityClass +
    parts.tradeClass
  );
}

export function parseSerial(value: unknown, field = 'serial'): SerialParts {
  const match = typeof value === 'string' ? SERIAL_PATTERN.exec(value) : null;
  if (!match || Number(match[3]) === 0) {
    throw new GecError(
      'INVALID_ARGUMENT',
      `${field} must be a 32-character certificate serial number: 17-character project code, production month YYYYMM, ` +
        '7-digit sequence from 0000001, electricity class (W S H B G O), trade class (T N)',
    );
  }
  return {
    projectCode: match[1],
    productionMonth: expandMonth(match[2]),
    sequence: Number(match[3]),
    electricityClass: match[4],
    tradeClass: match[5],
  };
}

/**
 * A contiguous range of certificates (1 certificate = 1 MWh) of one unit and production month, and its state.
 * A certificate is never a key: a lot holds `volume` consecutive sequences [sequenceStart, sequenceEnd].
 * A lot's id is its first serial when it was created; splitting a lot hands its highest serials to a new child
 * lot (id = the child's first serial, parentLotId = the lot), so ids never change and are never reused.
 */
@DataType()
export class CertificateLot {
  @Property()
  id!: string;

  @Property()
  serialStart!: string;

  @Property()
  serialEnd!: string;

  @Property()
  sequenceStart!: number;

  @Property()
  sequenceEnd!: number;

  /** Certificates in the lot (= MWh). */
  @Property()
  volume!: number;

  @Property()
  projectCode!: string;

  @Property()
  unitId!: string;

  @Property()
  technology!: Technology;

  @Property()
  province!: string;

  /** `YYYY-MM`. */
  @Property()
  productionMonth!: string;

  @Property()
  productionPeriodStart!: string;

  @Property()
  productionPeriodEnd!: string;

  @Property()
  electricityClass!: string;

  @Property()
  tradeClass!: string;

  /** projectCode + YYYYMM. */
  @Property()
  issuanceId!: string;

  @Property()
  issuedAt!: string;

  /** Start of the month `validityMonths` after the production month (Asia/Shanghai); past it nothing acts. */
  @Property()
  expiresAt!: string;

  /** Participant id of the holder. */
  @Property()
  owner!: string;

  @Property()
  status!: LotStatus;

  @Property()
  tradable!: boolean;

  /** Moved with a green-power trade: never transferred, listed, sold or exchanged again. */
  @Property()
  boundToGreenPowerTrade!: boolean;

  /** The trade that bound it ('' when not bound). */
  @Property()
  greenPowerTradeId!: string;

  /** The lot it was split from ('' for the lot created by the issuance). */
  @Property()
  parentLotId!: string;

  /** The open listing while LISTED, else ''. */
  @Property()
  listingId!: string;

  /** Set when REDEEMED. */
  @Property()
  redemptionId!: string;

  /** Set when EXCHANGED. */
  @Property()
  exchangeId!: string;

  /** Reason of a withdrawal ('' otherwise). */
  @Property()
  statusReason!: string;

  @Property()
  createdAt!: string;

  @Property()
  createdTxId!: string;

  @Property()
  updatedAt!: string;

  @Property()
  updatedTxId!: string;
}

/** One page of lots in index order, with the bookmark of the next page ('' after the last). */
@DataType()
export class LotPage {
  @Property('items', 'CertificateLot[]')
  items!: CertificateLot[];

  @Property()
  bookmark!: string;

  @Property()
  fetchedCount!: number;
}

export function lotFromState(value: unknown): CertificateLot {
  return Object.assign(new CertificateLot(), value as CertificateLot);
}

export function copyLot(lot: CertificateLot, changes: Partial<CertificateLot> = {}): CertificateLot {
  return Object.assign(new CertificateLot(), lot, changes);
}
