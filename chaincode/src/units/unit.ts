import { Object as DataType, Property } from 'fabric-contract-api';

/** Generation technologies (风电, 光伏, 水电, 生物质, 地热, 其他). */
export const TECHNOLOGIES = ['WIND', 'SOLAR_PV', 'HYDRO', 'BIOMASS', 'GEOTHERMAL', 'OTHER'] as const;
export type Technology = (typeof TECHNOLOGIES)[number];

/** ACTIVE ⇄ SUSPENDED; either → DECOMMISSIONED, which is final. Only ACTIVE units are issued certificates. */
export const UNIT_STATUSES = ['ACTIVE', 'SUSPENDED', 'DECOMMISSIONED'] as const;
export type UnitStatus = (typeof UNIT_STATUSES)[number];

/** The national project code (项目代码): 17 characters of 0-9 A-Z, the first part of every serial number. */
export const PROJECT_CODE_PATTERN = /^[0-9A-Z]{17}$/;

/** A generation unit (发电项目/机组) registered for certificates. */
@DataType()
export class GenerationUnit {
  @Property()
  id!: string;

  /** Participant id of the owner, a GENERATOR. */
  @Property()
  owner!: string;

  @Property()
  name!: string;

  @Property()
  projectCode!: string;

  @Property()
  technology!: Technology;

  @Property()
  capacityKw!: number;

  /** Province-level GB/T 2260 code. */
  @Property()
  province!: string;

  /** The unit's generation meters, sorted; each belongs to one unit only. */
  @Property('meterIds', 'string[]')
  meterIds!: string[];

  /** `YYYY-MM-DD`; no certificates for months before it. */
  @Property()
  commissioningDate!: string;

  @Property()
  status!: UnitStatus;

  @Property()
  statusReason!: string;

  /**
   * Attested Wh not yet turned into certificates (decimal string, < 1,000,000 right after an issuance):
   * carried into the next issuance.
   */
  @Property()
  carryWh!: string;

  /** The last production month issued (`YYYY-MM`), '' before the first issuance. */
  @Property()
  lastIssuedMonth!: string;

  @Property()
  registeredBy!: string;

  @Property()
  registeredByMsp!: string;

  @Property()
  registeredAt!: string;

  @Property()
  registeredTxId!: string;

  @Property()
  updatedAt!: string;

  @Property()
  updatedTxId!: string;
}

/** One page of units in id order, with the bookmark of the next page ('' after the last). */
@DataType()
export class UnitPage {
  @Property('items', 'GenerationUnit[]')
  items!: GenerationUnit[];

  @Property()
  bookmark!: string;

  @Property()
  fetchedCount!: number;
}
