import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

export const CHECK_ALGORITHMS = ['hmac-sha256', 'sm2-sm3', 'ecdsa-p256-sha256'] as const;
export type CheckAlgorithm = (typeof CHECK_ALGORITHMS)[number];

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export class RegisterCheckKeyDto {
  @ApiProperty({ description: 'Key id the trading center names in its check data', example: 'tc-2026-01' })
  @Matches(ID_PATTERN, { message: 'keyId must be 1-64 characters of A-Z a-z 0-9 . _ -' })
  keyId!: string;

  @ApiProperty({
    description:
      'ecdsa-p256-sha256 or sm2-sm3 (public key: verified by the chaincode on every endorsing peer), or ' +
      'hmac-sha256 (shared secret: for trials, verified by the platform gateway only)',
    enum: CHECK_ALGORITHMS,
    example: 'hmac-sha256',
  })
  @IsIn(CHECK_ALGORITHMS, { message: `alg must be one of ${CHECK_ALGORITHMS.join(', ')}` })
  alg!: CheckAlgorithm;

  @ApiPropertyOptional({
    description:
      'hmac-sha256: the shared secret, base64 (at least 32 bytes). Stored encrypted (AES-256-GCM), never returned.',
    writeOnly: true,
    example: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0xMjM0NTY=',
  })
  @IsOptional()
  @IsString({ message: 'secret must be a base64 string' })
  @MinLength(40, { message: 'secret must be base64 of at least 32 bytes' })
  @MaxLength(1024, { message: 'secret must be at most 1024 characters' })
  secret?: string;

  @ApiPropertyOptional({
    example:
      '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEhuQL/nlCIyk4K4PY03P58OAIHuq9\nbdDv0OeYEF/p2BsXCKZ+lKJ9pTVeo1htZToyaM0O3EnJEhCZHb5rcnilbQ==\n-----END PUBLIC KEY-----\n',
    description: 'sm2-sm3 or ecdsa-p256-sha256: the public key, PEM (SubjectPublicKeyInfo)',
  })
  @IsOptional()
  @IsString({ message: 'publicKeyPem must be a PEM string' })
  @MaxLength(4096, { message: 'publicKeyPem must be at most 4096 characters' })
  publicKeyPem?: string;

  @ApiPropertyOptional({
    description:
      'sm2-sm3: the signer’s distinguishing identifier (in Z); default 1234567812345678 (GM/T 0009)',
    example: '1234567812345678',
  })
  @IsOptional()
  @IsString({ message: 'sm2Id must be a string' })
  @Matches(/^[\x20-\x7e]{0,64}$/, { message: 'sm2Id must be at most 64 printable ASCII characters' })
  sm2Id?: string;

  @ApiPropertyOptional({
    description:
      'The trading center organisation (MSP id) that registers the key on the ledger with its own admin ' +
      'identity; default: the trading center organisation this gateway serves',
    example: 'TradingCenterMSP',
  })
  @IsOptional()
  @Matches(ID_PATTERN, { message: 'organisation must be an MSP id: 1-64 characters of A-Z a-z 0-9 . _ -' })
  organisation?: string;
}

export class CheckKeyDto {
  @ApiProperty({ description: 'The trading center the key belongs to', example: 'TC-001' })
  tradingCenter!: string;
  @ApiProperty({ description: 'Key id, as the trading center names it in check data', example: 'tc-2026-01' })
  keyId!: string;
  @ApiProperty({ description: 'Algorithm of the key', example: 'hmac-sha256', enum: CHECK_ALGORITHMS })
  alg!: string;
  @ApiProperty({
    description:
      'The trading center organisation the key is registered under on the ledger (null: not on it)',
    example: 'TradingCenterMSP',
    nullable: true,
    type: String,
  })
  organisation!: string | null;
  @ApiProperty({
    description:
      'Who verifies signatures made with it: CHAINCODE (every endorsing peer) or GATEWAY (hmac-sha256, trials)',
    example: 'CHAINCODE',
    enum: ['CHAINCODE', 'GATEWAY'],
  })
  verifiedBy!: 'CHAINCODE' | 'GATEWAY';
  @ApiProperty({ description: 'When it was registered (UTC)', example: '2026-11-21T08:00:00.000Z' })
  createdAt!: string;
  @ApiProperty({
    description: 'When it was revoked (UTC); null while valid',
    example: null,
    nullable: true,
    type: String,
  })
  revokedAt!: string | null;
}
