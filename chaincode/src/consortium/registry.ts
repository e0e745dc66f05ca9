import { Context } from 'fabric-contract-api';
import { GecError } from '../lib/errors';
import { compositeKey, parseJson, putJson } from '../lib/state';
import { Consortium, MemberOrganisation, ORGANISATION_ROLES, ORGANISATION_STATUSES } from './organisation';

/**
 * The consortium's member registry: one state key, read once per transaction (by the contracts'
 * `beforeTransaction`) so that every rule of that transaction sees the same membership, and the registry's
 * version is in the transaction's read set: a membership change committed first invalidates it (MVCC), so no
 * transaction is validated against a registry it did not read.
 */

/** The registry: key `gec.consortium\0`. */
export const CONSORTIUM_OBJECT = 'gec.consortium';

const loaded = new WeakMap<Context, Consortium>();

/**
 * The registry as parsed from the last bytes a transaction read, shared by the transactions that read the same
 * bytes (every one between two membership changes): parsing and checking it is a pure function of those bytes,
 * so a transaction gets exactly what parsing its own read would give, and a registry that changed is other bytes
 * and is parsed again. The key itself is still read by every transaction (its version is in the read set).
 * Frozen, so that no transaction can change what the next one gets.
 */
let lastParsed: { bytes: Buffer; consortium: Consortium } | undefined;

export function consortiumKey(ctx: Context): string {
  return compositeKey(ctx, CONSORTIUM_OBJECT, []);
}

/** Read the registry into this transaction (an empty, uninitialised one when nothing is stored yet). */
export async function loadConsortium(ctx: Context): Promise<Consortium> {
  const bytes = await ctx.stub.getState(consortiumKey(ctx));
  const consortium = !bytes || bytes.length === 0 ? emptyConsortium() : parsedConsortium(bytes);
  loaded.set(ctx, consortium);
  return consortium;
}

function parsedConsortium(bytes: Uint8Array): Consortium {
  if (lastParsed !== undefined && Buffer.compare(lastParsed.bytes, bytes) === 0) return lastParsed.consortium;
  const consortium = consortiumFromState(parseJson(bytes));
  for (const organisation of consortium.organisations) {
    Object.freeze(organisation.approvals);
    Object.freeze(organisation);
  }
  Object.freeze(consortium.organisations);
  Object.freeze(consortium);
  lastParsed = { bytes: Buffer.from(bytes), consortium };
  return consortium;
}

/** The registry this transaction read (loading it first if nothing has yet). */
export async function currentConsortium(ctx: Context): Promise<Consortium> {
  return loaded.get(ctx) ?? loadConsortium(ctx);
}

/** The registry this transaction read in `beforeTransaction`. */
export function loadedConsortium(ctx: Context): Consortium {
  const consortium = loaded.get(ctx);
  if (consortium === undefined) {
    // Every contract extends GecContract, whose beforeTransaction loads it; reaching this is a programming error.
    throw new Error('the consortium registry was not loaded for this transaction');
  }
  return consortium;
}

export async function writeConsortium(ctx: Context, consortium: Consortium): Promise<void> {
  const organisations = [...consortium.organisations].sort((a, b) =>
    a.mspId < b.mspId ? -1 : a.mspId > b.mspId ? 1 : 0,
  );
  const value = Object.assign(new Consortium(), consortium, { organisations });
  await putJson(ctx, consortiumKey(ctx), value);
  loaded.set(ctx, value);
}

function emptyConsortium(): Consortium {
  return Object.assign(new Consortium(), {
    initialised: false,
    organisations: [],
    initialisedAt: '',
    initialisedTxId: '',
    initialisedBy: '',
  });
}

function consortiumFromState(value: unknown): Consortium {
  const record = value as Partial<Consortium> | null;
  if (
    record === null ||
    typeof record !== 'object' ||
    record.initialised !== true ||
    !Array.isArray(record.organisations)
  ) {
    throw new GecError('INVALID_ARGUMENT', 'the stored consortium registry is malformed');
  }
  const organisations = record.organisations.map((o) => {
    if (
      typeof o?.mspId !== 'string' ||
      !(ORGANISATION_ROLES as readonly string[]).includes(o.role) ||
      !(ORGANISATION_STATUSES as readonly string[]).includes(o.status) ||
      !Array.isArray(o.approvals)
    ) {
      throw new GecError('INVALID_ARGUMENT', 'the stored consortium registry has a malformed organisation');
    }
    return Object.assign(new MemberOrganisation(), o);
  });
  return Object.assign(new Consortium(), record, { organisations });
}
