/** The conformance scenarios on the embedded ledger (always run). */
import { DEFAULT_ORGS } from '../../gateway/src/ledger/embedded/msp';
import {
  createTestNetwork,
  SECOND_TRADING_CENTER,
  TWO_TRADING_CENTERS_POLICY,
  type TestNetwork,
} from '../../gateway/src/ledger/embedded/testing';
import { certificateScenarios } from '../scenarios/certificates';
import { gatewayScenarios } from '../scenarios/gateway';
import type { ScenarioIds } from '../scenarios/harness';
import { holderPolicyScenarios } from '../scenarios/holder-policy';
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

// What the live-network suite runs after addOrg.sh: a second trading center in the channel, admitted to the
// consortium by a majority, the chaincode policy AND(grid, OR(TC, TC2)).
describe('conformance: embedded ledger with a second trading center', () => {
  let net: TestNetwork;
  const second = SECOND_TRADING_CENTER.mspId;
  let tc2: ScenarioIds;

  beforeAll(async () => {
    net = await createTestNetwork({
      batch: { batchTimeoutMs: 50 },
      organisations: [...DEFAULT_ORGS, SECOND_TRADING_CENTER],
      endorsementPolicy: TWO_TRADING_CENTERS_POLICY,
    });
    const call = (identity: { mspId: string; name: string }, transaction: string, request: unknown) =>
      net.ledger.submit({ identity, transaction, args: [JSON.stringify(request)] });
    await call(net.ids.gridAdmin, 'consortium:ProposeOrganisation', {
      mspId: second,
      role: 'TRADING_CENTER',
      name: '第二电力交易中心',
    });
    await call(net.ids.tradingAdmin, 'consortium:ApproveOrganisation', { mspId: second });
    tc2 = {
      ...net.ids,
      tradingAdmin: { mspId: second, name: 'admin' },
      tradingClient: { mspId: second, name: 'trading' },
    };
  });
  afterAll(async () => net.close());

  for (const scenario of holderPolicyScenarios(second)) {
    it(scenario.name, () => scenario.run(net.ledger, net.ids));
  }
  describe('the second trading center attests its own trades end to end', () => {
    for (const scenario of tradeScenarios) {
      it(scenario.name, () => scenario.run(net.ledger, tc2));
    }
  });
});
