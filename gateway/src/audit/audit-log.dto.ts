import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDateString, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { PageQueryDto } from '../common/pagination';

export class AuditLogQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    description: 'Requests received at or after this time (RFC 3339)',
    example: '2026-12-01T00:00:00+08:00',
  })
  @IsOptional()
  @IsDateString({ strict: true }, { message: 'from must be an RFC 3339 date-time' })
  from?: string;

  @ApiPropertyOptional({
    description: 'Requests received before this time (RFC 3339)',
    example: '2027-01-01T00:00:00+08:00',
  })
  @IsOptional()
  @IsDateString({ strict: true }, { message: 'to must be an RFC 3339 date-time' })
  to?: string;

  @ApiPropertyOptional({
    description: 'Only requests made with this API key (its id)',
    example: '0b8f2a4c-6d1e-4f3a-9b7c-2e5d8a1f4c6b',
  })
  @IsOptional()
  @IsUUID('all', { message: 'apiKeyId must be an API key id (a UUID)' })
  apiKeyId?: string;

  @ApiPropertyOptional({
    description: 'Only answers with this HTTP status',
    example: 403,
    minimum: 100,
    maximum: 599,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'status must be an HTTP status (100-599)' })
  @Min(100, { message: 'status must be an HTTP status (100-599)' })
  @Max(599, { message: 'status must be an HTTP status (100-599)' })
  status?: number;
}

@ApiSchema({ description: 'One request of a regulator key: who, what, when, result' })
export class AuditLogEntryDto {
  @ApiProperty({ description: 'Position in the log (increasing; never reused)', example: '1042' })
  id!: string;
  @ApiProperty({ description: 'When the request arrived', example: '2026-12-06T05:10:00.123Z' })
  receivedAt!: string;
  @ApiProperty({
    description: 'When its answer was recorded (just before it was sent)',
    example: '2026-12-06T05:10:00.131Z',
  })
  answeredAt!: string;
  @ApiProperty({
    description: 'The request id (X-Request-Id)',
    example: '5b1f3c2e-7a9d-4e8b-a1c3-9d7f5e2b4a6c',
  })
  requestId!: string;
  @ApiProperty({
    description: 'Who: the API key’s id (never the key)',
    example: '0b8f2a4c-6d1e-4f3a-9b7c-2e5d8a1f4c6b',
  })
  apiKeyId!: string;
  @ApiProperty({ description: 'The key’s role', example: 'regulator' })
  role!: string;
  @ApiProperty({ description: 'Whom the key acts for', example: 'NEA-ZJ', nullable: true, type: String })
  actsFor!: string | null;
  @ApiProperty({ description: 'HTTP method', example: 'GET' })
  method!: string;
  @ApiProperty({
    description: 'Path with query, as sent (credential-named query values and key-shaped text redacted)',
    example: '/v1/lots?status=REDEEMED&limit=100',
  })
  path!: string;
  @ApiProperty({
    description: 'The documented operation (OpenAPI operationId); null for a path no operation serves',
    example: 'listLots',
    nullable: true,
    type: String,
  })
  operationId!: string | null;
  @ApiProperty({ description: 'HTTP status of the answer', example: 200 })
  status!: number;
  @ApiProperty({
    description: 'The problem document’s code when the answer was a refusal or an error',
    example: 'ROLE_NOT_ALLOWED',
    nullable: true,
    type: String,
  })
  problemCode!: string | null;
}

@ApiSchema({ description: 'One page of the regulator audit log, oldest first' })
export class AuditLogPageDto {
  @ApiProperty({ type: [AuditLogEntryDto], description: 'Entries in the order they were recorded' })
  items!: AuditLogEntryDto[];
  @ApiProperty({
    description: 'Cursor of the next page; null on the last',
    example: 'eyJpZCI6IjEwNDIifQ',
    nullable: true,
    type: String,
  })
  nextCursor!: string | null;
}
