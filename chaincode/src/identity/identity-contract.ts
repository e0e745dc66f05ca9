import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import {
  Caller,
  ROLE_ADMIN,
  ROLE_TRADING_CENTER,
  requireMember,
  requireReader,
  requireWriter,
} from '../lib/access';
import { emitEvent } from '../lib/events';
import { GecError } from '../lib/errors';
import { GecContract } from '../lib/gec-contract';
import { requireManagedBy } from '../lib/parties';
import { compositeKey, getJson, keyAttributes, parseJson, putIndex, putJson, queryPage } from '../lib/state';
import { txTime } from '../lib/time';
import {
  optionalEnum,
  optionalInteger,
  optionalString,
  parseRequest,
  requireEnum,
  requireId,
  requireProvinceCode,
  requireText,
} from '../lib/validate';
import { credentialHash, credentialSalt, matchesCredential, readCreditCode } from './credential';
import {
  MARKET_PARTICIPANT_KINDS,
  PARTICIPANT_KINDS,
  PARTICIPANT_OBJECT,
  PARTICIPANT_STATUSES,
  Participant,
  ParticipantKind,
  ParticipantPage,
  participantFromState,
  toParticipant,
} from './participant';

export { PARTICIPANT_OBJECT };
/** Index of participants by kind: key `gec.participant~kind\0<kind>\0<id>\0`, value a NUL byte. */
export const PARTICIPANT_BY_KIND_INDEX = 'gec.participant~kind';

export const PARTICIPANT_REGISTERED_EVENT = 'ParticipantRegistered';
export const PARTICIPANT_STATUS_CHANGED_EVENT = 'ParticipantStatusChanged';

const NAME_MAX = 200;
const REASON_MAX = 256;
const BOOKMARK_MAX = 1024;
const PAGE_SIZE = { min: 1, max: 1000, fallback: 50 };

/** Who may read a participant's credential check: the admins of the platform operators and trading centers. */
const PARTICIPANT_ADMINS = { orgs: ['PLATFORM_OPERATOR', 'TRADING_CENTER'], roles: [ROLE_ADMIN] } as const;

/**
 * Who may register participants and change their status: those admins, and a trading center's market system
 * (`gec.role` trading-center: it registers the generators and consumers it trades for, without an admin
 * identity). A trading center manages market participants only, and only its own.
 */
const PARTICIPANT_REGISTRARS = [
  PARTICIPANT_ADMINS,
  { orgs: ['TRADING_CENTER'], roles: [ROLE_TRADING_CENTER] },
] as const;

@Info({
  title: 'identity',
  description: 'Participants of the green-certificate market: registration, status and credential checks',
})
export class IdentityContract extends GecContract {
  constructor() {
    super('identity');
  }

  /**
   * Register a participant. `request`: `{ id, kind, name, region }`; transient `creditCode`: the unified
   * social credit code, stored only as a salted hash. A grid admin may register any kind, a trading-center
   * admin only generators and consumers.
   */
  @Transaction()
  @Returns('Participant')
  async RegisterParticipant(ctx: Context, request: string): Promise<Participant> {
    const caller = requireWriter(ctx, PARTICIPANT_REGISTRARS);
    const fields = parseRequest(request, ['id', 'kind', 'name', 'region']);
    const id = requireId(fields.id, 'id');
    const kind = requireEnum(fields.kind, 'kind', PARTICIPANT_KINDS);
    const name = requireText(fields.name, 'name', NAME_MAX);
    const region = requireProvinceCode(fields.region, 'region');
    requireKindManagedBy(caller, kind);
    const creditCode = readCreditCode(ctx);

    const key = participantKey(ctx, id);
    if ((await getJson(ctx, key)) !== undefined) {
      throw new GecError('PARTICIPANT_EXISTS', `participant ${id} is already registered`);
    }

    const txId = ctx.stub.getTxID();
    const now = txTime(ctx);
    const salt = credentialSalt(txId, id);
    const participant = toParticipant({
      id,
      kind,
      name,
      region,
      status: 'ACTIVE',
      credentialHash: credentialHash(salt, creditCode),
      credentialSalt: salt,
      registeredByMsp: caller.mspId,
      registeredBy: caller.id,
      registeredAt: now,
      registeredTxId: txId,
      updatedAt: now,
      updatedTxId: txId,
      statusReason: '',
    });
    await putJson(ctx, key, participant);
    await putIndex(ctx, PARTICIPANT_BY_KIND_INDEX, [kind, id]);
    emitEvent(ctx, PARTICIPANT_REGISTERED_EVENT, { participant });
    return participant;
  }

