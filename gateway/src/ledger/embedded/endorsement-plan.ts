/**
 * Which organisations' peers must endorse a transaction, planned as the Fabric Gateway plans it with service
 * discovery: after the first endorsement, the policies that govern its writes are known (the chaincode policy,
 * and the key-level policy, VALIDATION_PARAMETER, of every written key that has one, as committed), and the
 * gateway asks for a set of peers satisfying all of them. Without this, a transaction writing a key whose
 * key-level policy names another organisation than the chaincode policy picks would be endorsed by the wrong
 * peers and fail validation (ENDORSEMENT_POLICY_FAILURE) every time.
 */
import { peer } from '@hyperledger/fabric-protos';
import { decodeRwSet } from './fabric/protos';
import { evaluatePolicy, policyFromEnvelope, type Policy } from './policy';
import { VALIDATION_PARAMETER } from './simulator';
import type { VersionedValue } from './storage/ledger-store';

/** The keys a proposal response's read-write set writes (values or metadata) in `namespace`, in order. */
export function writtenKeys(proposalResponsePayload: Uint8Array, namespace: string): string[] {
  const prp = peer.ProposalResponsePayload.deserializeBinary(proposalResponsePayload);
  const action = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
  const keys = new Set<string>();
  for (const set of decodeRwSet(action.getResults_asU8())) {
    if (set.namespace !== namespace) continue;
    for (const w of set.writes) keys.add(w.key);
    for (const m of set.metadataWrites) keys.add(m.key);
  }
  return [...keys];
}

/**
 * The policies a transaction writing `keys` must satisfy, from their committed state: each key-level policy once,
 * and the chaincode policy when a written key has none or nothing is written (Fabric's ChaincodeInterest).
 */
export async function governingPolicies(
  keys: string[],
  committed: (key: string) => Promise<VersionedValue | undefined>,
  chaincodePolicy: Policy,
): Promise<Policy[]> {
  const states = await Promise.all(keys.map((key) => committed(key)));
  const seen = new Set<string>();
  const policies: Policy[] = [];
  let needsChaincodePolicy = keys.length === 0;
  for (const state of states) {
    const parameter = state?.metadata?.[VALIDATION_PARAMETER];
    if (!parameter || parameter.length === 0) {
      needsChaincodePolicy = true;
      continue;
    }
    const id = Buffer.from(parameter).toString('base64');
    if (seen.has(id)) continue;
    seen.add(id);
    policies.push(policyFromEnvelope(parameter));
  }
  if (needsChaincodePolicy) policies.push(chaincodePolicy);
  return policies;
}

/**
 * The smallest set of organisations (one peer each) that satisfies every policy and includes `first` (it has
 * endorsed already), preferring `candidates` in their order; undefined when none does. Consortia have a handful
 * of organisations, so every subset is tried, smallest first.
 */
export function planOrganisations(
  first: string,
  candidates: string[],
  policies: Policy[],
): string[] | undefined {
  const others = candidates.filter((mspId) => mspId !== first);
  const satisfies = (orgs: string[]) => {
    const endorsers = orgs.map((mspId) => ({ mspId, role: 'peer' as const }));
    return policies.every((policy) => evaluatePolicy(policy, endorsers));
  };
  for (let size = 0; size <= others.length; size++) {
    for (const chosen of combinations(others, size)) {
      const orgs = [first, ...chosen];
      if (satisfies(orgs)) return orgs;
    }
  }
  return undefined;
}

/** The `size`-element subsets of `items`, in lexicographic order of positions. */
function* combinations<T>(items: T[], size: number, start = 0): Generator<T[]> {
  if (size === 0) {
    yield [];
    return;
  }
  for (let i = start; i <= items.length - size; i++) {
    for (const rest of combinations(items, size - 1, i + 1)) yield [items[i], ...rest];
  }
}
