import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsObject,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
  registerDecorator,
} from 'class-validator';
import { PageQueryDto } from '../common/pagination';
import { CHECK_ALGORITHMS } from '../signing/check-keys.dto';

export const TRADE_KINDS = ['GREEN_POWER', 'CERTIFICATE_ONLY'] as const;
export const TRADE_STATES = ['RECEIVED', 'VERIFYING', 'REJECTED', 'COMMITTING', 'COMMITTED'] as const;
export type TradeState = (typeof TRADE_STATES)[number];

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const ID_MESSAGE = 'must be 1-64 characters of A-Z a-z 0-9 . _ -';
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const KWH_PATTERN = /^\d{1,12}(\.\d{1,3})?$/;

/** A non-negative kWh value with at most 3 decimals, as a JSON number or a decimal string. */
function IsKwh() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isKwh',
      target: target.constructor,
      propertyName,
      options: { message: `${propertyName} must be a non-negative kWh value with at most 3 decimals` },
      validator: {
        validate: (value: unknown) =>
          (typeof value === 'number' &&
            Number.isFinite(value) &&
            value >= 0 &&
            KWH_PATTERN.test(String(value))) ||
          (typeof value === 'string' && KWH_PATTERN.test(value)),
      },
    });
}

export class ProfileIntervalDto {
  @ApiProperty({
    description: 'Start of the interval (RFC 3339 with offset)',
    example: '2026-10-01T00:00:00+08:00',
  })
  @Matches(RFC3339, { message: 'intervalStart must be an RFC 3339 date-time with offset' })
  intervalStart!: string;

  // A number or a decimal string (meters report either); without this the type reflected from
  // `number | string` is Object, and the document would ask for an object.
  @ApiProperty({
    description: 'kWh claimed in the interval (up to 3 decimals), as a number or a decimal string',
    oneOf: [
      { type: 'number', minimum: 0 },
      { type: 'string', pattern: KWH_PATTERN.source },
    ],
    example: 12.5,
  })
  @IsKwh()
  kwh!: number | string;
}

export class TradeLotDto {
  @ApiProperty({
    description:
      'Certificate lot id: the serial of the lot’s first certificate (project code, production month, ' +
      'sequence, electricity class, trade class); the lot must come from the delivery month',
    example: 'P3309002024000017' + '202610' + '0000001' + 'WT',
  })
  @IsString({ message: 'lotId must be a string' })
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: `lotId ${ID_MESSAGE}` })
  lotId!: string;

  @ApiPropertyOptional({
    description: 'Certificates (1 = 1,000 kWh) taken from the lot; default the whole lot',
    example: 10,
  })
  @IsOptional()
  @IsInt({ message: 'volume must be an integer number of certificates' })
  @Min(1, { message: 'volume must be at least 1' })
  volume?: number;
}

export class TradeDataDto {
  @ApiProperty({
    description: 'Trade id from the trading center (unique forever)',
    example: 'T-2026-10-0001',
  })
  @Matches(ID_PATTERN, { message: `tradeId ${ID_MESSAGE}` })
  tradeId!: string;

  @ApiProperty({
    description:
      'GREEN_POWER (绿电交易): electricity with its certificates; CERTIFICATE_ONLY: certificates alone',
    enum: TRADE_KINDS,
    example: 'GREEN_POWER',
  })
  @IsIn(TRADE_KINDS, { message: `kind must be one of ${TRADE_KINDS.join(', ')}` })
  kind!: string;

  @ApiProperty({ description: 'Seller participant id (a GENERATOR)', example: 'GEN-ZJ-001' })
  @Matches(ID_PATTERN, { message: `seller ${ID_MESSAGE}` })
  seller!: string;

  @ApiProperty({ description: 'Buyer participant id (a CONSUMER)', example: 'CON-ZJ-001' })
  @Matches(ID_PATTERN, { message: `buyer ${ID_MESSAGE}` })
  buyer!: string;

  @ApiProperty({ description: 'Volume in integer kWh', example: 10000 })
  @IsInt({ message: 'volumeKwh must be an integer (kWh)' })
  @Min(1, { message: 'volumeKwh must be at least 1' })
  @Max(1_000_000_000_000, { message: 'volumeKwh must be at most 1e12' })
  volumeKwh!: number;

  @ApiProperty({ description: 'Total price in fen (CNY/100)', example: 4500000 })
  @IsInt({ message: 'priceFen must be an integer (fen)' })
  @Min(0, { message: 'priceFen must not be negative' })
  @Max(Number.MAX_SAFE_INTEGER, { message: 'priceFen is too large' })
  priceFen!: number;

  @ApiProperty({ description: 'Currency of the price', enum: ['CNY'], example: 'CNY' })
  @IsIn(['CNY'], { message: 'currency must be CNY' })
  currency!: string;

