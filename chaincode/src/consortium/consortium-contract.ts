import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { Caller, ROLE_ADMIN, ROLE_ATTRIBUTE, requireMember, requireWriter } from '../lib/access';
import { emitEvent } from '../lib/events';
import { GecError } from '../lib/errors';
import { GecContract } from '../lib/gec-contract';
import { queryPage, parseJson } from '../lib/state';
import { txTime } from '../lib/time';
import {
  optionalBoolean,
  parseRequest,
  requireArray,
  requireEnum,
  requireId,
  requireObject,
  requireText,
} from '../lib/validate';
import { activeMembers, Consortium, MemberOrganisation, ORGANISATION_ROLES } from './organisation';
import { currentConsortium, loadedConsortium, writeConsortium } from './registry';
import {
  TRADE_SIGNING_ALGORITHMS,
  TRADE_SIGNING_KEY_OBJECT,
  TradeSigningKey,
  findTradeSigningKey,
  parsePublicKey,
  readTradeSigningKey,
  writeTradeSigningKey,
} from './trade-signing-key';

export const CONSORTIUM_INITIALISED_EVENT = 'ConsortiumInitialised';
/** Proposed and Approved events carry the organisation: status ACTIVE when that transaction admitted it. */
export const ORGANISATION_PROPOSED_EVENT = 'OrganisationProposed';
export const ORGANISATION_APPROVED_EVENT = 'OrganisationApproved';
export const TRADE_SIGNING_KEY_REGISTERED_EVENT = 'TradeSigningKeyRegistered';
export const TRADE_SIGNING_KEY_ENDED_EVENT = 'TradeSigningKeyEnded';

/** A trading center's own admin manages its trade-signing keys. */
export const TRADE_KEY_ADMINS = { orgs: ['TRADING_CENTER'], roles: [ROLE_ADMIN] } as const;

const NAME_MAX = 200;
const REASON_MAX = 256;
const PEM_MAX = 2048;
const FOUNDERS_MAX = 20;

@Info({
  title: 'consortium',
  description:
    'The member organisations (platform operator, trading centers, regulator) and the trading centers’ trade-signing keys',
})
export class ConsortiumContract extends GecContract {
  constructor() {
    super('consortium');
  }

  protected override openBeforeInitialisation(fn: string): boolean {
    return fn === 'InitConsortium' || fn === 'GetConsortium';
  }

  /**
   * Register the founding members, once. `request`: `{ organisations: [{ mspId, role (PLATFORM_OPERATOR |
   * TRADING_CENTER | REGULATOR), name }] }`, with at least one platform operator and one trading center. The
   * caller: `gec.role` admin of one of the listed organisations (run by the deployment right after the chaincode
   * is committed). CONSORTIUM_ALREADY_INITIALISED afterwards: later members are admitted by majority.
   */
  @Transaction()
  @Returns('Consortium')
  async InitConsortium(ctx: Context, request: string): Promise<Consortium> {
    const consortium = loadedConsortium(ctx);
    if (consortium.initialised) {
      throw new GecError(
        'CONSORTIUM_ALREADY_INITIALISED',
        `the consortium was initialised at ${consortium.initialisedAt} in transaction ${consortium.initialisedTxId}; ` +
          'new members are proposed and approved (consortium:ProposeOrganisation)',
      );
    }
    const fields = parseRequest(request, ['organisations']);
    const now = txTime(ctx);
    const txId = ctx.stub.getTxID();
    const founders = requireArray(fields.organisations, 'organisations', FOUNDERS_MAX).map((item, i) => {
      const org = requireObject(item, `organisations[${i}]`, ['mspId', 'role', 'name']);
      return Object.assign(new MemberOrganisation(), {
        mspId: requireId(org.mspId, `organisations[${i}].mspId`),
        role: requireEnum(org.role, `organisations[${i}].role`, ORGANISATION_ROLES),
        name: requireText(org.name, `organisations[${i}].name`, NAME_MAX),
        status: 'ACTIVE' as const,
        approvals: [],
        proposedAt: now,
        proposedTxId: txId,
        admittedAt: now,
        admittedTxId: txId,
      });
    });
    if (new Set(founders.map((o) => o.mspId)).size !== founders.length) {
      throw new GecError('INVALID_ARGUMENT', 'organisations must not repeat an MSP id');
    }
    for (const role of ['PLATFORM_OPERATOR', 'TRADING_CENTER'] as const) {
      if (!founders.some((o) => o.role === role)) {
        throw new GecError('INVALID_ARGUMENT', `organisations must include a ${role}`);
      }
    }
    const mspId = ctx.clientIdentity.getMSPID();
    const role = ctx.clientIdentity.getAttributeValue(ROLE_ATTRIBUTE);
    if (!founders.some((o) => o.mspId === mspId) || role !== ROLE_ADMIN) {
      throw new GecError(
        'ROLE_NOT_PERMITTED',
        `the founding members are registered by ${ROLE_ATTRIBUTE} admin of one of them; caller is ${role === null ? `no ${ROLE_ATTRIBUTE}` : `${ROLE_ATTRIBUTE} ${role}`} of ${mspId}`,
      );
    }
    const initialised = Object.assign(new Consortium(), {
      initialised: true,
      organisations: founders,
      initialisedAt: now,
      initialisedTxId: txId,
      initialisedBy: ctx.clientIdentity.getID(),
    });
    await writeConsortium(ctx, initialised);
    const stored = loadedConsortium(ctx);
    emitEvent(ctx, CONSORTIUM_INITIALISED_EVENT, { consortium: stored });
    return stored;
  }

