/**
 * Requests generated from the OpenAPI document (fast-check): every operation, with path parameters, query
 * strings and bodies that are sometimes plausible (the operation's own field names) and often hostile (wrong
 * types, huge strings, control characters, traversal, unknown fields), under every role and none. The gateway
 * must never answer 5xx, every refusal must be a problem document with a stable code, and no answer may carry a
 * stack trace. HOSTILE_REQUESTS sets how many (default 800 here; the reliability run uses 10,000).
 */
import { rm } from 'node:fs/promises';
import fc from 'fast-check';
import { readFirstAdminKey, startGateway, tempDir, TestGateway } from './support/harness';

jest.setTimeout(600000);

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  query: string[];
  fields: string[];
}

interface OpenApiDoc {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Array<{ in: string; name: string }>;
        requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> };
      }
    >
  >;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
}

const HOSTILE_STRINGS = [
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

/** A generated value as a query-string value (objects without a prototype have no toString). */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}

describe('requests generated from the OpenAPI document', () => {
  let dataDir: string;
  let gateway: TestGateway;
  const keys: Array<string | undefined> = [undefined];
  let operations: Operation[] = [];

  beforeAll(async () => {
    dataDir = await tempDir('gec-hostile-requests-');
    gateway = await startGateway({
      dataDir,
      env: { EXPIRY_SWEEP_INTERVAL_MS: '0', RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_READS_PER_MINUTE: '0' },
    });
    const admin = await readFirstAdminKey(dataDir);
    keys.push(admin);
    for (const [role, actsFor] of [
      ['trading-center', 'TC-1'],
      ['energy-platform', 'GRID'],
      ['regulator', 'NEA'],
    ]) {
      const res = await gateway.http
        .post('/v1/api-keys')
        .set('X-API-Key', admin)
        .send({ label: role, role, actsFor })
        .expect(201);
      keys.push(res.body.key as string);
    }
    const doc = (await gateway.http.get('/docs/openapi.json').expect(200)).body as OpenApiDoc;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        const ref = Object.values(op.requestBody?.content ?? {})[0]?.schema?.$ref;
        const schema = ref ? doc.components.schemas[ref.split('/').pop()!] : undefined;
        operations.push({
          method: method as Operation['method'],
          path,
          query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
          fields: Object.keys(schema?.properties ?? {}),
        });
      }
    }
    operations = operations.sort((a, b) => (a.path + a.method).localeCompare(b.path + b.method));
  });

  afterAll(async () => {
    await gateway?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('never answers 5xx or a stack trace, and refuses with a problem document', async () => {
    expect(operations.length).toBeGreaterThan(40);
    const total = Number(process.env.HOSTILE_REQUESTS ?? 800);
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
    const request = fc.record({
      operation: fc.integer({ min: 0, max: operations.length - 1 }),
      key: fc.integer({ min: 0, max: keys.length - 1 }),
      params: fc.array(fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 30 })), {
        minLength: 4,
        maxLength: 4,
      }),
      query: fc.array(fc.tuple(fc.boolean(), value), { minLength: 4, maxLength: 4 }),
      body: fc.oneof(
        fc.record({ fields: fc.constant(false), value: fc.anything({ maxDepth: 3 }) }),
        // The operation's own fields, each present or missing, with hostile values.
        fc.record({
          fields: fc.constant(true),
          value: fc.array(fc.tuple(fc.boolean(), value), { minLength: 12, maxLength: 12 }),
        }),
      ),
    });
    const failures: string[] = [];
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const op = operations[r.operation];
        let n = 0;
        const path = op.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(r.params[n++ % r.params.length]));
        const query = op.query
          .map((name, i) =>
            r.query[i % 4][0] ? `${name}=${encodeURIComponent(asText(r.query[i % 4][1]))}` : '',
          )
          .filter((q) => q !== '')
          .join('&');
        // Bodies: sometimes the operation's own fields with hostile values, sometimes anything at all.
        const body = r.body.fields
          ? Object.fromEntries(
              op.fields
                .map((field, i) => [field, (r.body.value as Array<[boolean, unknown]>)[i % 12]] as const)
                .filter(([, [present]]) => present)
                .map(([field, [, v]]) => [field, v]),
            )
          : r.body.value;
        const target = query ? `${path}?${query}` : path;
        let call = gateway.http[op.method](target);
        const key = keys[r.key];
        if (key) call = call.set('X-API-Key', key);
        if (op.method !== 'get' && op.method !== 'delete') {
          call = call.set('Idempotency-Key', `fuzz-${sent}`).set('Content-Type', 'application/json');
          call = call.send(JSON.stringify(body ?? null));
        }
        const res = await call.catch((e: Error) => {
          process.stdout.write(`ERR ${e.message}\n`);
          throw e;
        });
        sent++;
        const text = res.text ?? '';
        if (res.status >= 500)
          failures.push(`${op.method.toUpperCase()} ${target} → ${res.status} ${text.slice(0, 300)}`);
        else if (
          res.status >= 400 &&
          !(/problem\+json/.test(String(res.headers['content-type'])) && res.body?.code)
        ) {
          failures.push(`${op.method.toUpperCase()} ${target} → ${res.status} without a problem document`);
        }
        if (/\n\s+at .+:\d+:\d+/.test(text))
          failures.push(`${op.method.toUpperCase()} ${target}: stack trace in the answer`);
        return failures.length === 0;
      }),
      { numRuns: total, seed: Number(process.env.HOSTILE_SEED ?? 20261206), endOnFailure: true },
    );
    process.stdout.write(
      `hostile requests: ${sent} sent over ${operations.length} operations, ${failures.length} failures\n`,
    );
    expect(failures).toEqual([]);
  });
});
