/**
 * Reliability stage "hostile input": requests generated from the gateway's OpenAPI document by fast-check
 * (gateway/test/support/openapi-requests.ts: every operation, hostile path parameters, query strings and bodies,
 * under every role and none), here with hostile headers too (Idempotency-Key, Content-Type, API key, signature).
 * No answer may be a 5xx or carry a stack trace, every refusal is a problem document, and a refused request
 * writes nothing: after every request the ledger height and a fingerprint of every business table are compared
 * with the ones before it.
 *
 * Then every role × endpoint pair against the roles the document declares (`x-gec-roles`): no key → 401, a role
 * not declared → 403 ROLE_NOT_ALLOWED (never 2xx, nothing written), a declared role → neither.
 *
 * Full: 10,000 generated requests; short (CI): 2,000.
 */
import { rm } from 'node:fs/promises';
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { LEDGER_PORT } from '../../gateway/src/ledger-module/ledger.tokens';
import type { LedgerPort } from '../../gateway/src/ledger/port';
import {
  creditCode,
  readFirstAdminKey,
  startGateway,
  tempDir,
  TestGateway,
} from '../../gateway/test/support/harness';
import {
  answerFaults,
  buildRequest,
  HOSTILE_STRINGS,
  OpenApiDoc,
  Operation,
  operationsOf,
  requestChoices,
} from '../../gateway/test/support/openapi-requests';
import { OpenApiContract, type OpenApiDocument } from '../../gateway/test/support/openapi-contract';
import { eventually, FULL, report, size, stageSeed } from './support/stage';

const REQUESTS = size('RELIABILITY_HOSTILE_REQUESTS', 10_000, 2_000);
const ROLES = ['admin', 'trading-center', 'energy-platform', 'regulator'] as const;
/**
 * Tables a refused request may write: its remembered answer under its Idempotency-Key, and the nonce of a
 * signature (a replayed nonce must stay refused). Everything else is business data.
 */
// regulator_audit_log records every request of a regulator key, refused ones included: that is its purpose.
const BOOKKEEPING = new Set([
  'idempotency_keys',
  'api_key_nonces',
  'typeorm_migrations',
  'regulator_audit_log',
]);

jest.setTimeout(FULL ? 30 * 60_000 : 8 * 60_000);

/** Header values a client can send at all (Node refuses control characters in headers before they leave). */
const HEADER_VALUES = HOSTILE_STRINGS.filter((s) => /^[\t\x20-\x7e]*$/.test(s));

