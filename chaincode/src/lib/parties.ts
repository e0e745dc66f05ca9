import { Context } from 'fabric-contract-api';
import { PARTICIPANT_OBJECT } from '../identity/identity-contract';
import { Participant, ParticipantKind, participantFromState } from '../identity/participant';
import { GecError } from './errors';
import { compositeKey, getJson } from './state';

/**
 * Parties named in a request (an owner, a recipient, a seller). Market participants have no Fabric identities:
 * the trading center names them, and the chaincode checks they are registered, ACTIVE and of the right kind.
 */
export async function requireActiveParticipant(
  ctx: Context,
  id: string,
  role: string,
  kinds?: readonly ParticipantKind[],
): Promise<Participant> {
  const stored = await getJson(ctx, compositeKey(ctx, PARTICIPANT_OBJECT, [id]));
  if (stored === undefined) {
    throw new GecError('PARTICIPANT_NOT_FOUND', `${role} ${id} is not a registered participant`);
  }
  const participant = participantFromState(stored);
  if (participant.status !== 'ACTIVE') {
    throw new GecError(
      'PARTICIPANT_NOT_ACTIVE',
      `${role} ${id} is ${participant.status}, not ACTIVE${participant.statusReason ? ` (${participant.statusReason})` : ''}`,
    );
  }
  if (kinds !== undefined && !kinds.includes(participant.kind)) {
    throw new GecError(
      'PARTY_KIND_NOT_PERMITTED',
      `${role} ${id} is a ${participant.kind}; it must be ${kinds.join(' or ')}`,
    );
  }
  return participant;
}
