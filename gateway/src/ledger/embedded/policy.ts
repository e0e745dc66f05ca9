/**
 * Endorsement policies as Fabric evaluates them: the signature-policy language of `peer lifecycle
 * chaincode approveformyorg --signature-policy "AND('GridMSP.peer','TradingCenterMSP.peer')"`, and the
 * `common.SignaturePolicyEnvelope` protobufs that fabric-shim's KeyEndorsementPolicy writes as a key's
 * VALIDATION_PARAMETER (state-based endorsement).
 */
import { common, msp } from '@hyperledger/fabric-protos';

export type PrincipalRole = 'member' | 'admin' | 'client' | 'peer' | 'orderer';
export interface Principal {
  mspId: string;
  role: PrincipalRole;
}
export type Policy =
  { kind: 'signedBy'; principal: Principal } | { kind: 'outOf'; n: number; rules: Policy[] };

/** What an endorsement proves: which MSP and which NodeOU role signed. */
export interface EndorsingIdentity {
  mspId: string;
  role: 'client' | 'peer' | 'admin' | 'orderer';
}

export class PolicyParseError extends Error {
  override readonly name = 'PolicyParseError';
}

/** Parse `AND(...)`, `OR(...)`, `OutOf(n, ...)` over `'MSP.role'` principals. */
export function parsePolicy(text: string): Policy {
  let pos = 0;
  const skip = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const expect = (ch: string) => {
    skip();
    if (text[pos] !== ch) throw new PolicyParseError(`expected '${ch}' at ${pos} in policy ${text}`);
    pos++;
  };
  const parseExpr = (): Policy => {
    skip();
    const quote = text[pos];
    if (quote === "'" || quote === '"') {
      const end = text.indexOf(quote, pos + 1);
      if (end < 0) throw new PolicyParseError(`unterminated principal in policy ${text}`);
      const principal = text.slice(pos + 1, end);
      pos = end + 1;
      const dot = principal.lastIndexOf('.');
      const role = principal.slice(dot + 1) as PrincipalRole;
      if (dot <= 0 || !['member', 'admin', 'client', 'peer', 'orderer'].includes(role)) {
        throw new PolicyParseError(`principal '${principal}' must be MSPID.member|admin|client|peer|orderer`);
      }
      return { kind: 'signedBy', principal: { mspId: principal.slice(0, dot), role } };
    }
    const match = /^(AND|OR|OutOf)\s*\(/i.exec(text.slice(pos));
    if (!match)
      throw new PolicyParseError(`expected AND, OR, OutOf or a principal at ${pos} in policy ${text}`);
    const op = match[1].toUpperCase();
    pos += match[0].length;
    let n = 0;
    if (op === 'OUTOF') {
      skip();
      const num = /^\d+/.exec(text.slice(pos));
      if (!num) throw new PolicyParseError(`OutOf needs a count at ${pos} in policy ${text}`);
      n = Number(num[0]);
      pos += num[0].length;
      expect(',');
    }
    const rules: Policy[] = [parseExpr()];
    skip();
    while (text[pos] === ',') {
      pos++;
      rules.push(parseExpr());
      skip();
    }
    expect(')');
    if (op === 'AND') n = rules.length;
    if (op === 'OR') n = 1;
    if (n < 1 || n > rules.length)
      throw new PolicyParseError(`OutOf(${n}) over ${rules.length} rules in ${text}`);
    return { kind: 'outOf', n, rules };
  };
  const policy = parseExpr();
  skip();
  if (pos !== text.length) throw new PolicyParseError(`unexpected text at ${pos} in policy ${text}`);
  return policy;
}

const MSP_ROLES: Record<number, PrincipalRole> = {
  [msp.MSPRole.MSPRoleType.MEMBER]: 'member',
  [msp.MSPRole.MSPRoleType.ADMIN]: 'admin',
  [msp.MSPRole.MSPRoleType.CLIENT]: 'client',
  [msp.MSPRole.MSPRoleType.PEER]: 'peer',
  [msp.MSPRole.MSPRoleType.ORDERER]: 'orderer',
};

/** Decode a SignaturePolicyEnvelope (as written by fabric-shim's KeyEndorsementPolicy). */
export function policyFromEnvelope(bytes: Uint8Array): Policy {
  const envelope = common.SignaturePolicyEnvelope.deserializeBinary(bytes);
  const principals = envelope.getIdentitiesList().map((p): Principal => {
    if (p.getPrincipalClassification() !== msp.MSPPrincipal.Classification.ROLE) {
      throw new PolicyParseError('only ROLE principals are supported in key-level policies');
    }
    const role = msp.MSPRole.deserializeBinary(p.getPrincipal_asU8());
    const name = MSP_ROLES[role.getRole()];
    if (!name) throw new PolicyParseError(`unsupported MSP role ${role.getRole()}`);
    return { mspId: role.getMspIdentifier(), role: name };
  });
  const convert = (rule: common.SignaturePolicy | undefined): Policy => {
    if (!rule) throw new PolicyParseError('empty signature policy rule');
    if (rule.hasSignedBy()) {
      const principal = principals[rule.getSignedBy()];
      if (!principal) throw new PolicyParseError(`signed_by index ${rule.getSignedBy()} out of range`);
      return { kind: 'signedBy', principal };
    }
    const nOutOf = rule.getNOutOf();
    if (!nOutOf) throw new PolicyParseError('signature policy rule has neither signed_by nor n_out_of');
    return { kind: 'outOf', n: nOutOf.getN(), rules: nOutOf.getRulesList().map(convert) };
  };
  return convert(envelope.getRule());
}

function satisfies(identity: EndorsingIdentity, principal: Principal): boolean {
  if (identity.mspId !== principal.mspId) return false;
  return principal.role === 'member' || principal.role === identity.role;
}

/**
 * Fabric's evaluation (common/cauthdsl): each signature may satisfy at most one principal; an n-out-of rule
 * tries its sub-rules in order, keeping the signatures a satisfied sub-rule consumed.
 */
export function evaluatePolicy(policy: Policy, identities: EndorsingIdentity[]): boolean {
  const evaluate = (rule: Policy, used: boolean[]): boolean => {
    if (rule.kind === 'signedBy') {
      for (let i = 0; i < identities.length; i++) {
        if (!used[i] && satisfies(identities[i], rule.principal)) {
          used[i] = true;
          return true;
        }
      }
      return false;
    }
    let verified = 0;
    for (const sub of rule.rules) {
      const attempt = used.slice();
      if (evaluate(sub, attempt)) {
        verified++;
        attempt.forEach((value, i) => (used[i] = value));
      }
    }
    return verified >= rule.n;
  };
  return evaluate(
    policy,
    identities.map(() => false),
  );
}

/** The organisations whose peers must endorse for the policy to be satisfiable with one peer each. */
export function requiredOrganisations(policy: Policy): string[] {
  // Choose, greedily and deterministically, the first n sub-rules of each n-out-of.
  const pick = (rule: Policy): string[] =>
    rule.kind === 'signedBy' ? [rule.principal.mspId] : rule.rules.slice(0, rule.n).flatMap(pick);
  return [...new Set(pick(policy))];
}
