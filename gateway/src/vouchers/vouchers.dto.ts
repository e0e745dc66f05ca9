import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { PageQueryDto } from '../common/pagination';

export const VOUCHER_STATUSES = ['IN_CUSTODY', 'RELEASED', 'CLAIMED', 'REVOKED'] as const;
const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

export class ListVouchersQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'CON-ZJ-001' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: 'consumer must be 1-64 characters of A-Z a-z 0-9 . _ -' })
  consumer?: string;

  @ApiPropertyOptional({ enum: VOUCHER_STATUSES })
  @IsOptional()
  @IsIn(VOUCHER_STATUSES, { message: `status must be one of ${VOUCHER_STATUSES.join(', ')}` })
  status?: string;
}

export class ReleaseVoucherDto {
  @ApiPropertyOptional({
    description: 'The holder (the voucher’s consumer); default: the voucher’s consumer',
  })
  @IsOptional()
  @Matches(ID_PATTERN, { message: 'holder must be 1-64 characters of A-Z a-z 0-9 . _ -' })
  holder?: string;
}

export class ClaimVoucherDto extends ReleaseVoucherDto {
  @ApiProperty({ description: 'What the voucher is filed as evidence for', example: '2026 年度绿电消费核算' })
  @IsString({ message: 'purpose must be a string' })
  @MinLength(1, { message: 'purpose must not be empty' })
  @MaxLength(256, { message: 'purpose must be at most 256 characters' })
  purpose!: string;

  @ApiProperty({ example: '2026-01' })
  @Matches(MONTH, { message: 'reportingStartMonth must be YYYY-MM' })
  reportingStartMonth!: string;

  @ApiProperty({ example: '2026-12' })
  @Matches(MONTH, { message: 'reportingEndMonth must be YYYY-MM' })
  reportingEndMonth!: string;
}

export class RevokeVoucherDto {
  @ApiProperty({ description: 'Why (kept on the ledger)', example: 'trade disputed' })
  @IsString({ message: 'reason must be a string' })
  @MinLength(1, { message: 'reason must not be empty' })
  @MaxLength(256, { message: 'reason must be at most 256 characters' })
  reason!: string;
}

export class VoucherLotDto {
  @ApiProperty()
  lotId!: string;
  @ApiProperty({ description: 'First serial of the range' })
  serialStart!: string;
  @ApiProperty({ description: 'Last serial of the range' })
  serialEnd!: string;
  @ApiProperty({ description: 'Certificates (MWh)' })
  volume!: number;
}

export class VoucherLedgerProofDto {
  @ApiProperty()
  txId!: string;
  @ApiProperty()
  blockNumber!: number;
  @ApiProperty({ example: 'VALID' })
  validationCode!: string;
  @ApiProperty()
  committedAt!: string;
}

export class VoucherTradeDto {
  @ApiProperty({ example: 'T-2026-10-0001' })
  tradeId!: string;
  @ApiProperty({ example: 'GREEN_POWER' })
  kind!: string;
  @ApiProperty({
    description: 'SHA-256 hex of the canonical trade data (null: the trade is not in this gateway’s store)',
    type: String,
    nullable: true,
    example: 'ab'.repeat(32),
  })
  tradeDataHash!: string | null;
  @ApiProperty({
    description: 'SHA-256 hex of the canonical check data (null as above)',
    type: String,
    nullable: true,
    example: 'cd'.repeat(32),
  })
  checkDataHash!: string | null;
  @ApiProperty({
    description: 'Digest of the meter evidence (null as above)',
    type: String,
    nullable: true,
    example: 'ef'.repeat(32),
  })
  meterEvidenceDigest!: string | null;
}

export class VoucherClaimDto {
  @ApiProperty({ description: 'What the voucher is filed as evidence for', example: '2026 年度绿电消费核算' })
  purpose!: string;
  @ApiProperty({ example: '2026-01' })
  reportingStartMonth!: string;
  @ApiProperty({ example: '2026-12' })
  reportingEndMonth!: string;
  @ApiProperty({
    description: 'Start of the first month (Asia/Shanghai)',
    example: '2025-12-31T16:00:00.000Z',
  })
  reportingPeriodStart!: string;
  @ApiProperty({ description: 'End of the last month (exclusive)', example: '2026-12-31T16:00:00.000Z' })
  reportingPeriodEnd!: string;
}

export class VoucherStatusChangeDto {
  @ApiProperty({ enum: VOUCHER_STATUSES, example: 'IN_CUSTODY' })
  status!: string;
  @ApiProperty({ example: '2026-11-21T08:00:00.000Z' })
  at!: string;
  @ApiProperty({ description: 'The transaction of the change' })
  txId!: string;
  @ApiProperty({ description: 'Identity that made the change', example: 'admin' })
  by!: string;
  @ApiProperty({ example: 'TradingCenterMSP' })
  byMsp!: string;
  @ApiProperty({ description: 'Why ("" when none was given)', example: '' })
  reason!: string;
}

export class VoucherDto {
  @ApiProperty({ example: 'VCH-T-2026-10-0001' })
  id!: string;
  @ApiProperty()
  consumer!: string;
  @ApiProperty()
  seller!: string;
  @ApiProperty()
  volumeKwh!: number;
  @ApiProperty()
  periodStart!: string;
  @ApiProperty()
  periodEnd!: string;
  @ApiProperty({ enum: VOUCHER_STATUSES })
  status!: string;
  @ApiProperty({ nullable: true, type: String })
  statusReason!: string | null;
  @ApiProperty({ type: [VoucherLotDto] })
  sourceLots!: VoucherLotDto[];
  @ApiProperty()
  priceFen!: number;
  @ApiProperty()
  currency!: string;
  @ApiProperty({ description: 'The attested trade behind the voucher', type: VoucherTradeDto })
  trade!: VoucherTradeDto;
  @ApiProperty({
    description: 'What the voucher was claimed for (null until it is CLAIMED)',
    type: VoucherClaimDto,
    nullable: true,
  })
  claimedFor!: VoucherClaimDto | null;
  @ApiProperty({
    description: 'Every status change, the issue included, oldest first',
    type: [VoucherStatusChangeDto],
  })
  history!: VoucherStatusChangeDto[];
  @ApiProperty({ type: VoucherLedgerProofDto, description: 'The transaction that issued the voucher' })
  ledger!: VoucherLedgerProofDto;
  @ApiProperty({ type: VoucherLedgerProofDto, description: 'The transaction that last changed it' })
  lastChange!: VoucherLedgerProofDto;
}

export class VoucherPageDto {
  @ApiProperty({ type: [VoucherDto] })
  items!: VoucherDto[];
  @ApiProperty({ nullable: true, type: String })
  nextCursor!: string | null;
}
