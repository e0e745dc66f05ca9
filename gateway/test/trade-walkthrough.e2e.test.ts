/**
 * docs/trade-walkthrough.md, exactly as an integrator pastes it: its bash blocks are run in order with bash, curl,
 * jq, openssl and node against a live gateway (real embedded ledger, real PostgreSQL), as the README's worked
 * example is (readme-worked-example.e2e.test.ts). Only the address changes (the gateway listens on a free port);
 * `.data` points at the gateway's data folder and `node_modules` at the repository's (the walkthrough runs at the
 * repository root and canonicalizes with the `canonicalize` package). Then what the blocks printed is checked, and
 * the trade and its voucher are read back through the API.
 */
import { rm, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  type TestGateway,
  type TestPostgres,
} from './support/harness';
import { bashBlocks, runPasted } from './support/pasted-script';

const WALKTHROUGH = resolve(__dirname, '../../docs/trade-walkthrough.md');

/** The ```bash blocks of the walkthrough, in order. */
async function walkthrough(): Promise<string> {
  const { script, blocks } = await bashBlocks(WALKTHROUGH);
  expect(blocks).toBeGreaterThan(8);
  return script;
}

/** Certificates of the walkthrough's month: 150 kWh an hour from 06:00 to 18:00 every day. */
function certificatesOf(month: string): number {
  const [year, monthNumber] = month.split('-').map(Number);
  const days = new Date(Date.UTC(year, monthNumber, 0)).getUTCDate();
  return Math.floor((days * 12 * 150) / 1000);
}

describe('trade walkthrough (docs/trade-walkthrough.md)', () => {
  let postgres: TestPostgres;
  let dataDir: string;
  let workDir: string;
  let gateway: TestGateway;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-walkthrough-');
    workDir = await tempDir('gec-walkthrough-cwd-');
    gateway = await startGateway({ dataDir, databaseUrl: await postgres.newDatabase() });
    await symlink(dataDir, join(workDir, '.data'));
    await symlink(resolve(__dirname, '../../node_modules'), join(workDir, 'node_modules'));
  }, 60000);

  afterAll(async () => {
    await gateway?.close();
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it('runs as pasted: the trade is COMMITTED and its voucher carries the volume', async () => {
    const address = gateway.app.getHttpServer().address() as { port: number };
    const epilogue =
      '\necho "::month $MONTH"; echo "::trade $TRADE_ID"; echo "::voucher $VOUCHER"; ' +
      'echo "::state $(jq -r .state <<<"$STATUS")"\n';
    const { stdout, stderr } = await runPasted(await walkthrough(), {
      port: address.port,
      cwd: workDir,
      epilogue,
    });
    // Nothing failed on the way: no curl, jq, cmp or bash error, no server error.
    expect(stderr).not.toMatch(/curl:|jq: error|parse error|command not found|syntax error|differ|cmp:/);
    expect(stdout).not.toMatch(/INTERNAL_ERROR|"status": ?[45]\d\d/);

    const marker = (name: string) => new RegExp(`::${name} (\\S+)`).exec(stdout)?.[1] ?? '';
    const month = marker('month');
    const tradeId = marker('trade');
    const voucherId = marker('voucher');
    expect(month).toMatch(/^\d{4}-\d{2}$/);
    expect(tradeId).toBe(`T-${month}-0001`);
    expect(marker('state')).toBe('COMMITTED');

    // Every step printed what the page says it prints.
    expect(stdout).toContain('{"id":"TC-HEBEI","kind":"TRADING_CENTER","status":"ACTIVE"}');
    expect(stdout).toContain(
      '{"tradingCenter":"TC-HEBEI","keyId":"tc-2026-01","alg":"hmac-sha256","revokedAt":null}',
    );
    expect(stdout).toMatch(/\{"accepted":\d+,"rejected":0\}/);
    expect(stdout.match(/"status":"CLOSED"/g)).toHaveLength(2);
    expect(stdout).toContain(`{"certificates":${certificatesOf(month)},`);
    expect(stdout).toMatch(new RegExp(`location: /v1/trades/${tradeId}\\s`, 'i'));
    expect(stdout).toMatch(/idempotent-replayed: true/i);
    expect(stdout).toContain('tradeDataHash = SHA-256 of our canonical bytes');
    expect(stdout).toContain('{"ok":true}');
    // The check data keyed with the base64 text: rejected on the signature alone.
    const rejected = stdout
      .split('\n')
      .filter((line) => line.startsWith(`{"tradeId":"${tradeId}-B","state":"REJECTED"`))
      .map((line) => JSON.parse(line) as { failed: Array<{ name: string }> });
    expect(rejected).toHaveLength(1);
    expect(rejected[0].failed.map((check) => check.name)).toEqual(['signature']);

    // And through the API: the trade committed on the ledger, the voucher in custody with the volume.
    const admin = await readFirstAdminKey(dataDir);
    const trade = await gateway.http.get(`/v1/trades/${tradeId}`).set('X-API-Key', admin).expect(200);
    expect(trade.body).toMatchObject({
      state: 'COMMITTED',
      seller: 'GEN-HB-002',
      buyer: 'CON-SH-002',
      volumeKwh: 50000,
      voucherId,
    });
    expect(trade.body.ledger.validationCode).toBe('VALID');
    const voucher = await gateway.http.get(`/v1/vouchers/${voucherId}`).set('X-API-Key', admin).expect(200);
    expect(voucher.body).toMatchObject({ consumer: 'CON-SH-002', seller: 'GEN-HB-002', volumeKwh: 50000 });
    const lots = voucher.body.sourceLots as Array<{ volume: number }>;
    expect(lots.reduce((sum, lot) => sum + lot.volume, 0)).toBe(50);
  });
});
