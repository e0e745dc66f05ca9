import { Context } from 'fabric-contract-api';
import { applyHolderPolicy } from '../consortium/holder-policy';
import { canonicalJson } from '../lib/canonical-json';
import { GecError } from '../lib/errors';
import { atOrAfter, compactMonth } from '../lib/months';
import { compositeKey, deleteIndex, getJson, putIndex, putJson, queryPage } from '../lib/state';
import { MAX_SEQUENCE } from '../parameters/consortium-parameters';
import { CertificateLot, LotStatus, copyLot, formatSerial, lotFromState, parseSerial } from './lot';

/** A lot: key `gec.lot\0<lotId>\0`. */
export const LOT_OBJECT = 'gec.lot';
/** Lots by holder and status: `gec.lot~owner\0<owner>\0<status>\0<lotId>\0`. */
export const LOT_BY_OWNER_INDEX = 'gec.lot~owner';
/** Lots by status: `gec.lot~status\0<status>\0<lotId>\0`. */
export const LOT_BY_STATUS_INDEX = 'gec.lot~status';
/** Lots by unit and production month: `gec.lot~unit\0<unitId>\0<YYYY-MM>\0<lotId>\0`. */
export const LOT_BY_UNIT_INDEX = 'gec.lot~unit';
/**
 * Serial look-up index, a simple key (Fabric range queries take simple keys only):
 * `gec.lotrange/<projectCode 17>/<YYYYMM>/<sequenceEnd 7 digits>/<lotId>`. Every field before the lot id has a
 * fixed width, so key order is (project code, month, END sequence) and the lot holding sequence s is the first key
 * at or after `gec.lotrange/<code>/<YYYYMM>/<s>`: one range read of one key.
 */
export const LOT_RANGE_PREFIX = 'gec.lotrange/';
/**
 * The moves of a lot: `gec.lot~move\0<lotId>\0<txId>\0`, one entry per transaction that created the lot or
 * changed anything of it other than its upper end (owner, status, listing, custody, redemption, …), holding that
 * version of the lot and the acting organisation. A split that only takes the parent's highest serials away is not
 * a move of the serials the parent keeps, so it writes none for the parent: the child's creation records it. A
 * serial's provenance reads these few entries per lot on its path instead of every version of every ancestor.
 */
export const LOT_MOVE_INDEX = 'gec.lot~move';

const INDEX_VALUE = Uint8Array.of(0);

export function lotKey(ctx: Context, lotId: string): string {
  return compositeKey(ctx, LOT_OBJECT, [lotId]);
}

function rangeKey(lot: CertificateLot): string {
  return `${rangePrefix(lot.projectCode, lot.productionMonth)}${pad(lot.sequenceEnd)}/${lot.id}`;
}

function rangePrefix(projectCode: string, month: string): string {
  return `${LOT_RANGE_PREFIX}${projectCode}/${compactMonth(month)}/`;
}

function pad(sequence: number): string {
  return String(sequence).padStart(7, '0');
}

/** The lot `lotId` as stored, or LOT_NOT_FOUND. */
export async function readLot(ctx: Context, lotId: string): Promise<CertificateLot> {
  const stored = await getJson(ctx, lotKey(ctx, lotId));
  if (stored === undefined) throw new GecError('LOT_NOT_FOUND', `lot ${lotId} does not exist`);
  return lotFromState(stored);
}

/**
 * The lots one transaction reads and changes. Fabric has no read-your-writes (a read after a write in the same
 * transaction returns the committed value), so every lot is read once, changed here, and written once by
 * `flush`, which also keeps the owner, status, unit and serial-range indexes exact: it compares each lot with the
 * version it read and moves exactly the index entries that changed.
 */
export class LotChanges {
  private readonly entries = new Map<string, { original?: CertificateLot; current: CertificateLot }>();

  constructor(
    readonly ctx: Context,
    /** Transaction time. */
    readonly now: string,
    readonly txId: string,
  ) {}

