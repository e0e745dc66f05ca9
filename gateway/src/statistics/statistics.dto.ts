import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { ANSWER_FORMATS, type AnswerFormat } from '../exports/formats';
import { DATE_BOUND_MESSAGE, DATE_BOUND_PATTERN } from './date-range';
import { DIMENSIONS } from './certificate-statistics';

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const GROUP_BY_PATTERN = new RegExp(`^(${DIMENSIONS.join('|')})(,(${DIMENSIONS.join('|')}))*$`);

/** `from`, `to` and `format`: every statistic. */
export class StatisticQueryDto {
  @ApiProperty({
    description:
      'Start of the range, included: a month `YYYY-MM` or a day `YYYY-MM-DD` (from its first instant in ' +
      'Asia/Shanghai) or an RFC 3339 date-time with offset',
    example: '2026-01',
  })
  @Matches(DATE_BOUND_PATTERN, { message: `from ${DATE_BOUND_MESSAGE}` })
  from!: string;

  @ApiProperty({
    description: 'End of the range, excluded (same forms as `from`); must be after `from`',
    example: '2027-01',
  })
  @Matches(DATE_BOUND_PATTERN, { message: `to ${DATE_BOUND_MESSAGE}` })
  to!: string;

  @ApiPropertyOptional({
    description:
      'Answer as JSON (default), or stream the rows as CSV (RFC 4180, a header row) or NDJSON; without it the ' +
      '`Accept` header chooses (`text/csv`, `application/x-ndjson`, `application/json`)',
    enum: ANSWER_FORMATS,
    example: 'json',
  })
  @IsOptional()
  @IsIn(ANSWER_FORMATS, { message: `format must be one of ${ANSWER_FORMATS.join(', ')}` })
  format?: AnswerFormat;
}

export class CertificateStatisticsQueryDto extends StatisticQueryDto {
  @ApiPropertyOptional({
    description:
      'Comma-separated dimensions to group by, in any combination: `month` (Asia/Shanghai calendar month of ' +
      'the event), `province` and `technology` (of the generation unit), `participant` (the issued ' +
      'certificates’ generator, the seller of traded ones, the holder of redeemed, exchanged, expired and ' +
      'withdrawn ones). Default `month`.',
    example: 'month,province',
    default: 'month',
  })
  @IsOptional()
  @Matches(GROUP_BY_PATTERN, {
    message: `groupBy must be a comma-separated list of ${DIMENSIONS.join(', ')}`,
  })
  groupBy?: string;
}

export class GreenConsumptionQueryDto extends StatisticQueryDto {
  @ApiPropertyOptional({ description: 'Only this consumer', example: 'CON-SH-001' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: 'consumer must be 1-64 characters of A-Z a-z 0-9 . _ -' })
  consumer?: string;
}

export class RejectedTradesQueryDto extends StatisticQueryDto {}

class CertificateMeasuresDto {
  @ApiProperty({ description: 'Certificates issued (注册绿证)', example: 1200 })
  issued!: number;
  @ApiProperty({
    description: 'Certificates traded: sold from listings, moved by attested trades, transferred',
    example: 800,
  })
  traded!: number;
  @ApiProperty({ description: 'Certificates redeemed (兑付/核销)', example: 300 })
  redeemed!: number;
  @ApiProperty({ description: 'Certificates exchanged for green electricity (绿电兑换)', example: 100 })
  exchanged!: number;
  @ApiProperty({ description: 'Certificates that expired', example: 20 })
  expired!: number;
  @ApiProperty({ description: 'Certificates withdrawn by the issuer or with a revoked voucher', example: 5 })
  withdrawn!: number;
}

@ApiSchema({ description: 'Certificates in the range, in total (the sum of the rows)' })
export class CertificateTotalsDto extends CertificateMeasuresDto {}

@ApiSchema({ description: 'One group: its dimensions (those grouped by) and certificate counts' })
export class CertificateStatisticsRowDto extends CertificateMeasuresDto {
  @ApiPropertyOptional({
    description: 'Calendar month (Asia/Shanghai), when grouped by month',
    example: '2026-10',
  })
  month?: string;
  @ApiPropertyOptional({
    description: 'Province code of the generation unit, when grouped by province',
    example: '130000',
    nullable: true,
    type: String,
  })
  province?: string | null;
  @ApiPropertyOptional({
    description: 'Technology of the generation unit, when grouped by technology',
    example: 'WIND',
    nullable: true,
    type: String,
  })
  technology?: string | null;
  @ApiPropertyOptional({
    description: 'Participant id, when grouped by participant',
    example: 'GEN-HB-001',
    nullable: true,
    type: String,
  })
  participant?: string | null;
  @ApiPropertyOptional({
    description: 'Participant name, when grouped by participant',
    example: '张家口某风电有限公司',
    nullable: true,
    type: String,
  })
  participantName?: string | null;
}

