import { Object as DataType, Property } from 'fabric-contract-api';

/** OPEN → CANCELLED (delisted) / SOLD (all sold) / CLOSED (its lot expired or was withdrawn while listed). */
export const LISTING_STATUSES = ['OPEN', 'CANCELLED', 'SOLD', 'CLOSED'] as const;
export type ListingStatus = (typeof LISTING_STATUSES)[number];

/** Certificates offered for sale (绿证售卖) by the trading center for a seller: one LISTED lot. */
@DataType()
export class Listing {
  @Property()
  id!: string;

  /** The LISTED lot (it keeps its id as parts are sold: sold parts split off its highest serials). */
  @Property()
  lotId!: string;

  @Property()
  seller!: string;

  /** Certificates still offered (0 once no longer OPEN). */
  @Property()
  volume!: number;

  @Property()
  soldVolume!: number;

  /** Price per certificate in fen (CNY/100). */
  @Property()
  unitPriceFen!: number;

  @Property()
  status!: ListingStatus;

  @Property()
  closedReason!: string;

  @Property()
  listedBy!: string;

  @Property()
  listedByMsp!: string;

  @Property()
  listedAt!: string;

  @Property()
  txId!: string;

  @Property()
  updatedAt!: string;

  @Property()
  updatedTxId!: string;
}

@DataType()
export class ListingPage {
  @Property('items', 'Listing[]')
  items!: Listing[];

  @Property()
  bookmark!: string;

  @Property()
  fetchedCount!: number;
}

export function listingFromState(value: unknown): Listing {
  return Object.assign(new Listing(), value as Listing);
}
