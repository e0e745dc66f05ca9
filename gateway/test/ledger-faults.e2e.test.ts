/**
 * A ledger fault seen from the gateway: the block file loses its last block while the gateway is down. The
 * ledger repairs itself to what the block file proves; the gateway's database had projected the lost block, so it
 * refuses to start (naming the transaction and the repair) rather than serve it, and projects the ledger as it is
 * from an empty database (the storage cases themselves are proven in test/ledger/ledger-faults.test.ts).
 */
import { rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { ProjectionAheadError } from '../src/projection/channel-binding';
import { participant, readFirstAdminKey, startGateway, tempDir, TestGateway } from './support/harness';

describe('ledger faults through the gateway', () => {
  let dataDir: string;
  let gateway: TestGateway | undefined;

  beforeAll(async () => {
    dataDir = await tempDir('gec-ledger-faults-e2e-');
  });

  afterAll(async () => {
    await gateway?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts on a block file cut inside its last block and reports the dropped block in /health/ready', async () => {
    gateway = await startGateway({ dataDir });
    const clean = await gateway.http.get('/health/ready').expect(200);
    expect(clean.body.checks.ledger.startup).toMatchObject({
      repairs: [],
      droppedBlocks: [],
      stateRebuilt: false,
    });
    const admin = await readFirstAdminKey(dataDir);
    const registered: Array<{ txId: string; blockNumber: number }> = [];
    for (const id of ['GEN-1', 'GEN-2']) {
      const res = await gateway.http
        .post('/v1/participants')
        .set('X-API-Key', admin)
        .send(participant(id))
        .expect(201);
      registered.push(res.body.ledger);
    }
    const { height } = (await gateway.http.get('/health/ready').expect(200)).body.checks.ledger;
    await gateway.close();
    gateway = undefined;

    const last = registered[1];
    expect(last.blockNumber).toBe(height - 1);
    // GEC_DATA_DIR/ledger is the embedded ledger's folder; its block store is in ledger/blocks under it.
    const blockFile = join(dataDir, 'ledger', 'ledger', 'blocks', 'blockfile_000000');
    const { size } = await stat(blockFile);
    await truncate(blockFile, size - 7);

    // The database projected GEN-2 from the block that is gone: the gateway refuses to serve it, naming the
    // transaction and what the ledger's start-up repaired.
    const refused = await startGateway({ dataDir }).then(
      async (g) => {
        await g.close();
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ProjectionAheadError);
    expect((refused as Error).message).toContain(`transaction ${last.txId} of block ${height - 1}`);
    expect((refused as Error).message).toContain('does not hold');
    expect((refused as Error).message).toContain('dropped');

    // With an empty database the gateway projects the ledger as the block file proves it.
    await rm(join(dataDir, 'postgres'), { recursive: true, force: true });
    gateway = await startGateway({ dataDir });
    const ready = await gateway.http.get('/health/ready').expect(200);
    expect(ready.body.checks.ledger).toMatchObject({ status: 'up', height: height - 1 });
    const key = await readFirstAdminKey(dataDir);
    // Ready allows the projection a few blocks behind the ledger (README, readiness): a rebuild from block 0 of a
    // short chain is ready before it has projected anything, so wait for the projection to reach the ledger's
    // last block before reading what it holds.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const metrics = (await gateway.http.get('/metrics').expect(200)).text;
      if (/^gec_projection_checkpoint_block (\d+)$/m.exec(metrics)?.[1] === String(height - 2)) break;
      if (Date.now() > deadline)
        throw new Error(`the projection did not reach block ${height - 2}:\n${metrics}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await gateway.http.get('/v1/participants/GEN-1').set('X-API-Key', key).expect(200);
    await gateway.http.get('/v1/participants/GEN-2').set('X-API-Key', key).expect(404);
  });
});
