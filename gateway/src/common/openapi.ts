import { applyDecorators } from '@nestjs/common';
import { ApiExtension, ApiExtraModels, ApiResponse, ApiSecurity, getSchemaPath } from '@nestjs/swagger';
import type { Role } from '../auth/roles';
import { ProblemDto, titleOf, typeOf } from './problem';

const DESCRIPTIONS: Record<number, string> = {
  400:
    'Invalid request: VALIDATION_FAILED names each field in `errors`; INVALID_CURSOR for a cursor this API did ' +
    'not return; MALFORMED_JSON or INVALID_JSON for a body that is not strict JSON (duplicate keys, invalid ' +
    'UTF-8, nesting deeper than 32); INVALID_ARGUMENT from a ledger rule',
  401:
    'Missing, unknown or revoked API key (API_KEY_MISSING, API_KEY_INVALID); for keys that sign, a state-changing ' +
    'request without a valid signature (SIGNATURE_MISSING, SIGNATURE_INVALID, SIGNATURE_EXPIRED, SIGNATURE_REPLAYED)',
  403:
    'The key’s role, or the ledger identity behind it, may not do this (ROLE_NOT_ALLOWED, or a ledger rule); ' +
    'or another organisation’s gateway serves this route (SERVED_BY_OTHER_ORGANISATION names it; see ' +
    '`x-gec-served-by`)',
  404: 'No such resource',
  409:
    'Conflicts with the current state (e.g. CONSORTIUM_PAUSED), a concurrent change (LEDGER_CONFLICT: nothing ' +
    'was changed, retry), or an Idempotency-Key reused with another body or still in progress',
  413: 'The request body is larger than the gateway accepts (PAYLOAD_TOO_LARGE); nothing was read or changed',
  415: 'The request body is not JSON in UTF-8 (UNSUPPORTED_MEDIA_TYPE): form bodies and other charsets are refused',
  422: 'Well-formed but refused by a rule (a ledger rule names itself in `code`)',
  429: 'The API key’s rate limit is used up (RATE_LIMITED); retry after the `Retry-After` header’s seconds',
  502: 'The ledger failed to endorse or commit; nothing was changed',
  503:
    'The database is unavailable for the moment (DATABASE_UNAVAILABLE); retry after the `Retry-After` header’s ' +
    'seconds (a write with the same Idempotency-Key)',
};

const EXAMPLES: Record<number, { code: string; detail: string }> = {
  400: { code: 'VALIDATION_FAILED', detail: 'the request is invalid: region' },
  401: { code: 'API_KEY_INVALID', detail: 'the API key is unknown or revoked' },
  403: { code: 'ROLE_NOT_ALLOWED', detail: 'role regulator may not call this endpoint (allowed: admin)' },
  404: { code: 'PARTICIPANT_NOT_FOUND', detail: 'participant GEN-404 is not registered' },
  409: { code: 'PARTICIPANT_EXISTS', detail: 'participant GEN-001 is already registered' },
  422: { code: 'CREDIT_CODE_REQUIRED', detail: 'creditCode is required in the transient map' },
  413: { code: 'PAYLOAD_TOO_LARGE', detail: 'the request body is too large (at most 1048576 bytes)' },
  415: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    detail: 'application/x-www-form-urlencoded is not accepted: send application/json',
  },
  429: {
    code: 'RATE_LIMITED',
    detail: 'this API key may make 600 write requests per minute; retry in 1 s',
  },
  502: { code: 'LEDGER_COMMIT_FAILED', detail: 'transaction 1f… was invalidated in block 7' },
  503: {
    code: 'DATABASE_UNAVAILABLE',
    detail:
      'the database is unavailable for the moment; retry shortly (a write with the same Idempotency-Key)',
  },
};

/** The OpenAPI response object of a problem answer with `status` (for decorators and document post-processing). */
export function problemResponse(status: number): {
  description: string;
  content: Record<string, { schema: { $ref: string }; example: Record<string, unknown> }>;
} {
  return {
    description: DESCRIPTIONS[status] ?? 'Problem',
    content: {
      'application/problem+json': {
        schema: { $ref: getSchemaPath(ProblemDto) },
        example: {
          type: typeOf(EXAMPLES[status]?.code ?? 'BAD_REQUEST'),
          title: titleOf(EXAMPLES[status]?.code ?? 'BAD_REQUEST'),
          status,
          ...(EXAMPLES[status] ?? { code: 'BAD_REQUEST', detail: 'problem' }),
        },
      },
    },
  };
}

/** The `Location` header of a 201/202 answer: where the created resource (or its status) is read. */
export function locationHeader(
  target: string,
  required = true,
): Record<string, { description: string; required: boolean; schema: { type: 'string' } }> {
  return { Location: { description: `The path of ${target}`, required, schema: { type: 'string' } } };
}

/** Document the problem+json answers of an endpoint. */
export function ApiProblems(...statuses: number[]) {
  return applyDecorators(
    ApiExtraModels(ProblemDto),
    ...statuses.map((status) => ApiResponse({ status, ...problemResponse(status) })),
  );
}

/** Document the API-key requirement and the roles allowed (as `x-gec-roles`). */
export function ApiRoles(...roles: Role[]) {
  return applyDecorators(
    ApiSecurity('apiKey'),
    ApiExtension('x-gec-roles', roles),
    ApiProblems(401, 403, 429),
  );
}

/**
 * The refusals of a page people open in a browser (no API key): a problem document as everywhere, or, when the
 * request accepts text/html (a browser does), the same refusal as a page. `descriptions` by status; 429 carries
 * Retry-After.
 */
export function ApiPageProblems(descriptions: Record<number, string>) {
  return applyDecorators(
    ApiExtraModels(ProblemDto),
    ...Object.entries(descriptions).map(([status, description]) => {
      const problem = problemResponse(Number(status)).content;
      return ApiResponse({
        status: Number(status),
        description,
        content: {
          ...problem,
          'text/html': { schema: { type: 'string' }, example: '<!doctype html>…' },
        },
        ...(status === '429'
          ? {
              headers: {
                'Retry-After': {
                  description: 'Seconds until this address may open a page again',
                  required: true,
                  schema: { type: 'integer', minimum: 1 },
                },
              },
            }
          : {}),
      });
    }),
  );
}
