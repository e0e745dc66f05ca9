/**
 * PostgreSQL lost under the gateway: while the embedded server is down every request gets 503
 * DATABASE_UNAVAILABLE with Retry-After (never a 500), nothing is half-written, /health/ready says the database
 * is down; the gateway restarts the server itself and full service resumes without a gateway restart. A start
 * that fails after PostgreSQL was started leaves no PostgreSQL running.
 */
import { rm } from 'node:fs/promises';
import { createServer, Server } from 'node:net';
import { isAlive, postmasterPid } from './support/gateway-process';
import {
  freePort,
  participant,
  readFirstAdminKey,
  startGateway,
  tempDir,
  TestGateway,
} from './support/harness';

jest.setTimeout(120000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PostgreSQL loss', () => {
  let dataDir: string;
  let pgPort: number;
  let gateway: TestGateway | undefined;
  let blocker: Server | undefined;

  beforeAll(async () => {
    dataDir = await tempDir('gec-db-loss-');
    pgPort = await freePort();
  });

  afterAll(async () => {
    blocker?.close();
    await gateway?.close();
    const pid = postmasterPid(dataDir);
    if (pid && isAlive(pid)) process.kill(pid, 'SIGINT');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Hold PostgreSQL's port with a server that drops every connection: the restarts fail until it closes. */
  async function holdPort(): Promise<Server> {
    for (;;) {
      const pid = postmasterPid(dataDir);
      if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
      while (pid && isAlive(pid)) await sleep(10);
      const server = createServer((socket) => socket.destroy());
      const bound = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(pgPort, '127.0.0.1', () => resolve(true));
      });
      if (bound) return server;
      // The supervisor restarted PostgreSQL first: kill it again.
      await sleep(50);
    }
  }

  it('answers 503 while the database is gone and resumes by itself', async () => {
    gateway = await startGateway({
      dataDir,
      env: { EMBEDDED_PG_PORT: String(pgPort), EXPIRY_SWEEP_INTERVAL_MS: '0' },
    });
    const admin = await readFirstAdminKey(dataDir);
    await gateway.http
      .post('/v1/participants')
      .set('X-API-Key', admin)
      .send(participant('GEN-1'))
      .expect(201);

    blocker = await holdPort();
    const read = await gateway.http.get('/v1/participants').set('X-API-Key', admin);
    expect(read.status).toBe(503);
    expect(read.body.code).toBe('DATABASE_UNAVAILABLE');
    expect(read.headers['retry-after']).toBe('5');
    const write = await gateway.http
      .post('/v1/participants')
      .set('X-API-Key', admin)
      .set('Idempotency-Key', 'during-outage')
      .send(participant('GEN-2'));
    expect(write.status).toBe(503);
    const ready = await gateway.http.get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.database.status).toBe('down');

    await new Promise((resolve) => blocker!.close(resolve));
    blocker = undefined;
    const deadline = Date.now() + 60000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await gateway.http.get('/v1/participants').set('X-API-Key', admin)).status;
      if (status === 200) break;
      expect(status).toBe(503);
      await sleep(200);
    }
    expect(status).toBe(200);
    await gateway.http.get('/health/ready').expect(200);
    // The write refused during the outage changed nothing: it runs now, once.
    await gateway.http.get('/v1/participants/GEN-2').set('X-API-Key', admin).expect(404);
    await gateway.http
      .post('/v1/participants')
      .set('X-API-Key', admin)
      .set('Idempotency-Key', 'during-outage')
      .send(participant('GEN-2'))
      .expect(201);
    await gateway.close();
    gateway = undefined;
    const pid = postmasterPid(dataDir);
    expect(pid === undefined || !isAlive(pid)).toBe(true);
  });

  it('leaves no PostgreSQL running when the start fails after it was started', async () => {
    await expect(
      startGateway({
        dataDir,
        env: { EMBEDDED_PG_PORT: String(pgPort) },
        wrapLedger: () => {
          throw new Error('ledger unavailable (test)');
        },
      }),
    ).rejects.toThrow(/ledger unavailable/);
    const pid = postmasterPid(dataDir);
    expect(pid === undefined || !isAlive(pid)).toBe(true);
  });
});
