/**
 * The OpenAPI document as served at /docs/openapi.json (real gateway, embedded ledger, real PostgreSQL) is
 * complete for integrators who generate clients from it: every property and parameter described with an
 * example that is valid against its own schema, humane unique operationIds, every tag described
 * (support/openapi-completeness.ts). The first tests show on tiny documents that the check finds each gap.
 */
import { rm } from 'node:fs/promises';
import { completenessProblems, CompletenessDocument } from './support/openapi-completeness';
import { startGateway, startTestPostgres, tempDir, TestGateway, TestPostgres } from './support/harness';

jest.setTimeout(120000);

/** A complete little document; each test breaks one thing. */
function tinyDocument(): CompletenessDocument {
  return {
    tags: [{ name: 'trades', description: '绿电交易 (green-power trades)' }],
    paths: {
      '/v1/trades/{tradeId}': {
        get: {
          operationId: 'getTrade',
          tags: ['trades'],
          parameters: [
            {
              name: 'tradeId',
              in: 'path',
              description: 'Trade id',
              schema: { type: 'string', pattern: '^T-' },
              example: 'T-2026-10-0001',
            },
          ],
          responses: {
            '200': {
              description: 'The trade',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/TradeDto' } } },
            },
          },
        },
      },
    },
    components: {
      schemas: {
        TradeDto: {
          type: 'object',
          required: ['tradeId', 'lot'],
          properties: {
            tradeId: { type: 'string', description: 'Trade id', example: 'T-2026-10-0001' },
            lot: { description: 'The lot', allOf: [{ $ref: '#/components/schemas/LotDto' }] },
          },
        },
        LotDto: {
          type: 'object',
          required: ['lotId'],
          properties: {
            lotId: {
              type: 'string',
              pattern: '^[A-Z0-9]{32}$',
              description: 'Lot id',
              example: 'P33090020240000102026100000001WT',
            },
          },
        },
      },
    },
  };
}

type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('the completeness check', () => {
  const withChange = (change: (document: Loose) => void) => {
    const document = tinyDocument() as Loose;
    change(document);
    return completenessProblems(document as CompletenessDocument);
  };

  it('finds nothing wrong in a complete document', () => {
    expect(completenessProblems(tinyDocument())).toEqual([]);
  });

  it('names a property without a description, and one without an example', () => {
    expect(
      withChange((d) => {
        delete d.components.schemas.TradeDto.properties.tradeId.description;
        delete d.components.schemas.LotDto.properties.lotId.example;
      }),
    ).toEqual(
      expect.arrayContaining([
        'TradeDto.tradeId: no description',
        'LotDto.lotId: no example',
        // The object a reference stands for then lacks its required lotId.
        expect.stringMatching(/^TradeDto \(built example\): .*must have required property 'lotId'/),
      ]),
    );
  });

  it('names a referencing property without a description (its example comes from the reference)', () => {
    expect(withChange((d) => delete d.components.schemas.TradeDto.properties.lot.description)).toEqual([
      'TradeDto.lot: no description',
    ]);
  });

  it('names an example that fails its own schema, in a property and in a parameter', () => {
    const problems = withChange((d) => {
      d.components.schemas.LotDto.properties.lotId.example = 'L0000000000000000000000000000001x';
      d.paths['/v1/trades/{tradeId}'].get.parameters[0].example = '2026-10-0001';
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^LotDto\.lotId: example "L0+1x" fails its schema/),
        expect.stringMatching(/^GET \/v1\/trades\/\{tradeId\} path parameter tradeId: example .* fails/),
      ]),
    );
  });

  it('names an example lot id that is not a real one', () => {
    expect(
      withChange(
        (d) => (d.components.schemas.LotDto.properties.lotId.example = 'L0000000000000000000000000000001'),
      ),
    ).toEqual(['LotDto.lotId: example "L0000000000000000000000000000001" is not a real lot id or serial']);
  });

  it('names a parameter without a description or example', () => {
    expect(
      withChange((d) => {
        const parameter = d.paths['/v1/trades/{tradeId}'].get.parameters[0];
        delete parameter.description;
        delete parameter.example;
      }),
    ).toEqual([
      'GET /v1/trades/{tradeId} path parameter tradeId: no description',
      'GET /v1/trades/{tradeId} path parameter tradeId: no example',
    ]);
  });

  it('names a Nest default operationId, a missing one and a duplicate', () => {
    expect(
      withChange((d) => (d.paths['/v1/trades/{tradeId}'].get.operationId = 'TradesController_get')),
    ).toEqual(['GET /v1/trades/{tradeId}: operationId "TradesController_get" is not verbNoun camelCase']);
    expect(withChange((d) => delete d.paths['/v1/trades/{tradeId}'].get.operationId)).toEqual([
      'GET /v1/trades/{tradeId}: operationId undefined is not verbNoun camelCase',
    ]);
    expect(
      withChange((d) => {
        d.paths['/v1/trades'] = { get: { ...d.paths['/v1/trades/{tradeId}'].get, parameters: [] } };
      }),
    ).toEqual(["GET /v1/trades: operationId getTrade is also GET /v1/trades/{tradeId}'s"]);
  });

  it('names a tag without a description', () => {
    expect(withChange((d) => (d.tags = []))).toEqual(['tag trades: no description']);
  });
});

describe('the served OpenAPI document', () => {
  let postgres: TestPostgres;
  let dataDir: string;
  let gateway: TestGateway;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dataDir = await tempDir('gec-openapi-completeness-');
    gateway = await startGateway({ dataDir, databaseUrl: await postgres.newDatabase() });
  });

  afterAll(async () => {
    await gateway?.close();
    await postgres?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('describes every property and parameter with a valid example, names operations humanely, describes tags', async () => {
    const document = (await gateway.http.get('/docs/openapi.json').expect(200)).body as CompletenessDocument;
    expect(completenessProblems(document)).toEqual([]);
  });
});
