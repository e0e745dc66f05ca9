/**
 * Restarts. The gateway owns its embedded PostgreSQL here (no DATABASE_URL), as with `npm start`, unless
 * DATABASE_URL is set. A restart on the same folders keeps the projection and its checkpoint and applies no
 * event twice; a gateway on an empty database replays the ledger into exactly the same projection.
 */
import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import {
  freePort,
  participant,
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  TestGateway,
  TestPostgres,
} from './support/harness';

interface ProjectionState {
  participants: unknown[];
  checkpoint: { block_number: string; tx_id: string } | undefined;
  events: number;
  duplicateEvents: number;
}

async function projectionState(databaseUrl: string): Promise<ProjectionState> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const participants = await client.query('SELECT * FROM participants ORDER BY id');
    const checkpoint = await client.query('SELECT block_number, tx_id FROM ledger_checkpoints');
    const events = await client.query(
      'SELECT count(*)::int AS n, count(DISTINCT tx_id)::int AS d FROM projected_events',
    );
    return {
      participants: participants.rows,
      checkpoint: checkpoint.rows[0],
      events: events.rows[0].n,
      duplicateEvents: events.rows[0].n - events.rows[0].d,
    };
  } finally {
    await client.end();
  }
}

describe('restart', () => {
  let dataDir: string;
  let gateway: TestGateway | undefined;
  let externalPostgres: TestPostgres | undefined;
  let env: Record<string, string>;
  let databaseUrl: string | undefined;

  beforeAll(async () => {
    dataDir = await tempDir('gec-restart-');
    if (process.env.DATABASE_URL) {
      externalPostgres = await startTestPostgres();
      databaseUrl = await externalPostgres.newDatabase();
    }
    env = { EMBEDDED_PG_PORT: String(await freePort()) };
  });

  afterAll(async () => {
    await gateway?.close();
    await externalPostgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps the projection and checkpoint across a restart, applying no event twice', async () => {
    gateway = await startGateway({ dataDir, databaseUrl, env });
    const firstStartMs = gateway.readyMs;
    const url = gateway.config.databaseUrl ?? (await dbUrlOf(gateway));
    const admin = await readFirstAdminKey(dataDir);
    for (const id of ['GEN-1', 'GEN-2', 'CON-3']) {
      await gateway.http
        .post('/v1/participants')
        .set('X-API-Key', admin)
        .send(participant(id, id.startsWith('CON') ? { kind: 'CONSUMER' } : {}))
        .expect(201);
    }
    await gateway.http
      .post('/v1/participants/GEN-2/status')
      .set('X-API-Key', admin)
      .send({ status: 'SUSPENDED', reason: 'audit' })
      .expect(200);
    const before = await projectionState(url);
    // The four writes and the ledger's first-start registration of the consortium's founders.
    expect(before.events).toBe(5);
    expect(before.duplicateEvents).toBe(0);
    await gateway.close();

    gateway = await startGateway({ dataDir, databaseUrl, env });
    const secondStartMs = gateway.readyMs;
    // Give the projector time to (wrongly) re-apply anything before comparing.
    const ready = await gateway.http.get('/health/ready').expect(200);
    expect(ready.body.checks.projection).toEqual({
      blockNumber: Number(before.checkpoint?.block_number),
      txId: before.checkpoint?.tx_id,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await projectionState(url)).toEqual(before);

    const list = await gateway.http.get('/v1/participants').set('X-API-Key', admin).expect(200);
    expect(list.body.items.map((p: { id: string }) => p.id)).toEqual(['CON-3', 'GEN-1', 'GEN-2']);

    // New writes after the restart are projected once, after the old checkpoint.
    await gateway.http
      .post('/v1/participants')
      .set('X-API-Key', admin)
      .send(participant('GEN-4'))
      .expect(201);
    const after = await projectionState(url);
    expect(after.events).toBe(6);
    expect(after.duplicateEvents).toBe(0);
    expect(Number(after.checkpoint?.block_number)).toBeGreaterThan(Number(before.checkpoint?.block_number));

    process.stdout.write(
      `gateway start to ready (${databaseUrl ? 'DATABASE_URL' : 'embedded PostgreSQL'}, embedded ledger): ` +
        `first start ${Math.round(firstStartMs)} ms, second start ${Math.round(secondStartMs)} ms\n`,
    );
  });

  it('rebuilds the same projection from the ledger into an empty database', async () => {
    const current = await projectionState(gateway!.config.databaseUrl ?? (await dbUrlOf(gateway!)));
    await gateway!.close();
    gateway = undefined;
    const postgres = await startTestPostgres();
    try {
      const fresh = await postgres.newDatabase();
      const replay = await startGateway({ dataDir, databaseUrl: fresh });
      try {
        // Wait until the projector has caught up with the checkpoint of the first database.
        const target = current.checkpoint?.tx_id;
        for (let i = 0; i < 100; i++) {
          const ready = await replay.http.get('/health/ready');
          if (ready.body.checks.projection?.txId === target) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const rebuilt = await projectionState(fresh);
        expect(rebuilt.participants).toEqual(current.participants);
        expect(rebuilt.checkpoint).toEqual(current.checkpoint);
        expect(rebuilt.events).toBe(current.events);
      } finally {
        await replay.close();
      }
    } finally {
      await postgres.stop();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes a write in flight before closing the ledger and the database', async () => {
    const postgres = await startTestPostgres();
    const dataDir = await tempDir('gec-shutdown-');
    let submitStarted!: () => void;
    const started = new Promise<void>((resolve) => (submitStarted = resolve));
    try {
      const gateway = await startGateway({
        dataDir,
        databaseUrl: await postgres.newDatabase(),
        wrapLedger: (ledger) =>
          new Proxy(ledger, {
            get: (target, property, receiver) => {
              const value = Reflect.get(target, property, receiver);
              if (property !== 'submit' || typeof value !== 'function') return value;
              return (...args: unknown[]) => {
                submitStarted();
                return value.apply(target, args);
              };
            },
          }),
      });
      const admin = await readFirstAdminKey(dataDir);
      const pending = gateway.http
        .post('/v1/participants')
        .set('X-API-Key', admin)
        .send(participant('GEN-77'))
        .then((res) => res);
      await started;
      await gateway.close();
      const res = await pending;
      expect(res.status).toBe(201);
      expect(res.body.id).toBe('GEN-77');
    } finally {
      await postgres.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/** The URL of the embedded PostgreSQL the gateway started (password in `<dataDir>/postgres.password`). */
async function dbUrlOf(gateway: TestGateway): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const password = (await readFile(`${gateway.config.dataDir}/postgres.password`, 'utf8')).trim();
  return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${gateway.config.embeddedPostgresPort}/gec`;
}
