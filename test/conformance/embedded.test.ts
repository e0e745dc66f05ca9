/** The conformance scenarios on the embedded ledger (always run). */
import { createTestNetwork, type TestNetwork } from '../../gateway/src/ledger/embedded/testing';
import { certificateScenarios } from '../scenarios/certificates';
import { gatewayScenarios } from '../scenarios/gateway';
import { identityScenarios } from '../scenarios/identity';
import { tradeScenarios } from '../scenarios/trades';

describe('conformance: embedded ledger', () => {
  let net: TestNetwork;

  beforeAll(async () => {
    // A batch timeout like a real orderer's, so concurrent submissions can meet in one block.
    net = await createTestNetwork({ batch: { batchTimeoutMs: 50 } });
  });
  afterAll(async () => net.close());

  for (const scenario of [
    ...identityScenarios,
    ...certificateScenarios,
    ...tradeScenarios,
    ...gatewayScenarios,
  ]) {
    it(scenario.name, () => scenario.run(net.ledger, net.ids));
  }
});
