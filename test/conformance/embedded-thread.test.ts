/**
 * The conformance scenarios on the embedded ledger running on its own thread (ThreadedEmbeddedLedger, what
 * `npm start` runs): every call, error and event crosses the thread boundary, and must look exactly as it does
 * in-process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_IDENTITIES } from '../../gateway/src/ledger/embedded/testing';
import { ThreadedEmbeddedLedger } from '../../gateway/src/ledger/embedded/thread/threaded-ledger';
import { certificateScenarios } from '../scenarios/certificates';
import { gatewayScenarios } from '../scenarios/gateway';
import { identityScenarios } from '../scenarios/identity';
import { tradeScenarios } from '../scenarios/trades';

describe('conformance: embedded ledger on its own thread', () => {
  let dataDir: string;
  let ledger: ThreadedEmbeddedLedger;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gec-ledger-thread-'));
    // A batch timeout like a real orderer's, so concurrent submissions can meet in one block.
    ledger = await ThreadedEmbeddedLedger.open({ dataDir, sync: false, batch: { batchTimeoutMs: 50 } });
  });
  afterAll(async () => {
    await ledger?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  for (const scenario of [
    ...identityScenarios,
    ...certificateScenarios,
    ...tradeScenarios,
    ...gatewayScenarios,
  ]) {
    it(scenario.name, () => scenario.run(ledger, { ...TEST_IDENTITIES }));
  }
});