  /** The lot as this transaction sees it (with its earlier changes), or LOT_NOT_FOUND. */
  async get(lotId: string): Promise<CertificateLot> {
    const entry = this.entries.get(lotId);
    if (entry) return copyLot(entry.current);
    const lot = await readLot(this.ctx, lotId);
    this.entries.set(lotId, { original: lot, current: lot });
    return copyLot(lot);
  }

  /** Record a new lot. */
  async create(lot: CertificateLot): Promise<void> {
    if (this.entries.has(lot.id) || (await getJson(this.ctx, lotKey(this.ctx, lot.id))) !== undefined) {
      // Lot ids are first serials, which are never reused: reaching this is a bug, not a user error.
      throw new Error(`lot ${lot.id} already exists`);
    }
    this.entries.set(lot.id, { current: this.stamp(lot) });
  }

  /** Record a changed lot (read with `get`). */
  update(lot: CertificateLot): void {
    const entry = this.entries.get(lot.id);
    if (!entry) throw new Error(`lot ${lot.id} was not read before being changed`);
    entry.current = this.stamp(lot);
  }

  /**
   * Split the highest `volume` certificates of `lot` into a new child lot with `changes` applied; the parent
   * keeps its id, status and owner with the lower part. Returns the child.
   */
  async split(
    lot: CertificateLot,
    volume: number,
    changes: Partial<CertificateLot>,
  ): Promise<CertificateLot> {
    if (!Number.isInteger(volume) || volume < 1 || volume >= lot.volume) {
      throw new Error(`cannot split ${volume} of the ${lot.volume} certificates of lot ${lot.id}`);
    }
    const childStart = lot.sequenceEnd - volume + 1;
    const parent = copyLot(lot, {
      sequenceEnd: childStart - 1,
      serialEnd: serialOf(lot, childStart - 1),
      volume: lot.volume - volume,
    });
    const childSerial = serialOf(lot, childStart);
    const child = copyLot(lot, {
      listingId: '',
      statusReason: '',
      ...changes,
      id: childSerial,
      serialStart: childSerial,
      sequenceStart: childStart,
      volume,
      parentLotId: lot.id,
      createdAt: this.now,
      createdTxId: this.txId,
    });
    this.update(parent);
    await this.create(child);
    return copyLot(child);
  }

  /**
   * The whole lot (`volume` undefined or equal to the lot's) with `changes` applied, or its highest `volume`
   * certificates split off into a child with `changes` applied. Returns the lot that took the changes.
   */
  async take(
    lot: CertificateLot,
    volume: number | undefined,
    changes: Partial<CertificateLot>,
  ): Promise<CertificateLot> {
    if (volume === undefined || volume === lot.volume) {
      const updated = copyLot(lot, changes);
      this.update(updated);
      return copyLot(updated);
    }
    return this.split(lot, volume, changes);
  }

  /** Write every changed lot and its index entries; the changed lots in id order. */
  async flush(): Promise<CertificateLot[]> {
    const ctx = this.ctx;
    const changed: CertificateLot[] = [];
    for (const id of [...this.entries.keys()].sort()) {
      const { original, current } = this.entries.get(id)!;
      if (original !== undefined && canonicalJson(original) === canonicalJson(current)) continue;
      changed.push(current);
      await putJson(ctx, lotKey(ctx, id), current);
      // The key-level endorsement policy follows the holder (set when the lot is created or changes hands).
      if (original === undefined || original.owner !== current.owner) {
        await applyHolderPolicy(ctx, lotKey(ctx, id), current.owner, original === undefined);
      }
      if (original === undefined || !onlyShrank(original, current)) {
        await putJson(ctx, compositeKey(ctx, LOT_MOVE_INDEX, [id, this.txId]), {
          lot: current,
          mspId: ctx.clientIdentity.getMSPID(),
        });
      }
      if (original === undefined) {
        await putIndex(ctx, LOT_BY_OWNER_INDEX, [current.owner, current.status, id]);
        await putIndex(ctx, LOT_BY_STATUS_INDEX, [current.status, id]);
        await putIndex(ctx, LOT_BY_UNIT_INDEX, [current.unitId, current.productionMonth, id]);
        await ctx.stub.putState(rangeKey(current), INDEX_VALUE);
        continue;
      }
      if (original.owner !== current.owner || original.status !== current.status) {
        await deleteIndex(ctx, LOT_BY_OWNER_INDEX, [original.owner, original.status, id]);
        await putIndex(ctx, LOT_BY_OWNER_INDEX, [current.owner, current.status, id]);
      }
      if (original.status !== current.status) {
        await deleteIndex(ctx, LOT_BY_STATUS_INDEX, [original.status, id]);
        await putIndex(ctx, LOT_BY_STATUS_INDEX, [current.status, id]);
      }
      if (original.sequenceEnd !== current.sequenceEnd) {
        await ctx.stub.deleteState(rangeKey(original));
        await ctx.stub.putState(rangeKey(current), INDEX_VALUE);
      }
    }
    return changed;
  }