  @ApiProperty({
    description: 'Start of the delivery period: the first instant of an Asia/Shanghai month (RFC 3339)',
    example: '2026-10-01T00:00:00+08:00',
  })
  @Matches(RFC3339, { message: 'deliveryStart must be an RFC 3339 date-time with offset' })
  deliveryStart!: string;

  @ApiProperty({
    description: 'End (exclusive) of the delivery period, a month start',
    example: '2026-11-01T00:00:00+08:00',
  })
  @Matches(RFC3339, { message: 'deliveryEnd must be an RFC 3339 date-time with offset' })
  deliveryEnd!: string;

  @ApiProperty({ description: 'The seller’s generation units', example: ['UNIT-WIND-001'] })
  @IsArray({ message: 'sellerUnitIds must be an array' })
  @ArrayMinSize(1, { message: 'sellerUnitIds must name at least one unit' })
  @ArrayMaxSize(100, { message: 'sellerUnitIds must name at most 100 units' })
  @ArrayUnique({ message: 'sellerUnitIds must not repeat a unit' })
  @Matches(ID_PATTERN, { each: true, message: `each of sellerUnitIds ${ID_MESSAGE}` })
  sellerUnitIds!: string[];

  @ApiProperty({ description: 'The buyer’s consumption meters', example: ['MTR-FACTORY-001'] })
  @IsArray({ message: 'buyerMeterIds must be an array' })
  @ArrayMinSize(1, { message: 'buyerMeterIds must name at least one meter' })
  @ArrayMaxSize(100, { message: 'buyerMeterIds must name at most 100 meters' })
  @ArrayUnique({ message: 'buyerMeterIds must not repeat a meter' })
  @Matches(ID_PATTERN, { each: true, message: `each of buyerMeterIds ${ID_MESSAGE}` })
  buyerMeterIds!: string[];

  @ApiPropertyOptional({ type: [ProfileIntervalDto], description: 'Optional interval profile (GREEN_POWER)' })
  @IsOptional()
  @IsArray({ message: 'profile must be an array' })
  @ArrayMaxSize(45000, { message: 'profile must have at most 45000 intervals' })
  @ValidateNested({ each: true })
  @Type(() => ProfileIntervalDto)
  profile?: ProfileIntervalDto[];

  @ApiPropertyOptional({ type: [TradeLotDto], description: 'Certificate lots that move with the trade' })
  @IsOptional()
  @IsArray({ message: 'lots must be an array' })
  @ArrayMaxSize(100, { message: 'lots must have at most 100 items' })
  @ValidateNested({ each: true })
  @Type(() => TradeLotDto)
  lots?: TradeLotDto[];
}

export class CheckDataDto {
  @ApiProperty({ description: 'The trading center’s check key id', example: 'tc-2026-01' })
  @Matches(ID_PATTERN, { message: `keyId ${ID_MESSAGE}` })
  keyId!: string;

  @ApiProperty({
    description: 'Algorithm of the check signature (the check key’s)',
    enum: CHECK_ALGORITHMS,
    example: 'hmac-sha256',
  })
  @IsIn(CHECK_ALGORITHMS, { message: `alg must be one of ${CHECK_ALGORITHMS.join(', ')}` })
  alg!: string;

  @ApiProperty({
    example: 'mJ0Pq3m1m1yqfC0n0d3Zb0lE4cQe3F3m0XQv6j9vM2s=',
    description: 'base64 signature over the RFC 8785 canonical bytes of `trade`',
  })
  @IsString({ message: 'signature must be a base64 string' })
  @Matches(/^[A-Za-z0-9+/]+={0,2}$/, { message: 'signature must be base64' })
  @MaxLength(1024, { message: 'signature must be at most 1024 characters' })
  signature!: string;
}

export class SubmitTradeDto {
  @ApiProperty({ type: TradeDataDto, description: 'The trade data (绿电交易数据)' })
  // IsObject first: ValidateNested alone lets a missing object through (and the service then failed with 500).
  @IsObject({ message: 'trade is required: the trade data object' })
  @ValidateNested()
  @Type(() => TradeDataDto)
  trade!: TradeDataDto;

  @ApiProperty({ type: CheckDataDto, description: 'The check data (校验相关数据)' })
  @IsObject({ message: 'checkData is required: the check data object' })
  @ValidateNested()
  @Type(() => CheckDataDto)
  checkData!: CheckDataDto;

  @ApiPropertyOptional({
    description: 'http(s) URL the final state is POSTed to',
    example: 'https://tc.example/cb',
  })
  @IsOptional()
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
    { message: 'callbackUrl must be an http(s) URL' },
  )
  @MaxLength(2048, { message: 'callbackUrl must be at most 2048 characters' })
  callbackUrl?: string;
}

