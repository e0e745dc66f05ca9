import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
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
    description: 'MSP of the Fabric identity used on the caller’s behalf (default by role)',
    enum: CONSORTIUM_MSPS,
    example: 'TradingCenterMSP',
  })
  @IsOptional()
  @IsIn(CONSORTIUM_MSPS)
  mspId?: string;

  @ApiPropertyOptional({
    description: 'Enrollment name of that identity within its MSP (default by role)',
    example: 'admin',
  })
  @IsOptional()
  @Matches(ID_PATTERN, { message: 'identityName must be 1-64 characters of A-Z a-z 0-9 . _ -' })
  identityName?: string;
}

export class FabricIdentityDto {
  @ApiProperty({ example: 'TradingCenterMSP' })
  mspId!: string;
  @ApiProperty({ example: 'admin' })
  name!: string;
}

export class ApiKeyDto {
  @ApiProperty({ description: 'Key id (not the secret)', example: '5a3c2b1e-8f0d-4c7a-9e2b-1d4f6a8b0c2e' })
  id!: string;
  @ApiProperty({ example: 'Zhejiang trading center ERP' })
  label!: string;
  @ApiProperty({ enum: ROLES, example: 'trading-center' })
  role!: Role;
  @ApiProperty({ example: 'TC-ZJ' })
  actsFor!: string;
  @ApiProperty({ type: FabricIdentityDto, description: 'Fabric identity the gateway uses for this key' })
  fabricIdentity!: FabricIdentityDto;
  @ApiProperty({ description: 'First characters of the key, to recognise it', example: 'gec_Xy3k' })
  keyPrefix!: string;
  @ApiProperty({ example: '2026-11-21T08:00:00.000Z' })
  createdAt!: string;
  @ApiProperty({ nullable: true, type: String, example: null })
  createdBy!: string | null;
  @ApiProperty({ nullable: true, type: String, example: null })
  revokedAt!: string | null;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({
    description: 'The secret key. Shown only in this response: store it now, it cannot be read again.',
    example: 'gec_Xy3kP0w7cM2bQe9LrT1vN8aZs4DfGh6JkU5iO3pYw2E',
  })
  key!: string;
}

export class ApiKeyPageDto {
  @ApiProperty({ type: [ApiKeyDto] })
  items!: ApiKeyDto[];
  @ApiProperty({ nullable: true, type: String, example: null })
  nextCursor!: string | null;
}
