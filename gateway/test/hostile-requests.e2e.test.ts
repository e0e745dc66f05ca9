/**
 * Requests generated from the OpenAPI document (fast-check): every operation, with path parameters, query
 * strings and bodies that are sometimes plausible (the operation's own field names) and often hostile (wrong
 * types, huge strings, control characters, traversal, unknown fields), under every role and none. The gateway
 * must never answer 5xx, every refusal must be a problem document with a stable code, and no answer may carry a
 * stack trace. HOSTILE_REQUESTS sets how many (default 800 here; the reliability run uses 10,000).
 */
import { rm } from 'node:fs/promises';
import fc from 'fast-check';
import {
  answerFaults,
  buildRequest,
  OpenApiDoc,
  Operation,
  operationsOf,
  requestChoices,
} from './support/openapi-requests';
import { readFirstAdminKey, startGateway, tempDir, TestGateway } from './support/harness';

jest.setTimeout(600000);

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
    operations = operationsOf(doc);
  });

  afterAll(async () => {
    await gateway?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('never answers 5xx or a stack trace, and refuses with a problem document', async () => {
    expect(operations.length).toBeGreaterThan(40);
    const total = Number(process.env.HOSTILE_REQUESTS ?? 800);
    const request = requestChoices(operations.length, keys.length);
    const failures: string[] = [];
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const op = operations[r.operation];
        const generated = buildRequest(op, r);
        const target = generated.target;
        let call = gateway.http[op.method](target);
        const key = keys[r.key];
        if (key) call = call.set('X-API-Key', key);
        if (generated.body !== undefined) {
          call = call.set('Idempotency-Key', `fuzz-${sent}`).set('Content-Type', 'application/json');
          call = call.send(JSON.stringify(generated.body));
        }
        const res = await call.catch((e: Error) => {
          process.stdout.write(`ERR ${e.message}\n`);
          throw e;
        });
        sent++;
        failures.push(...answerFaults(`${op.method.toUpperCase()} ${target}`, res));
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