export class ListTradesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Only trades in this state', example: 'COMMITTED', enum: TRADE_STATES })
  @IsOptional()
  @IsIn(TRADE_STATES, { message: `state must be one of ${TRADE_STATES.join(', ')}` })
  state?: TradeState;

  @ApiPropertyOptional({ description: 'Only trades of this seller', example: 'GEN-ZJ-001' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: `seller ${ID_MESSAGE}` })
  seller?: string;

  @ApiPropertyOptional({ description: 'Only trades of this buyer', example: 'CON-ZJ-001' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: `buyer ${ID_MESSAGE}` })
  buyer?: string;
}

export class TradeCheckDto {
  @ApiProperty({ description: 'The check (signature, parties, lots, meters, …)', example: 'signature' })
  name!: string;
  @ApiProperty({ description: 'Whether it passed', example: true })
  passed!: boolean;
  @ApiProperty({ description: 'Why it passed or failed', example: 'HMAC-SHA256 matches' })
  reason!: string;
  // An object for some checks (parties, signature, volumes), a list for others (one entry per unit, meter,
  // meter-month or lot): a schema of `type: object` alone would refuse the lists the API answers.
  @ApiProperty({
    description:
      'The inputs the check used: an object (e.g. the parties, the signature) or a list with one entry per ' +
      'unit, meter, meter-month or lot checked',
    oneOf: [
      { type: 'object', additionalProperties: true },
      { type: 'array', items: {} },
    ],
    example: { tradingCenter: 'TC-1', keyId: 'tc-key-1', alg: 'hmac-sha256' },
  })
  inputs!: Record<string, unknown> | unknown[];
  @ApiProperty({ description: 'When it was checked (UTC)', example: '2026-11-21T08:00:00.000Z' })
  checkedAt!: string;
}

