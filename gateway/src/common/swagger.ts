import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { problemResponse } from './openapi';
import { ProblemDto } from './problem';

/**
 * OpenAPI 3.1 forbids `nullable`: rewrite it as a type union, or as `anyOf` with `{ type: 'null' }` for an
 * object given by reference. @nestjs/swagger writes a nullable reference as `{ type: 'object', nullable: true,
 * allOf: [{ $ref }] }`; turning only `type` into `['object', 'null']` would leave the `allOf`, which `null`
 * fails, so null would fail the property's own schema. The reference (with or without its `allOf` wrapper)
 * goes into the `anyOf` and `type` goes: the referenced schema says what the object is.
 */
function toOpenApi31(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toOpenApi31);
  if (node === null || typeof node !== 'object') return node;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) result[key] = toOpenApi31(value);
  if (result.nullable === true) {
    delete result.nullable;
    const allOf = result.allOf as unknown[] | undefined;
    if (typeof result.$ref === 'string') {
      result.anyOf = [{ $ref: result.$ref }, { type: 'null' }];
      delete result.$ref;
      delete result.type;
    } else if (Array.isArray(allOf) && allOf.length === 1) {
      result.anyOf = [allOf[0], { type: 'null' }];
      delete result.allOf;
      delete result.type;
    } else if (typeof result.type === 'string') {
      result.type = [result.type, 'null'];
      // An enum lists every allowed value: null must be one of them too.
      if (Array.isArray(result.enum) && !result.enum.includes(null)) result.enum = [...result.enum, null];
    } else if (Array.isArray(result.oneOf) || Array.isArray(result.anyOf)) {
      const key = Array.isArray(result.oneOf) ? 'oneOf' : 'anyOf';
      result[key] = [...(result[key] as unknown[]), { type: 'null' }];
    }
    // Otherwise the schema names no type, and null is already valid for it.
  } else if (result.nullable === false) {
    delete result.nullable;
  }
  return result;
}

/**
 * Every tag the controllers use, described in the domain's words (README glossary), in the order a reader
 * meets them: client generators turn tags into service classes and these descriptions into their doc comments.
 */
export const TAGS: ReadonlyArray<[name: string, description: string]> = [
  ['health', 'Liveness and readiness of the gateway (no API key): for load balancers and orchestrators'],
  [
    'api-keys',
    'API keys (one role each, optionally acting for a participant) and their request-signing keys (hmac-sha256 or sm2-sm3)',
  ],
  [
    'participants',
    'Consortium participants: generators, consumers, the power trading center (电力交易中心) and the energy ' +
      'internet platform (能源互联网平台); registration and status',
  ],
  ['units', 'Generating units of a renewable project (wind, solar, …): registration, meters, status'],
  [
    'metering',
    'Energy data (能源数据): meters, bulk ingestion of interval readings, completeness, monthly periods and their ' +
      'closing, which puts the month’s total on the ledger',
  ],
  [
    'meter-attestations',
    'The monthly meter totals attested on the ledger (by meter and month), with their versions',
  ],
  [
    'issuances',
    'Issuing green certificates (注册绿证, 1 certificate = 1 MWh) for a unit’s attested monthly generation, as ' +
      'serial-range lots',
  ],
  [
    'lots',
    'Certificate lots (绿证): serial ranges of one unit and month; list, history, split, transfer, expire, withdraw',
  ],
  [
    'certificates',
    'One certificate by serial: its redemption check (兑付信息核查) and its provenance from issuance to now',
  ],
  ['listings', 'Certificate sale (绿证售卖): listings of certificates and the sales completed from them'],
  [
    'trades',
    'Green-electricity trade data (绿电交易数据) from the trading center, its check keys and signatures (校验相关数据), ' +
      'the attestation check (存证校验) and commit, trade evidence',
  ],
  [
    'vouchers',
    'Green-electricity vouchers (绿电凭证) issued to the buyer of a committed trade, held by the custody contract ' +
      '(绿电凭证托管合约): release, claim, revoke, print',
  ],
  [
    'redemptions',
    'Redemption (兑付/核销): using certificates up for a beneficiary and consumption period, never twice',
  ],
  ['exchanges', 'Green-electricity exchange (绿电兑换): surrendering certificates at the trading center'],
  [
    'parameters',
    'Consortium parameters (validity, issuance window, …) and pausing or resuming the consortium',
  ],
  [
    'audit',
    'Integrity checks for the regulator (监管方), read-only: the chain of blocks verified over any range, and every ' +
      'projected table, stored trade and meter reading compared with what the ledger holds',
  ],
  [
    'statistics',
    'Statistics for the regulator (监管统计), read-only, over any date range: certificates issued, traded, ' +
      'redeemed, exchanged, expired and withdrawn by month, province, technology and participant; green ' +
      'consumption attested per consumer; rejected trades by failed check. JSON, or streamed as CSV or NDJSON',
  ],
  [
    'exports',
    'Exports for the regulator, read-only: every row of a list (lots, issuances, trades, vouchers, redemptions, ' +
      'exchanges) matching its filters, streamed as CSV or NDJSON with bounded memory',
  ],
];

const SIGNED_METHODS = ['post', 'put', 'patch', 'delete'];