  private stamp(lot: CertificateLot): CertificateLot {
    return copyLot(lot, { updatedAt: this.now, updatedTxId: this.txId });
  }
}

/** Fields a split changes on the lot keeping the lower serials; any other change is a move of that lot. */
const SHRINK_FIELDS = new Set(['sequenceEnd', 'serialEnd', 'volume', 'updatedAt', 'updatedTxId']);

/** The new version differs from the old one only by a lower upper end (a split took the highest serials away). */
export function onlyShrank(original: CertificateLot, current: CertificateLot): boolean {
  if (!(current.sequenceEnd < original.sequenceEnd)) return false;
  const a = original as unknown as Record<string, unknown>;
  const b = current as unknown as Record<string, unknown>;
  for (const field of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (!SHRINK_FIELDS.has(field) && a[field] !== b[field]) return false; // lot fields are scalars
  }
  return true;
}

/** The serial number of sequence `sequence` in the unit and month of `lot`. */
export function serialOf(lot: CertificateLot, sequence: number): string {
  return formatSerial({
    projectCode: lot.projectCode,
    productionMonth: lot.productionMonth,
    sequence,
    electricityClass: lot.electricityClass,
    tradeClass: lot.tradeClass,
  });
}

// ---- Rules every action on a lot checks -------------------------------------------------------------------

/** The named refusal for a lot in a final status (REDEEMED, EXCHANGED, EXPIRED, WITHDRAWN), if it is in one. */
function finalStatusError(lot: CertificateLot): GecError | undefined {
  switch (lot.status) {
    case 'REDEEMED':
      return new GecError('LOT_REDEEMED', `lot ${lot.id} was redeemed (${lot.redemptionId}); that is final`);
    case 'EXCHANGED':
      return new GecError('LOT_EXCHANGED', `lot ${lot.id} was exchanged (${lot.exchangeId}); that is final`);
    case 'EXPIRED':
      return new GecError('LOT_EXPIRED', `lot ${lot.id} expired at ${lot.expiresAt}`);
    case 'WITHDRAWN':
      return new GecError('LOT_WITHDRAWN', `lot ${lot.id} was withdrawn: ${lot.statusReason}`);
    default:
      return undefined;
  }
}

/** The lot is not in a final status (named error for each). */
export function requireNotFinal(lot: CertificateLot): void {
  const error = finalStatusError(lot);
  if (error) throw error;
}

/**
 * The lot is not final (REDEEMED, EXCHANGED, EXPIRED, WITHDRAWN) and not past its expiry date at the
 * transaction time.
 */
export function requireLive(lot: CertificateLot, now: string): void {
  requireNotFinal(lot);
  if (atOrAfter(now, lot.expiresAt)) {
    throw new GecError(
      'LOT_EXPIRED',
      `lot ${lot.id} is past its expiry at ${lot.expiresAt} (transaction time ${now}); only certificates:Expire may act on it`,
    );
  }
}

/** The lot is in one of `allowed` (after requireLive). */
export function requireStatus(lot: CertificateLot, allowed: readonly LotStatus[]): void {
  if (allowed.includes(lot.status)) return;
  switch (lot.status) {
    case 'LISTED':
      throw new GecError(
        'LOT_LISTED',
        `lot ${lot.id} is listed for sale (${lot.listingId}); delist it first`,
      );
    case 'IN_CUSTODY':
      throw new GecError('LOT_IN_CUSTODY', `lot ${lot.id} is held in voucher custody`);
    case 'ACTIVE':
      throw new GecError('LOT_NOT_LISTED', `lot ${lot.id} is not listed for sale`);
    default:
      throw finalStatusError(lot) ?? new Error(`lot ${lot.id} has unexpected status ${lot.status}`);
  }
}

