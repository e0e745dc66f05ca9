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

interface WinstonModule {
  Logger: { prototype: WinstonLogger & { quietBelowLevel?: boolean } };
}
interface WinstonLogger {
  write(chunk: unknown, ...rest: unknown[]): boolean;
  isLevelEnabled(level: string): boolean;
}

/**
 * Winston (fabric-shim's and fabric-contract-api's logger) formats every line (timestamp, metadata, colour,
 * padding, printf) and only then lets each transport drop what is below its level: the chaincode runtime's
 * dozens of debug lines per transaction were 7 % of the embedded ledger's CPU, for nothing. A line whose level
 * `isLevelEnabled` (winston's own test, transports' levels included) refuses is dropped before formatting;
 * every line that would have been printed still is. Only winston loggers in this process are affected, and the
 * gateway itself logs with pino.
 */
function dropLinesBelowLevel(): void {
  const LEVEL = Symbol.for('level');
  const copies = new Set(
    ['fabric-shim', 'fabric-contract-api'].map((pkg) =>
      require.resolve('winston', { paths: [require.resolve(pkg)] }),
    ),
  );
  for (const path of copies) {
    const proto = (require(path) as WinstonModule).Logger.prototype; // eslint-disable-line @typescript-eslint/no-require-imports
    if (proto.quietBelowLevel) continue;
    const write = proto.write;
    proto.write = function (this: WinstonLogger, chunk: unknown, ...rest: unknown[]): boolean {
      const level = (chunk as Record<symbol, unknown> | null)?.[LEVEL];
      if (typeof level === 'string' && !this.isLevelEnabled(level)) return true;
      return write.call(this, chunk, ...rest);
    };
    proto.quietBelowLevel = true;
  }
}
dropLinesBelowLevel();

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

interface DataMarshallLike {
  ajv: AjvLike;
  components: unknown;
  fromWireBuffer(
    value: Buffer,
    schema: unknown,
    loggerPrefix: string,
  ): { value: unknown; validateData: unknown };
  handleParameters(fn: TransactionDescriptor, parameters: Buffer[], loggerPrefix: string): unknown[];
}

interface TransactionDescriptor {
  parameters?: { schema: { type?: unknown; $ref?: unknown } }[];
}

type Validator = ((data: unknown) => boolean) & { errors?: { message?: string }[] | null };

/** The very logger fabric-shim's DataMarshall writes to (the shim caches loggers by name). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const shimLogging = require('fabric-shim/lib/logger') as {
  getLogger(name: string): { level: string; error(message: string): void };
};
const marshallLogger = shimLogging.getLogger('contracts-spi/datamarshall.js');

/**
 * fabric-shim's `DataMarshall.handleParameters`, statement for statement, without its four debug lines per
 * argument: their arguments (`JSON.stringify` of the parameter's descriptor and of a schema that embeds every
 * component schema of the chaincode, `util.inspect` of the argument) are built before the logger can discard
 * them, and cost more than the validation itself. Same checks, same order, same error messages; when the shim
 * logs at debug, the original runs instead so nothing an operator asked for is lost.
 */
function handleParametersQuietly(
  this: DataMarshallLike,
  original: DataMarshallLike['handleParameters'],
  fn: TransactionDescriptor,
  parameters: Buffer[],
  loggerPrefix: string,
): unknown[] {
  if (marshallLogger.level === 'debug') {
    return original.call(this, fn, parameters, loggerPrefix);
  }
  const expectedParams = fn.parameters;
  if (!expectedParams) return parameters.map((e) => e.toString());
  if (expectedParams.length !== parameters.length) {
    const errMsg = `Expected ${expectedParams.length} parameters, but ${parameters.length} have been supplied`;
    marshallLogger.error(`${loggerPrefix} ${errMsg}`);
    throw new Error(errMsg);
  }
  const returnParams: unknown[] = [];
  for (let i = 0; i < expectedParams.length; i++) {
    const expected = expectedParams[i];
    const schema = {
      properties: { prop: expected.schema },
      components: { schemas: this.components },
    };
    if (!expected.schema.type && !expected.schema.$ref) {
      throw new Error(`Incorrect type information ${JSON.stringify(expected.schema)}`);
    }
    const validator = this.ajv.compile(schema) as Validator;
    const { value, validateData } = this.fromWireBuffer(parameters[i], schema, loggerPrefix);
    if (!validator({ prop: validateData })) {
      const errors = JSON.stringify((validator.errors ?? []).map((err) => err.message));
      throw new Error(`Unable to validate parameter due to ${errors}`);
    }
    returnParams.push(value);
  }
  return returnParams;
}

function quietParameterHandling(router: ContractRouter): void {
  for (const implementation of Object.values(router.contractImplementations)) {
    const marshall = implementation.dataMarshall as DataMarshallLike | undefined;
    if (!marshall) continue;
    const original = marshall.handleParameters;
    marshall.handleParameters = function (fn, parameters, loggerPrefix) {
      return handleParametersQuietly.call(this, original, fn, parameters, loggerPrefix);
    };
  }
}

export const ChaincodeStub = StubClass;

/** Build the router exactly as fabric-shim's bootstrap does for a chaincode package. */
export function createContractRouter(contracts: unknown[], title: string, version: string): ContractRouter {
  const serializers = { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } };
  const router = new ChaincodeFromContractClass(contracts, serializers, {}, title, version);
  cacheArgumentValidators(router);
  quietParameterHandling(router);
  return router;
}
