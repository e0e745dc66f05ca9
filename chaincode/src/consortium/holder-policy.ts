import { common, msp } from '@hyperledger/fabric-protos';
import { Context } from 'fabric-contract-api';
import { findParticipant } from '../lib/parties';
import { activeMember, activeMembers, Consortium } from './organisation';
import { loadedConsortium } from './registry';

/**
 * State-based endorsement where ownership is per organisation (issue 15), as fabric-samples'
 * asset-transfer-sbe does: a lot or voucher carries a key-level endorsement policy (its VALIDATION_PARAMETER),
 * which Fabric's validator applies to every later write of that key instead of the chaincode policy.
 *
 * - Held by a participant a trading center registered (held through that trading center): every platform
 *   operator's peer AND that trading center's peer. Another trading center's peers cannot move it, although the
 *   chaincode policy after a second trading center joined is AND(platform, OR(TC, TC2)).
 * - Held by anyone else (e.g. a generator the platform registered): every platform operator's peer AND one peer of
 *   any active trading center, the chaincode policy's shape, written out.
 *
 * Never an empty policy: Fabric's validator would fall back to the chaincode policy, but the Fabric Gateway's
 * endorsement planning (discovery) cannot satisfy an empty key policy and refuses every later transaction writing
 * the key ("state based endorsement policy cannot be satisfied").
 *
 * The policy is written only when it changes. On Fabric a write to a key whose policy an earlier valid
 * transaction of the same block changed is ENDORSEMENT_POLICY_FAILURE (the key-level validator's
 * ValidationParameterUpdatedError); writing it only on change keeps moves between holders of one trading center
 * as plain MVCC conflicts.
 */

/** The key-level policy for something `holder` holds, as the bytes of a `common.SignaturePolicyEnvelope`. */
export async function holderEndorsementPolicy(ctx: Context, holder: string): Promise<Uint8Array> {
  const participant = await findParticipant(ctx, holder);
  const consortium = loadedConsortium(ctx);
  const registrar =
    participant === undefined ? undefined : activeMember(consortium, participant.registeredByMsp);
  const through = registrar?.role === 'TRADING_CENTER' ? registrar.mspId : undefined;
  return policyEnvelope(consortium, through);
}

/**
 * Set `key`'s key-level policy to `holder`'s unless it already is. `isNew`: the key is created by this
 * transaction (it has no policy yet: no need to read one).
 */
export async function applyHolderPolicy(
  ctx: Context,
  key: string,
  holder: string,
  isNew: boolean,
): Promise<void> {
  const policy = await holderEndorsementPolicy(ctx, holder);
  if (!isNew) {
    const current = await ctx.stub.getStateValidationParameter(key);
    if (current !== undefined && Buffer.from(policy).equals(Buffer.from(current))) return;
  }
  await ctx.stub.setStateValidationParameter(key, policy);
}

/**
 * AND(every platform operator's peer, `tradingCenter`'s peer), or with no trading center named
 * AND(every platform operator's peer, OutOf(1, every trading center's peer)). Members in MSP id order: every
 * endorser builds the same bytes.
 */
export function policyEnvelope(consortium: Consortium, tradingCenter: string | undefined): Uint8Array {
  const members = activeMembers(consortium);
  const ids = (role: string) =>
    members
      .filter((o) => o.role === role)
      .map((o) => o.mspId)
      .sort();
  const platforms = ids('PLATFORM_OPERATOR');
  const tradingCenters = tradingCenter === undefined ? ids('TRADING_CENTER') : [tradingCenter];
  const identities = [...platforms, ...tradingCenters].map(peerPrincipal);
  const rules = platforms.map((_, i) => signedBy(i));
  if (tradingCenters.length === 1) rules.push(signedBy(platforms.length));
  else if (tradingCenters.length > 1)
    rules.push(
      nOutOf(
        1,
        tradingCenters.map((_, i) => signedBy(platforms.length + i)),
      ),
    );
  const envelope = new common.SignaturePolicyEnvelope();
  envelope.setVersion(0);
  envelope.setRule(nOutOf(rules.length, rules));
  envelope.setIdentitiesList(identities);
  return envelope.serializeBinary();
}

function peerPrincipal(mspId: string): msp.MSPPrincipal {
  const role = new msp.MSPRole();
  role.setMspIdentifier(mspId);
  role.setRole(msp.MSPRole.MSPRoleType.PEER);
  const principal = new msp.MSPPrincipal();
  principal.setPrincipalClassification(msp.MSPPrincipal.Classification.ROLE);
  principal.setPrincipal(role.serializeBinary());
  return principal;
}

function signedBy(index: number): common.SignaturePolicy {
  const rule = new common.SignaturePolicy();
  rule.setSignedBy(index);
  return rule;
}

function nOutOf(n: number, rules: common.SignaturePolicy[]): common.SignaturePolicy {
  const outOf = new common.SignaturePolicy.NOutOf();
  outOf.setN(n);
  outOf.setRulesList(rules);
  const rule = new common.SignaturePolicy();
  rule.setNOutOf(outOf);
  return rule;
}
