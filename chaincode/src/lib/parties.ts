import { Context } from 'fabric-contract-api';
import { activeMember } from '../consortium/organisation';
import { loadedConsortium } from '../consortium/registry';
import { PARTICIPANT_OBJECT } from '../identity/participant';
import { Participant, ParticipantKind, participantFromState } from '../identity/participant';
import type { Caller } from './access';
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
  const participant = await findParticipant(ctx, id);
  if (participant === undefined) {
    throw new GecError('PARTICIPANT_NOT_FOUND', `${role} ${id} is not a registered participant`);
  }
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

/**
 * A trading center acts only for the market participants it manages: those it registered, and those a member
 * that is no trading center registered (the platform's, shared by every market). Another trading center's
 * participant, or what it holds, is PARTICIPANT_NOT_MANAGED: the key-level policies keep another member's peers
 * from moving it alone, and this keeps another member's identities from asking. Other callers pass.
 */
export function requireManagedBy(ctx: Context, caller: Caller, participant: Participant): void {
  if (caller.organisation.role !== 'TRADING_CENTER') return;
  const registrar = activeMember(loadedConsortium(ctx), participant.registeredByMsp);
  if (registrar?.role === 'TRADING_CENTER' && registrar.mspId !== caller.mspId) {
    throw new GecError(
      'PARTICIPANT_NOT_MANAGED',
      `participant ${participant.id} was registered by ${participant.registeredByMsp}, another trading center; ${caller.mspId} manages only its own and the platform's`,
    );
  }
}

/** `requireManagedBy` for the holder `id` of something (a lot's owner), read from the ledger. */
export async function requireHolderManagedBy(ctx: Context, caller: Caller, id: string): Promise<void> {
  if (caller.organisation.role !== 'TRADING_CENTER') return;
  const participant = await findParticipant(ctx, id);
  if (participant !== undefined) requireManagedBy(ctx, caller, participant);
}

/** The participant `id` as stored, if registered. */
export async function findParticipant(ctx: Context, id: string): Promise<Participant | undefined> {
  const stored = await getJson(ctx, compositeKey(ctx, PARTICIPANT_OBJECT, [id]));
  return stored === undefined ? undefined : participantFromState(stored);
}
