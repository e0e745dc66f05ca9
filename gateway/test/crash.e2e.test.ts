/**
 * `npm start` for real: the compiled gateway (`gateway/dist/main.js`, built by `npm run build`) in its own
 * process, with its own embedded PostgreSQL. Killed with SIGKILL (PostgreSQL is left running, orphaned, with
 * its postmaster.pid), then started again on the same folder: it must take over, with nothing lost; SIGTERM
 * then shuts everything down, PostgreSQL included.
 */
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import {
  exited,
  isAlive,
  postmasterPid,
  startGatewayProcess as startProcess,
} from './support/gateway-process';
import { creditCode, freePort, readFirstAdminKey, tempDir } from './support/harness';

describe('the compiled gateway process', () => {
  let dataDir: string;
  let env: Record<string, string>;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dataDir = await tempDir('gec-process-');
    const port = await freePort();
    env = {
      GEC_DATA_DIR: dataDir,
      PORT: String(port),
      EMBEDDED_PG_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
      DATABASE_URL: '',
    };
  });

  afterAll(async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    const pid = dataDir ? postmasterPid(dataDir) : undefined;
    if (pid && isAlive(pid)) process.kill(pid, 'SIGINT');
    for (let i = 0; i < 50 && pid && isAlive(pid); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('survives kill -9 (orphaned PostgreSQL) and shuts down cleanly on SIGTERM', async () => {
    const base = `http://127.0.0.1:${env.PORT}`;
    const first = await startProcess(env);
    children.push(first.child);
    expect(first.output()).toContain('first start: created the first admin API key');
    const key = await readFirstAdminKey(dataDir);
    expect(first.output()).not.toContain(key);

    const body = {
      id: 'GEN-9',
      kind: 'GENERATOR',
      name: 'Crash Wind',
      region: '330000',
      creditCode: creditCode(9),
    };
    const created = await fetch(`${base}/v1/participants`, {
      method: 'POST',
      headers: { 'X-API-Key': key, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(created.status).toBe(201);
    expect(first.output()).not.toContain(body.creditCode);

    first.child.kill('SIGKILL');
    await exited(first.child);
    const orphan = postmasterPid(dataDir);
    expect(orphan && isAlive(orphan)).toBe(true);

    const second = await startProcess(env);
    children.push(second.child);
    expect(second.output()).toContain('stopping an orphaned PostgreSQL server');
    expect(isAlive(orphan!)).toBe(false);
    expect(second.output()).not.toContain('first start: created');
    const read = await fetch(`${base}/v1/participants/GEN-9`, { headers: { 'X-API-Key': key } });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id: 'GEN-9', status: 'ACTIVE' });

    const postgres = postmasterPid(dataDir)!;
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
    expect(second.output()).toContain('shutdown complete');
    expect(isAlive(postgres)).toBe(false);

    process.stdout.write(
      `gateway process spawn to ready (embedded PostgreSQL + ledger): first start ${Math.round(first.readyMs)} ms, ` +
        `start after kill -9 ${Math.round(second.readyMs)} ms\n`,
    );
  });
});
