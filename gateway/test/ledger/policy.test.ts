import { common, msp } from '@hyperledger/fabric-protos';
import { KeyEndorsementPolicy } from 'fabric-shim';
import {
  evaluatePolicy,
  parsePolicy,
  PolicyParseError,
  policyFromEnvelope,
  requiredOrganisations,
} from '../../src/ledger/embedded/policy';
import { governingPolicies, planOrganisations } from '../../src/ledger/embedded/endorsement-plan';
import type { VersionedValue } from '../../src/ledger/embedded/storage/ledger-store';

const peerOf = (mspId: string) => ({ mspId, role: 'peer' as const });

describe('endorsement policies', () => {
  it('parses AND / OR / OutOf over MSP principals', () => {
    expect(parsePolicy("AND('GridMSP.peer', 'TradingCenterMSP.peer')")).toEqual({
      kind: 'outOf',
      n: 2,
      rules: [
        { kind: 'signedBy', principal: { mspId: 'GridMSP', role: 'peer' } },
        { kind: 'signedBy', principal: { mspId: 'TradingCenterMSP', role: 'peer' } },
      ],
    });
    expect(parsePolicy("OutOf(2, 'A.member', OR('B.peer', 'C.admin'), 'D.client')")).toMatchObject({ n: 2 });
  });

  it.each([
    ["AND('GridMSP.peer'", /expected '\)'/],
    ["AND('GridMSP.boss')", /must be MSPID.member\|admin\|client\|peer\|orderer/],
    ["OutOf(3, 'A.peer', 'B.peer')", /OutOf\(3\) over 2 rules/],
    ["XOR('A.peer')", /expected AND, OR, OutOf/],
    ["'A.peer' trailing", /unexpected text/],
  ])('refuses %s with a clear error', (text, message) => {
    expect(() => parsePolicy(text)).toThrow(PolicyParseError);
    expect(() => parsePolicy(text)).toThrow(message);
  });

  it('evaluates as Fabric does: each signature satisfies at most one principal', () => {
    const both = parsePolicy("AND('GridMSP.peer','TradingCenterMSP.peer')");
    expect(evaluatePolicy(both, [peerOf('GridMSP'), peerOf('TradingCenterMSP')])).toBe(true);
    expect(evaluatePolicy(both, [peerOf('GridMSP')])).toBe(false);
    expect(evaluatePolicy(both, [peerOf('GridMSP'), peerOf('RegulatorMSP')])).toBe(false);
    const twoGrid = parsePolicy("AND('GridMSP.peer','GridMSP.peer')");
    expect(evaluatePolicy(twoGrid, [peerOf('GridMSP')])).toBe(false);
    expect(evaluatePolicy(twoGrid, [peerOf('GridMSP'), peerOf('GridMSP')])).toBe(true);
    const member = parsePolicy("OR('GridMSP.member')");
    expect(evaluatePolicy(member, [{ mspId: 'GridMSP', role: 'client' }])).toBe(true);
    expect(evaluatePolicy(parsePolicy("OR('GridMSP.admin')"), [{ mspId: 'GridMSP', role: 'peer' }])).toBe(
      false,
    );
  });

  it('names the organisations whose peers must endorse', () => {
    expect(requiredOrganisations(parsePolicy("AND('GridMSP.peer','TradingCenterMSP.peer')"))).toEqual([
      'GridMSP',
      'TradingCenterMSP',
    ]);
    expect(requiredOrganisations(parsePolicy("OR('RegulatorMSP.peer','GridMSP.peer')"))).toEqual([
      'RegulatorMSP',
    ]);
  });

  it("reads the key-level policy fabric-shim's KeyEndorsementPolicy writes", () => {
    const key = new KeyEndorsementPolicy();
    key.addOrgs('PEER', 'GridMSP', 'TradingCenterMSP');
    const policy = policyFromEnvelope(key.getPolicy());
    expect(evaluatePolicy(policy, [peerOf('GridMSP'), peerOf('TradingCenterMSP')])).toBe(true);
    expect(evaluatePolicy(policy, [peerOf('GridMSP')])).toBe(false);
  });

  it('refuses a key-level policy with a non-role principal', () => {
    const principal = new msp.MSPPrincipal();
    principal.setPrincipalClassification(msp.MSPPrincipal.Classification.IDENTITY);
    principal.setPrincipal(Buffer.from('x'));
    const rule = new common.SignaturePolicy();
    rule.setSignedBy(0);
    const envelope = new common.SignaturePolicyEnvelope();
    envelope.setIdentitiesList([principal]);
    envelope.setRule(rule);
    expect(() => policyFromEnvelope(envelope.serializeBinary())).toThrow(/only ROLE principals/);
  });
});

describe('endorsement planning (the Fabric Gateway with discovery)', () => {
  const chaincode = parsePolicy("AND('GridMSP.peer',OR('TradingCenterMSP.peer','TradingCenter2MSP.peer'))");
  const candidates = ['GridMSP', 'TradingCenterMSP', 'TradingCenter2MSP', 'RegulatorMSP'];
  const keyPolicy = (...orgs: string[]) => {
    const key = new KeyEndorsementPolicy();
    key.addOrgs('PEER', ...orgs);
    return policyFromEnvelope(key.getPolicy());
  };

  it('takes the chaincode policy’s first organisations when no key has its own policy', () => {
    expect(planOrganisations('GridMSP', candidates, [chaincode])).toEqual(['GridMSP', 'TradingCenterMSP']);
  });

  it('adds the organisation a written key’s policy names, and no more', () => {
    expect(
      planOrganisations('GridMSP', candidates, [chaincode, keyPolicy('GridMSP', 'TradingCenter2MSP')]),
    ).toEqual(['GridMSP', 'TradingCenter2MSP']);
    expect(
      planOrganisations('GridMSP', candidates, [
        keyPolicy('GridMSP', 'TradingCenter2MSP'),
        keyPolicy('GridMSP', 'TradingCenterMSP'),
      ]),
    ).toEqual(['GridMSP', 'TradingCenterMSP', 'TradingCenter2MSP']);
  });

  it('finds nothing when no set of the channel’s peers satisfies every policy', () => {
    expect(planOrganisations('GridMSP', candidates, [keyPolicy('NobodyMSP')])).toBeUndefined();
  });

  it('reads the governing policies from committed state: key-level ones once, the chaincode’s for keys without', async () => {
    const tc2 = new KeyEndorsementPolicy();
    tc2.addOrgs('PEER', 'GridMSP', 'TradingCenter2MSP');
    const tc2Policy = Buffer.from(tc2.getPolicy());
    const state: Record<string, VersionedValue> = {
      a: {
        value: Buffer.from('x'),
        version: { blockNum: 1, txNum: 0 },
        metadata: { VALIDATION_PARAMETER: tc2Policy },
      },
      b: {
        value: Buffer.from('y'),
        version: { blockNum: 1, txNum: 1 },
        metadata: { VALIDATION_PARAMETER: tc2Policy },
      },
      c: { value: Buffer.from('z'), version: { blockNum: 1, txNum: 2 } },
    };
    const lookup = async (key: string): Promise<VersionedValue | undefined> => state[key];
    expect(await governingPolicies(['a', 'b'], lookup, chaincode)).toHaveLength(1);
    expect(await governingPolicies(['a', 'b', 'c'], lookup, chaincode)).toHaveLength(2);
    expect(await governingPolicies(['new'], lookup, chaincode)).toEqual([chaincode]);
    expect(await governingPolicies([], lookup, chaincode)).toEqual([chaincode]);
  });
});
