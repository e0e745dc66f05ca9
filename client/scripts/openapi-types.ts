/**
 * The client's types come from the OpenAPI document the gateway serves, not from a copy of it: a gateway is started
 * as the end-to-end tests start one (real embedded ledger, real PostgreSQL; gateway/test/support/harness.ts), its
 * /docs/openapi.json is read, and openapi-typescript (a pinned devDependency of the client) turns it into
 * client/src/generated/openapi.ts.
 *
 * client/test/openapi-types.e2e.test.ts runs this and fails when the committed file differs, so a changed API
 * without regenerated client types fails CI. `npm run client:types` runs the same test with
 * UPDATE_CLIENT_TYPES=1, which writes the file instead.
 *
 * Not product code: it lives outside client/src and is never built into the package.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startGateway, startTestPostgres, tempDir } from '../../gateway/test/support/harness';

export const GENERATED_TYPES = resolve(__dirname, '../src/generated/openapi.ts');

/** What this module and the client's tests read of an OpenAPI 3.1 document. */
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: Record<string, unknown>;
}

export interface OpenApiOperation {
  operationId?: string;
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  requestBody?: { required?: boolean; content: Record<string, unknown> };
  responses: Record<string, { content?: Record<string, unknown> }>;
}

/** The document as a live gateway serves it at /docs/openapi.json. */
export async function servedOpenApiDocument(): Promise<OpenApiDocument> {
  const postgres = await startTestPostgres();
  const dataDir = await tempDir('gec-client-types-');
  try {
    const gateway = await startGateway({ dataDir, databaseUrl: await postgres.newDatabase() });
    try {
      const { port } = gateway.app.getHttpServer().address() as { port: number };
      const response = await fetch(`http://127.0.0.1:${port}/docs/openapi.json`);
      if (!response.ok) throw new Error(`GET /docs/openapi.json: ${response.status}`);
      return (await response.json()) as OpenApiDocument;
    } finally {
      await gateway.close();
    }
  } finally {
    await postgres.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const HEADER =
  '// Generated from the OpenAPI document the gateway serves (/docs/openapi.json) by client/scripts/openapi-types.ts\n' +
  '// with openapi-typescript; regenerate with `npm run client:types`, never edit by hand:\n' +
  '// client/test/openapi-types.e2e.test.ts fails when this file differs from what the current document generates.\n';

/** The TypeScript that openapi-typescript writes for `document`, with our header. */
export async function generateTypes(document: OpenApiDocument): Promise<string> {
  const packageJson = require.resolve('openapi-typescript/package.json');
  const { bin } = JSON.parse(await readFile(packageJson, 'utf8')) as { bin: Record<string, string> };
  const cli = join(dirname(packageJson), bin['openapi-typescript']);
  const dir = await mkdtemp(join(tmpdir(), 'gec-openapi-'));
  try {
    const input = join(dir, 'openapi.json');
    const output = join(dir, 'openapi.ts');
    await writeFile(input, JSON.stringify(document));
    // --default-non-nullable false: a property with a default is optional unless the schema requires it. Otherwise
    // request fields the gateway defaults (an issuance's `tradable`, a meter's `intervalMinutes`) would be required.
    const options = ['--default-non-nullable', 'false'];
    await promisify(execFile)(process.execPath, [cli, input, '--output', output, ...options], {
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    return HEADER + (await readFile(output, 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
