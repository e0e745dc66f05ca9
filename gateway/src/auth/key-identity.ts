import { ProblemError } from '../common/problem';
import type { IdentityRef } from '../ledger/port';
import { clientIdentityOf, describeThisGateway, isConsortiumMsp } from '../organisation/consortium';
import type { HeldIdentities } from '../organisation/held-identities';
import { defaultIdentity, type Role } from './roles';

/**
 * The Fabric identity a new API key will use, or a 422 naming the rule it breaks:
 *   - a single-organisation gateway gives keys its own organisation's identities only;
 *   - the identity must be one this gateway holds (else every request of the key would fail at the ledger);
 *   - least privilege: only admin keys may use an admin identity (NodeOU admin or gec.role admin).
 * Unnamed parts come from the role's default (`defaultIdentity`); an MSP named without an identity name gets
 * that organisation's default for the role.
 */
export function keyIdentity(
  request: { role: Role; mspId?: string; identityName?: string },
  held: HeldIdentities,
): IdentityRef {
  const organisation = held.organisation;
  const mspId = request.mspId ?? defaultIdentity(organisation, request.role).mspId;
  if (organisation !== 'all' && mspId !== organisation) {
    throw new ProblemError(
      422,
      'IDENTITY_OF_OTHER_ORGANISATION',
      `this gateway is ${describeThisGateway(organisation)}: a key may use ${organisation} identities only, ` +
        `not ${mspId}'s (create the key on the ${mspId} gateway)`,
      { errors: [{ field: 'mspId', message: `must be ${organisation}, this gateway's organisation` }] },
    );
  }
  // The role's default within the organisation the identity is of (the DTO admits consortium MSPs only).
  const ofOrganisation = isConsortiumMsp(mspId) ? mspId : organisation === 'all' ? 'GridMSP' : organisation;
  const withinOrganisation = defaultIdentity(ofOrganisation, request.role);
  const client = clientIdentityOf(ofOrganisation);
  // An organisation may keep its admin identity out of the gateway's wallet (its admins use the Fabric CLI): its
  // admin keys then run as its client identity, which is all they need for what the gateway signs for them.
  const name =
    request.identityName ??
    (request.role === 'admin' && !held.find(withinOrganisation) ? client.name : withinOrganisation.name);
  const identity = held.find({ mspId, name });
  if (!identity) {
    const names = held.all
      .filter((candidate) => candidate.mspId === mspId)
      .map((candidate) => candidate.name);
    throw new ProblemError(
      422,
      'IDENTITY_NOT_HELD',
      `this gateway holds no identity ${mspId}/${name} (${mspId} identities it holds: ${names.join(', ') || 'none'})`,
      {
        errors: [
          { field: 'identityName', message: `no identity ${name} of ${mspId} in this gateway's wallet` },
        ],
      },
    );
  }
  if (identity.admin && request.role !== 'admin') {
    throw new ProblemError(
      422,
      'ADMIN_IDENTITY_NOT_ALLOWED',
      `a ${request.role} key may not use the admin identity ${mspId}/${name}: admin identities are for admin ` +
        `keys only (least privilege); use a client identity such as ${mspId}/${client.name}`,
      { errors: [{ field: 'identityName', message: `${mspId}/${name} is an admin identity` }] },
    );
  }
  return { mspId, name };
}
