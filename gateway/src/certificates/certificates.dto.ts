import type { CertificateLot, Issuance, RedemptionCheck } from '@gec/chaincode';
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { PageQueryDto } from '../common/pagination';
import { whToKwh } from '../units/units.dto';
import {
  ID_MESSAGE,
  ID_PATTERN,
  iso,
  KWH_PER_CERTIFICATE,
  LedgerProof,
  MONTH_PATTERN,
  orNull,
  proof,
  SERIAL_MESSAGE,
  SERIAL_PATTERN,
} from './ledger-support';

export const LOT_STATUSES = [
  'ACTIVE',
  'LISTED',
  'IN_CUSTODY',
  'REDEEMED',
  'EXCHANGED',
  'EXPIRED',
  'WITHDRAWN',
] as const;
const MAX_CERTIFICATES = 9_999_999;
export const SERIAL_EXAMPLE = 'P3309002024000017' + '202609' + '0000001' + 'WT';
const SERIAL_END_EXAMPLE = 'P3309002024000017' + '202609' + '0000120' + 'WT';

// ---- Requests -----------------------------------------------------------------------------------------------

@ApiSchema({ description: 'Issue a unit’s certificates for a production month (注册绿证)' })
export class IssueDto {
  @ApiProperty({ description: 'The generation unit', example: 'UNIT-ZJ-WIND-01' })
  @Matches(ID_PATTERN, { message: `unitId ${ID_MESSAGE}` })
  unitId!: string;

  @ApiProperty({
    description: 'Production month (YYYY-MM, Asia/Shanghai); it must have ended and every meter be attested',
    example: '2026-09',
  })
  @Matches(MONTH_PATTERN, { message: 'month must be YYYY-MM' })
  month!: string;

  @ApiPropertyOptional({
    description: 'false for self-consumption and other non-tradable certificates (trade class N)',
    default: true,
    example: true,
  })
  @IsOptional()
  @IsBoolean({ message: 'tradable must be true or false' })
  tradable?: boolean;
}

function certificatesField(description: string) {
  return ApiPropertyOptional({ description, minimum: 1, maximum: MAX_CERTIFICATES, example: 40 });
}

@ApiSchema({ description: 'Split a lot: how many of its highest serials become a new lot' })
export class SplitLotDto {
  @ApiProperty({ description: 'The holder, as the trading center states it', example: 'GEN-ZJ-001' })
  @Matches(ID_PATTERN, { message: `owner ${ID_MESSAGE}` })
  owner!: string;

  @ApiProperty({
    description: 'Certificates split off into a new lot (the highest serials); 1 .. lot size − 1',
    example: 40,
  })
  @IsInt({ message: 'certificates must be an integer' })
  @Min(1)
  @Max(MAX_CERTIFICATES)
  certificates!: number;
}

@ApiSchema({ description: 'Transfer a whole lot or a part of it between market participants' })
export class TransferLotDto {
  @ApiProperty({ description: 'The current holder (a GENERATOR or CONSUMER)', example: 'GEN-ZJ-001' })
  @Matches(ID_PATTERN, { message: `from ${ID_MESSAGE}` })
  from!: string;

  @ApiProperty({ description: 'The new holder (an ACTIVE GENERATOR or CONSUMER)', example: 'CON-SH-001' })
  @Matches(ID_PATTERN, { message: `to ${ID_MESSAGE}` })
  to!: string;

  @certificatesField('Certificates to move (default: the whole lot); a part is split off with lineage')
  @IsOptional()
  @IsInt({ message: 'certificates must be an integer' })
  @Min(1)
  @Max(MAX_CERTIFICATES)
  certificates?: number;
}

@ApiSchema({ description: 'Withdraw certificates (dispute handling), with a reason' })
export class WithdrawLotDto {
  @ApiProperty({
    description: 'Why (dispute handling; kept on the ledger)',
    example: 'metering dispute 2026-031',
  })
  @MinLength(1)
  @MaxLength(256)
  reason!: string;