/** The request-signing headers, on every state-changing operation under /v1 (docs/api.md). */
const SIGNING_HEADERS = [
  {
    name: 'X-Gec-Timestamp',
    in: 'header',
    required: false,
    description:
      'Request signing (required when the key has requireSignature): the signing time, RFC 3339 with an ' +
      'offset; refused (401 SIGNATURE_EXPIRED) when more than 5 minutes from the gateway’s clock',
    schema: { type: 'string', format: 'date-time' },
    example: '2026-11-21T16:00:00+08:00',
  },
  {
    name: 'X-Gec-Nonce',
    in: 'header',
    required: false,
    description:
      'Request signing: 8–128 of A-Z a-z 0-9 . _ ~ + / = -, never reused by the key within the window ' +
      '(401 SIGNATURE_REPLAYED)',
    schema: { type: 'string', pattern: '^[A-Za-z0-9._~+/=-]{8,128}$' },
    example: '6f1c2a4e-9b7d-4e02-8a53-2c9d1e0f7b11',
  },
  {
    name: 'X-Gec-Signature',
    in: 'header',
    required: false,
    description:
      'Request signing: `keyId=<API key id>, alg=hmac-sha256|sm2-sm3, sig=<base64>`, the signature over the ' +
      'UTF-8 bytes of `METHOD\\nPATH?QUERY\\nX-Gec-Timestamp\\nX-Gec-Nonce\\nhex(SHA-256(body))` (request ' +
      'target exactly as sent; lowercase hex of the exact body bytes, of the empty string without a body). ' +
      'hmac-sha256: keyed with the UTF-8 bytes of the secret given at key creation; sm2-sm3: SM2 with SM3 ' +
      'and the registered public key. Missing → 401 SIGNATURE_MISSING; bad → 401 SIGNATURE_INVALID.',
    schema: { type: 'string' },
    example:
      'keyId=5a3c2b1e-8f0d-4c7a-9e2b-1d4f6a8b0c2e, alg=hmac-sha256, sig=G1YYj73GWohZI4hsi3JxMyFJBQWJ2RgDNkUhCAzQeS0=',
  },
];

const RETRY_AFTER = (description: string) => ({
  'Retry-After': { description, required: true, schema: { type: 'integer', minimum: 1 } },
});

/**
 * The answers every /v1 operation can give whatever its controller says, because they come from code in front
 * of the controllers or behind every service (controllers declare only their own rules):
 * - 400: the JSON body parser (common/json-body.ts) reads a body on any request and refuses malformed JSON,
 *   duplicate keys or deep nesting; query and path values are validated;
 * - 413 and 415: the same parser, on any request that comes with a body, whether the operation takes one or
 *   not (too large; form-encoded or not UTF-8): a form POSTed to an operation without a body is refused 415;
 * - 503: any request may need the database (API keys are looked up there, cached only for seconds):
 *   DATABASE_UNAVAILABLE with Retry-After while PostgreSQL is away;
 * - 404, 409 and 422 on ledger writes (those that document 502): the chaincode's rule errors map to them
 *   (common/ledger-errors.ts), whichever the operation; 409 LEDGER_CONFLICT on any write;
 * - 409 on an operation taking an Idempotency-Key: the key reused with another body, or still in progress;
 *   its other answers may be replays (Idempotent-Replayed: true).
 * Plus the signing headers on the state-changing operations and Retry-After on 429.
 */
function addCommonAnswers(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    if (!path.startsWith('/v1/')) continue;
    for (const [method, operation] of Object.entries(item as Record<string, Record<string, unknown>>)) {
      const responses = (operation.responses ?? {}) as Record<string, Record<string, unknown>>;
      operation.responses = responses;
      const add = (status: number) => {
        responses[String(status)] ??= problemResponse(status);
      };
      const parameters = (operation.parameters ?? []) as Array<{ in?: string; name?: string }>;
      if (SIGNED_METHODS.includes(method)) operation.parameters = [...parameters, ...SIGNING_HEADERS];
      add(400);
      add(413);
      add(415);
      if (responses['502'] !== undefined) [404, 409, 422].forEach(add);
      if (parameters.some((p) => p.in === 'header' && p.name?.toLowerCase() === 'idempotency-key')) {
        add(409);
        // A replay (same key, same body) answers the first answer again, marked as such: the answers the
        // handler gave (success and rule refusals), not the guard's, the parser's or a retryable one.
        for (const [status, response] of Object.entries(responses)) {
          if (!/^2\d\d$|^400$|^404$|^422$/.test(status)) continue;
          response.headers = {
            ...(response.headers as object | undefined),
            'Idempotent-Replayed': {
              description:
                '`true` when this is the stored answer of an earlier request with the same Idempotency-Key',
              required: false,
              schema: { type: 'string', enum: ['true'] },
            },
          };
        }
      }
      add(503);
      responses['503'].headers = RETRY_AFTER('Seconds after which to retry');
      if (responses['429']) {
        responses['429'].headers = RETRY_AFTER('Seconds until the key may make a request again');
      }
      // Sorted by status, as a reader scans them.
      operation.responses = Object.fromEntries(
        Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)),
      );
    }
  }
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('gec-ledger gateway')
    .setDescription(
      'REST API of the gec-ledger consortium ledger for green-electricity certificates (绿证) and vouchers ' +
        '(绿电凭证). Every `/v1` endpoint needs an API key in `X-API-Key`; each key has one role. Errors are ' +
        '`application/problem+json` (RFC 9457) with a stable `code`. Lists are cursor-paginated ' +
        '(`limit`, `cursor` → `{ items, nextCursor }`). Ledger-backed resources carry ' +
        '`ledger: { txId, blockNumber, validationCode, committedAt }`. Integrations (trading-center and ' +
        'energy-platform keys) sign their state-changing requests: `X-Gec-Timestamp`, `X-Gec-Nonce`, ' +
        '`X-Gec-Signature` (see those headers). Rate limits per API key: 429 RATE_LIMITED with `Retry-After`.',
    )
    .setVersion('1')
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key from POST /v1/api-keys' },
      'apiKey',
    );
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const config = builder.build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ProblemDto] });
  addCommonAnswers(document);
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
