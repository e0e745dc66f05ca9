/**
 * The client against the OpenAPI document a live gateway serves (real embedded ledger, real PostgreSQL):
 * - its committed types (client/src/generated/openapi.ts) are exactly what openapi-typescript generates from the
 *   document now, so a changed API without regenerated client types fails here (`npm run client:types` runs this
 *   file with UPDATE_CLIENT_TYPES=1, which writes the file instead of failing);
 * - every operation of the document has a client method named by its operationId, and calling that method sends
 *   that operation's method and path, with an Idempotency-Key exactly where the document takes one.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { GecClient, OPERATIONS } from '@gec-ledger/client';
import {
  generateTypes,
  GENERATED_TYPES,
  OpenApiDocument,
  servedOpenApiDocument,
} from '../scripts/openapi-types';

jest.setTimeout(120000);

interface ServedOperation {
  operationId: string;
  method: string;
  path: string;
  idempotencyKey?: 'required' | 'optional';
}

function servedOperations(document: OpenApiDocument): ServedOperation[] {
  const operations: ServedOperation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const key = operation.parameters?.find((p) => p.in === 'header' && p.name === 'Idempotency-Key');
      operations.push({
        operationId: operation.operationId ?? `(none: ${method} ${path})`,
        method: method.toUpperCase(),
        path,
        ...(key ? { idempotencyKey: key.required ? 'required' : 'optional' } : {}),
      });
    }
  }
  return operations.sort((a, b) => a.operationId.localeCompare(b.operationId));
}

/** The methods of GecClient that are not one operation each. */
const HELPERS = new Set([
  'constructor',
  'send',
  'call',
  'url',
  'backoff',
  'pages',
  'paginate',
  'waitForTrade',
]);
/** sendTrade is submitTrade with the whole answer. */
const ALIASES: Record<string, string> = { sendTrade: 'submitTrade' };

/** A first line that differs, for a readable failure on a 700 kB file. */
function firstDifference(a: string, b: string): string {
  const left = a.split('\n');
  const right = b.split('\n');
  const line = left.findIndex((text, i) => text !== right[i]);
  const at = line < 0 ? left.length : line;
  return `line ${at + 1}: committed ${JSON.stringify(left[at])}, generated ${JSON.stringify(right[at])}`;
}

describe('the client and the served OpenAPI document', () => {
  let document: OpenApiDocument;

  beforeAll(async () => {
    document = await servedOpenApiDocument();
  });

  it('has committed the types that the served document generates', async () => {
    const generated = await generateTypes(document);
    if (process.env.UPDATE_CLIENT_TYPES === '1') await writeFile(GENERATED_TYPES, generated);
    const committed = await readFile(GENERATED_TYPES, 'utf8');
    if (committed !== generated) {
      throw new Error(
        `client/src/generated/openapi.ts is not what the served OpenAPI document generates ` +
          `(${firstDifference(committed, generated)}): run \`npm run client:types\` and commit the file`,
      );
    }
  });

  it('describes each operation as the document does: method, path and Idempotency-Key', () => {
    const client = Object.entries(OPERATIONS)
      .map(([operationId, spec]) => ({
        operationId,
        method: spec.method,
        path: spec.path as string,
        ...('idempotencyKey' in spec ? { idempotencyKey: spec.idempotencyKey } : {}),
      }))
      .sort((a, b) => a.operationId.localeCompare(b.operationId));
    expect(client).toEqual(servedOperations(document));
  });

  it('has one method per operation, named by its operationId, that sends that operation', async () => {
    const served = servedOperations(document);
    const sent: Array<{ method: string; path: string; idempotencyKey: string | null }> = [];
    const recording: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const headers = new Headers(init?.headers);
      sent.push({
        method: init?.method ?? 'GET',
        path: url.pathname,
        idempotencyKey: headers.get('idempotency-key'),
      });
      return new Response('{}', { status: 200, headers: { 'Content-Type': 'application/json' } });
    };
    const client = new GecClient({ baseUrl: 'http://gateway.test', apiKey: 'gec_test', fetch: recording });
    const methods = Object.getOwnPropertyNames(GecClient.prototype).filter((name) => !HELPERS.has(name));
    const named = [...new Set(methods.map((name) => ALIASES[name] ?? name))].sort();
    expect(named).toEqual(served.map((operation) => operation.operationId).sort());

    for (const name of methods) {
      const call = (client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[name];
      // Placeholder arguments: path parameters P1, P2, an empty body; a trade needs its id and check data.
      const args =
        ALIASES[name] === 'submitTrade' || name === 'submitTrade'
          ? [{ trade: { tradeId: 'T-1' }, checkData: { keyId: 'k', alg: 'hmac-sha256', signature: 'c2ln' } }]
          : ['P1', 'P2', {}, {}];
      sent.length = 0;
      await call.apply(client, args);
      expect(sent).toHaveLength(1);
      const request = sent[0];
      const matches = served.filter(
        (operation) =>
          operation.method === request.method &&
          new RegExp(`^${operation.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(request.path),
      );
      expect({ name, matches: matches.map((m) => m.operationId) }).toEqual({
        name,
        matches: [ALIASES[name] ?? name],
      });
      expect({ name, keyed: request.idempotencyKey !== null }).toEqual({
        name,
        keyed: matches[0].idempotencyKey !== undefined,
      });
    }
  });
});
