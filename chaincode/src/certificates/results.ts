import { Object as DataType, Property } from 'fabric-contract-api';
import { CertificateLot } from './lot';
import { Listing } from './listing';

/** What a lot action changed: the lot that took the action, and every lot written (in id order). */
@DataType()
export class LotChangeResult {
  /** The lot that took the action: the whole lot, or the child split off for a part. */
  @Property()
  lotId!: string;

  @Property('lots', 'CertificateLot[]')
  lots!: CertificateLot[];
}

/** What a listing action changed. */
@DataType()
export class ListingResult {
  @Property('listing', 'Listing')
  listing!: Listing;

  /** The lot that took the action (the listed lot, or the part sold or returned). */
  @Property()
  lotId!: string;

  @Property('lots', 'CertificateLot[]')
  lots!: CertificateLot[];
}
