/**
 * An idempotent write across a crash (kill -9): the gateway is killed after the ledger committed a transfer but
 * before the Idempotency-Key's answer was stored (a test hook, IDEMPOTENCY_COMPLETE_DELAY_MS, widens that
 * window). The client's retry with the same key, on the restarted gateway, must be answered from the committed
 * transaction at once (the killed instance is known to be gone), and the certificates must have moved once.
 */
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { LEDGER_PORT } from '../src/ledger-module/ledger.tokens';
import type { LedgerPort } from '../src/ledger/port';
import {
  exited,
  gatewayProcessEnv,
  startGatewayProcess,
  stopAll,
  waitForOutput,
} from './support/gateway-process';
import { startGateway, tempDir } from './support/harness';
import { heldOnLedger, LotMarket, setupIssuedLot } from './support/lot-fixture';
import { signatureHeaders } from './support/signing';

jest.setTimeout(120000);

describe('Idempotency-Key across a gateway crash (SIGKILL)', () => {
  let dataDir: string;
  let env: Record<string, string>;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dataDir = await tempDir('gec-idempotency-crash-');
    env = await gatewayProcessEnv(dataDir, { EXPIRY_SWEEP_INTERVAL_MS: '0' });
  });

  afterAll(async () => {
    await stopAll(children, dataDir);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const inProcess = () =>
    startGateway({ dataDir, env: { EMBEDDED_PG_PORT: env.EMBEDDED_PG_PORT, EXPIRY_SWEEP_INTERVAL_MS: '0' } });

  it('moves certificates once when the gateway dies between the ledger commit and the stored answer', async () => {
    let market: LotMarket;
    {
      const setup = await inProcess();
      try {
        market = await setupIssuedLot(setup, dataDir);
      } finally {
        await setup.close();
      }
    }
    const base = `http://127.0.0.1:${env.PORT}`;
    const path = `/v1/lots/${market.lotId}/transfer`;
    const json = JSON.stringify({ from: 'GEN-1', to: 'CON-1', certificates: 1 });
    const transfer = () =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: {
          'X-API-Key': market.keys['trading-center'],
          'Idempotency-Key': 'transfer-once',
          'Content-Type': 'application/json',
          ...signatureHeaders(market.keys['trading-center'], 'POST', path, json),
        },
        body: json,
      });

    const first = await startGatewayProcess({ ...env, IDEMPOTENCY_COMPLETE_DELAY_MS: '30000' });
    children.push(first.child);
    const lost = transfer().catch((error: Error) => error);
    await waitForOutput(first, /Idempotency-Key transfer-once: done; storing its answer/);
    first.child.kill('SIGKILL');
    await exited(first.child);
    // The client never heard (connection reset).
    expect(await lost).toHaveProperty('message', 'fetch failed');

    const second = await startGatewayProcess(env);
    children.push(second.child);
    const started = Date.now();
    const retried = await transfer();
    const retryMs = Date.now() - started;
    expect(retried.status).toBe(200);
    const body = (await retried.json()) as { lotId: string; ledger: { txId: string } };
    expect(second.output()).toContain(
      `resuming an earlier attempt; its ledger writes are resolved by txId ${body.ledger.txId}`,
    );
    const replayed = await transfer();
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(await replayed.json()).toEqual(body);
    second.child.kill('SIGTERM');
    await exited(second.child);

    const check = await inProcess();
    try {
      const ledger = check.app.get<LedgerPort>(LEDGER_PORT);
      expect(await heldOnLedger(ledger, 'CON-1')).toBe(1);
      expect((await ledger.getTransaction(body.ledger.txId))?.validationCode).toBe('VALID');
    } finally {
      await check.close();
    }
    process.stdout.write(
      `idempotency crash test: retry after kill -9 answered in ${retryMs} ms, moved once\n`,
    );
  });
});
