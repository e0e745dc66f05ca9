/**
 * The README's worked example, exactly as an integrator pastes it: its bash blocks are taken from README.md and run
 * in order with bash, curl, jq, openssl and node against a live gateway (real embedded ledger, real PostgreSQL).
 * Only the address changes (the gateway listens on a free port) and `.data` points at the gateway's data folder.
 * What the blocks print is then checked: the issuance's count for this month's length, which serials the
 * redemption and the exchange took, and the refusals the example shows.
 */
import { rm, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  startGateway,
  startTestPostgres,
  tempDir,
  type TestGateway,
  type TestPostgres,
} from './support/harness';
import { bashBlocks, runPasted } from './support/pasted-script';

const README = resolve(__dirname, '../../README.md');

/** The ```bash blocks of the "Worked example" section, in order. */
async function workedExample(): Promise<string> {
  const { script, blocks } = await bashBlocks(README, '### Worked example');
  expect(blocks).toBeGreaterThan(4);
  return script;
}

/** Certificates the example's month gives: two meters at 100 and 62.5 kWh every hour of the month. */
function certificatesOf(month: string): number {
  const [year, monthNumber] = month.split('-').map(Number);
  const days = new Date(Date.UTC(year, monthNumber, 0)).getUTCDate();
  return Math.floor((days * 24 * 162.5) / 1000);
}

describe('README worked example', () => {
  let postgres: TestPostgres;
  let dataDir: string;
  let workDir: string;
  let gateway: TestGateway;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-readme-');
    workDir = await tempDir('gec-readme-cwd-');
    gateway = await startGateway({ dataDir, databaseUrl: await postgres.newDatabase() });
    await symlink(dataDir, join(workDir, '.data'));
  }, 60000);

  afterAll(async () => {
    await gateway?.close();
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it('runs as pasted, in any month', async () => {
    const address = gateway.app.getHttpServer().address() as { port: number };
    // What it would have been told in the shell, and the month and count, for the checks below.
    const epilogue = '\necho "::month $MONTH"; echo "::certificates $N"\n';
    const { stdout, stderr } = await runPasted(await workedExample(), {
      port: address.port,
      cwd: workDir,
      epilogue,
    });
    // Nothing failed on the way: no curl, jq or bash error, no server error.
    expect(stderr).not.toMatch(/curl:|jq: error|parse error|command not found|syntax error/);
    expect(stdout).not.toMatch(/INTERNAL_ERROR|"status": ?5\d\d/);

    const month = /::month (\d{4}-\d{2})/.exec(stdout)?.[1] ?? '';
    const n = certificatesOf(month);
    expect(stdout).toContain(`::certificates ${n}`);
    expect(stdout).toContain(`"certificates": ${n}`);

    // The redemption checks (first serial, last, one inside the redeemed range, one just outside) and the
    // exchanged serial, as printed by `jq -c`.
    const checks = stdout
      .split('\n')
      .filter((line) => line.startsWith('{"serial"'))
      .map((line) => JSON.parse(line) as { serial: string; redeemed?: boolean; exchanged?: boolean });
    const sequence = (serial: string) => Number(serial.slice(23, 30));
    expect(checks.map((c) => [sequence(c.serial), c.redeemed ?? null, c.exchanged ?? null])).toEqual([
      [1, false, null],
      [n, true, null],
      [n - 20, true, null],
      [n - 30, false, null],
      [n - 35, null, true],
    ]);
    // The provenance of the last serial, as printed by `jq -c`: issuance, listing, sale, redemption.
    const timeline = stdout
      .split('\n')
      .filter((line) => line.startsWith('{"kind"'))
      .map((line) => JSON.parse(line) as { kind: string; blockNumber: number; mspId: string });
    expect(timeline.map((e) => [e.kind, e.mspId])).toEqual([
      ['ISSUED', 'GridMSP'],
      ['LISTED', 'TradingCenterMSP'],
      ['SOLD', 'TradingCenterMSP'],
      ['REDEEMED', 'TradingCenterMSP'],
    ]);
    expect(timeline.every((e) => Number.isInteger(e.blockNumber))).toBe(true);
    // The refusals it shows.
    expect(stdout).toMatch(/"code": "LOT_REDEEMED"/);
    expect(stdout).toMatch(/"code": "CONSORTIUM_PAUSED"/);
    expect(stdout).toMatch(/"paused": false/);
  });
});