  @certificatesField('Certificates to withdraw (default: the whole lot)')
  @IsOptional()
  @IsInt({ message: 'certificates must be an integer' })
  @Min(1)
  @Max(MAX_CERTIFICATES)
  certificates?: number;
}

export class ListLotsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Holder', example: 'CON-SH-001' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: `owner ${ID_MESSAGE}` })
  owner?: string;

  @ApiPropertyOptional({ description: 'Generation unit', example: 'UNIT-ZJ-WIND-01' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: `unitId ${ID_MESSAGE}` })
  unitId?: string;

  @ApiPropertyOptional({ description: 'Only lots in this state', enum: LOT_STATUSES, example: 'ACTIVE' })
  @IsOptional()
  @IsIn(LOT_STATUSES, { message: `status must be one of ${LOT_STATUSES.join(', ')}` })
  status?: string;

  @ApiPropertyOptional({ description: 'Production month YYYY-MM', example: '2026-09' })
  @IsOptional()
  @Matches(MONTH_PATTERN, { message: 'productionMonth must be YYYY-MM' })
  productionMonth?: string;

  @ApiPropertyOptional({ description: 'Only the lot holding this serial number', example: SERIAL_EXAMPLE })
  @IsOptional()
  @Matches(SERIAL_PATTERN, { message: `serial ${SERIAL_MESSAGE}` })
  serial?: string;
}

export class ListIssuancesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Generation unit', example: 'UNIT-ZJ-WIND-01' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: `unitId ${ID_MESSAGE}` })
  unitId?: string;

  @ApiPropertyOptional({ description: 'Production month YYYY-MM', example: '2026-09' })
  @IsOptional()
  @Matches(MONTH_PATTERN, { message: 'month must be YYYY-MM' })
  month?: string;
}

// ---- Responses ----------------------------------------------------------------------------------------------

