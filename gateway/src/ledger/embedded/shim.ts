/**
 * Typed access to the fabric-shim classes the embedded ledger reuses unchanged: the real ChaincodeStub and
 * the contract router (ChaincodeFromContract) that a peer-launched `fabric-chaincode-node` process uses.
 * fabric-shim does not export these from its index, so they are loaded from their own modules.
 */
import type { peer } from '@hyperledger/fabric-protos';
import type { ChaincodeStub as ShimStub } from 'fabric-shim';

// fabric-contract-api logs every decorator at info level; a gateway wants its own logs readable.
process.env.CORE_CHAINCODE_LOGGING_LEVEL ??= 'warning';

/* eslint-disable @typescript-eslint/no-require-imports */
const StubClass = require('fabric-shim/lib/stub') as new (
  handler: unknown,
  channelId: string,
  txId: string,
  input: peer.ChaincodeInput,
  signedProposal: peer.SignedProposal,
) => RealStub;
const ChaincodeFromContractClass = require('fabric-shim/lib/contract-spi/chaincodefromcontract') as new (
  contracts: unknown[],
  serializers: unknown,
  metadata: unknown,
  title: string,
  version: string,
) => ContractRouter;
const { JSONSerializer } = require('fabric-contract-api') as { JSONSerializer: unknown };
/* eslint-enable @typescript-eslint/no-require-imports */

/** The stub instance, with the two fields the shim keeps for the peer: the event and the MSP id look-up. */
export type RealStub = ShimStub & {
  chaincodeEvent?: peer.ChaincodeEvent;
  getMspID(): string;
};

export interface ContractRouter {
  Invoke(stub: RealStub): Promise<{ status: number; message?: string; payload?: Uint8Array }>;
  metadata: Record<string, unknown>;
}

export const ChaincodeStub = StubClass;

/** Build the router exactly as fabric-shim's bootstrap does for a chaincode package. */
export function createContractRouter(contracts: unknown[], title: string, version: string): ContractRouter {
  const serializers = { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } };
  return new ChaincodeFromContractClass(contracts, serializers, {}, title, version);
}
