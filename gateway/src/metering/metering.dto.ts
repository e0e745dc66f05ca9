import { ApiProperty, ApiPropertyOptional, ApiSchema, OmitType } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { ProblemDto } from '../common/problem';
import { LedgerProofDto } from '../participants/participants.dto';

export const METER_KINDS = ['GENERATION', 'CONSUMPTION'] as const;
export type MeterKind = (typeof METER_KINDS)[number];
/** Intervals that divide an hour. */
export const INTERVAL_MINUTES = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60] as const;

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const ID_MESSAGE = 'must be 1-64 characters of A-Z a-z 0-9 . _ -';
// eslint-disable-next-line no-control-regex
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f]*$/;

export class RegisterMeterDto {
  @ApiProperty({ description: 'Meter id chosen by the energy platform', example: 'MTR-WIND-001' })
  @Matches(ID_PATTERN, { message: `meterId ${ID_MESSAGE}` })
  meterId!: string;

  @ApiProperty({
    description: 'GENERATION meters belong to a unit; CONSUMPTION meters to a consumer',
    enum: METER_KINDS,
    example: 'GENERATION',
  })
  @IsIn(METER_KINDS, { message: `kind must be one of ${METER_KINDS.join(', ')}` })
  kind!: MeterKind;

  @ApiProperty({
    description: 'Participant id of the owner: a GENERATOR for GENERATION meters, a CONSUMER for CONSUMPTION',
    example: 'GEN-ZJ-001',
  })
  @Matches(ID_PATTERN, { message: `owner ${ID_MESSAGE}` })
  owner!: string;

  @ApiPropertyOptional({
    description:
      'Generation unit the meter belongs to (required for GENERATION, absent for CONSUMPTION); the unit must ' +
      'list the meter on the ledger and belong to the owner',
    example: 'UNIT-WIND-001',
  })
  @IsOptional()
  @Matches(ID_PATTERN, { message: `unitId ${ID_MESSAGE}` })
  unitId?: string;

  @ApiPropertyOptional({
    description: 'Reading interval in minutes; must divide 60',
    enum: INTERVAL_MINUTES,
    default: 15,
    example: 15,
  })
  @IsOptional()
  @IsInt({ message: 'intervalMinutes must be an integer' })
  @IsIn(INTERVAL_MINUTES, { message: `intervalMinutes must divide 60: ${INTERVAL_MINUTES.join(', ')}` })
  intervalMinutes?: number;
}

export class MeterDto {
  @ApiProperty({ description: 'Meter id', example: 'MTR-WIND-001' })
  meterId!: string;
  @ApiProperty({ description: 'GENERATION or CONSUMPTION', enum: METER_KINDS, example: 'GENERATION' })
  kind!: MeterKind;
  @ApiProperty({ description: 'The participant owning the meter', example: 'GEN-ZJ-001' })
  owner!: string;
  @ApiProperty({
    description: 'The unit of a generation meter; null for a consumption meter',
    nullable: true,
    type: String,
    example: 'UNIT-WIND-001',
  })
  unitId!: string | null;
  @ApiProperty({ description: 'Reading interval in minutes', example: 15 })
  intervalMinutes!: number;
  @ApiProperty({ description: 'When the meter was registered (UTC)', example: '2026-11-21T08:00:00.000Z' })
  registeredAt!: string;
}

export class IngestQueryDto {
  @ApiPropertyOptional({
    example: 'atomic',
    enum: ['partial', 'atomic'],
    default: 'partial',
    description:
      'partial: store every good line and report the bad ones; atomic: any bad line stores nothing',
  })
  @IsOptional()
  @IsIn(['partial', 'atomic'], { message: 'mode must be partial or atomic' })
  mode?: 'partial' | 'atomic';

