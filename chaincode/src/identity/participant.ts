import { Object as DataType, Property } from 'fabric-contract-api';

/** World-state object type of a participant: key `gec.participant\0<id>\0`. */
export const PARTICIPANT_OBJECT = 'gec.participant';

/** What a participant is in the market. */
export const PARTICIPANT_KINDS = [
  'GENERATOR',
  'CONSUMER',
  'TRADING_CENTER',
  'GRID_OPERATOR',
  'ISSUER',
  'REGULATOR',
] as const;
export type ParticipantKind = (typeof PARTICIPANT_KINDS)[number];

/** Market participants: the kinds a trading center may register and manage. */
export const MARKET_PARTICIPANT_KINDS: readonly ParticipantKind[] = ['GENERATOR', 'CONSUMER'];

/** ACTIVE ⇄ SUSPENDED; either → REVOKED, which is final. */
export const PARTICIPANT_STATUSES = ['ACTIVE', 'SUSPENDED', 'REVOKED'] as const;
export type ParticipantStatus = (typeof PARTICIPANT_STATUSES)[number];

/**
 * A registered organisation or enterprise.
 *
 * Its unified social credit code (统一社会信用代码) is never stored: only a salted SHA-256 hash of it, so an
 * admin who knows the code can check it against the ledger without the ledger revealing it.
 */
@DataType()
export class Participant {
  @Property()
  id!: string;

  @Property()
  kind!: ParticipantKind;

  @Property()
  name!: string;

  /** Province-level GB/T 2260 code, e.g. `330000`. */
  @Property()
  region!: string;

  @Property()
  status!: ParticipantStatus;

  /** hex(SHA-256(credentialSalt + ':' + creditCode)). */
  @Property()
  credentialHash!: string;

  @Property()
  credentialSalt!: string;

  @Property()
  registeredByMsp!: string;

  /** x509 identity of the registering admin. */
  @Property()
  registeredBy!: string;

  /** Transaction time of the registration, RFC 3339 UTC. */
  @Property()
  registeredAt!: string;

  @Property()
  registeredTxId!: string;

  @Property()
  updatedAt!: string;

  @Property()
  updatedTxId!: string;

  /** Reason given for the current status; '' when none. */
  @Property()
  statusReason!: string;
}

/** One page of participants, in id order, with the bookmark of the next page ('' after the last). */
@DataType()
export class ParticipantPage {
  @Property('items', 'Participant[]')
  items!: Participant[];

  @Property()
  bookmark!: string;

  @Property()
  fetchedCount!: number;
}

export type ParticipantFields = { [K in keyof Participant]: Participant[K] };

const FIELDS: readonly (keyof Participant)[] = [
  'credentialHash',
  'credentialSalt',
  'id',
  'kind',
  'name',
  'region',
  'registeredAt',
  'registeredBy',
  'registeredByMsp',
  'registeredTxId',
  'status',
  'statusReason',
  'updatedAt',
  'updatedTxId',
];

/** A Participant instance holding exactly the model's fields (in sorted order, so its JSON is stable). */
export function toParticipant(fields: ParticipantFields): Participant {
  const participant = new Participant();
  for (const field of FIELDS) {
    (participant as unknown as Record<string, unknown>)[field] = fields[field];
  }
  return participant;
}

/** A Participant from its stored JSON; fails loudly on a record that does not have the model's shape. */
export function participantFromState(value: unknown): Participant {
  if (value === null || typeof value !== 'object') {
    throw new Error('stored participant is not a JSON object');
  }
  const record = value as Record<string, unknown>;
  for (const field of FIELDS) {
    if (typeof record[field] !== 'string') {
      throw new Error(`stored participant ${String(record.id)} lacks string field ${field}`);
    }
  }
  return toParticipant(record as unknown as ParticipantFields);
}
