/**
 * A ledger fault seen from the gateway: the block file loses its last block while the gateway is down. The
 * gateway starts on what the block file proves and /health/ready says what the start-up repaired (the cases
 * themselves are proven in test/ledger/ledger-faults.test.ts).
 */
import { rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
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

    gateway = await startGateway({ dataDir });
    const ready = await gateway.http.get('/health/ready').expect(200);
    expect(ready.body.checks.ledger).toMatchObject({
      status: 'up',
      height: height - 1,
      startup: {
        droppedBlocks: [height - 1],
        droppedTransactions: [{ txId: last.txId, blockNumber: height - 1, validationCode: 'VALID' }],
        stateRebuilt: true,
      },
    });
    expect(ready.body.checks.ledger.startup.repairs.join('\n')).toContain(last.txId);
  });
});
