/**
 * What the gateway says at start about whose identities it holds, on the real process output
 * (`gateway/dist/main.js`, as `npm start` runs it): the embedded default is a development consortium holding all
 * three organisations' identities and says so; a single-organisation gateway names its organisation, and warns
 * of stored API keys whose identity it does not hold (left from when it ran as the development consortium).
 */
import { rm } from 'node:fs/promises';
import {
  gatewayProcessEnv,
  startGatewayProcess,
  stopAll,
  type GatewayProcess,
} from './support/gateway-process';
import { readFirstAdminKey, tempDir } from './support/harness';

jest.setTimeout(180000);

describe('the organisation a gateway says it is at start', () => {
  let dataDir: string;
  let env: Record<string, string>;
  const started: GatewayProcess[] = [];

  beforeAll(async () => {
    dataDir = await tempDir('gec-organisation-start-');
    env = await gatewayProcessEnv(dataDir, { EXPIRY_SWEEP_START_DELAY_MS: '0' });
  });

  afterAll(async () => {
    await stopAll(
      started.map((gateway) => gateway.child),
      dataDir,
    );
    await rm(dataDir, { recursive: true, force: true });
  });

  const start = async (extra: Record<string, string> = {}): Promise<GatewayProcess> => {
    const gateway = await startGatewayProcess({ ...env, ...extra });
    started.push(gateway);
    return gateway;
  };

  const stop = async (gateway: GatewayProcess): Promise<void> => {
    await stopAll([gateway.child], undefined);
  };

  it('the embedded default holds all three organisations’ identities, and says it is a development consortium', async () => {
    const gateway = await start();
    const output = gateway.output();
    expect(output).toMatch(
      /this gateway holds the identities of all three organisations \(GridMSP, TradingCenterMSP, RegulatorMSP: GridMSP\/admin, GridMSP\/platform, TradingCenterMSP\/admin, TradingCenterMSP\/trading, RegulatorMSP\/regulator\): a development consortium in one process, NOT a production deployment/,
    );
    expect(output).toMatch(/"level":40[^\n]*development consortium/);
    await stop(gateway);
  });

  it('a single organisation’s gateway names its organisation and warns of keys naming identities it does not hold', async () => {
    const firstAdmin = await readFirstAdminKey(dataDir);
    const gateway = await start({ GEC_ORGANISATION: 'RegulatorMSP' });
    const output = gateway.output();
    expect(output).toContain(
      "this gateway is RegulatorMSP's (regulator: 监管方, reads only): it holds RegulatorMSP/regulator only",
    );
    expect(output).not.toContain('development consortium');
    // The first admin key was made for the development consortium: the grid's admin, not held here.
    expect(output).toMatch(
      new RegExp(
        `1 API key\\(s\\) name an identity this gateway does not hold[^\\n]*\\(${firstAdmin.slice(0, 8)}…, admin, GridMSP/admin\\)`,
      ),
    );
    // The regulator never writes: its gateway leaves the expiry sweep to the platform's.
    expect(output).toContain('expiry sweep: run by the GridMSP (platform operator) gateway, not this one');
    await stop(gateway);
  });
});