@ApiSchema({
  description:
    'A certificate lot: a contiguous range of serial numbers of one unit and production month, its holder and status',
})
export class LotDto {
  @ApiProperty({
    description: 'Lot id: its first serial when it was created (never changes)',
    example: SERIAL_EXAMPLE,
  })
  id!: string;
  @ApiProperty({ description: 'First serial number held', example: SERIAL_EXAMPLE })
  serialStart!: string;
  @ApiProperty({ description: 'Last serial number held', example: SERIAL_END_EXAMPLE })
  serialEnd!: string;
  @ApiProperty({
    description: '7-digit sequence number of the lot’s first certificate, as a number',
    example: 1,
  })
  sequenceStart!: number;
  @ApiProperty({ description: 'Sequence number of the lot’s last certificate', example: 120 })
  sequenceEnd!: number;
  @ApiProperty({ description: 'Certificates in the lot (1 certificate = 1 MWh)', example: 120 })
  certificates!: number;
  @ApiProperty({ description: 'certificates × 1,000', example: 120000 })
  volumeKwh!: number;
  @ApiProperty({ description: 'The unit’s 17-character project code', example: 'P3309002024000017' })
  projectCode!: string;
  @ApiProperty({ description: 'The generation unit', example: 'UNIT-ZJ-WIND-01' })
  unitId!: string;
  @ApiProperty({ description: 'Generation technology of the unit', example: 'WIND' })
  technology!: string;
  @ApiProperty({
    description: 'Administrative division code (GB/T 2260) of the unit’s province',
    example: '330000',
  })
  province!: string;
  @ApiProperty({ description: 'Production month, YYYY-MM', example: '2026-09' })
  productionMonth!: string;
  @ApiProperty({
    description: 'Start of the production month (given in UTC)',
    example: '2026-08-31T16:00:00.000Z',
  })
  productionPeriodStart!: string;
  @ApiProperty({
    description: 'End of the production month, exclusive (given in UTC)',
    example: '2026-09-30T16:00:00.000Z',
  })
  productionPeriodEnd!: string;
  @ApiProperty({ description: 'W wind, S solar PV, H hydro, B biomass, G geothermal, O other', example: 'W' })
  electricityClass!: string;
  @ApiProperty({ description: 'T tradable, N not tradable', example: 'T' })
  tradeClass!: string;
  @ApiProperty({
    description: 'The issuance: project code and production month',
    example: 'P3309002024000017202609',
  })
  issuanceId!: string;
  @ApiProperty({
    description: 'When the certificates were issued (ledger time, UTC)',
    example: '2026-10-08T02:00:00.000Z',
  })
  issuedAt!: string;
  @ApiProperty({
    description: 'Nothing acts on the lot from this instant',
    example: '2028-08-31T16:00:00.000Z',
  })
  expiresAt!: string;
  @ApiProperty({ description: 'Holder (participant id)', example: 'GEN-ZJ-001' })
  owner!: string;
  @ApiProperty({ description: 'Lifecycle state (README: lot states)', enum: LOT_STATUSES, example: 'ACTIVE' })
  status!: string;
  @ApiProperty({ description: 'Whether the certificates may be traded', example: true })
  tradable!: boolean;
  @ApiProperty({ description: 'Moved with a green-power trade: never traded again', example: false })
  boundToGreenPowerTrade!: boolean;
  @ApiProperty({
    description: 'The green-power trade (绿电交易) the lot is bound to; null if none',
    nullable: true,
    type: String,
    example: null,
  })
  greenPowerTradeId!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'The lot it was split from', example: null })
  parentLotId!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'The open listing while LISTED', example: null })
  listingId!: string | null;
  @ApiProperty({
    description: 'The redemption (兑付/核销) that used the lot up; null if none',
    nullable: true,
    type: String,
    example: null,
  })
  redemptionId!: string | null;
  @ApiProperty({
    description: 'The exchange (绿电兑换) that surrendered it; null if none',
    nullable: true,
    type: String,
    example: null,
  })
  exchangeId!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Reason of a withdrawal', example: null })
  statusReason!: string | null;
  @ApiProperty({
    description: 'When the lot came into being (issuance or split; ledger time, UTC)',
    example: '2026-10-08T02:00:00.000Z',
  })
  createdAt!: string;
  @ApiProperty({
    description: 'When the lot last changed (ledger time, UTC)',
    example: '2026-10-08T02:00:00.000Z',
  })
  updatedAt!: string;
  @ApiProperty({ type: LedgerProof, description: 'The transaction that last changed the lot' })
  ledger!: LedgerProof;
}

@ApiSchema({ description: 'One page of lots, ordered by lot id' })
export class LotPageDto {
  @ApiProperty({ description: 'This page’s lots, ordered by id', type: [LotDto] })
  items!: LotDto[];
  @ApiProperty({
    description: 'Cursor of the next page (send it as `cursor`); null on the last page',
    nullable: true,
    type: String,
    example: null,
  })
  nextCursor!: string | null;
}

@ApiSchema({
  description: 'What a lot action changed: the lot that acted, every lot written, and the transaction',
})
export class LotChangeDto {
  @ApiProperty({
    description: 'The lot that took the action: the whole lot, or the part split off',
    example: SERIAL_EXAMPLE,
  })
  lotId!: string;
  @ApiProperty({
    type: [LotDto],
    description: 'Every lot the transaction wrote (each as in GET /v1/lots/{lotId})',
  })
  lots!: LotDto[];
  @ApiProperty({ description: 'Ledger proof of the transaction', type: LedgerProof })
  ledger!: LedgerProof;
}

@ApiSchema({ description: 'One meter’s attested total as counted by an issuance' })
export class IssuanceMeterDto {
  @ApiProperty({ description: 'A generation meter of the unit', example: 'MTR-ZJ-0001' })
  meterId!: string;
  @ApiProperty({ description: 'Attestation version counted', example: 1 })
  version!: number;
  @ApiProperty({
    description: 'Its attested total for the month in kWh (decimal string, 3 decimals)',
    example: '60000.500',
  })
  totalKwh!: string;
}