  /** The registry: members and pending proposals (`initialised: false` before InitConsortium). Anyone on the channel. */
  @Transaction(false)
  @Returns('Consortium')
  async GetConsortium(ctx: Context): Promise<Consortium> {
    return currentConsortium(ctx);
  }

  /**
   * Propose a new member organisation. `request`: `{ mspId, role, name }`. `gec.role` admin of an ACTIVE member
   * (its approval counts). The organisation becomes ACTIVE when a strict majority of the ACTIVE members has
   * approved; until then it is PROPOSED and may do nothing. The channel itself must admit its MSP too (a channel
   * configuration update signed by a majority of the organisations' admins: network/scripts/addOrg.sh).
   */
  @Transaction()
  @Returns('MemberOrganisation')
  async ProposeOrganisation(ctx: Context, request: string): Promise<MemberOrganisation> {
    const caller = requireGovernor(ctx);
    const fields = parseRequest(request, ['mspId', 'role', 'name']);
    const mspId = requireId(fields.mspId, 'mspId');
    const role = requireEnum(fields.role, 'role', ORGANISATION_ROLES);
    const name = requireText(fields.name, 'name', NAME_MAX);
    const consortium = loadedConsortium(ctx);
    const existing = consortium.organisations.find((o) => o.mspId === mspId);
    if (existing !== undefined) {
      throw new GecError(
        'ORGANISATION_EXISTS',
        `organisation ${mspId} is already ${existing.status === 'ACTIVE' ? 'a member' : 'proposed'} (${existing.role})`,
      );
    }
    const now = txTime(ctx);
    const proposed = Object.assign(new MemberOrganisation(), {
      mspId,
      role,
      name,
      status: 'PROPOSED' as const,
      approvals: [caller.mspId],
      proposedAt: now,
      proposedTxId: ctx.stub.getTxID(),
      admittedAt: '',
      admittedTxId: '',
    });
    const result = await this.admitIfMajority(ctx, consortium, proposed);
    emitEvent(ctx, ORGANISATION_PROPOSED_EVENT, { organisation: result, by: caller.id, byMsp: caller.mspId });
    return result;
  }

  /**
   * Approve a proposed organisation. `request`: `{ mspId }`. `gec.role` admin of an ACTIVE member that has not
   * approved it yet (ORGANISATION_ALREADY_APPROVED). Admits it on a strict majority of the ACTIVE members.
   */
  @Transaction()
  @Returns('MemberOrganisation')
  async ApproveOrganisation(ctx: Context, request: string): Promise<MemberOrganisation> {
    const caller = requireGovernor(ctx);
    const fields = parseRequest(request, ['mspId']);
    const mspId = requireId(fields.mspId, 'mspId');
    const consortium = loadedConsortium(ctx);
    const proposal = consortium.organisations.find((o) => o.mspId === mspId);
    if (proposal === undefined) {
      throw new GecError('ORGANISATION_NOT_FOUND', `organisation ${mspId} has not been proposed`);
    }
    if (proposal.status === 'ACTIVE') {
      throw new GecError(
        'ORGANISATION_EXISTS',
        `organisation ${mspId} is already a member since ${proposal.admittedAt}`,
      );
    }
    if (proposal.approvals.includes(caller.mspId)) {
      throw new GecError('ORGANISATION_ALREADY_APPROVED', `${caller.mspId} has already approved ${mspId}`);
    }
    const approved = Object.assign(new MemberOrganisation(), proposal, {
      approvals: [...proposal.approvals, caller.mspId],
    });
    const result = await this.admitIfMajority(ctx, consortium, approved);
    emitEvent(ctx, ORGANISATION_APPROVED_EVENT, { organisation: result, by: caller.id, byMsp: caller.mspId });
    return result;
  }