export class TradeLedgerProofDto {
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

export class TradeFailureDto {
  @ApiProperty({ description: 'The stable code of the first failed check', example: 'VERIFICATION_FAILED' })
  code!: string;
  @ApiProperty({
    description: 'What failed, for people',
    example: 'check lots failed: lot P33090020240000172026090000001WT is not ACTIVE',
  })
  detail!: string;
}

export class TradeStatusDto {
  @ApiProperty({ description: 'Trade id from the trading center', example: 'T-2026-10-0001' })
  tradeId!: string;
  @ApiProperty({
    description: 'RECEIVED → VERIFYING (存证校验) → COMMITTING → COMMITTED, or REJECTED',
    example: 'COMMITTED',
    enum: TRADE_STATES,
  })
  state!: TradeState;
  @ApiProperty({ description: 'The trading center that submitted it', example: 'TC-001' })
  tradingCenter!: string;
  @ApiProperty({ description: 'GREEN_POWER or CERTIFICATE_ONLY', example: 'GREEN_POWER', enum: TRADE_KINDS })
  kind!: string;
  @ApiProperty({ description: 'Seller participant id', example: 'GEN-ZJ-001' })
  seller!: string;
  @ApiProperty({ description: 'Buyer participant id', example: 'CON-ZJ-001' })
  buyer!: string;
  @ApiProperty({ description: 'Volume in integer kWh', example: 10000 })
  volumeKwh!: number;
  @ApiProperty({
    description: 'Start of delivery, as the trade data gives it',
    example: '2026-10-01T00:00:00+08:00',
  })
  deliveryStart!: string;
  @ApiProperty({
    description: 'End of delivery, exclusive, as the trade data gives it',
    example: '2026-11-01T00:00:00+08:00',
  })
  deliveryEnd!: string;
  @ApiProperty({ description: 'When the gateway received it (UTC)', example: '2026-11-21T08:00:00.000Z' })
  receivedAt!: string;
  @ApiProperty({ description: 'When its state last changed (UTC)', example: '2026-11-21T08:00:02.000Z' })
  updatedAt!: string;
  @ApiProperty({
    description: 'When the attestation check passed (UTC); null before, or when rejected',
    example: '2026-11-21T08:00:01.000Z',
    nullable: true,
    type: String,
  })
  verifiedAt!: string | null;
  @ApiProperty({
    description: 'When it became COMMITTED or REJECTED (UTC); null before',
    example: '2026-11-21T08:00:02.000Z',
    nullable: true,
    type: String,
  })
  finishedAt!: string | null;
  @ApiProperty({ example: 'ab'.repeat(32), description: 'SHA-256 hex of the canonical trade data' })
  tradeDataHash!: string;
  @ApiProperty({ example: 'cd'.repeat(32), description: 'SHA-256 hex of the canonical check data' })
  checkDataHash!: string;
  @ApiProperty({
    description: 'SHA-256 hex over the meter attestations the check used; null before verification',
    example: 'ef'.repeat(32),
    nullable: true,
    type: String,
  })
  meterEvidenceDigest!: string | null;
  @ApiProperty({ description: 'The checks run, in order', type: [TradeCheckDto] })
  checks!: TradeCheckDto[];
  @ApiProperty({
    description: 'Why it was rejected; null unless REJECTED',
    type: TradeFailureDto,
    nullable: true,
  })
  failure!: TradeFailureDto | null;
  @ApiProperty({
    description: 'The voucher (绿电凭证) created with the commit; null before it',
    example: 'VCH-T-2026-10-0001',
    nullable: true,
    type: String,
  })
  voucherId!: string | null;
  @ApiProperty({
    example: '3f7c0b9e5d1a4c2b8e6f0a1d3c5b7e9f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b',
    nullable: true,
    type: String,
    description: 'Transaction id (stored before submission)',
  })
  txId!: string | null;
  @ApiProperty({
    description: 'Block of the transaction; null before commit',
    example: 12,
    nullable: true,
    type: Number,
  })
  blockNumber!: number | null;
  @ApiProperty({ description: 'Ledger proof; null before commit', type: TradeLedgerProofDto, nullable: true })
  ledger!: TradeLedgerProofDto | null;
  @ApiProperty({
    description: 'Delivery of the callback: PENDING, DELIVERED or FAILED; null without a callback URL',
    example: 'DELIVERED',
    nullable: true,
    type: String,
  })
  callbackState!: string | null;
}

export class HashCheckDto {
  @ApiProperty({ description: 'SHA-256 hex stored when the trade was verified', example: 'ab'.repeat(32) })
  stored!: string;
  @ApiProperty({
    description: 'SHA-256 hex computed again now from the stored data',
    example: 'ab'.repeat(32),
  })
  recomputed!: string;
  @ApiProperty({ description: 'SHA-256 hex in the ledger’s trade attestation', example: 'ab'.repeat(32) })
  ledger!: string;
  @ApiProperty({ description: 'All three are equal', example: true })
  matches!: boolean;
}

export class MeterEvidenceCheckDto {
  @ApiProperty({ description: 'A meter the trade’s check used', example: 'MTR-WIND-001' })
  meterId!: string;
  @ApiProperty({ description: 'Its month, YYYY-MM', example: '2026-10' })
  period!: string;
  @ApiProperty({ description: 'The attestation version used when the trade was verified', example: 1 })
  version!: number;
  @ApiProperty({ description: 'That attestation’s digest (Merkle root) then', example: 'ab'.repeat(32) })
  digest!: string;
  @ApiProperty({
    example: 'ab'.repeat(32),
    description: 'The same attestation version’s digest on the ledger now (null: not found)',
    type: String,
    nullable: true,
  })
  ledgerDigest!: string | null;
  @ApiProperty({
    example: 'ab'.repeat(32),
    description: 'The Merkle root of the readings stored now (null: none stored)',
    type: String,
    nullable: true,
  })
  readingsDigest!: string | null;
  @ApiProperty({ description: 'Total of the readings stored now, integer Wh', example: '297600000' })
  readingsTotalWh!: string;
  @ApiProperty({
    description: 'The digests then, on the ledger now and of the readings now are equal',
    example: true,
  })
  matches!: boolean;
}

export class TradeEvidenceDto {
  @ApiProperty({ description: 'The trade', example: 'T-2026-10-0001' })
  tradeId!: string;
  @ApiProperty({ description: 'Everything below still matches', example: true })
  ok!: boolean;
  @ApiProperty({
    example: '3f7c0b9e5d1a4c2b8e6f0a1d3c5b7e9f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b',
    description: 'The attestation transaction',
  })
  txId!: string;
  @ApiProperty({ description: 'The trade data hash: stored, recomputed, on the ledger', type: HashCheckDto })
  tradeDataHash!: HashCheckDto;
  @ApiProperty({ description: 'The check data hash: stored, recomputed, on the ledger', type: HashCheckDto })
  checkDataHash!: HashCheckDto;
  @ApiProperty({
    description: 'The meter evidence digest: stored, recomputed, on the ledger',
    type: HashCheckDto,
  })
  meterEvidenceDigest!: HashCheckDto;
  @ApiProperty({
    description: 'Each meter attestation the check used, against the ledger and the readings now',
    type: [MeterEvidenceCheckDto],
  })
  meters!: MeterEvidenceCheckDto[];
}

export class TradePageDto {
  @ApiProperty({ description: 'This page’s trades, oldest received first', type: [TradeStatusDto] })
  items!: TradeStatusDto[];
  @ApiProperty({
    description: 'Cursor of the next page (send it as `cursor`); null on the last page',
    example: 'eyJpZCI6IlQtMjAyNi0xMC0wMDAxIn0',
    nullable: true,
    type: String,
  })
  nextCursor!: string | null;
}
