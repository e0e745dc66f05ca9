import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  MaxLength,
} from 'class-validator';
import { REQUEST_SIGNING_ALGORITHMS } from './request-signing';
import type { RequestSigningAlgorithm } from './request-signing';
import { CONSORTIUM_MSPS, ROLES } from './roles';
import type { Role } from './roles';

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export class CreateApiKeyDto {
  @ApiProperty({
    description: 'What the key is for, shown in listings',
    example: 'Zhejiang trading center ERP',
  })
  @MaxLength(200)
  @IsNotEmpty()
  @IsString()
  label!: string;

  @ApiProperty({ description: 'The one role of the key', enum: ROLES, example: 'trading-center' })
  @IsIn(ROLES)
  role!: Role;

  @ApiProperty({
    description: 'The participant or organisation the key acts for (1–64 of A-Z a-z 0-9 . _ -)',
    example: 'TC-ZJ',
  })
  @Matches(ID_PATTERN, { message: 'actsFor must be 1-64 characters of A-Z a-z 0-9 . _ -' })
  actsFor!: string;

  @ApiPropertyOptional({
    description:
      'MSP of the Fabric identity used on the caller’s behalf (default by role; a single-organisation gateway ' +
      'accepts its own organisation only)',
    enum: CONSORTIUM_MSPS,
    example: 'TradingCenterMSP',
  })
  @IsOptional()
  @IsIn(CONSORTIUM_MSPS)
  mspId?: string;

  @ApiPropertyOptional({
    description:
      'Enrollment name of that identity within its MSP (default by role). An admin identity only for an ' +
      'admin key (least privilege)',
    example: 'trading',
  })
  @IsOptional()
  @Matches(ID_PATTERN, { message: 'identityName must be 1-64 characters of A-Z a-z 0-9 . _ -' })
  identityName?: string;

  @ApiPropertyOptional({
    description:
      'Whether state-changing requests (POST, PUT, PATCH, DELETE) of this key must be signed (X-Gec-Timestamp, ' +
      'X-Gec-Nonce, X-Gec-Signature). Default true for trading-center and energy-platform keys; admin and ' +
      'regulator keys are never signed (true is refused for them). false is for trials only.',
    example: true,
  })
  @IsOptional()
  @IsBoolean({ message: 'requireSignature must be a boolean' })
  requireSignature?: boolean;

  @ApiPropertyOptional({
    description:
      'trading-center keys only: where the final state (REJECTED or COMMITTED) of the trades posted with this key ' +
      'is POSTed, unless a trade names its own callbackUrl. http or https.',
    example: 'https://erp.tradingcenter.example/gec/trade-results',
  })
  @IsOptional()
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
    { message: 'callbackUrl must be an http(s) URL' },
  )
  @MaxLength(2048, { message: 'callbackUrl must be at most 2048 characters' })
  callbackUrl?: string;
}

export class FabricIdentityDto {
  @ApiProperty({
    description: 'MSP id of the organisation whose ledger identity the key uses',
    example: 'TradingCenterMSP',
  })
  mspId!: string;
  @ApiProperty({ description: 'Name of the ledger identity (enrolment) within that MSP', example: 'trading' })
  name!: string;
}

export class ApiKeyDto {
  @ApiProperty({ description: 'Key id (not the secret)', example: '5a3c2b1e-8f0d-4c7a-9e2b-1d4f6a8b0c2e' })
  id!: string;
  @ApiProperty({
    description: 'Free text naming the key’s holder, for the admins',
    example: 'Zhejiang trading center ERP',
  })
  label!: string;
  @ApiProperty({ description: 'The key’s one role (README: roles)', enum: ROLES, example: 'trading-center' })
  role!: Role;
  @ApiProperty({
    description: 'Participant id the key acts for (trading-center and energy-platform keys)',
    example: 'TC-ZJ',
  })
  actsFor!: string;
  @ApiProperty({
    description: 'trading-center keys: the default callback URL of their trades',
    example: 'https://erp.tradingcenter.example/gec/trade-results',
    type: String,
    nullable: true,
  })
  callbackUrl!: string | null;
  @ApiProperty({ type: FabricIdentityDto, description: 'Fabric identity the gateway uses for this key' })
  fabricIdentity!: FabricIdentityDto;
  @ApiProperty({
    description: 'Whether state-changing requests of this key must carry a valid X-Gec-Signature',
    example: true,
  })
  requireSignature!: boolean;
  @ApiProperty({
    description: 'The request-signing algorithms registered for this key',
    enum: REQUEST_SIGNING_ALGORITHMS,
    isArray: true,
    example: ['hmac-sha256'],
  })
  signingAlgs!: RequestSigningAlgorithm[];
  @ApiProperty({ description: 'First characters of the key, to recognise it', example: 'gec_Xy3k' })
  keyPrefix!: string;
  @ApiProperty({ description: 'When the key was created (UTC)', example: '2026-11-21T08:00:00.000Z' })
  createdAt!: string;
  @ApiProperty({
    description: 'Id of the admin key that created it; null for the first admin key, made at first start',
    nullable: true,
    type: String,
    example: null,
  })
  createdBy!: string | null;
  @ApiProperty({
    description: 'When the key was revoked (UTC); null while it is valid',
    nullable: true,
    type: String,
    example: null,
  })
  revokedAt!: string | null;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({
    description: 'The secret key. Shown only in this response: store it now, it cannot be read again.',
    example: 'gec_Xy3kP0w7cM2bQe9LrT1vN8aZs4DfGh6JkU5iO3pYw2E',
  })
  key!: string;
  @ApiProperty({
    description:
      'trading-center and energy-platform keys: the request-signing secret (alg hmac-sha256; keyId = the key ' +
      'id). Shown only in this response. null for admin and regulator keys.',
    nullable: true,
    type: () => SigningSecretDto,
  })
  signing!: SigningSecretDto | null;
}

