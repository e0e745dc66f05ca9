import type { CertificateLot, Issuance, Listing } from '@gec/chaincode';
import { EntityManager } from 'typeorm';
import type { ChaincodeEvent } from '../ledger/port';
import { MalformedEventError } from '../projection/projector.service';
import { upsertListing } from '../listings/listing-projection';
import { upsertUnit } from '../units/unit-projection';

function requireArray<T>(value: unknown, what: string, event: ChaincodeEvent): T[] {
  if (!Array.isArray(value)) throw new MalformedEventError(`${event.eventName}: ${what} is not an array`);
  return value as T[];
}

/** The lots of an event, checked (a `MalformedEventError` names the event otherwise). */
export function eventLots(lots: unknown, event: ChaincodeEvent): CertificateLot[] {
  const byId = new Map<string, CertificateLot>();
  for (const lot of requireArray<CertificateLot>(lots, 'lots', event)) {
    if (!lot || typeof lot.id !== 'string' || typeof lot.sequenceStart !== 'number') {
      throw new MalformedEventError(`${event.eventName}: a lot is not a lot`);
    }
    byId.set(lot.id, lot);
  }
  return [...byId.values()];
}

/**
 * Upsert every lot of an event (events carry each changed lot in full) and record the version each one had
 * after this transaction (the lot's history, with block numbers). Exported for every module whose events move
 * lots (trades, vouchers).
 */
export async function upsertLots(
  manager: EntityManager,
  lots: unknown,
  event: ChaincodeEvent,
): Promise<void> {
  await upsertLotsOfEvents(manager, [{ lots: eventLots(lots, event), event }]);
}

/**
 * The lots of several events, in ledger order, in one statement: each lot's row takes its last version, and
 * every (lot, transaction) version is recorded. A trade moves two or more lots; a block carries many trades.
 */
export async function upsertLotsOfEvents(
  manager: EntityManager,
  moves: Array<{ lots: CertificateLot[]; event: ChaincodeEvent }>,
): Promise<void> {
  const versions = moves.flatMap(({ lots, event }) =>
    lots.map((doc) => ({
      doc,
      txId: event.txId,
      block: event.blockNumber,
      txNumber: event.txNumber,
      eventName: event.eventName,
    })),
  );
  if (versions.length === 0) return;
  // One row per lot (its last version): ON CONFLICT DO UPDATE may not touch a row twice in one statement.
  const latest = new Map(versions.map((v) => [v.doc.id, v]));
  await manager.query(
    `WITH up AS (
       INSERT INTO certificate_lots (id, project_code, production_month, sequence_start, sequence_end, volume,
         unit_id, owner, status, expires_at, parent_lot_id, updated_at, updated_tx_id, block_number, doc)
       SELECT doc->>'id', doc->>'projectCode', doc->>'productionMonth', (doc->>'sequenceStart')::integer,
         (doc->>'sequenceEnd')::integer, (doc->>'volume')::bigint, doc->>'unitId', doc->>'owner', doc->>'status',
         (doc->>'expiresAt')::timestamptz, doc->>'parentLotId', (doc->>'updatedAt')::timestamptz,
         doc->>'updatedTxId', (v->>'block')::bigint, doc
       FROM jsonb_array_elements($1::jsonb) AS v, LATERAL (SELECT v->'doc' AS doc) AS d
       ON CONFLICT (id) DO UPDATE SET sequence_start = EXCLUDED.sequence_start,
         sequence_end = EXCLUDED.sequence_end, volume = EXCLUDED.volume, owner = EXCLUDED.owner,
         status = EXCLUDED.status, expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at,
         updated_tx_id = EXCLUDED.updated_tx_id, block_number = EXCLUDED.block_number, doc = EXCLUDED.doc)
     INSERT INTO certificate_lot_versions (lot_id, tx_id, block_number, tx_number, event_name, committed_at, doc)
     SELECT doc->>'id', v->>'txId', (v->>'block')::bigint, (v->>'txNumber')::integer, v->>'eventName',
       (doc->>'updatedAt')::timestamptz, doc
     FROM jsonb_array_elements($2::jsonb) AS v, LATERAL (SELECT v->'doc' AS doc) AS d
     ON CONFLICT (lot_id, tx_id) DO NOTHING`,
    [JSON.stringify([...latest.values()]), JSON.stringify(versions)],
  );
}

export async function upsertIssuance(
  manager: EntityManager,
  issuance: Issuance,
  event: ChaincodeEvent,
): Promise<void> {
  if (!issuance || typeof issuance.id !== 'string' || typeof issuance.unitId !== 'string') {
    throw new MalformedEventError(`${event.eventName}: issuance is not an issuance`);
  }
  await manager.query(
    `INSERT INTO issuances (id, unit_id, production_month, certificates, lot_id, issued_at, updated_at,
       updated_tx_id, block_number, doc)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (id) DO UPDATE SET certificates = EXCLUDED.certificates, lot_id = EXCLUDED.lot_id,
       updated_at = EXCLUDED.updated_at, updated_tx_id = EXCLUDED.updated_tx_id,
       block_number = EXCLUDED.block_number, doc = EXCLUDED.doc`,
    [
      issuance.id,
      issuance.unitId,
      issuance.productionMonth,
      issuance.certificates,
      issuance.lotId,
      issuance.issuedAt,
      issuance.updatedAt,
      issuance.updatedTxId,
      event.blockNumber,
      JSON.stringify(issuance),
    ],
  );
}

interface LotEventPayload {
  issuance?: Issuance;
  unit?: unknown;
  listing?: Listing | null;
  lots?: unknown;
}

/**
 * `CertificatesIssued { issuance, lots, unit }`, `LotSplit { lots, ... }`, `LotTransferred { lots, ... }`,
 * `LotExpired { listing | null, lots }`, `LotWithdrawn { listing | null, lots, ... }`: every object upserted.
 */
export async function projectLotEvent(
  manager: EntityManager,
  payload: unknown,
  event: ChaincodeEvent,
): Promise<void> {
  const body = payload as LotEventPayload | null;
  if (!body || typeof body !== 'object') throw new MalformedEventError(`${event.eventName}: not an object`);
  if (body.issuance !== undefined) await upsertIssuance(manager, body.issuance, event);
  if (body.unit !== undefined) await upsertUnit(manager, body.unit as never, event);
  if (body.listing) await upsertListing(manager, body.listing, event);
  await upsertLots(manager, body.lots, event);
}

export const LOT_EVENTS = ['CertificatesIssued', 'LotSplit', 'LotTransferred', 'LotExpired', 'LotWithdrawn'];
