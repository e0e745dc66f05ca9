import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches, registerDecorator, ValidationOptions } from 'class-validator';
import { PageQueryDto } from '../common/pagination';

export const PARTICIPANT_KINDS = [
  'GENERATOR',
  'CONSUMER',
  'TRADING_CENTER',
  'GRID_OPERATOR',
  'ISSUER',
  'REGULATOR',
] as const;
export type ParticipantKind = (typeof PARTICIPANT_KINDS)[number];

export const PARTICIPANT_STATUSES = ['ACTIVE', 'SUSPENDED', 'REVOKED'] as const;
export type ParticipantStatus = (typeof PARTICIPANT_STATUSES)[number];

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const PROVINCE_PATTERN = /^(1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|81|82)0000$/;
// eslint-disable-next-line no-control-regex
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f]*$/;

const CREDIT_CODE_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CREDIT_CODE_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** 统一社会信用代码 (GB 32100-2015): 18 characters, the last a mod-31 check character. */
export function isCreditCode(value: unknown): boolean {
  if (typeof value !== 'string' || !/^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/.test(value))
    return false;
  const sum = CREDIT_CODE_WEIGHTS.reduce(
    (total, weight, i) => total + CREDIT_CODE_CHARSET.indexOf(value[i]) * weight,
    0,
  );
  return CREDIT_CODE_CHARSET[(31 - (sum % 31)) % 31] === value[17];
}

/** Why `value` is not acceptable free text (trimmed, 1..max, no control characters), or undefined. */
function textProblem(value: unknown, max: number): string | undefined {
  if (value === undefined || value === null) return 'is required';
  if (typeof value !== 'string') return 'must be a string';
  if (value.trim().length === 0) return 'must not be blank';
  if (value.trim().length > max) return `must be at most ${max} characters`;
  if (!NO_CONTROL_CHARACTERS.test(value)) return 'must not contain control characters';
  return undefined;
}

/** Free text as the chaincode accepts it, with one precise message. */
function IsText(max: number) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isText',
      target: target.constructor,
      propertyName,
      validator: {
        validate: (value: unknown) => textProblem(value, max) === undefined,
        defaultMessage: (args) => `${args?.property} ${textProblem(args?.value, max)}`,
      },
    });
}

function IsCreditCode(options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isCreditCode',
      target: target.constructor,
      propertyName,
      options: {
        message: 'creditCode must be an 18-character unified social credit code with a valid check character',
        ...options,
      },
      validator: { validate: isCreditCode },
    });
}

export class RegisterParticipantDto {
  @ApiProperty({
    description: 'Participant id chosen by the integrator (1–64 of A-Z a-z 0-9 . _ -)',
    example: 'GEN-ZJ-001',
  })
  @Matches(ID_PATTERN, { message: 'id must be 1-64 characters of A-Z a-z 0-9 . _ -' })
  id!: string;

  @ApiProperty({
    description: 'What the participant is in the market; fixes what it may do',
    enum: PARTICIPANT_KINDS,
    example: 'GENERATOR',
  })
  @IsIn(PARTICIPANT_KINDS, { message: `kind must be one of ${PARTICIPANT_KINDS.join(', ')}` })
  kind!: ParticipantKind;

  @ApiProperty({ description: 'Legal name', example: '浙江某风电有限公司', maxLength: 200 })
  @IsText(200)
  name!: string;

  @ApiProperty({ description: 'Province-level GB/T 2260 code', example: '330000' })
  @Matches(PROVINCE_PATTERN, { message: 'region must be a province-level GB/T 2260 code such as 330000' })
  region!: string;

  @ApiProperty({
    description:
      'Unified social credit code (统一社会信用代码). Sent to the chaincode in the transient map only: the ledger ' +
      'keeps a salted hash; the gateway never logs or stores it.',
    example: '91330000MA27XL0E2T',
    writeOnly: true,
  })
  @IsCreditCode()
  creditCode!: string;
}

export class ChangeParticipantStatusDto {
  @ApiProperty({
    description: 'The new status (REVOKED is final)',
    enum: PARTICIPANT_STATUSES,
    example: 'SUSPENDED',
  })
  @IsIn(PARTICIPANT_STATUSES, { message: `status must be one of ${PARTICIPANT_STATUSES.join(', ')}` })
  status!: ParticipantStatus;

  @ApiProperty({ description: 'Why (kept on the ledger)', example: 'licence under review', maxLength: 256 })
  @IsText(256)
  reason!: string;
}

export class ListParticipantsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    description: 'Only participants of this kind',
    enum: PARTICIPANT_KINDS,
    example: 'GENERATOR',
  })
  @IsOptional()
  @IsIn(PARTICIPANT_KINDS, { message: `kind must be one of ${PARTICIPANT_KINDS.join(', ')}` })
  kind?: ParticipantKind;

  @ApiPropertyOptional({
    description: 'Only participants in this status',
    enum: PARTICIPANT_STATUSES,
    example: 'ACTIVE',
  })
  @IsOptional()
  @IsIn(PARTICIPANT_STATUSES, { message: `status must be one of ${PARTICIPANT_STATUSES.join(', ')}` })
  status?: ParticipantStatus;
}

export class LedgerProofDto {
  @ApiProperty({
    description: 'Transaction id',
    example: '3f7c0b9e5d1a4c2b8e6f0a1d3c5b7e9f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b',
  })
  txId!: string;
  @ApiProperty({ description: 'Block the transaction was committed in', example: 12 })
  blockNumber!: number;
  @ApiProperty({ description: 'Fabric validation code', example: 'VALID' })
  validationCode!: string;
  @ApiProperty({ description: 'Transaction time (RFC 3339)', example: '2026-11-21T08:00:00.000Z' })
  committedAt!: string;
}

export class ParticipantDto {
  @ApiProperty({ description: 'Participant id, unique in the consortium', example: 'GEN-ZJ-001' })
  id!: string;
  @ApiProperty({
    description: 'What the participant is in the market',
    enum: PARTICIPANT_KINDS,
    example: 'GENERATOR',
  })
  kind!: string;
  @ApiProperty({ description: 'Registered name of the enterprise', example: '浙江某风电有限公司' })
  name!: string;
  @ApiProperty({ description: 'Administrative division code (GB/T 2260) of the province', example: '330000' })
  region!: string;
  @ApiProperty({
    description: 'ACTIVE may trade; SUSPENDED may not for now; REVOKED for good',
    enum: PARTICIPANT_STATUSES,
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
  @ApiProperty({ description: 'MSP of the organisation that registered it', example: 'GridMSP' })
  registeredByMsp!: string;
  @ApiProperty({
    description: 'When it was registered on the ledger (UTC)',
    example: '2026-11-21T08:00:00.000Z',
  })
  registeredAt!: string;
  @ApiProperty({ description: 'When it last changed (UTC)', example: '2026-11-21T08:00:00.000Z' })
  updatedAt!: string;
  @ApiProperty({ type: LedgerProofDto, description: 'The transaction that last changed this participant' })
  ledger!: LedgerProofDto;
}

export class ParticipantPageDto {
  @ApiProperty({ description: 'This page’s participants, ordered by id', type: [ParticipantDto] })
  items!: ParticipantDto[];
  @ApiProperty({
    description: 'Cursor of the next page (send it as `cursor`); null on the last page',
    nullable: true,
    type: String,
    example: 'eyJpZCI6IkdFTi1aSi0wMDEifQ',
  })
  nextCursor!: string | null;
}
