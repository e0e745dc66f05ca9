/**
 * Several gateway instances on one database and one ledger: exactly one projects events (it holds a
 * PostgreSQL advisory lock), so events are applied in ledger order once; a write through a follower still
 * answers after its event is projected; when the leader stops, a follower takes over from the checkpoint.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';
import { EmbeddedLedger } from '../src/ledger/embedded/embedded-ledger';
import { Projector } from '../src/projection/projector.service';
import {
  participant,
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  type TestGateway,
  type TestPostgres,
} from './support/harness';

describe('projector leadership across gateway instances', () => {
  let postgres: TestPostgres;
  let databaseUrl: string;
  let dir: string;
  let ledger: EmbeddedLedger;
  let first: TestGateway;
  let second: TestGateway;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    databaseUrl = await postgres.newDatabase();
    dir = await tempDir('gec-leader-');
    ledger = await EmbeddedLedger.open({ dataDir: join(dir, 'ledger'), sync: false });
    first = await startGateway({ dataDir: join(dir, 'a'), databaseUrl, ledger });
    second = await startGateway({ dataDir: join(dir, 'b'), databaseUrl, ledger });
  });

  afterAll(async () => {
    await second?.close();
    await first?.close();
    await ledger?.close();
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const leaders = () => [first, second].filter((g) => g.app.get(Projector).leading);

  it('one instance projects, the other follows, and a write through the follower reads back at once', async () => {
    expect(leaders()).toHaveLength(1);
    const key = await readFirstAdminKey(join(dir, 'a'));
    const follower = leaders()[0] === first ? second : first;
    for (const [i, gateway] of [follower, leaders()[0], follower].entries()) {
      const id = `GEN-LEAD-${i}`;
      const created = await gateway.http
        .post('/v1/participants')
        .set('X-API-Key', key)
        .send(participant(id, { kind: 'GENERATOR' }));
      expect(created.status).toBe(201);
      // Read through the OTHER instance: the shared projection already has it.
      const other = gateway === first ? second : first;
      const read = await other.http.get(`/v1/participants/${id}`).set('X-API-Key', key);
      expect(read.status).toBe(200);
    }
  });

  it('a follower takes over from the checkpoint when the leader stops; no event is applied twice', async () => {
    const key = await readFirstAdminKey(join(dir, 'a'));
    const [leader] = leaders();
    const follower = leader === first ? second : first;
    await leader.close();
    if (leader === first) first = await startGateway({ dataDir: join(dir, 'a'), databaseUrl, ledger });
    else second = await startGateway({ dataDir: join(dir, 'b'), databaseUrl, ledger });
    const created = await follower.http
      .post('/v1/participants')
      .set('X-API-Key', key)
      .send(participant('GEN-AFTER-FAILOVER', { kind: 'GENERATOR' }));
    expect(created.status).toBe(201);
    expect(leaders()).toHaveLength(1);

    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const events = await client.query(
        'SELECT count(*)::int AS n, count(DISTINCT tx_id)::int AS d FROM projected_events',
      );
      expect(events.rows[0].n).toBe(events.rows[0].d);
      const rows = await client.query("SELECT id FROM participants WHERE id LIKE 'GEN-%' ORDER BY id");
      expect(rows.rows.map((r) => r.id)).toEqual([
        'GEN-AFTER-FAILOVER',
        'GEN-LEAD-0',
        'GEN-LEAD-1',
        'GEN-LEAD-2',
      ]);
    } finally {
      await client.end();
    }
  });
});
