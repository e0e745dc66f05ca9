import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { PageQueryDto } from '../common/pagination';

export const VOUCHER_STATUSES = ['IN_CUSTODY', 'RELEASED', 'CLAIMED', 'REVOKED'] as const;
const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

export class ListVouchersQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Only vouchers of this consumer', example: 'CON-ZJ-001' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: 'consumer must be 1-64 characters of A-Z a-z 0-9 . _ -' })
  consumer?: string;

  @ApiPropertyOptional({
    description: 'Only vouchers in this status',
    example: 'IN_CUSTODY',
    enum: VOUCHER_STATUSES,
  })
  @IsOptional()
  @IsIn(VOUCHER_STATUSES, { message: `status must be one of ${VOUCHER_STATUSES.join(', ')}` })
  status?: string;
}

export class ReleaseVoucherDto {
  @ApiPropertyOptional({
    example: 'CON-ZJ-001',
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

  @ApiProperty({ description: 'First month the claim reports consumption for, YYYY-MM', example: '2026-01' })
  @Matches(MONTH, { message: 'reportingStartMonth must be YYYY-MM' })
  reportingStartMonth!: string;

  @ApiProperty({ description: 'Last month, YYYY-MM', example: '2026-12' })
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
  @ApiProperty({ description: 'A source lot', example: 'P33090020240000172026090000001WT' })
  lotId!: string;
  @ApiProperty({ example: 'P33090020240000172026090000001WT', description: 'First serial of the range' })
  serialStart!: string;
  @ApiProperty({ example: 'P33090020240000172026090000010WT', description: 'Last serial of the range' })
  serialEnd!: string;
  @ApiProperty({ example: 10, description: 'Certificates (MWh)' })
  volume!: number;
}

export class VoucherLedgerProofDto {
  @ApiProperty({
    description: 'Ledger transaction id',
    example: '3f7c0b9e5d1a4c2b8e6f0a1d3c5b7e9f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b',
  })
  txId!: string;
  @ApiProperty({ description: 'Block number of the transaction', example: 12 })
  blockNumber!: number;
  @ApiProperty({ description: 'Fabric validation code (VALID when committed)', example: 'VALID' })
  validationCode!: string;
  @ApiProperty({ description: 'When the block was committed (UTC)', example: '2026-11-21T08:00:02.000Z' })
  committedAt!: string;
}

export class VoucherTradeDto {
  @ApiProperty({ description: 'The trade the voucher attests', example: 'T-2026-10-0001' })
  tradeId!: string;
  @ApiProperty({ description: 'Kind of the trade', example: 'GREEN_POWER' })
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
  @ApiProperty({ description: 'First month the claim reports consumption for, YYYY-MM', example: '2026-01' })
  reportingStartMonth!: string;
  @ApiProperty({ description: 'Last month, YYYY-MM', example: '2026-12' })
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
  @ApiProperty({ description: 'The status entered', enum: VOUCHER_STATUSES, example: 'IN_CUSTODY' })
  status!: string;
  @ApiProperty({ description: 'When (ledger time, UTC)', example: '2026-11-21T08:00:00.000Z' })
  at!: string;
  @ApiProperty({
    example: '3f7c0b9e5d1a4c2b8e6f0a1d3c5b7e9f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b',
    description: 'The transaction of the change',
  })
  txId!: string;
  @ApiProperty({ description: 'Identity that made the change', example: 'admin' })
  by!: string;
  @ApiProperty({ description: 'MSP of the organisation that made the change', example: 'TradingCenterMSP' })
  byMsp!: string;
  @ApiProperty({ description: 'Why ("" when none was given)', example: '' })
  reason!: string;
}

export class VoucherDto {
  @ApiProperty({ description: 'Voucher id: VCH- and the trade id', example: 'VCH-T-2026-10-0001' })
  id!: string;
  @ApiProperty({ description: 'The buyer whose consumption it evidences', example: 'CON-ZJ-001' })
  consumer!: string;
  @ApiProperty({ description: 'The seller of the green power', example: 'GEN-ZJ-001' })
  seller!: string;
  @ApiProperty({ description: 'Volume in kWh', example: 10000 })
  volumeKwh!: number;
  @ApiProperty({
    description: 'Start of delivery, as the trade data gives it',
    example: '2026-10-01T00:00:00+08:00',
  })
  periodStart!: string;
  @ApiProperty({ description: 'End of delivery, exclusive', example: '2026-11-01T00:00:00+08:00' })
  periodEnd!: string;
  @ApiProperty({
    description: 'IN_CUSTODY (custody contract 绿电凭证托管合约) → RELEASED → CLAIMED, or REVOKED',
    example: 'IN_CUSTODY',
    enum: VOUCHER_STATUSES,
  })
  status!: string;
  @ApiProperty({
    description: 'Why it was revoked; null otherwise',
    example: 'trade disputed',
    nullable: true,
    type: String,
  })
  statusReason!: string | null;
  @ApiProperty({ description: 'The certificate lots behind the voucher', type: [VoucherLotDto] })
  sourceLots!: VoucherLotDto[];
  @ApiProperty({ description: 'Total price in fen (CNY/100)', example: 4500000 })
  priceFen!: number;
  @ApiProperty({ description: 'Currency of the price', example: 'CNY' })
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
  @ApiProperty({ description: 'This page’s vouchers, ordered by id', type: [VoucherDto] })
  items!: VoucherDto[];
  @ApiProperty({
    description: 'Cursor of the next page (send it as `cursor`); null on the last page',
    example: 'eyJpZCI6IlZDSC1ULTIwMjYtMTAtMDAwMSJ9',
    nullable: true,
    type: String,
  })
  nextCursor!: string | null;
}
