import { ApiExtraModels, ApiOkResponse, getSchemaPath } from '@nestjs/swagger';
import { applyDecorators, type Type } from '@nestjs/common';
import { ProblemError } from '../common/problem';

export const CSV = 'text/csv';
export const NDJSON = 'application/x-ndjson';
export const JSON_MEDIA = 'application/json';

export const EXPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const ANSWER_FORMATS = ['json', ...EXPORT_FORMATS] as const;
export type AnswerFormat = (typeof ANSWER_FORMATS)[number];

const MEDIA: Record<string, AnswerFormat> = { [JSON_MEDIA]: 'json', [CSV]: 'csv', [NDJSON]: 'ndjson' };

/**
 * The format of an answer: the `format` query parameter when given (it wins: a link or a browser cannot set
 * Accept), else the first of `accept`'s media types (by q, then order) that is offered, else `fallback`.
 * An Accept that offers none of them is not refused: the fallback is what api.md's clients expect.
 */
export function answerFormat(
  format: AnswerFormat | undefined,
  accept: string | undefined,
  offered: readonly AnswerFormat[],
  fallback: AnswerFormat,
): AnswerFormat {
  if (format !== undefined) {
    if (!offered.includes(format)) {
      throw new ProblemError(400, 'VALIDATION_FAILED', `format must be one of ${offered.join(', ')}`, {
        errors: [{ field: 'format', message: `format must be one of ${offered.join(', ')}` }],
      });
    }
    return format;
  }
  const ranked = (accept ?? '')
    .split(',')
    .map((part, order) => {
      const [media, ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { media: media.trim(), q: q ? Number(q.slice(2)) || 0 : 1, order };
    })
    .filter((m) => m.q > 0 && MEDIA[m.media] !== undefined && offered.includes(MEDIA[m.media]))
    .sort((a, b) => b.q - a.q || a.order - b.order);
  return ranked.length ? MEDIA[ranked[0].media] : fallback;
}

/** The 200 answer of an operation that streams CSV or NDJSON, and JSON when `json` names its schema. */
export function ApiTabularOk(description: string, json?: Type<unknown>) {
  const content: Record<string, unknown> = {
    [CSV]: {
      schema: { type: 'string', description: 'RFC 4180 CSV, UTF-8, a header row, CRLF line ends' },
    },
    [NDJSON]: { schema: { type: 'string', description: 'One JSON object per line (LF)' } },
  };
  if (json) content[JSON_MEDIA] = { schema: { $ref: getSchemaPath(json) } };
  return applyDecorators(
    ...(json ? [ApiExtraModels(json)] : []),
    ApiOkResponse({ description, content: content as never }),
  );
}