export class SigningSecretDto {
  @ApiProperty({
    description: 'The keyId to name in X-Gec-Signature: the API key id',
    example: '5a3c2b1e-8f0d-4c7a-9e2b-1d4f6a8b0c2e',
  })
  keyId!: string;
  @ApiProperty({
    description: 'Signature algorithm of this secret: HMAC-SHA256 over the signing string',
    enum: ['hmac-sha256'],
    example: 'hmac-sha256',
  })
  alg!: 'hmac-sha256';
  @ApiProperty({
    description:
      'The HMAC-SHA256 key: the UTF-8 bytes of this string, as given. Shown only once; stored encrypted.',
    example: 'gecs_3q2n7hZ0cB1r9kT5xWm4yV8pL6dF0sJ2uA7eQ1oN5iK',
  })
  secret!: string;
}

export class RegisterSigningKeyDto {
  @ApiProperty({
    description:
      'sm2-sm3: register (or replace) the SM2 public key; hmac-sha256: generate a new secret (rotation), ' +
      'returned once, the old one stops working',
    enum: REQUEST_SIGNING_ALGORITHMS,
    example: 'sm2-sm3',
  })
  @IsIn(REQUEST_SIGNING_ALGORITHMS, {
    message: `alg must be one of ${REQUEST_SIGNING_ALGORITHMS.join(', ')}`,
  })
  alg!: RequestSigningAlgorithm;

  @ApiPropertyOptional({
    example:
      '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEhuQL/nlCIyk4K4PY03P58OAIHuq9\nbdDv0OeYEF/p2BsXCKZ+lKJ9pTVeo1htZToyaM0O3EnJEhCZHb5rcnilbQ==\n-----END PUBLIC KEY-----\n',
    description: 'sm2-sm3: the SM2 public key, PEM (SubjectPublicKeyInfo)',
  })
  @IsOptional()
  @IsString({ message: 'publicKeyPem must be a PEM string' })
  @MaxLength(4096, { message: 'publicKeyPem must be at most 4096 characters' })
  publicKeyPem?: string;

  @ApiPropertyOptional({
    description: 'sm2-sm3: the signer’s distinguishing identifier (in Z); default 1234567812345678',
    example: '1234567812345678',
  })
  @IsOptional()
  @IsString({ message: 'sm2Id must be a string' })
  @Matches(/^[\x20-\x7e]{0,64}$/, { message: 'sm2Id must be at most 64 printable ASCII characters' })
  sm2Id?: string;
}

export class SigningKeyDto {
  @ApiProperty({
    example: '5a3c2b1e-8f0d-4c7a-9e2b-1d4f6a8b0c2e',
    description: 'The API key id (the keyId of X-Gec-Signature)',
  })
  keyId!: string;
  @ApiProperty({
    description: 'Signature algorithm the key signs with',
    example: 'sm2-sm3',
    enum: REQUEST_SIGNING_ALGORITHMS,
  })
  alg!: RequestSigningAlgorithm;
  @ApiProperty({
    description: 'When the signing key was registered (UTC)',
    example: '2026-11-21T08:00:00.000Z',
  })
  createdAt!: string;
  @ApiPropertyOptional({
    example: 'gecs_3q2n7hZ0cB1r9kT5xWm4yV8pL6dF0sJ2uA7eQ1oN5iK',
    description: 'hmac-sha256 only: the new secret, shown only in this response',
    type: String,
  })
  secret?: string;
}

export class ApiKeyPageDto {
  @ApiProperty({ description: 'This page’s API keys, oldest first', type: [ApiKeyDto] })
  items!: ApiKeyDto[];
  @ApiProperty({
    description: 'Cursor of the next page (send it as `cursor`); null on the last page',
    nullable: true,
    type: String,
    example: null,
  })
  nextCursor!: string | null;
}