@ApiSchema({
  description:
    'The issuance of one unit for one production month: attested energy, certificates, the lot created, carries',
})
export class IssuanceDto {
  @ApiProperty({ description: 'projectCode + YYYYMM', example: 'P3309002024000017202609' })
  id!: string;
  @ApiProperty({ description: 'The generation unit', example: 'UNIT-ZJ-WIND-01' })
  unitId!: string;
  @ApiProperty({ description: 'The unit’s 17-character project code', example: 'P3309002024000017' })
  projectCode!: string;
  @ApiProperty({ description: 'Production month, YYYY-MM', example: '2026-09' })
  productionMonth!: string;
  @ApiProperty({
    description: 'Start of the production month (00:00 +08:00, given in UTC)',
    example: '2026-08-31T16:00:00.000Z',
  })
  periodStart!: string;
  @ApiProperty({
    description: 'End of the production month, exclusive (given in UTC)',
    example: '2026-09-30T16:00:00.000Z',
  })
  periodEnd!: string;
  @ApiProperty({
    type: [IssuanceMeterDto],
    description: 'The attested total of each meter of the unit, as counted',
    example: [{ meterId: 'MTR-ZJ-0001', version: 1, totalKwh: '60000.500' }],
  })
  meters!: IssuanceMeterDto[];
  @ApiProperty({
    description: 'Attested generation of the unit’s meters (kWh, 3 decimals)',
    example: '120000.500',
  })
  attestedKwh!: string;
  @ApiProperty({ description: 'Carried in from the previous issuance (kWh)', example: '0.000' })
  carryInKwh!: string;
  @ApiProperty({ description: 'Carried to the next issuance (kWh)', example: '0.500' })
  carryOutKwh!: string;
  @ApiProperty({ description: 'Certificates issued', example: 120 })
  certificates!: number;
  @ApiProperty({ description: 'certificates × 1,000', example: 120000 })
  volumeKwh!: number;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'The lot created (null when 0 certificates)',
    example: SERIAL_EXAMPLE,
  })
  lotId!: string | null;
  @ApiProperty({
    description: 'First serial issued; null when the month made less than 1 MWh',
    nullable: true,
    type: String,
    example: SERIAL_EXAMPLE,
  })
  serialStart!: string | null;
  @ApiProperty({
    description: 'Last serial issued; null when the month made less than 1 MWh',
    nullable: true,
    type: String,
    example: SERIAL_END_EXAMPLE,
  })
  serialEnd!: string | null;
  @ApiProperty({
    description: 'Whether the certificates may be traded (listed, sold, transferred)',
    example: true,
  })
  tradable!: boolean;
  @ApiProperty({
    description: 'Validity in months from the production month (consortium parameter)',
    example: 24,
  })
  validityMonths!: number;
  @ApiProperty({ description: 'When the certificates expire (UTC)', example: '2028-08-31T16:00:00.000Z' })
  expiresAt!: string;
  @ApiProperty({
    description: 'When they were issued (ledger time, UTC)',
    example: '2026-10-08T02:00:00.000Z',
  })
  issuedAt!: string;
  @ApiProperty({ description: 'MSP of the issuing organisation', example: 'GridMSP' })
  issuedByMsp!: string;
  @ApiProperty({ description: 'Ledger proof of the issuance transaction', type: LedgerProof })
  ledger!: LedgerProof;
}

@ApiSchema({ description: 'One page of issuances, ordered by id (project code + month)' })
export class IssuancePageDto {
  @ApiProperty({ description: 'This page’s issuances, ordered by id', type: [IssuanceDto] })
  items!: IssuanceDto[];
  @ApiProperty({
    description: 'Cursor of the next page (send it as `cursor`); null on the last page',
    nullable: true,
    type: String,
    example: null,
  })
  nextCursor!: string | null;
}

