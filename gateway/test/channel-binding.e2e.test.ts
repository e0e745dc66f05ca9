/**
 * A database projects one channel. A gateway pointed at a re-created channel (another genesis block) with the
 * database of the old one refuses to start, naming both, instead of answering from rows the ledger does not hold.
 */
import { rm } from 'node:fs/promises';
import { ChannelMismatchError } from '../src/projection/channel-binding';
import {
  participant,
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  type TestPostgres,
} from './support/harness';

describe('the channel a database projects', () => {
  let postgres: TestPostgres;
  const dirs: string[] = [];

  beforeAll(async () => {
    postgres = await startTestPostgres();
  }, 60000);
  afterAll(async () => {
    await postgres?.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('is recorded on first start; another channel is refused with both genesis hashes, the same one served', async () => {
    const databaseUrl = await postgres.newDatabase();
    const first = await tempDir('gec-channel-a-');
    const recreated = await tempDir('gec-channel-b-');
    dirs.push(first, recreated);

    const gateway = await startGateway({ dataDir: first, databaseUrl });
    const key = await readFirstAdminKey(first);
    await gateway.http.post('/v1/participants').set('X-API-Key', key).send(participant('GEN-1')).expect(201);
    await gateway.close();

    // The same database, a brand-new ledger (its own genesis block): the start is refused.
    const refused = await startGateway({ dataDir: recreated, databaseUrl }).then(
      async (g) => {
        await g.close();
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ChannelMismatchError);
    expect((refused as Error).message).toMatch(
      /genesis block data hash is [0-9a-f]{64} .*but the ledger's channel has [0-9a-f]{64}/,
    );

    // Back on its own channel, the database serves what it projected.
    const again = await startGateway({ dataDir: first, databaseUrl });
    try {
      await again.http.get('/v1/participants/GEN-1').set('X-API-Key', key).expect(200);
    } finally {
      await again.close();
    }
  });
});
