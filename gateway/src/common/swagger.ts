import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ProblemDto } from './problem';

/** OpenAPI 3.1 forbids `nullable`: rewrite it as a type union (or anyOf with null for a $ref). */
function toOpenApi31(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toOpenApi31);
  if (node === null || typeof node !== 'object') return node;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) result[key] = toOpenApi31(value);
  if (result.nullable === true) {
    delete result.nullable;
    if (typeof result.type === 'string') {
      result.type = [result.type, 'null'];
    } else if (typeof result.$ref === 'string') {
      const ref = result.$ref;
      delete result.$ref;
      result.anyOf = [{ $ref: ref }, { type: 'null' }];
    }
  }
  return result;
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('gec-ledger gateway')
    .setDescription(
      'REST API of the gec-ledger consortium ledger for green-electricity certificates (绿证) and vouchers ' +
        '(绿电凭证). Every `/v1` endpoint needs an API key in `X-API-Key`; each key has one role. Errors are ' +
        '`application/problem+json` (RFC 9457) with a stable `code`. Lists are cursor-paginated ' +
        '(`limit`, `cursor` → `{ items, nextCursor }`). Ledger-backed resources carry ' +
        '`ledger: { txId, blockNumber, validationCode, committedAt }`.',
    )
    .setVersion('1')
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key from POST /v1/api-keys' },
      'apiKey',
    )
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ProblemDto] });
  return { ...(toOpenApi31(document) as OpenAPIObject), openapi: '3.1.0' };
}

/** Swagger UI at /docs, the document at /docs/openapi.json. */
export function setupSwagger(app: INestApplication): void {
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs/openapi.json',
    yamlDocumentUrl: 'docs/openapi.yaml',
    customSiteTitle: 'gec-ledger API',
  });
}
