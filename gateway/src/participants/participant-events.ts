import { EntityManager } from 'typeorm';
import type { ChaincodeEvent } from '../ledger/port';
import { MalformedEventError } from '../projection/projector.service';
import { ParticipantEntity } from './participant.entity';

/** The Participant the chaincode stores (and puts in its events). */
export interface LedgerParticipant {
  id: string;
  kind: string;
  name: string;
  region: string;
  status: string;
  registeredByMsp: string;
  registeredBy: string;
  registeredAt: string;
  registeredTxId: string;
  updatedAt: string;
  updatedTxId: string;
  statusReason?: string | null;
  credentialHash?: string;
  credentialSalt?: string;
}

const REQUIRED = [
  'id',
  'kind',
  'name',
  'region',
  'status',
  'registeredByMsp',
  'registeredBy',
  'registeredAt',
  'registeredTxId',
  'updatedAt',
  'updatedTxId',
] as const;

export function asLedgerParticipant(value: unknown): LedgerParticipant {
  const record = value as Record<string, unknown> | null;
  if (!record || typeof record !== 'object') throw new MalformedEventError('participant is not an object');
  for (const field of REQUIRED) {
    if (typeof record[field] !== 'string')
      throw new MalformedEventError(`participant.${field} is not a string`);
  }
  return record as unknown as LedgerParticipant;
}

/** `ParticipantRegistered { participant }` and `ParticipantStatusChanged { participant, previousStatus, reason }`. */
export async function projectParticipant(
  manager: EntityManager,
  payload: unknown,
  event: ChaincodeEvent,
): Promise<void> {
  const participant = asLedgerParticipant((payload as { participant?: unknown } | null)?.participant);
  await manager.getRepository(ParticipantEntity).upsert(
    {
      id: participant.id,
      kind: participant.kind,
      name: participant.name,
      region: participant.region,
      status: participant.status,
      statusReason: participant.statusReason || null,
      registeredByMsp: participant.registeredByMsp,
      registeredBy: participant.registeredBy,
      registeredAt: new Date(participant.registeredAt),
      registeredTxId: participant.registeredTxId,
      updatedAt: new Date(participant.updatedAt),
      updatedTxId: participant.updatedTxId,
      blockNumber: event.blockNumber,
    },
    ['id'],
  );
}
