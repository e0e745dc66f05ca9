/**
 * /health/ready is not ready while the projection trails the ledger: reads come from the projection, and a
 * gateway that called itself ready at block 46 of 404 served a ledger hundreds of blocks old. The projection is
 * held back here by a lock on its table while the ledger moves on; once released it catches up and is ready.
 */
import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import { projectionReadiness, READY_LAG_BLOCKS, SETTLED_MS } from '../src/health/projection-readiness';
import { createTestNetwork, type TestNetwork } from '../src/ledger/embedded/testing';
import {
  creditCode,
  startGateway,
  startTestPostgres,
  tempDir,
  type TestGateway,
  type TestPostgres,
} from './support/harness';

describe('projection readiness', () => {
  it('decides by the lag, or by a checkpoint that stood still while nothing was being applied', () => {
    // A new channel: only its genesis block, nothing projected yet.
    expect(projectionReadiness(1, undefined, 0, false)).toEqual({ lagBlocks: 1, caughtUp: true });
    expect(projectionReadiness(12, 11 - READY_LAG_BLOCKS, 0, false)).toEqual({
      lagBlocks: READY_LAG_BLOCKS,
      caughtUp: true,
    });
    expect(projectionReadiness(404, 46, 0, false)).toEqual({ lagBlocks: 357, caughtUp: false });
    // Blocks without gec events after the last projected one: settled once the checkpoint stood still.
    expect(projectionReadiness(404, 46, SETTLED_MS, false).caughtUp).toBe(true);
    // Still applying: stalled, not settled.
    expect(projectionReadiness(404, 46, 60_000, true).caughtUp).toBe(false);
  });

  describe('on a live gateway', () => {
    let postgres: TestPostgres;
    let net: TestNetwork;
    let dataDir: string;
    let gateway: TestGateway;
    let databaseUrl: string;

    beforeAll(async () => {
      postgres = await startTestPostgres();
      net = await createTestNetwork();
      dataDir = await tempDir('gec-readiness-');
      databaseUrl = await postgres.newDatabase();
      gateway = await startGateway({ dataDir, databaseUrl, ledger: net.ledger });
    }, 60000);

    afterAll(async () => {
      await gateway?.close();
      await net?.close();
      await postgres?.stop();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('is not ready while the projection trails the ledger, and ready again once it has caught up', async () => {
      expect((await gateway.http.get('/health/ready').expect(200)).body.checks.projectionLag).toMatchObject({
        caughtUp: true,
      });
      const blocker = new Client({ connectionString: databaseUrl });
      await blocker.connect();
      try {
        // The projector writes each batch of events with its row in projected_events: hold that table.
        await blocker.query('BEGIN');
        await blocker.query('LOCK TABLE projected_events IN ACCESS EXCLUSIVE MODE');
        for (let n = 0; n < READY_LAG_BLOCKS + 5; n++) {
          await net.ledger.submit({
            identity: net.ids.gridAdmin,
            transaction: 'identity:RegisterParticipant',
            args: [JSON.stringify({ id: `LAG-${n}`, kind: 'CONSUMER', name: `Lag ${n}`, region: '110000' })],
            transient: { creditCode: creditCode(n) },
          });
        }
        // Long enough for a standing checkpoint to count as settled, were the projector not stuck applying.
        await new Promise((resolve) => setTimeout(resolve, SETTLED_MS + 500));
        const behind = await gateway.http.get('/health/ready').expect(503);
        expect(behind.body.status).toBe('not-ready');
        expect(behind.body.checks.projectionLag.caughtUp).toBe(false);
        expect(behind.body.checks.projectionLag.lagBlocks).toBeGreaterThan(READY_LAG_BLOCKS);
        expect(behind.body.checks).toMatchObject({ ledger: { status: 'up' }, database: { status: 'up' } });
      } finally {
        await blocker.query('ROLLBACK').catch(() => undefined);
        await blocker.end();
      }
      for (let i = 0; ; i++) {
        const ready = await gateway.http.get('/health/ready');
        if (ready.status === 200) {
          expect(ready.body.checks.projectionLag.lagBlocks).toBeLessThanOrEqual(READY_LAG_BLOCKS);
          break;
        }
        if (i > 200) throw new Error(`still not ready: ${JSON.stringify(ready.body)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
  });
});