@ApiSchema({ description: 'One committed version of a lot' })
export class LotVersionDto {
  @ApiProperty({
    description: 'Ledger transaction that wrote this version',
    example: '3f7c0b9e5d1a4c2b8e6f0a1d3c5b7e9f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b',
  })
  txId!: string;
  @ApiProperty({
    description: 'Its block; null while not yet known',
    nullable: true,
    type: Number,
    example: 12,
  })
  blockNumber!: number | null;
  @ApiProperty({
    description: 'The chaincode event of the transaction',
    nullable: true,
    type: String,
    example: 'LotTransferred',
  })
  eventName!: string | null;
  @ApiProperty({
    description: 'When the transaction was committed (ledger time, UTC)',
    example: '2026-10-08T02:00:00.000Z',
  })
  committedAt!: string;
  @ApiProperty({ type: LotDto, description: 'The lot as this transaction left it' })
  lot!: LotDto;
}

@ApiSchema({ description: 'Every committed version of a lot, oldest first' })
export class LotHistoryDto {
  @ApiProperty({ description: 'The lot', example: SERIAL_EXAMPLE })
  lotId!: string;
  @ApiProperty({ type: [LotVersionDto], description: 'Oldest first' })
  versions!: LotVersionDto[];
}

@ApiSchema({ description: 'The answer of a redemption check (兑付信息核查) for one serial number' })
export class RedemptionCheckDto {
  @ApiProperty({ description: 'The certificate serial asked about', example: SERIAL_EXAMPLE })
  serial!: string;
  @ApiProperty({ description: 'The lot holding the serial', example: SERIAL_EXAMPLE })
  lotId!: string;
  @ApiProperty({
    description: 'The state of the lot holding the serial',
    enum: LOT_STATUSES,
    example: 'REDEEMED',
  })
  status!: string;
  @ApiProperty({
    description: 'Participant that holds (or held, when redeemed) the certificate',
    example: 'CON-SH-001',
  })
  owner!: string;
  @ApiProperty({ description: 'The generation unit', example: 'UNIT-ZJ-WIND-01' })
  unitId!: string;
  @ApiProperty({ description: 'Production month, YYYY-MM', example: '2026-09' })
  productionMonth!: string;
  @ApiProperty({ description: 'Redeemed (兑付/核销)', example: true })
  redeemed!: boolean;
  @ApiProperty({ description: 'Surrendered for green electricity (绿电兑换)', example: false })
  exchanged!: boolean;
  @ApiProperty({
    description: 'The redemption that used it; null when not redeemed',
    nullable: true,
    type: String,
    example: 'RDM-2026-0001',
  })
  redemptionId!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'For whom', example: '上海某制造有限公司' })
  beneficiary!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'For what', example: '2026 年度绿电消费声明' })
  purpose!: string | null;
  @ApiProperty({
    description: 'Start of the consumption period redeemed for (UTC); null when not redeemed',
    nullable: true,
    type: String,
    example: '2025-12-31T16:00:00.000Z',
  })
  consumptionPeriodStart!: string | null;
  @ApiProperty({
    description: 'End of that period, exclusive (UTC); null when not redeemed',
    nullable: true,
    type: String,
    example: '2026-12-31T16:00:00.000Z',
  })
  consumptionPeriodEnd!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'When redeemed or exchanged',
    example: '2026-11-21T08:00:00.000Z',
  })
  consumedAt!: string | null;
  @ApiProperty({
    description: 'Ledger transaction of the redemption or exchange; null when neither',
    nullable: true,
    type: String,
    example: '9a1c4e7b2d5f8a0c3e6b9d1f4a7c0e2b5d8f1a3c6e9b2d4f7a0c3e5b8d1f4a6c',
  })
  consumedTxId!: string | null;
  @ApiProperty({
    description: 'The exchange that surrendered it; null when not exchanged',
    example: 'EXC-2026-0001',
    nullable: true,
    type: String,
  })
  exchangeId!: string | null;
  @ApiProperty({
    description: 'The trading center’s settlement reference of that exchange; null when not exchanged',
    example: 'SETTLE-2026-11-000123',
    nullable: true,
    type: String,
  })
  electricityReference!: string | null;
}

