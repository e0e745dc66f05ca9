import { Context } from 'fabric-contract-api';
import { KeyEndorsementPolicy } from 'fabric-shim';
import { PARTICIPANT_OBJECT } from '../identity/identity-contract';
import { compositeKey, getJson } from '../lib/state';
import { activeMember, activeMembers } from './organisation';
import { loadedConsortium } from './registry';

/**
 * State-based endorsement (key-level policies) where ownership is per organisation: a lot or voucher held by a
 * participant that a trading center registered (a market participant "held through" that trading center) carries
 * a key-level endorsement policy naming that trading center's peers together with the platform operators' peers,
 * as fabric-samples' asset-transfer-sbe does. Another member's peers cannot change the key alone: Fabric validates
 * every later write of it (its value or its policy) against this policy. The policy follows the holder.
 *
 * A holder not held through a trading center gets the platform operators' peers alone: never an empty policy,
 * which the Fabric Gateway cannot plan endorsements for ("state based endorsement policy cannot be satisfied").
 * Such a key is still written together with index keys under the chaincode's policy, so nothing is weaker. The
 * policy is written only when it changes: a key whose policy an earlier transaction of the same block changed
 * fails validation with ENDORSEMENT_POLICY_FAILURE on Fabric, so moves between holders of one trading center keep
 * their MVCC_READ_CONFLICT.
 */

/** The key-level policy for something held by `holder`. */
export async function holderEndorsementPolicy(ctx: Context, holder: string): Promise<Uint8Array> {
  const participant = (await getJson(ctx, compositeKey(ctx, PARTICIPANT_OBJECT, [holder]))) as
    { registeredByMsp?: string } | undefined;
  const consortium = loadedConsortium(ctx);
  const tradingCenter =
    participant?.registeredByMsp === undefined
      ? undefined
      : activeMember(consortium, participant.registeredByMsp);
  if (tradingCenter === undefined || tradingCenter.role !== 'TRADING_CENTER') return new Uint8Array();
  const platforms = activeMembers(consortium)
    .filter((o) => o.role === 'PLATFORM_OPERATOR')
    .map((o) => o.mspId);
  const policy = new KeyEndorsementPolicy();
  // Sorted: every endorser must build the same bytes.
  policy.addOrgs('PEER', ...[...platforms, tradingCenter.mspId].sort());
  return policy.getPolicy();
}

/** Set `key`'s key-level policy to its holder's (see above). */
export async function applyHolderPolicy(ctx: Context, key: string, holder: string): Promise<void> {
  await ctx.stub.setStateValidationParameter(key, await holderEndorsementPolicy(ctx, holder));
}