describe('reliability: hostile input (requests generated from the OpenAPI document)', () => {
  let dataDir: string;
  let gateway: TestGateway;
  let ledger: LedgerPort;
  let db: DataSource;
  const keys: Array<string | undefined> = [undefined];
  const keyOf: Record<string, string> = {};
  let operations: Operation[] = [];
  /** The document itself: every answer to a described operation must be one it declares. */
  let contract: OpenApiContract;
  let fingerprintSql = '';

  beforeAll(async () => {
    dataDir = await tempDir('gec-reliability-hostile-');
    gateway = await startGateway({
      dataDir,
      env: { EXPIRY_SWEEP_INTERVAL_MS: '0', RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_READS_PER_MINUTE: '0' },
    });
    ledger = gateway.app.get<LedgerPort>(LEDGER_PORT);
    db = gateway.app.get(DataSource);
    const admin = await readFirstAdminKey(dataDir);
    keyOf.admin = admin;
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
      keyOf[role] = res.body.key as string;
      keys.push(res.body.key as string);
    }
    // A few participants, so that ids the generator likes (GEN-1) reach past "not found".
    for (const [id, kind] of [
      ['GEN-1', 'GENERATOR'],
      ['CON-1', 'CONSUMER'],
      ['TC-1', 'TRADING_CENTER'],
    ]) {
      await gateway.http
        .post('/v1/participants')
        .set('X-API-Key', admin)
        .send({
          id,
          kind,
          name: `${id} 有限公司`,
          region: '330000',
          creditCode: creditCode(31_000 + id.length),
        })
        .expect(201);
    }
    const document = (await gateway.http.get('/docs/openapi.json').expect(200)).body;
    operations = operationsOf(document as OpenApiDoc);
    contract = new OpenApiContract(document as OpenApiDocument);
    // One statement: a digest of every row of every business table (partitions are read through their parent).
    const tables = (await db.query(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`,
    )) as Array<{ relname: string }>;
    fingerprintSql = tables
      .map((t) => t.relname)
      .filter((t) => !BOOKKEEPING.has(t))
      .map(
        (t) =>
          `SELECT '${t}' AS t, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM ${t} x`,
      )
      .join(' UNION ALL ');
  });

  afterAll(async () => {
    await gateway?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** The ledger height and a digest per business table. */
  async function fingerprint(): Promise<Map<string, string>> {
    const rows = (await db.query(fingerprintSql)) as Array<{ t: string; h: string }>;
    const print = new Map(rows.map((r) => [r.t, r.h]));
    print.set('ledger height', String((await ledger.getChainInfo()).height));
    return print;
  }
  const changed = (a: Map<string, string>, b: Map<string, string>) =>
    [...a.keys()].filter((k) => a.get(k) !== b.get(k));

  /** After an accepted write, wait until its consequences (projection, trade pipeline) have settled. */
  async function settled(): Promise<Map<string, string>> {
    let last = await fingerprint();
    await eventually(
      'the books settled after an accepted write',
      async () => {
        const now = await fingerprint();
        const moving = changed(last, now);
        last = now;
        return { done: moving.length === 0, state: `still changing: ${moving.join(', ')}` };
      },
      120_000,
      300,
    );
    return last;
  }

  it('never answers 5xx or a stack trace, and a refused request writes nothing', async () => {
    expect(operations.length).toBeGreaterThan(40);
    const seed = stageSeed('hostile');
    /** `value` in about one request of `every`, otherwise null: most requests must get past the headers. */
    const sometimes = <T>(every: number, value: fc.Arbitrary<T>) =>
      fc.oneof({ arbitrary: fc.constant(null), weight: every - 1 }, { arbitrary: value, weight: 1 });
    const headers = fc.record({
      idempotencyKey: sometimes(
        4,
        fc.oneof(
          fc.constantFrom(...HEADER_VALUES),
          fc.string({ maxLength: 300 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
        ),
      ),
      contentType: fc.oneof(
        { arbitrary: fc.constant('application/json'), weight: 6 },
        {
          arbitrary: fc.constantFrom(
            'application/json; charset=utf-16',
            'application/x-www-form-urlencoded',
            'text/plain',
            'application/x-ndjson',
            'multipart/form-data; boundary=x',
          ),
          weight: 2,
        },
      ),
      garbageKey: sometimes(10, fc.constant(true)),
      garbageSignature: sometimes(
        10,
        fc.constantFrom(...HEADER_VALUES, 'keyId=x, alg=hmac-sha256, sig=AAAA'),
      ),
    });
    const failures: string[] = [];
    const statuses = new Map<string, number>();
    let sent = 0;
    let acceptedWrites = 0;
    let refusedWrites = 0;
    let before = await fingerprint();
    let readsSince: string[] = [];
    await fc.assert(
      fc.asyncProperty(requestChoices(operations.length, keys.length), headers, async (r, h) => {
        const op = operations[r.operation];
        const generated = buildRequest(op, r);
        const what = `${op.method.toUpperCase()} ${generated.target.slice(0, 200)}`;
        let call = gateway.http[op.method](generated.target);
        const key = h.garbageKey ? 'gec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' : keys[r.key];
        if (key) call = call.set('X-API-Key', key);
        if (h.garbageSignature !== null) call = call.set('X-Gec-Signature', h.garbageSignature);
        if (generated.body !== undefined) {
          call = call.set('Content-Type', h.contentType).send(JSON.stringify(generated.body));
          call = call.set('Idempotency-Key', h.idempotencyKey ?? `fuzz-${seed}-${sent}`);
        }
        const res = await call;
        sent++;
        const label = `${res.status}`;
        statuses.set(label, (statuses.get(label) ?? 0) + 1);
        failures.push(...answerFaults(what, res));
        // Valid against the document: a declared status, content type and body (a path the generator made
        // that no operation describes, e.g. an empty segment, is the router's 404, checked above).
        const path = generated.target.split('?')[0];
        if (contract.operationOf(op.method, path)) {
          failures.push(
            ...contract
              .check({ method: op.method, path, status: res.status, headers: res.headers, text: res.text })
              .map((fault) => `${what}: ${fault}`),
          );
        }
        const write = op.method !== 'get';
        if (res.status >= 200 && res.status < 300 && write) {
          acceptedWrites++;
          before = await settled();
          readsSince = [];
        } else if (write) {
          refusedWrites++;
          // Reads are not fingerprinted one by one (half the cost of the stage); one that wrote is caught here,
          // named with the reads since the last fingerprint.
          const after = await fingerprint();
          const diff = changed(before, after);
          if (diff.length > 0) {
            failures.push(
              `${what} → ${res.status} (or one of ${readsSince.length} reads before it: ${readsSince.slice(-5).join('; ')}), yet it changed ${diff.join(', ')}`,
            );
          }
          before = after;
          readsSince = [];
        } else {
          readsSince.push(`${what} → ${res.status}`);
        }
        if (failures.length > 0) throw new Error(failures.join('\n'));
        return true;
      }),
      { numRuns: REQUESTS, seed, endOnFailure: true },
    );
    const end = changed(before, await fingerprint());
    if (end.length > 0) failures.push(`the last reads (${readsSince.join('; ')}) changed ${end.join(', ')}`);
    expect(failures).toEqual([]);
    report({
      stage: 'hostile',
      what: `${sent} requests generated from the OpenAPI document over ${operations.length} operations (fast-check seed ${seed})`,
      figure: `answers ${[...statuses]
        .sort()
        .map(([s, n]) => `${s}×${n}`)
        .join(' ')}`,
      survived: `no 5xx, no stack trace, every answer as the OpenAPI document declares it, every refusal a problem document; ${refusedWrites} refused writes changed no table and no ledger block (${acceptedWrites} accepted)`,
    });
  });

  it('answers every role × endpoint pair as the document declares', async () => {
    const failures: string[] = [];
    let pairs = 0;
    for (const op of operations) {
      const target = op.path.replace(/\{[^}]+\}/g, 'X-1');
      const send = (key: string | undefined) => {
        let call = gateway.http[op.method](target);
        if (key) call = call.set('X-API-Key', key);
        if (op.method !== 'get' && op.method !== 'delete')
          call = call.set('Content-Type', 'application/json').send('{}');
        return call;
      };
      if (!op.roles) {
        const res = await send(undefined);
        pairs++;
        if (res.status === 401 || res.status >= 500)
          failures.push(`${op.method} ${op.path} (public) without a key → ${res.status}`);
        continue;
      }
      const callers: Array<[string, string | undefined]> = [
        ['no key', undefined],
        ...ROLES.map((role) => [role, keyOf[role]] as [string, string]),
      ];
      for (const [caller, key] of callers) {
        const before = await fingerprint();
        const res = await send(key);
        pairs++;
        const allowed = caller !== 'no key' && op.roles.includes(caller);
        const expected = caller === 'no key' ? 401 : allowed ? undefined : 403;
        const name = `${op.method.toUpperCase()} ${op.path} as ${caller} (declared: ${op.roles.join(', ')})`;
        if (expected !== undefined && res.status !== expected)
          failures.push(`${name} → ${res.status}, expected ${expected}`);
        if (expected === 403 && res.body?.code !== 'ROLE_NOT_ALLOWED')
          failures.push(`${name} → code ${res.body?.code}`);
        if (allowed && (res.status === 401 || res.body?.code === 'ROLE_NOT_ALLOWED'))
          failures.push(`${name} → refused ${res.status} ${res.body?.code}`);
        if (res.status >= 500) failures.push(`${name} → ${res.status}`);
        if (!allowed) {
          const diff = changed(before, await fingerprint());
          if (diff.length > 0) failures.push(`${name} → ${res.status}, yet it changed ${diff.join(', ')}`);
        }
      }
    }
    expect(failures).toEqual([]);
    report({
      stage: 'hostile',
      what: `role × endpoint matrix over ${operations.length} operations and ${ROLES.length} roles + none`,
      figure: `${pairs} pairs`,
      survived:
        'no key → 401, undeclared role → 403 ROLE_NOT_ALLOWED writing nothing, declared role never refused for its role',
    });
  });
});