  /**
   * Register one of the caller's own trading center's trade-signing keys. `request`: `{ keyId, alg
   * (ecdsa-p256-sha256 | sm2-sm3 | hmac-sha256), publicKeyPem? (not for hmac), sm2Id? (sm2-sm3; default
   * 1234567812345678), replaces? (a keyId: rotation, that key is RETIRED at this instant) }`. `gec.role` admin of
   * a trading center; valid from the transaction time.
   */
  @Transaction()
  @Returns('TradeSigningKey')
  async RegisterTradeSigningKey(ctx: Context, request: string): Promise<TradeSigningKey> {
    const caller = requireWriter(ctx, TRADE_KEY_ADMINS);
    const fields = parseRequest(request, ['keyId', 'alg', 'publicKeyPem', 'sm2Id', 'replaces']);
    const keyId = requireId(fields.keyId, 'keyId');
    const alg = requireEnum(fields.alg, 'alg', TRADE_SIGNING_ALGORITHMS);
    let publicKeyPem = '';
    let publicKeyDigest = '';
    let sm2Id = '';
    if (alg === 'hmac-sha256') {
      if (fields.publicKeyPem !== undefined || fields.sm2Id !== undefined) {
        throw new GecError(
          'INVALID_ARGUMENT',
          'an hmac-sha256 key has no publicKeyPem or sm2Id: its secret stays with the platform gateway, which alone verifies it',
        );
      }
    } else {
      const parsed = parsePublicKey(alg, requirePem(fields.publicKeyPem));
      publicKeyPem = parsed.pem;
      publicKeyDigest = parsed.digest;
      if (alg === 'sm2-sm3') {
        sm2Id = fields.sm2Id === undefined ? '1234567812345678' : requireText(fields.sm2Id, 'sm2Id', 64);
      } else if (fields.sm2Id !== undefined) {
        throw new GecError('INVALID_ARGUMENT', 'sm2Id is only for sm2-sm3 keys');
      }
    }
    if ((await findTradeSigningKey(ctx, caller.mspId, keyId)) !== undefined) {
      throw new GecError(
        'TRADE_SIGNING_KEY_EXISTS',
        `trading center ${caller.mspId} already has a trade-signing key ${keyId} (key ids are never reused, so old trades keep their key)`,
      );
    }
    const now = txTime(ctx);
    const txId = ctx.stub.getTxID();
    let replaced: TradeSigningKey | undefined;
    if (fields.replaces !== undefined) {
      const old = await readTradeSigningKey(ctx, caller.mspId, requireId(fields.replaces, 'replaces'));
      replaced = endKey(old, caller, 'RETIRED', `rotated to ${keyId}`, now, txId);
      replaced.replacedBy = keyId;
      await writeTradeSigningKey(ctx, replaced);
    }
    const key = Object.assign(new TradeSigningKey(), {
      mspId: caller.mspId,
      keyId,
      alg,
      publicKeyPem,
      publicKeyDigest,
      sm2Id,
      verifiedBy: alg === 'hmac-sha256' ? ('GATEWAY' as const) : ('CHAINCODE' as const),
      status: 'ACTIVE' as const,
      validFrom: now,
      validUntil: '',
      replacedBy: '',
      registeredBy: caller.id,
      registeredTxId: txId,
      endedBy: '',
      endedTxId: '',
      endReason: '',
    });
    await writeTradeSigningKey(ctx, key);
    emitEvent(ctx, TRADE_SIGNING_KEY_REGISTERED_EVENT, { key, replaced: replaced ?? null });
    return key;
  }

  /**
   * End one of the caller's trading center's trade-signing keys. `request`: `{ keyId, reason, revoked?
   * (default false: RETIRED; true: REVOKED) }`. From the transaction time on, trades signed with it are refused;
   * trades attested before stay attested and verifiable with the key, which stays on the ledger.
   */
  @Transaction()
  @Returns('TradeSigningKey')
  async EndTradeSigningKey(ctx: Context, request: string): Promise<TradeSigningKey> {
    const caller = requireWriter(ctx, TRADE_KEY_ADMINS);
    const fields = parseRequest(request, ['keyId', 'reason', 'revoked']);
    const keyId = requireId(fields.keyId, 'keyId');
    const reason = requireText(fields.reason, 'reason', REASON_MAX);
    const revoked = optionalBoolean(fields.revoked, 'revoked', false);
    const key = await readTradeSigningKey(ctx, caller.mspId, keyId);
    const ended = endKey(
      key,
      caller,
      revoked ? 'REVOKED' : 'RETIRED',
      reason,
      txTime(ctx),
      ctx.stub.getTxID(),
    );
    await writeTradeSigningKey(ctx, ended);
    emitEvent(ctx, TRADE_SIGNING_KEY_ENDED_EVENT, { key: ended });
    return ended;
  }