  @ApiPropertyOptional({
    example: 'false',
    description: 'Supersede stored values (kept as a new version; the old one is retained). Needs reason.',
    enum: ['true', 'false'],
    default: 'false',
  })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'correction must be true or false' })
  correction?: 'true' | 'false';

  @ApiPropertyOptional({
    description: 'Why the values are corrected (1-256 characters)',
    example: 'CT ratio fix',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  @Matches(NO_CONTROL_CHARACTERS, { message: 'reason must not contain control characters' })
  reason?: string;
}

export class LineErrorDto {
  @ApiProperty({ description: '1-based line of the body (the CSV header is line 1)', example: 17 })
  line!: number;
  @ApiPropertyOptional({
    description: 'Meter of the bad line (when it could be read)',
    example: 'MTR-WIND-001',
  })
  meterId?: string;
  @ApiPropertyOptional({ description: 'The field at fault', example: 'kwh' })
  field?: string;
  @ApiProperty({
    example: 'NEGATIVE_VALUE',
    description:
      'MALFORMED_LINE, MISSING_FIELD, INVALID_METER_ID, INVALID_TIMESTAMP, INVALID_VALUE, NEGATIVE_VALUE, ' +
      'TOO_MANY_DECIMALS, MISALIGNED_INTERVAL, FUTURE_INTERVAL, UNKNOWN_METER, PERIOD_FROZEN, ' +
      'DUPLICATE_IN_REQUEST, READING_CONFLICT',
  })
  code!: string;
  @ApiProperty({ description: 'What is wrong with it', example: 'kwh must not be negative (got -1.5)' })
  message!: string;
}

export class IngestResultDto {
  @ApiProperty({ description: 'Readings stored for the first time', example: 2976 })
  accepted!: number;
  @ApiProperty({ description: 'Readings identical to what is stored (nothing changed)', example: 0 })
  unchanged!: number;
  @ApiProperty({ description: 'Readings superseded by a correction (new version)', example: 0 })
  corrected!: number;
  @ApiProperty({ description: 'Bad lines (total, even when more than are listed)', example: 0 })
  rejected!: number;
  @ApiProperty({ type: [LineErrorDto], description: 'The first 1000 bad lines, in line order' })
  errors!: LineErrorDto[];
  @ApiProperty({ description: 'True when more bad lines exist than are listed', example: false })
  errorsTruncated!: boolean;
}

/**
 * The 422 of `mode=atomic` ingestion: a problem document whose `errors` are the bad lines (`{ line, code,
 * message }`, as in the 200 answer), not the `{ field, message }` of a validation failure, plus the counts.
 */
@ApiSchema({
  description:
    'READINGS_REJECTED (mode=atomic, nothing stored): a problem document with the counts and the bad lines',
})
export class ReadingsRejectedProblemDto extends OmitType(ProblemDto, ['errors'] as const) {
  @ApiProperty({ description: 'Readings that would have been stored for the first time', example: 2975 })
  accepted!: number;
  @ApiProperty({ description: 'Readings identical to what is stored', example: 0 })
  unchanged!: number;
  @ApiProperty({ description: 'Readings that a correction would have superseded', example: 0 })
  corrected!: number;
  @ApiProperty({ description: 'Bad lines (total, even when more than are listed)', example: 1 })
  rejected!: number;
  @ApiProperty({ type: [LineErrorDto], description: 'The first 1000 bad lines, in line order' })
  errors!: LineErrorDto[];
  @ApiProperty({ description: 'True when more bad lines exist than are listed', example: false })
  errorsTruncated!: boolean;
}

export class CompletenessQueryDto {
  @ApiProperty({ description: 'Asia/Shanghai calendar month', example: '2026-10' })
  @Matches(/^\d{4}-(0[1-9]|1[0-2])$/, { message: 'period must be a month YYYY-MM' })
  period!: string;
}

export class IntervalRangeDto {
  @ApiProperty({ description: 'First missing interval start', example: '2026-10-03T02:00:00.000Z' })
  from!: string;
  @ApiProperty({ description: 'End (exclusive) of the gap', example: '2026-10-03T04:00:00.000Z' })
  to!: string;
  @ApiProperty({ description: 'Number of missing intervals', example: 8 })
  intervals!: number;
}

export class CompletenessDto {
  @ApiProperty({ description: 'The meter', example: 'MTR-WIND-001' })
  meterId!: string;
  @ApiProperty({ description: 'The month, YYYY-MM (China Standard Time)', example: '2026-10' })
  period!: string;
  @ApiProperty({ description: 'Start of the month (given in UTC)', example: '2026-09-30T16:00:00.000Z' })
  periodStart!: string;
  @ApiProperty({
    description: 'End of the month, exclusive (given in UTC)',
    example: '2026-10-31T16:00:00.000Z',
  })
  periodEnd!: string;
  @ApiProperty({ description: 'The meter’s reading interval in minutes', example: 15 })
  intervalMinutes!: number;
  @ApiProperty({ description: 'Intervals in the month', example: 2976 })
  expected!: number;
  @ApiProperty({ description: 'Intervals with a reading', example: 2968 })
  present!: number;
  @ApiProperty({ description: 'Every interval has a reading', example: false })
  complete!: boolean;
  @ApiProperty({ description: 'Number of missing intervals', example: 8 })
  missingIntervals!: number;
  @ApiProperty({ type: [IntervalRangeDto], description: 'The gaps, as half-open ranges (first 1000)' })
  missing!: IntervalRangeDto[];
}

export class ClosePeriodDto {
  @ApiPropertyOptional({
    description:
      'Reason of a re-close after a correction (default: the reason sent with the correction); ignored on ' +
      'the first close',
    example: 'CT ratio fix',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  @Matches(NO_CONTROL_CHARACTERS, { message: 'reason must not contain control characters' })
  reason?: string;
}

export class AttestationDto {
  @ApiProperty({ description: 'Attestation version (1, then one more per re-close)', example: 1 })
  version!: number;
  @ApiProperty({ description: 'Total of the period in Wh (decimal string)', example: '1234567890' })
  totalWh!: string;
  @ApiProperty({ description: 'Total in kWh with 3 decimals', example: '1234567.890' })
  totalKwh!: string;
  @ApiProperty({ description: 'Readings the total covers', example: 2976 })
  readingCount!: number;
  @ApiProperty({ description: 'Merkle root of the readings (SHA-256, hex)', example: 'ab'.repeat(32) })
  digest!: string;
  @ApiProperty({
    description: 'Reason of a re-close after a correction; null for the first close',
    example: 'meter 14 replaced, readings corrected',
    nullable: true,
    type: String,
  })
  reason!: string | null;
  @ApiProperty({ description: 'Ledger proof of the attestation transaction', type: LedgerProofDto })
  ledger!: LedgerProofDto;
}

export class PeriodDto {
  @ApiProperty({ description: 'The meter', example: 'MTR-WIND-001' })
  meterId!: string;
  @ApiProperty({ description: 'The month, YYYY-MM (China Standard Time)', example: '2026-10' })
  period!: string;
  @ApiProperty({
    example: 'CLOSED',
    enum: ['OPEN', 'CLOSED'],
    description: 'CLOSED: attested and frozen; OPEN: not attested, or changed by a correction since',
  })
  status!: 'OPEN' | 'CLOSED';
  @ApiProperty({ description: 'Total of the current readings in Wh', example: '1234567890' })
  totalWh!: string;
  @ApiProperty({
    description: 'Total of the stored readings in kWh (decimal string, 3 decimals)',
    example: '1234567.890',
  })
  totalKwh!: string;
  @ApiProperty({ description: 'Readings stored for the month', example: 2976 })
  readingCount!: number;
  @ApiProperty({ description: 'Intervals in the month', example: 2976 })
  expected!: number;
  @ApiProperty({ description: 'True once attested: later changes need correction=true', example: true })
  frozen!: boolean;
  @ApiProperty({ type: AttestationDto, nullable: true, description: 'The latest attestation' })
  attestation!: AttestationDto | null;
  @ApiProperty({ type: [AttestationDto], description: 'Every attestation version, oldest first' })
  versions!: AttestationDto[];
}

export class CloseResultDto extends AttestationDto {
  @ApiProperty({ description: 'The meter', example: 'MTR-WIND-001' })
  meterId!: string;
  @ApiProperty({ description: 'The month, YYYY-MM (China Standard Time)', example: '2026-10' })
  period!: string;
  @ApiProperty({
    description: 'Always CLOSED: the month is attested and frozen',
    enum: ['CLOSED'],
    example: 'CLOSED',
  })
  status!: 'CLOSED';
}
