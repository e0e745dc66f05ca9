import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ProblemError } from './problem';

/** `?limit=&cursor=` (api.md: default 50, max 1000). */
export class PageQueryDto {
  @ApiPropertyOptional({ description: 'Items per page (1–1000)', default: 50, example: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({
    description: 'Opaque cursor from the previous page’s `nextCursor`',
    example: 'eyJpZCI6IkdFTi0wMDEifQ',
  })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}

export const DEFAULT_LIMIT = 50;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export function encodeCursor(position: Record<string, string>): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** Decode a cursor holding the string fields `fields`; a bad cursor is the client's error (400). */
export function decodeCursor(
  cursor: string | undefined,
  fields: string[],
): Record<string, string> | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (value && typeof value === 'object' && fields.every((field) => typeof value[field] === 'string')) {
      return value as Record<string, string>;
    }
  } catch {
    // fall through
  }
  throw new ProblemError(400, 'INVALID_CURSOR', 'the cursor is not one this API returned', {
    errors: [{ field: 'cursor', message: 'cursor must be a nextCursor value returned by this endpoint' }],
  });
}
