import type { GenerationUnit } from '@gec/chaincode';
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { PageQueryDto } from '../common/pagination';
import { ID_MESSAGE, ID_PATTERN, iso, LedgerProof, orNull, proof } from '../certificates/ledger-support';

export const TECHNOLOGIES = ['WIND', 'SOLAR_PV', 'HYDRO', 'BIOMASS', 'GEOTHERMAL', 'OTHER'] as const;
export const UNIT_STATUSES = ['ACTIVE', 'SUSPENDED', 'DECOMMISSIONED'] as const;
const PROVINCE_PATTERN = /^(1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|81|82)0000$/;

/** Wh (decimal string) as kWh with 3 decimals, exact. */
export function whToKwh(wh: string): string {
  const negative = wh.startsWith('-');
  const digits = (negative ? wh.slice(1) : wh).padStart(4, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -3)}.${digits.slice(-3)}`;
}

@ApiSchema({
  description:
    'A generation unit (发电项目/机组) to register: owner, national project code, technology, capacity, province, meters',
})
export class RegisterUnitDto {
  @ApiProperty({
    description: 'Unit id chosen by the integrator (1–64 of A-Z a-z 0-9 . _ -)',
    example: 'UNIT-ZJ-WIND-01',
  })
  @Matches(ID_PATTERN, { message: `id ${ID_MESSAGE}` })
  id!: string;

  @ApiProperty({ description: 'Participant id of the owner: an ACTIVE GENERATOR', example: 'GEN-ZJ-001' })
  @Matches(ID_PATTERN, { message: `owner ${ID_MESSAGE}` })
  owner!: string;

  @ApiProperty({ description: 'Name of the plant or unit', example: '舟山海上风电一期', maxLength: 200 })
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiProperty({
    description:
      'National 17-character project code (项目代码), 0-9 A-Z; the first part of every serial number',
    example: 'P3309002024000017',
  })
  @Matches(/^[0-9A-Z]{17}$/, { message: 'projectCode must be 17 characters of 0-9 A-Z' })
  projectCode!: string;

  @ApiProperty({
    description: 'Generation technology; decides the certificates’ electricity class',
    enum: TECHNOLOGIES,
    example: 'WIND',
  })
  @IsIn(TECHNOLOGIES, { message: `technology must be one of ${TECHNOLOGIES.join(', ')}` })
  technology!: string;

  @ApiProperty({ description: 'Installed capacity in kW (integer)', example: 50000 })
  @IsInt({ message: 'capacityKw must be an integer' })
  @Min(1)
  @Max(100_000_000)
  capacityKw!: number;

  @ApiProperty({ description: 'Province-level GB/T 2260 code', example: '330000' })
  @Matches(PROVINCE_PATTERN, { message: 'province must be a province-level GB/T 2260 code such as 330000' })
  province!: string;

  @ApiProperty({
    description: 'Generation meter ids (1–100); each meter belongs to one unit only',
    example: ['MTR-ZJ-0001', 'MTR-ZJ-0002'],
    type: [String],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @Matches(ID_PATTERN, { each: true, message: `each meter id ${ID_MESSAGE}` })
  meterIds!: string[];

  @ApiProperty({
    description: 'Commissioning date (YYYY-MM-DD); no certificates for earlier months',
    example: '2024-06-30',
  })
  @Matches(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, {
    message: 'commissioningDate must be YYYY-MM-DD',
  })
  commissioningDate!: string;
}

@ApiSchema({ description: 'A unit status change with its reason' })
export class ChangeUnitStatusDto {
  @ApiProperty({
    enum: UNIT_STATUSES,
    description: 'ACTIVE ⇄ SUSPENDED; DECOMMISSIONED is final',
    example: 'SUSPENDED',
  })
  @IsIn(UNIT_STATUSES, { message: `status must be one of ${UNIT_STATUSES.join(', ')}` })
  status!: string;

  @ApiProperty({
    description: 'Why (kept on the ledger)',
    example: 'grid connection maintenance',
    maxLength: 256,
  })
  @MinLength(1)
  @MaxLength(256)
  reason!: string;
}

export class ListUnitsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Only the units of this owner', example: 'GEN-ZJ-001' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: `owner ${ID_MESSAGE}` })
  owner?: string;

  @ApiPropertyOptional({ description: 'Only units in this status', enum: UNIT_STATUSES, example: 'ACTIVE' })
  @IsOptional()
  @IsIn(UNIT_STATUSES, { message: `status must be one of ${UNIT_STATUSES.join(', ')}` })
  status?: string;
}

@ApiSchema({ description: 'A generation unit as the ledger holds it, with the proof of its last change' })
export class UnitDto {
  @ApiProperty({ description: 'Unit id, unique in the consortium', example: 'UNIT-ZJ-WIND-01' })
  id!: string;
  @ApiProperty({ description: 'Owner (a GENERATOR participant)', example: 'GEN-ZJ-001' })
  owner!: string;
  @ApiProperty({ description: 'The unit’s name as registered', example: '舟山海上风电一期' })
  name!: string;
  @ApiProperty({
    description: '17-character project code: the first part of every serial of the unit’s certificates',
    example: 'P3309002024000017',
  })
  projectCode!: string;
  @ApiProperty({ description: 'Generation technology', enum: TECHNOLOGIES, example: 'WIND' })
  technology!: string;
  @ApiProperty({ description: 'Installed capacity in kW', example: 50000 })
  capacityKw!: number;
  @ApiProperty({
    description: 'Administrative division code (GB/T 2260) of the unit’s province',
    example: '330000',
  })
  province!: string;
  @ApiProperty({
    description: 'The generation meters whose attested totals are the unit’s output',
    type: [String],
    example: ['MTR-ZJ-0001', 'MTR-ZJ-0002'],
  })
  meterIds!: string[];
  @ApiProperty({ description: 'Date of commissioning (YYYY-MM-DD)', example: '2024-06-30' })
  commissioningDate!: string;
  @ApiProperty({
    description: 'ACTIVE units are issued certificates; SUSPENDED and DECOMMISSIONED are not',
    enum: UNIT_STATUSES,
    example: 'ACTIVE',
  })
  status!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Reason of the last status change',
    example: null,
  })
  statusReason!: string | null;
  @ApiProperty({
    description:
      'Attested energy not yet turned into certificates, carried into the next issuance (kWh, 3 decimals)',
    example: '456.789',
  })
  carryKwh!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Last production month issued',
    example: '2026-09',
  })
  lastIssuedMonth!: string | null;
  @ApiProperty({ description: 'MSP of the organisation that registered the unit', example: 'GridMSP' })
  registeredByMsp!: string;
  @ApiProperty({
    description: 'When the unit was registered on the ledger (UTC)',
    example: '2026-11-21T08:00:00.000Z',
  })
  registeredAt!: string;
  @ApiProperty({ description: 'When the unit last changed (UTC)', example: '2026-11-21T08:00:00.000Z' })
  updatedAt!: string;
  @ApiProperty({
    description: 'Ledger proof of the transaction that last changed the unit',
    type: LedgerProof,
  })
  ledger!: LedgerProof;
}

@ApiSchema({ description: 'One page of units, ordered by id' })
export class UnitPageDto {
  @ApiProperty({ description: 'This page’s units, ordered by id', type: [UnitDto] })
  items!: UnitDto[];
  @ApiProperty({
    description: 'Cursor of the next page (send it as `cursor`); null on the last page',
    nullable: true,
    type: String,
    example: null,
  })
  nextCursor!: string | null;
}

export function toUnitDto(unit: GenerationUnit, blockNumber: number): UnitDto {
  return {
    id: unit.id,
    owner: unit.owner,
    name: unit.name,
    projectCode: unit.projectCode,
    technology: unit.technology,
    capacityKw: unit.capacityKw,
    province: unit.province,
    meterIds: [...unit.meterIds],
    commissioningDate: unit.commissioningDate,
    status: unit.status,
    statusReason: orNull(unit.statusReason),
    carryKwh: whToKwh(unit.carryWh),
    lastIssuedMonth: orNull(unit.lastIssuedMonth),
    registeredByMsp: unit.registeredByMsp,
    registeredAt: iso(unit.registeredAt),
    updatedAt: iso(unit.updatedAt),
    ledger: proof(unit.updatedTxId, blockNumber, unit.updatedAt),
  };
}
