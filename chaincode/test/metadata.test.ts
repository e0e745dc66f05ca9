/**
 * The contract metadata Fabric generates from the built package is valid and describes the contract as built:
 * every transaction with its submit/evaluate tag, and the model objects as components.
 *
 * Runs against `dist/` (the package as deployed): `npm run build -w chaincode` first.
 */
import * as path from 'path';
import Ajv from 'ajv';
import { JSONSerializer } from 'fabric-contract-api';
import { contracts, Participant } from '@gec/chaincode';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ChaincodeFromContract = require('fabric-shim/lib/contract-spi/chaincodefromcontract');

interface TransactionMetadata {
  name: string;
  tag?: string[];
  parameters?: Array<{ name: string; schema: { type?: string } }>;
  returns?: { type?: string; $ref?: string };
}

interface Metadata {
  contracts: Record<string, { name: string; transactions: TransactionMetadata[]; info: { title: string } }>;
  components: { schemas: Record<string, { $id: string; properties: Record<string, unknown> }> };
}

function generatedMetadata(): Metadata {
  const chaincode = new ChaincodeFromContract(
    [...contracts],
    { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } },
    {},
    'gec',
    '0.1.0',
  );
  // What the system contract's GetMetadata returns: the same object, through JSON (constructors dropped).
  return JSON.parse(JSON.stringify(chaincode.metadata)) as Metadata;
}

const contractApiDir = path.dirname(require.resolve('fabric-contract-api/package.json'));

describe('gec chaincode metadata', () => {
  const metadata = generatedMetadata();

  it('validates against the fabric-contract-api contract schema', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const schema = require(path.join(contractApiDir, 'schema', 'contract-schema.json'));
    const ajv = new Ajv({ schemaId: 'auto', allErrors: true });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-04.json'));
    const valid = ajv.validate(schema, metadata);
    expect(ajv.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('exposes every gec contract by name', () => {
    expect(Object.keys(metadata.contracts).sort()).toEqual([
      'certificates',
      'consortium',
      'identity',
      'metering',
      'org.hyperledger.fabric',
      'parameters',
      'queries',
      'redemption',
      'trades',
      'units',
      'vouchers',
    ]);
    expect(metadata.contracts.identity.info.title).toBe('identity');
  });

  it.each([
    ['RegisterParticipant', 'SUBMIT', ['request'], { $ref: '#/components/schemas/Participant' }],
    ['SetParticipantStatus', 'SUBMIT', ['request'], undefined],
    ['GetParticipant', 'EVALUATE', ['id'], { $ref: '#/components/schemas/Participant' }],
    ['ListParticipants', 'EVALUATE', ['query'], { $ref: '#/components/schemas/ParticipantPage' }],
    ['VerifyParticipantCredential', 'EVALUATE', ['id'], { type: 'boolean' }],
  ])('lists identity:%s as %s with string parameters %j', (name, tag, parameters, returns) => {
    const transaction = metadata.contracts.identity.transactions.find((t) => t.name === name);
    expect(transaction).toBeDefined();
    expect(transaction?.tag).toContain(tag);
    expect(transaction?.tag).not.toContain(tag === 'SUBMIT' ? 'EVALUATE' : 'SUBMIT');
    expect(transaction?.parameters?.map((p) => p.name)).toEqual(parameters);
    expect(transaction?.parameters?.every((p) => p.schema.type === 'string')).toBe(true);
    expect(transaction?.returns).toEqual(returns);
  });

  it('lists no transaction other than the five of the identity contract', () => {
    expect(metadata.contracts.identity.transactions.map((t) => t.name).sort()).toEqual([
      'GetParticipant',
      'ListParticipants',
      'RegisterParticipant',
      'SetParticipantStatus',
      'VerifyParticipantCredential',
    ]);
  });

  it('describes Participant with every field as a string', () => {
    const participant = metadata.components.schemas.Participant;
    expect(participant.$id).toBe('Participant');
    expect(Object.keys(participant.properties).sort()).toEqual([
      'credentialHash',
      'credentialSalt',
      'id',
      'kind',
      'name',
      'region',
      'registeredAt',
      'registeredBy',
      'registeredByMsp',
      'registeredTxId',
      'status',
      'statusReason',
      'updatedAt',
      'updatedTxId',
    ]);
    for (const property of Object.values(participant.properties)) {
      expect(property).toEqual({ type: 'string' });
    }
  });

  it('describes ParticipantPage as items of Participant, a bookmark and a count', () => {
    expect(metadata.components.schemas.ParticipantPage.properties).toEqual({
      items: { type: 'array', items: { $ref: 'Participant' } },
      bookmark: { type: 'string' },
      fetchedCount: { type: 'number' },
    });
  });
});

describe('returned objects are serialized by fabric-contract-api', () => {
  it('resolves class-transformer 0.4.0 for fabric-contract-api (0.4.1 lacks classToPlain)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { version } = require(
      require.resolve('class-transformer/package.json', { paths: [contractApiDir] }),
    );
    expect(version).toBe('0.4.0');
  });

  it('turns a Participant instance into its JSON', () => {
    const participant = Object.assign(new Participant(), { id: 'P1', kind: 'GENERATOR', statusReason: '' });
    const bytes = new JSONSerializer().toBuffer(participant, { $ref: '#/components/schemas/Participant' });
    expect(JSON.parse(bytes.toString('utf8'))).toEqual({ id: 'P1', kind: 'GENERATOR', statusReason: '' });
  });
});
