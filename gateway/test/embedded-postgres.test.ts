/**
 * As root, the embedded PostgreSQL runs as the `postgres` account. A checkout or data folder inside a private
 * folder (mode 0700, as `mktemp -d` makes) must still work: the gateway grants that account search permission
 * on the way to its data, and nothing more.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { freePort } from './support/harness';

const asRoot = process.getuid?.() === 0;

(asRoot ? describe : describe.skip)('embedded PostgreSQL as root', () => {
  it('starts with its data inside a private 0700 folder, granting only search permission on it', async () => {
    const privateDir = await mkdtemp(join(tmpdir(), 'gec-private-'));
    expect((await stat(privateDir)).mode & 0o777).toBe(0o700);
    const notices: string[] = [];
    const postgres = await startEmbeddedPostgres({
      dataDir: join(privateDir, 'data', 'postgres'),
      port: await freePort(),
      settings: { fsync: 'off' },
      onNotice: (line) => notices.push(line),
    });
    try {
      const client = new Client({ connectionString: postgres.url('postgres') });
      await client.connect();
      expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      await client.end();
      expect((await stat(privateDir)).mode & 0o777).toBe(0o701);
      expect(notices.join('\n')).toContain(privateDir);
    } finally {
      await postgres.stop();
      await rm(privateDir, { recursive: true, force: true });
    }
  });
});