  /** A trade-signing key. `query`: `{ mspId, keyId }`; any member. TRADE_SIGNING_KEY_NOT_FOUND. */
  @Transaction(false)
  @Returns('TradeSigningKey')
  async GetTradeSigningKey(ctx: Context, query: string): Promise<TradeSigningKey> {
    requireMember(ctx);
    const fields = parseRequest(query, ['mspId', 'keyId'], 'query');
    return readTradeSigningKey(ctx, requireId(fields.mspId, 'mspId'), requireId(fields.keyId, 'keyId'));
  }

  /** Every trade-signing key of a trading center, by key id. `query`: `{ mspId }`; any member. */
  @Transaction(false)
  @Returns('TradeSigningKey[]')
  async ListTradeSigningKeys(ctx: Context, query: string): Promise<TradeSigningKey[]> {
    requireMember(ctx);
    const fields = parseRequest(query, ['mspId'], 'query');
    const mspId = requireId(fields.mspId, 'mspId');
    const keys: TradeSigningKey[] = [];
    let bookmark = '';
    do {
      const page = await queryPage(
        ctx,
        { objectType: TRADE_SIGNING_KEY_OBJECT, attributes: [mspId] },
        1000,
        bookmark,
      );
      for (const record of page.records)
        keys.push(Object.assign(new TradeSigningKey(), parseJson(record.value)));
      bookmark = page.bookmark;
    } while (bookmark !== '');
    return keys;
  }

  /** Add or update `organisation` in the registry, ACTIVE once a strict majority of the ACTIVE members approved. */
  private async admitIfMajority(
    ctx: Context,
    consortium: Consortium,
    organisation: MemberOrganisation,
  ): Promise<MemberOrganisation> {
    const members = activeMembers(consortium).map((o) => o.mspId);
    const votes = organisation.approvals.filter((m) => members.includes(m)).length;
    const admitted =
      votes * 2 > members.length
        ? Object.assign(new MemberOrganisation(), organisation, {
            status: 'ACTIVE' as const,
            admittedAt: txTime(ctx),
            admittedTxId: ctx.stub.getTxID(),
          })
        : organisation;
    await writeConsortium(
      ctx,
      Object.assign(new Consortium(), consortium, {
        organisations: [...consortium.organisations.filter((o) => o.mspId !== organisation.mspId), admitted],
      }),
    );
    return admitted;
  }
}

/**
 * Membership is decided by the admins of the members, the regulator's included (as the channel's own Admins
 * policy counts every organisation): `gec.role` admin of any ACTIVE member.
 */
function requireGovernor(ctx: Context): Caller {
  const caller = requireMember(ctx);
  if (caller.role !== ROLE_ADMIN) {
    throw new GecError(
      'ROLE_NOT_PERMITTED',
      `membership is decided by ${ROLE_ATTRIBUTE} admin of a member organisation; caller is ${caller.role === null ? `no ${ROLE_ATTRIBUTE}` : `${ROLE_ATTRIBUTE} ${caller.role}`} of ${caller.mspId}`,
    );
  }
  return caller;
}

/** A PEM text: printable ASCII and line breaks, at most PEM_MAX characters. */
function requirePem(value: unknown): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > PEM_MAX ||
    !/^[\x20-\x7e\r\n]+$/.test(value)
  ) {
    throw new GecError(
      'INVALID_ARGUMENT',
      `publicKeyPem must be a PEM text (printable ASCII and line breaks, 1-${PEM_MAX} characters)`,
    );
  }
  return value;
}

function endKey(
  key: TradeSigningKey,
  caller: Caller,
  status: 'RETIRED' | 'REVOKED',
  reason: string,
  now: string,
  txId: string,
): TradeSigningKey {
  if (key.status !== 'ACTIVE') {
    throw new GecError(
      'TRADE_SIGNING_KEY_NOT_VALID',
      `trade-signing key ${key.keyId} of ${key.mspId} is already ${key.status} since ${key.validUntil}`,
    );
  }
  return Object.assign(new TradeSigningKey(), key, {
    status,
    validUntil: now,
    endedBy: caller.id,
    endedTxId: txId,
    endReason: reason,
  });
}
