/**
 * The gateway on the ledger under test: writes over HTTP go through this ledger, its chaincode events feed
 * the PostgreSQL projection, and the projection's checkpoint and proofs point at this ledger's transactions.
 * Written once; run on the embedded ledger and on real Fabric (fabric-gateway and fabric-network adapters).
 */
import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import {
  participant,
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
} from '../../gateway/test/support/harness';
import { uniqueId, type Scenario } from './harness';

export const gatewayScenarios: Scenario[] = [
  {
    name: 'the gateway writes through this ledger and projects its events into PostgreSQL with a checkpoint',
    async run(ledger) {
      const postgres = await startTestPostgres();
      const dir = await tempDir('gec-conformance-gw-');
      try {
        const databaseUrl = await postgres.newDatabase();
        const gateway = await startGateway({ dataDir: dir, databaseUrl, ledger });
        try {
          const key = await readFirstAdminKey(dir);
          const id = uniqueId('GEN');
          const created = await gateway.http
            .post('/v1/participants')
            .set('X-API-Key', key)
            .send(participant(id, { kind: 'GENERATOR' }));
          expect({ status: created.status, body: created.status === 201 ? null : created.body }).toEqual({
            status: 201,
            body: null,
          });
          const { txId, blockNumber, validationCode } = created.body.ledger;
          expect(validationCode).toBe('VALID');
          expect(await ledger.getTransaction(txId)).toMatchObject({ blockNumber, validationCode: 'VALID' });

          const read = await gateway.http.get(`/v1/participants/${id}`).set('X-API-Key', key);
          expect(read.status).toBe(200);
          expect(read.body).toMatchObject({ id, status: 'ACTIVE', ledger: { txId, blockNumber } });

          const client = new Client({ connectionString: databaseUrl });
          await client.connect();
          try {
            const projected = await client.query(
              'SELECT block_number FROM projected_events WHERE tx_id = $1',
              [txId],
            );
            expect(Number(projected.rows[0].block_number)).toBe(blockNumber);
            const checkpoint = await client.query('SELECT block_number FROM ledger_checkpoints');
            expect(Number(checkpoint.rows[0].block_number)).toBeGreaterThanOrEqual(blockNumber);
          } finally {
            await client.end();
          }
        } finally {
          await gateway.close();
        }
      } finally {
        await postgres.stop();
        await rm(dir, { recursive: true, force: true });
      }
    },
  },
];