@ApiSchema({
  description: 'Certificates issued, traded, redeemed, exchanged, expired and withdrawn in a range',
})
export class CertificateStatisticsDto {
  @ApiProperty({ description: 'Start of the range (included)', example: '2025-12-31T16:00:00.000Z' })
  from!: string;
  @ApiProperty({ description: 'End of the range (excluded)', example: '2026-12-31T16:00:00.000Z' })
  to!: string;
  @ApiProperty({ description: 'The dimensions grouped by', example: ['month', 'province'], type: [String] })
  groupBy!: string[];
  @ApiProperty({
    type: [CertificateStatisticsRowDto],
    description: 'One row per group, ordered by the dimensions',
  })
  rows!: CertificateStatisticsRowDto[];
  @ApiProperty({ type: CertificateTotalsDto, description: 'The sum of the rows' })
  totals!: CertificateTotalsDto;
}

class GreenMeasuresDto {
  @ApiProperty({ description: 'Vouchers (绿电凭证) created by trades attested in the range', example: 4 })
  vouchers!: number;
  @ApiProperty({ description: 'Green consumption attested, kWh (vouchers not revoked)', example: 120000 })
  greenKwh!: number;
  @ApiProperty({ description: 'Of it, kWh of vouchers claimed as consumption evidence', example: 60000 })
  claimedKwh!: number;
  @ApiProperty({ description: 'kWh of vouchers revoked since', example: 0 })
  revokedKwh!: number;
}

@ApiSchema({ description: 'Green consumption attested in the range, in total' })
export class GreenConsumptionTotalsDto extends GreenMeasuresDto {}

@ApiSchema({ description: 'Green consumption attested for one consumer' })
export class GreenConsumptionRowDto extends GreenMeasuresDto {
  @ApiProperty({ description: 'Consumer (participant id)', example: 'CON-SH-001' })
  consumer!: string;
  @ApiProperty({ description: 'Consumer name', example: '上海某制造有限公司', nullable: true, type: String })
  consumerName!: string | null;
  @ApiProperty({ description: 'Consumer’s province code', example: '310000', nullable: true, type: String })
  region!: string | null;
}

@ApiSchema({
  description: 'Green consumption attested per consumer: the vouchers of trades attested in a range',
})
export class GreenConsumptionDto {
  @ApiProperty({ description: 'Start of the range (included)', example: '2025-12-31T16:00:00.000Z' })
  from!: string;
  @ApiProperty({ description: 'End of the range (excluded)', example: '2026-12-31T16:00:00.000Z' })
  to!: string;
  @ApiProperty({ type: [GreenConsumptionRowDto], description: 'One row per consumer, by consumer id' })
  rows!: GreenConsumptionRowDto[];
  @ApiProperty({ type: GreenConsumptionTotalsDto, description: 'The sum of the rows' })
  totals!: GreenConsumptionTotalsDto;
}

@ApiSchema({ description: 'Rejected trades that failed one check' })
export class RejectedTradesRowDto {
  @ApiProperty({
    description:
      'The failed check (存证校验), or `ledger` for trades refused at attestation after every check passed',
    example: 'consumption-covers-volume',
  })
  check!: string;
  @ApiProperty({
    description: 'The ledger’s refusal code, for `ledger`; null for a failed check',
    example: null,
    nullable: true,
    type: String,
  })
  code!: string | null;
  @ApiProperty({ description: 'Trades rejected with this check failed', example: 3 })
  trades!: number;
  @ApiProperty({ description: 'Their volume, kWh', example: 90000 })
  volumeKwh!: number;
}

@ApiSchema({ description: 'Trades rejected in the range, each once' })
export class RejectedTradesTotalsDto {
  @ApiProperty({ description: 'Trades rejected', example: 5 })
  trades!: number;
  @ApiProperty({ description: 'Their volume, kWh', example: 150000 })
  volumeKwh!: number;
}

@ApiSchema({
  description: 'Trades rejected in a range by failed check (a trade counts under each check it failed)',
})
export class RejectedTradesDto {
  @ApiProperty({ description: 'Start of the range (included)', example: '2025-12-31T16:00:00.000Z' })
  from!: string;
  @ApiProperty({ description: 'End of the range (excluded)', example: '2026-12-31T16:00:00.000Z' })
  to!: string;
  @ApiProperty({ type: [RejectedTradesRowDto], description: 'One row per failed check, most trades first' })
  rows!: RejectedTradesRowDto[];
  @ApiProperty({ type: RejectedTradesTotalsDto, description: 'Rejected trades, each counted once' })
  totals!: RejectedTradesTotalsDto;
}
