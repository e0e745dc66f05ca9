import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * Errors as RFC 9457 problem details (`application/problem+json`), each with a stable UPPER_SNAKE `code`.
 *
 * Services throw `ProblemError` (or let ledger errors through); one exception filter turns everything into a
 * problem document, so the HTTP mapping lives in one place.
 */

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface FieldError {
  field: string;
  message: string;
}

export class FieldErrorDto implements FieldError {
  @ApiProperty({ description: 'The request field, as a dotted path', example: 'region' })
  field!: string;
  @ApiProperty({
    description: 'What is wrong with it',
    example: 'region must be a province code such as 330000',
  })
  message!: string;
}

export class ProblemDto {
  @ApiProperty({
    description: 'URI naming the kind of problem (stable; derived from `code`)',
    example: 'urn:gec-ledger:problem:participant-exists',
  })
  type!: string;
  @ApiProperty({ description: 'Short human summary of the kind of problem', example: 'Participant exists' })
  title!: string;
  @ApiProperty({ description: 'HTTP status code', example: 409 })
  status!: number;
  @ApiProperty({
    description: 'What happened in this case',
    example: 'participant GEN-001 is already registered',
  })
  detail!: string;
  @ApiProperty({ description: 'Stable machine-readable code (UPPER_SNAKE)', example: 'PARTICIPANT_EXISTS' })
  code!: string;
  @ApiPropertyOptional({ description: 'The request path', example: '/v1/participants' })
  instance?: string;
  @ApiPropertyOptional({
    description: 'Request id, as in the X-Request-Id response header',
    example: 'b7c1d2e3-4f5a-4b6c-8d7e-9f0a1b2c3d4e',
  })
  requestId?: string;
  @ApiPropertyOptional({ description: 'Validation errors, one per field', type: [FieldErrorDto] })
  errors?: FieldErrorDto[];
}

export type Problem = ProblemDto & Record<string, unknown>;

/** A failure with an HTTP status and a stable code. */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(`${code}: ${detail}`);
  }
}

export function titleOf(code: string): string {
  const words = code.toLowerCase().split('_');
  return [words[0].charAt(0).toUpperCase() + words[0].slice(1), ...words.slice(1)].join(' ');
}

export function typeOf(code: string): string {
  return `urn:gec-ledger:problem:${code.toLowerCase().replace(/_/g, '-')}`;
}

export function problem(status: number, code: string, detail: string, errors?: FieldError[]): Problem {
  return {
    type: typeOf(code),
    title: titleOf(code),
    status,
    detail,
    code,
    ...(errors ? { errors } : {}),
  };
}
