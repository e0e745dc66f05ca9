import type { Listing } from '@gec/chaincode';
import { EntityManager } from 'typeorm';
import type { ChaincodeEvent } from '../ledger/port';
import { MalformedEventError } from '../projection/projector.service';

export async function upsertListing(
  manager: EntityManager,
  listing: Listing,
  event: ChaincodeEvent,
): Promise<void> {
  if (!listing || typeof listing.id !== 'string' || typeof listing.lotId !== 'string') {
    throw new MalformedEventError(`${event.eventName}: listing is not a listing`);
  }
  await manager.query(
    `INSERT INTO listings (id, lot_id, seller, status, volume, sold_volume, unit_price_fen, listed_at, updated_at,
       updated_tx_id, block_number, doc)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (id) DO UPDATE SET lot_id = EXCLUDED.lot_id, status = EXCLUDED.status, volume = EXCLUDED.volume,
       sold_volume = EXCLUDED.sold_volume, updated_at = EXCLUDED.updated_at,
       updated_tx_id = EXCLUDED.updated_tx_id, block_number = EXCLUDED.block_number, doc = EXCLUDED.doc`,
    [
      listing.id,
      listing.lotId,
      listing.seller,
      listing.status,
      listing.volume,
      listing.soldVolume,
      listing.unitPriceFen,
      listing.listedAt,
      listing.updatedAt,
      listing.updatedTxId,
      event.blockNumber,
      JSON.stringify(listing),
    ],
  );
}

interface ListingEventPayload {
  listing?: Listing;
  lots?: unknown;
  lotId?: string;
  seller?: string;
  buyer?: string;
  volume?: number;
  unitPriceFen?: number;
  amountFen?: number;
}

/** `LotListed { listing, lotId, lots }`, `LotDelisted { listing, lotId, lots }`, `ListingSold { listing, ..., lots }`. */
export function listingEventHandler(
  upsertLots: (manager: EntityManager, lots: unknown, event: ChaincodeEvent) => Promise<void>,
) {
  return async (manager: EntityManager, payload: unknown, event: ChaincodeEvent): Promise<void> => {
    const body = payload as ListingEventPayload | null;
    if (!body?.listing) throw new MalformedEventError(`${event.eventName} has no listing`);
    await upsertListing(manager, body.listing, event);
    await upsertLots(manager, body.lots, event);
    if (event.eventName === 'ListingSold') {
      await manager.query(
        `INSERT INTO listing_sales (tx_id, listing_id, lot_id, seller, buyer, volume, unit_price_fen, amount_fen,
           sold_at, block_number)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (tx_id) DO NOTHING`,
        [
          event.txId,
          body.listing.id,
          body.lotId,
          body.seller,
          body.buyer,
          body.volume,
          body.unitPriceFen,
          body.amountFen,
          body.listing.updatedAt,
          event.blockNumber,
        ],
      );
    }
  };
}
