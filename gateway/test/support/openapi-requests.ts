/**
 * Requests generated from the gateway's own OpenAPI document with fast-check: every operation, with path
 * parameters, query strings and bodies that are sometimes plausible (the operation's own field names) and often
 * hostile (wrong types, huge strings, control characters, traversal, unknown fields), under any of the given
 * keys or none. Shared by the e2e test (gateway/test/hostile-requests.e2e.test.ts) and the reliability suite's
 * hostile-input stage (test/reliability/hostile.test.ts), which sends many more and also checks that refused
 * requests wrote nothing.
 */
import fc from 'fast-check';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface Operation {
  method: HttpMethod;
  path: string;
  query: string[];
  fields: string[];
  /** `x-gec-roles`: the roles allowed; undefined for a public operation. */
  roles?: string[];
}

export interface OpenApiDoc {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Array<{ in: string; name: string }>;
        requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> };
        'x-gec-roles'?: string[];
      }
    >
  >;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
}

export const HOSTILE_STRINGS = [
  '',
  ' ',
  '../../etc/passwd',
  '%00',
  '\u0000',
  '\u202e',
  'a'.repeat(5000),
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '${process.env}',
  '9'.repeat(400),
  '-1',
  '1e309',
  'NaN',
  '2026-13-45',
  'GEN-1',
  'P33000020250000772026110000001WT',
];

/** Every operation of the document, in a stable order (path, then method). */
export function operationsOf(doc: OpenApiDoc): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const ref = Object.values(op.requestBody?.content ?? {})[0]?.schema?.$ref;
      const schema = ref ? doc.components.schemas[ref.split('/').pop()!] : undefined;
      operations.push({
        method: method as HttpMethod,
        path,
        query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        fields: Object.keys(schema?.properties ?? {}),
        roles: op['x-gec-roles'],
      });
    }
  }
  return operations.sort((a, b) => (a.path + a.method).localeCompare(b.path + b.method));
}

/** A generated value as a query-string value (objects without a prototype have no toString). */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}

const value = fc.oneof(
  fc.constantFrom(...HOSTILE_STRINGS),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
);

/** The random choices behind one request: which operation and key, and the values to put in it. */
export interface RequestChoices {
  operation: number;
  key: number;
  params: string[];
  query: Array<[boolean, unknown]>;
  body: { fields: boolean; value: unknown };
}

export function requestChoices(operations: number, keys: number): fc.Arbitrary<RequestChoices> {
  return fc.record({
    operation: fc.integer({ min: 0, max: operations - 1 }),
    key: fc.integer({ min: 0, max: keys - 1 }),
    params: fc.array(fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 30 })), {
      minLength: 4,
      maxLength: 4,
    }),
    query: fc.array(fc.tuple(fc.boolean(), value), { minLength: 4, maxLength: 4 }),
    body: fc.oneof(
      fc.record({ fields: fc.constant(false), value: fc.anything({ maxDepth: 3 }) as fc.Arbitrary<unknown> }),
      // The operation's own fields, each present or missing, with hostile values.
      fc.record({
        fields: fc.constant(true),
        value: fc.array(fc.tuple(fc.boolean(), value), {
          minLength: 12,
          maxLength: 12,
        }) as fc.Arbitrary<unknown>,
      }),
    ),
  });
}

export interface GeneratedRequest {
  method: HttpMethod;
  /** Path and query string, as sent. */
  target: string;
  /** The JSON body for methods that carry one (always sent, `null` included). */
  body?: unknown;
}

/** The request `choices` make of `op`. */
export function buildRequest(op: Operation, choices: RequestChoices): GeneratedRequest {
  let n = 0;
  const path = op.path.replace(/\{[^}]+\}/g, () =>
    encodeURIComponent(choices.params[n++ % choices.params.length]),
  );
  const query = op.query
    .map((name, i) =>
      choices.query[i % 4][0] ? `${name}=${encodeURIComponent(asText(choices.query[i % 4][1]))}` : '',
    )
    .filter((q) => q !== '')
    .join('&');
  // Bodies: sometimes the operation's own fields with hostile values, sometimes anything at all.
  const body = choices.body.fields
    ? Object.fromEntries(
        op.fields
          .map((field, i) => [field, (choices.body.value as Array<[boolean, unknown]>)[i % 12]] as const)
          .filter(([, [present]]) => present)
          .map(([field, [, v]]) => [field, v]),
      )
    : choices.body.value;
  const target = query ? `${path}?${query}` : path;
  return op.method === 'get' || op.method === 'delete'
    ? { method: op.method, target }
    : { method: op.method, target, body: body ?? null };
}

/** What is wrong with an answer to a generated request: a 5xx, a refusal that is no problem document, a stack. */
export function answerFaults(
  what: string,
  res: { status: number; text?: string; headers: Record<string, unknown>; body?: { code?: unknown } },
): string[] {
  const faults: string[] = [];
  const text = res.text ?? '';
  if (res.status >= 500) faults.push(`${what} → ${res.status} ${text.slice(0, 300)}`);
  else if (
    res.status >= 400 &&
    !(/problem\+json/.test(String(res.headers['content-type'])) && res.body?.code)
  ) {
    faults.push(`${what} → ${res.status} without a problem document`);
  }
  if (/\n\s+at .+:\d+:\d+/.test(text)) faults.push(`${what}: stack trace in the answer`);
  return faults;
}
