/**
 * The contract metadata of every gec contract, as built: each transaction with its submit/evaluate tag and its
 * one string argument (or none), so the gateway and the Fabric CLI see the API documented in the contracts.
 */
import { JSONSerializer } from 'fabric-contract-api';
import { contracts } from '@gec/chaincode';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ChaincodeFromContract = require('fabric-shim/lib/contract-spi/chaincodefromcontract');

interface Metadata {
  contracts: Record<
    string,
    {
      transactions: Array<{
        name: string;
        tag?: string[];
        parameters?: Array<{ name: string; schema: { type?: string } }>;
      }>;
    }
  >;
  components: { schemas: Record<string, { properties: Record<string, unknown> }> };
}

const metadata = JSON.parse(
  JSON.stringify(
    new ChaincodeFromContract(
      [...contracts],
      { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } },
      {},
      'gec',
      '0.1.0',
    ).metadata,
  ),
) as Metadata;

const API: Record<string, Record<string, 'SUBMIT' | 'EVALUATE'>> = {
  units: { RegisterUnit: 'SUBMIT', SetUnitStatus: 'SUBMIT', GetUnit: 'EVALUATE', ListUnits: 'EVALUATE' },
  metering: {
    AttestMeterPeriod: 'SUBMIT',
    CorrectMeterPeriod: 'SUBMIT',
    RegisterConsumptionMeter: 'SUBMIT',
    GetMeterAttestation: 'EVALUATE',
    GetConsumptionMeter: 'EVALUATE',
    ListConsumptionMeters: 'EVALUATE',
  },
  consortium: {
    InitConsortium: 'SUBMIT',
    GetConsortium: 'EVALUATE',
    ProposeOrganisation: 'SUBMIT',
    ApproveOrganisation: 'SUBMIT',
    RegisterTradeSigningKey: 'SUBMIT',
    EndTradeSigningKey: 'SUBMIT',
    GetTradeSigningKey: 'EVALUATE',
    ListTradeSigningKeys: 'EVALUATE',
  },
  certificates: {
    Issue: 'SUBMIT',
    Split: 'SUBMIT',
    Transfer: 'SUBMIT',
    List: 'SUBMIT',
    Delist: 'SUBMIT',
    SellFromListing: 'SUBMIT',
    Expire: 'SUBMIT',
    Withdraw: 'SUBMIT',
    GetLot: 'EVALUATE',
    GetLotBySerial: 'EVALUATE',
    GetIssuance: 'EVALUATE',
    ListIssuances: 'EVALUATE',
    GetListing: 'EVALUATE',
    ListListings: 'EVALUATE',
  },
  redemption: {
    Redeem: 'SUBMIT',
    Exchange: 'SUBMIT',
    CheckRedemption: 'EVALUATE',
    GetRedemption: 'EVALUATE',
    GetExchange: 'EVALUATE',
  },
  trades: {
    AttestTrade: 'SUBMIT',
    CheckTradeSignature: 'EVALUATE',
    GetTrade: 'EVALUATE',
    ListTrades: 'EVALUATE',
    GetGreenConsumption: 'EVALUATE',
    GetGreenGeneration: 'EVALUATE',
  },
  vouchers: {
    Release: 'SUBMIT',
    Claim: 'SUBMIT',
    Revoke: 'SUBMIT',
    GetVoucher: 'EVALUATE',
    GetVoucherByLot: 'EVALUATE',
    ListVouchers: 'EVALUATE',
  },
  queries: {
    ListLots: 'EVALUATE',
    ListObjects: 'EVALUATE',
    GetLotHistory: 'EVALUATE',
    GetSerialProvenance: 'EVALUATE',
    GetLotProvenance: 'EVALUATE',
    GetVoucherProvenance: 'EVALUATE',
  },
  parameters: { GetParameters: 'EVALUATE', SetParameters: 'SUBMIT', Pause: 'SUBMIT', Resume: 'SUBMIT' },
};

describe('gec contracts metadata', () => {
  it('exposes every contract', () => {
    expect(Object.keys(metadata.contracts).sort()).toEqual(
      ['identity', 'org.hyperledger.fabric', ...Object.keys(API)].sort(),
    );
  });

  it.each(Object.keys(API))(
    '%s lists exactly its transactions, each with at most one string argument',
    (name) => {
      const transactions = metadata.contracts[name].transactions;
      expect(
        Object.fromEntries(
          transactions.map((t) => [t.name, t.tag?.includes('SUBMIT') ? 'SUBMIT' : 'EVALUATE']),
        ),
      ).toEqual(API[name]);
      for (const transaction of transactions) {
        expect((transaction.parameters ?? []).length).toBeLessThanOrEqual(1);
        for (const parameter of transaction.parameters ?? []) expect(parameter.schema.type).toBe('string');
      }
    },
  );

  it('describes the model objects with typed properties', () => {
    const lot = metadata.components.schemas.CertificateLot.properties;
    expect(lot.volume).toEqual({ type: 'number' });
    expect(lot.tradable).toEqual({ type: 'boolean' });
    expect(lot.serialStart).toEqual({ type: 'string' });
    expect(metadata.components.schemas.LotPage.properties.items).toEqual({
      type: 'array',
      items: { $ref: 'CertificateLot' },
    });
    for (const name of [
      'Issuance',
      'MeterAttestation',
      'GenerationUnit',
      'Listing',
      'Redemption',
      'Exchange',
      'RedemptionCheck',
      'SerialProvenance',
      'ConsortiumParameters',
      'TradeAttestation',
      'Voucher',
      'ConsumptionMeter',
    ]) {
      expect(Object.keys(metadata.components.schemas[name]?.properties ?? {}).length).toBeGreaterThan(3);
    }
  });
});
