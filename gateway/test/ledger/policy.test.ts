import { common, msp } from '@hyperledger/fabric-protos';
import { KeyEndorsementPolicy } from 'fabric-shim';
import {
  evaluatePolicy,
  parsePolicy,
  PolicyParseError,
  policyFromEnvelope,
  requiredOrganisations,
} from '../../src/ledger/embedded/policy';

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