// ---- Mapping ledger objects to responses ---------------------------------------------------------------------

export function toLotDto(lot: CertificateLot, blockNumber: number): LotDto {
  return {
    id: lot.id,
    serialStart: lot.serialStart,
    serialEnd: lot.serialEnd,
    sequenceStart: lot.sequenceStart,
    sequenceEnd: lot.sequenceEnd,
    certificates: lot.volume,
    volumeKwh: lot.volume * KWH_PER_CERTIFICATE,
    projectCode: lot.projectCode,
    unitId: lot.unitId,
    technology: lot.technology,
    province: lot.province,
    productionMonth: lot.productionMonth,
    productionPeriodStart: iso(lot.productionPeriodStart),
    productionPeriodEnd: iso(lot.productionPeriodEnd),
    electricityClass: lot.electricityClass,
    tradeClass: lot.tradeClass,
    issuanceId: lot.issuanceId,
    issuedAt: iso(lot.issuedAt),
    expiresAt: iso(lot.expiresAt),
    owner: lot.owner,
    status: lot.status,
    tradable: lot.tradable,
    boundToGreenPowerTrade: lot.boundToGreenPowerTrade,
    greenPowerTradeId: orNull(lot.greenPowerTradeId),
    parentLotId: orNull(lot.parentLotId),
    listingId: orNull(lot.listingId),
    redemptionId: orNull(lot.redemptionId),
    exchangeId: orNull(lot.exchangeId),
    statusReason: orNull(lot.statusReason),
    createdAt: iso(lot.createdAt),
    updatedAt: iso(lot.updatedAt),
    ledger: proof(lot.updatedTxId, blockNumber, lot.updatedAt),
  };
}

export function toIssuanceDto(issuance: Issuance, blockNumber: number): IssuanceDto {
  return {
    id: issuance.id,
    unitId: issuance.unitId,
    projectCode: issuance.projectCode,
    productionMonth: issuance.productionMonth,
    periodStart: iso(issuance.periodStart),
    periodEnd: iso(issuance.periodEnd),
    meters: issuance.meters.map((m) => ({
      meterId: m.meterId,
      version: m.version,
      totalKwh: whToKwh(m.totalWh),
    })),
    attestedKwh: whToKwh(issuance.attestedWh),
    carryInKwh: whToKwh(issuance.carryInWh),
    carryOutKwh: whToKwh(issuance.carryOutWh),
    certificates: issuance.certificates,
    volumeKwh: issuance.certificates * KWH_PER_CERTIFICATE,
    lotId: orNull(issuance.lotId),
    serialStart: orNull(issuance.serialStart),
    serialEnd: orNull(issuance.serialEnd),
    tradable: issuance.tradable,
    validityMonths: issuance.validityMonths,
    expiresAt: iso(issuance.expiresAt),
    issuedAt: iso(issuance.issuedAt),
    issuedByMsp: issuance.issuedByMsp,
    ledger: proof(issuance.updatedTxId, blockNumber, issuance.updatedAt),
  };
}

export function toRedemptionCheckDto(check: RedemptionCheck): RedemptionCheckDto {
  return {
    serial: check.serial,
    lotId: check.lotId,
    status: check.status,
    owner: check.owner,
    unitId: check.unitId,
    productionMonth: check.productionMonth,
    redeemed: check.redeemed,
    exchanged: check.exchanged,
    redemptionId: orNull(check.redemptionId),
    beneficiary: orNull(check.beneficiary),
    purpose: orNull(check.purpose),
    consumptionPeriodStart: check.consumptionPeriodStart ? iso(check.consumptionPeriodStart) : null,
    consumptionPeriodEnd: check.consumptionPeriodEnd ? iso(check.consumptionPeriodEnd) : null,
    consumedAt: check.consumedAt ? iso(check.consumedAt) : null,
    consumedTxId: orNull(check.consumedTxId),
    exchangeId: orNull(check.exchangeId),
    electricityReference: orNull(check.electricityReference),
  };
}