/** The stated owner holds the lot. */
export function requireOwner(lot: CertificateLot, owner: string): void {
  if (lot.owner !== owner) {
    throw new GecError('LOT_NOT_OWNED', `lot ${lot.id} is not held by ${owner}`);
  }
}

/** The lot may be traded: tradable and not bound to a green-power trade. */
export function requireTradable(lot: CertificateLot): void {
  if (lot.boundToGreenPowerTrade) {
    throw new GecError(
      'LOT_BOUND_TO_GREEN_POWER_TRADE',
      `lot ${lot.id} moved with green-power trade ${lot.greenPowerTradeId}; it can never be traded again`,
    );
  }
  if (!lot.tradable) {
    throw new GecError('LOT_NOT_TRADABLE', `lot ${lot.id} is not tradable (trade class ${lot.tradeClass})`);
  }
}

/** An optional part of a lot: absent means the whole lot; more than the lot holds is VOLUME_EXCEEDS_LOT. */
export function lotVolume(value: unknown, field: string, lot: CertificateLot): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_SEQUENCE) {
    throw new GecError(
      'INVALID_ARGUMENT',
      `${field} must be an integer from 1 to ${MAX_SEQUENCE} (got ${JSON.stringify(value)})`,
    );
  }
  if (value > lot.volume) {
    throw new GecError(
      'VOLUME_EXCEEDS_LOT',
      `${field} ${value} exceeds the ${lot.volume} certificates of lot ${lot.id}`,
    );
  }
  return value;
}

// ---- For the trades contract (green-power trades) -----------------------------------------------------------

/**
 * Move `volume` certificates (all when undefined) of `lotId` from `from` to `to` as part of green-power trade
 * `tradeId`, marking them `boundToGreenPowerTrade` so they can never be traded again. The caller checks roles and
 * parties, and calls `changes.flush()` once after all moves of its transaction. Returns the moved lot.
 */
export async function moveWithGreenPowerTrade(
  changes: LotChanges,
  move: { lotId: string; from: string; to: string; volume?: number; tradeId: string },
): Promise<CertificateLot> {
  const lot = await changes.get(move.lotId);
  requireLive(lot, changes.now);
  requireStatus(lot, ['ACTIVE']);
  requireOwner(lot, move.from);
  requireTradable(lot);
  const volume = lotVolume(move.volume, 'volume', lot);
  return changes.take(lot, volume, {
    owner: move.to,
    boundToGreenPowerTrade: true,
    greenPowerTradeId: move.tradeId,
  });
}

// ---- Serial look-up (read-only transactions) ----------------------------------------------------------------

/**
 * The lot holding `serial`, found with one range read of the serial index, or SERIAL_NOT_FOUND. Uses a paginated
 * range query, so only in read-only (evaluated) transactions.
 */
export async function findLotBySerial(ctx: Context, serial: string): Promise<CertificateLot> {
  const parts = parseSerial(serial);
  const prefix = rangePrefix(parts.projectCode, parts.productionMonth);
  const page = await queryPage(
    ctx,
    { startKey: `${prefix}${pad(parts.sequence)}`, endKey: `${prefix}~` },
    1,
    '',
  );
  const notFound = new GecError('SERIAL_NOT_FOUND', `no certificate has serial number ${serial}`);
  if (page.records.length === 0) throw notFound;
  const key = page.records[0].key;
  const lot = await readLot(ctx, key.slice(key.lastIndexOf('/') + 1));
  if (
    lot.sequenceStart > parts.sequence ||
    lot.sequenceEnd < parts.sequence ||
    lot.electricityClass !== parts.electricityClass ||
    lot.tradeClass !== parts.tradeClass
  ) {
    throw notFound;
  }
  return lot;
}
