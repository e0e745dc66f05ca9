/**
 * docs/trade-walkthrough.md, section 9, the trade with the TypeScript client: its ```ts blocks, joined, are exactly
 * client/examples/trade-walkthrough.mts (which `npm run lint` type-checks), and that program runs as an integrator
 * runs it — compiled to JavaScript, with node, importing the built @gec-ledger/client — against a live gateway
 * (real embedded ledger, real PostgreSQL), from a folder whose `.data` is the gateway's. Then what it printed is
 * checked, and the trade and its voucher are read back through the client.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { GecClient } from '@gec-ledger/client';
import {
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  type TestGateway,
  type TestPostgres,
} from './support/harness';
import { codeBlocks } from './support/pasted-script';

jest.setTimeout(120000);

const ROOT = resolve(__dirname, '../..');
const WALKTHROUGH = join(ROOT, 'docs/trade-walkthrough.md');
const EXAMPLE = join(ROOT, 'client/examples/trade-walkthrough.mts');
const BUILT_CLIENT = join(ROOT, 'client/dist/index.js');

describe('trade walkthrough with the TypeScript client (docs/trade-walkthrough.md, section 9)', () => {
  let postgres: TestPostgres;
  let dataDir: string;
  let workDir: string;
  let gateway: TestGateway;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-walkthrough-client-');
    workDir = await tempDir('gec-walkthrough-client-cwd-');
    gateway = await startGateway({ dataDir, databaseUrl: await postgres.newDatabase() });
    await symlink(dataDir, join(workDir, '.data'));
    await symlink(join(ROOT, 'node_modules'), join(workDir, 'node_modules'));
  }, 60000);

  afterAll(async () => {
    await gateway?.close();
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it('shows exactly client/examples/trade-walkthrough.mts', async () => {
    const { script, blocks } = await codeBlocks(
      WALKTHROUGH,
      'ts',
      '## 9. The same trade with the TypeScript client',
    );
    expect(blocks).toBeGreaterThan(5);
    expect(script).toBe(await readFile(EXAMPLE, 'utf8'));
  });

  it('runs: the trade is COMMITTED and its voucher carries the volume', async () => {
    if (!existsSync(BUILT_CLIENT)) throw new Error(`${BUILT_CLIENT} is missing: run \`npm run build\` first`);
    const { outputText } = ts.transpileModule(await readFile(EXAMPLE, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    await writeFile(join(workDir, 'trade-walkthrough.mjs'), outputText);
    const { port } = gateway.app.getHttpServer().address() as { port: number };
    const { stdout } = await promisify(execFile)(process.execPath, ['trade-walkthrough.mjs'], {
      cwd: workDir,
      env: { ...process.env, GEC_URL: `http://127.0.0.1:${port}` },
      timeout: 110_000,
    });

    const lines = stdout.trim().split('\n');
    const printed = lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    expect(printed[0]).toMatchObject({ rejected: 0 });
    expect(printed.filter((p) => p.status === 'CLOSED')).toHaveLength(2);
    const { certificates, lotId } = printed.find((p) => 'certificates' in p);
    expect(certificates).toBeGreaterThanOrEqual(50);
    expect(lines).toContain('tradeDataHash = SHA-256 of our canonical bytes');
    const final = printed.find((p) => p.state !== undefined && p.state !== 'RECEIVED' && 'failure' in p);
    expect(final).toMatchObject({ state: 'COMMITTED', failure: null });
    expect(printed.at(-1)).toEqual({ ok: true });

    // And read back through the client: committed on the ledger, the voucher in custody with the volume.
    const admin = new GecClient({
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: await readFirstAdminKey(dataDir),
    });
    const trade = await admin.getTrade(final.tradeId);
    expect(trade).toMatchObject({
      state: 'COMMITTED',
      seller: 'GEN-HB-002',
      buyer: 'CON-SH-002',
      volumeKwh: 50000,
    });
    expect(trade.ledger?.validationCode).toBe('VALID');
    const voucher = await admin.getVoucher(trade.voucherId!);
    expect(voucher).toMatchObject({ consumer: 'CON-SH-002', volumeKwh: 50000, status: 'IN_CUSTODY' });
    expect(voucher.sourceLots.map((lot) => lot.serialStart)).toEqual([expect.stringMatching(/^P1307/)]);
    expect(lotId).toMatch(/^P1307/);
  });
});