  /**
   * Suspend, reactivate or revoke a participant. `request`: `{ id, status, reason }`. REVOKED is final.
   * Same writers as registration; a trading-center admin only for generators and consumers.
   */
  @Transaction()
  async SetParticipantStatus(ctx: Context, request: string): Promise<void> {
    const caller = requireWriter(ctx, PARTICIPANT_REGISTRARS);
    const fields = parseRequest(request, ['id', 'status', 'reason']);
    const id = requireId(fields.id, 'id');
    const status = requireEnum(fields.status, 'status', PARTICIPANT_STATUSES);
    const reason = requireText(fields.reason, 'reason', REASON_MAX);

    const current = await readParticipant(ctx, id);
    requireKindManagedBy(caller, current.kind);
    requireManagedBy(ctx, caller, current);
    if (current.status === 'REVOKED') {
      throw new GecError('PARTICIPANT_REVOKED', `participant ${id} is revoked; revocation is final`);
    }
    if (current.status === status) {
      throw new GecError('STATUS_UNCHANGED', `participant ${id} is already ${status}`);
    }

    const updated = toParticipant({
      ...current,
      status,
      statusReason: reason,
      updatedAt: txTime(ctx),
      updatedTxId: ctx.stub.getTxID(),
    });
    await putJson(ctx, participantKey(ctx, id), updated);
    emitEvent(ctx, PARTICIPANT_STATUS_CHANGED_EVENT, {
      participant: updated,
      previousStatus: current.status,
      reason,
    });
  }

  /** A participant by id; any member of the consortium, the regulator included. */
  @Transaction(false)
  @Returns('Participant')
  async GetParticipant(ctx: Context, id: string): Promise<Participant> {
    requireMember(ctx);
    return readParticipant(ctx, requireId(id, 'id'));
  }

  /**
   * Participants in id order, one page at a time. `query`: `{ kind?, pageSize? (1-1000, default 50),
   * bookmark? }`; pass the returned bookmark to get the next page ('' when there is none).
   */
  @Transaction(false)
  @Returns('ParticipantPage')
  async ListParticipants(ctx: Context, query: string): Promise<ParticipantPage> {
    requireMember(ctx);
    const fields = query.trim() === '' ? {} : parseRequest(query, ['kind', 'pageSize', 'bookmark'], 'query');
    const kind = optionalEnum(fields.kind, 'kind', PARTICIPANT_KINDS);
    const pageSize = optionalInteger(fields.pageSize, 'pageSize', PAGE_SIZE);
    const bookmark = optionalString(fields.bookmark, 'bookmark', BOOKMARK_MAX);

    const items: Participant[] = [];
    let page;
    if (kind === undefined) {
      page = await queryPage(ctx, { objectType: PARTICIPANT_OBJECT, attributes: [] }, pageSize, bookmark);
      for (const record of page.records) items.push(participantFromState(parseJson(record.value)));
    } else {
      page = await queryPage(
        ctx,
        { objectType: PARTICIPANT_BY_KIND_INDEX, attributes: [kind] },
        pageSize,
        bookmark,
      );
      for (const record of page.records) {
        const [, id] = keyAttributes(ctx, record.key);
        items.push(await readParticipant(ctx, id));
      }
    }

    const result = new ParticipantPage();
    result.items = items;
    result.bookmark = page.bookmark;
    result.fetchedCount = page.fetchedCount;
    return result;
  }

  /**
   * Whether the credit code in the transient map (`creditCode`) is the participant's. For the admins of the
   * grid and the trading center, and the regulator; the code is checked, never stored or returned.
   */
  @Transaction(false)
  @Returns('boolean')
  async VerifyParticipantCredential(ctx: Context, id: string): Promise<boolean> {
    requireReader(ctx, PARTICIPANT_ADMINS);
    const participantId = requireId(id, 'id');
    const creditCode = readCreditCode(ctx);
    const participant = await readParticipant(ctx, participantId);
    return matchesCredential(participant.credentialSalt, participant.credentialHash, creditCode);
  }
}

function participantKey(ctx: Context, id: string): string {
  return compositeKey(ctx, PARTICIPANT_OBJECT, [id]);
}

async function readParticipant(ctx: Context, id: string): Promise<Participant> {
  const stored = await getJson(ctx, participantKey(ctx, id));
  if (stored === undefined) {
    throw new GecError('PARTICIPANT_NOT_FOUND', `participant ${id} is not registered`);
  }
  return participantFromState(stored);
}

/** A trading-center admin manages market participants only; a grid admin manages every kind. */
function requireKindManagedBy(caller: Caller, kind: ParticipantKind): void {
  if (caller.organisation.role === 'TRADING_CENTER' && !MARKET_PARTICIPANT_KINDS.includes(kind)) {
    throw new GecError(
      'KIND_NOT_PERMITTED',
      `${caller.mspId} (a trading center) may manage only ${MARKET_PARTICIPANT_KINDS.join(' and ')} participants, not ${kind}`,
    );
  }
}
