/**
 * Typed access to the fabric-shim classes the embedded ledger reuses unchanged: the real ChaincodeStub and
 * the contract router (ChaincodeFromContract) that a peer-launched `fabric-chaincode-node` process uses.
 * fabric-shim does not export these from its index, so they are loaded from their own modules.
 */
import type { peer } from '@hyperledger/fabric-protos';
import type { ChaincodeStub as ShimStub } from 'fabric-shim';

// In-process, the chaincode runtime's winston lines (every decorator at info, every rule error at error) would
// interleave non-JSON text with the gateway's JSON logs; the gateway logs and maps those errors itself.
process.env.CORE_CHAINCODE_LOGGING_LEVEL ??= 'critical';

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
const fidm = require(require.resolve('@fidm/x509', { paths: [require.resolve('fabric-shim')] })) as {
  Certificate: { fromPEM(pem: Buffer): unknown };
};
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * fabric-shim builds a ClientIdentity for every transaction and re-parses the creator's certificate each
 * time (a peer-launched chaincode does the same). Parsing is a pure function of the PEM bytes and
 * ClientIdentity only reads the result, so the embedded peers share parsed certificates: the same
 * identities sign thousands of transactions. Bounded, oldest first out.
 */
function memoiseCertificateParsing(limit = 10_000): void {
  // A bound copy never carries the flag: ask the installed function, so the parser is wrapped once.
  if ((fidm.Certificate.fromPEM as { memoised?: boolean }).memoised) return;
  const original = fidm.Certificate.fromPEM.bind(fidm.Certificate);
  const parsed = new Map<string, unknown>();
  const fromPEM = (pem: Buffer) => {
    const key = pem.toString('latin1');
    let cert = parsed.get(key);
    if (cert === undefined) {
      cert = original(pem);
      if (parsed.size >= limit) parsed.delete(parsed.keys().next().value as string);
      parsed.set(key, cert);
    }
    return cert;
  };
  (fromPEM as { memoised?: boolean }).memoised = true;
  fidm.Certificate.fromPEM = fromPEM;
}
memoiseCertificateParsing();

/** The stub instance, with the two fields the shim keeps for the peer: the event and the MSP id look-up. */
export type RealStub = ShimStub & {
  chaincodeEvent?: peer.ChaincodeEvent;
  getMspID(): string;
};

export interface ContractRouter {
  Invoke(stub: RealStub): Promise<{ status: number; message?: string; payload?: Uint8Array }>;
  metadata: Record<string, unknown>;
  contractImplementations: Record<string, { dataMarshall?: { ajv: AjvLike } }>;
}

interface AjvLike {
  compile(schema: unknown): unknown;
}

/**
 * fabric-shim validates every argument by building a new `{ properties: { prop }, components }` schema and
 * calling `ajv.compile` on it, so Ajv stable-stringifies every component schema of the chaincode on every
 * argument of every call (a fifth of all embedded-ledger CPU with nine contracts). The validator depends
 * only on `prop` (the parameter's schema) and `components`, both objects that live as long as the router,
 * so the embedded peers keep the compiled validator per pair. Same validator, same errors, no re-hashing.
 */
function cacheArgumentValidators(router: ContractRouter): void {
  for (const implementation of Object.values(router.contractImplementations)) {
    const ajv = implementation.dataMarshall?.ajv;
    if (!ajv) continue;
    const compile = ajv.compile.bind(ajv);
    const compiled = new WeakMap<object, WeakMap<object, unknown>>();
    ajv.compile = (schema: unknown) => {
      const shape = schema as { properties?: { prop?: unknown }; components?: { schemas?: unknown } };
      const prop = shape?.properties?.prop;
      const components = shape?.components?.schemas;
      if (
        typeof prop !== 'object' ||
        prop === null ||
        typeof components !== 'object' ||
        components === null
      ) {
        return compile(schema);
      }
      let byComponents = compiled.get(prop);
      if (!byComponents) compiled.set(prop, (byComponents = new WeakMap()));
      let validator = byComponents.get(components);
      if (!validator) byComponents.set(components, (validator = compile(schema)));
      return validator;
    };
  }
}

export const ChaincodeStub = StubClass;

/** Build the router exactly as fabric-shim's bootstrap does for a chaincode package. */
export function createContractRouter(contracts: unknown[], title: string, version: string): ContractRouter {
  const serializers = { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } };
  const router = new ChaincodeFromContractClass(contracts, serializers, {}, title, version);
  cacheArgumentValidators(router);
  return router;
}
