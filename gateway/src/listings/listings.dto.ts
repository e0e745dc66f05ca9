import type { Listing } from '@gec/chaincode';
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { LotDto, SERIAL_EXAMPLE } from '../certificates/certificates.dto';
import {
  ID_MESSAGE,
  ID_PATTERN,
  iso,
  KWH_PER_CERTIFICATE,
  LedgerProof,
  orNull,
  proof,
  SERIAL_MESSAGE,
  SERIAL_PATTERN,
} from '../certificates/ledger-support';
import { PageQueryDto } from '../common/pagination';

export const LISTING_STATUSES = ['OPEN', 'CANCELLED', 'SOLD', 'CLOSED'] as const;

@ApiSchema({ description: 'Certificates to offer for sale (绿证售卖) at a price per certificate in fen' })
export class CreateListingDto {
  @ApiProperty({ description: 'Listing id chosen by the trading center', example: 'LST-2026-0001' })
  @Matches(ID_PATTERN, { message: `id ${ID_MESSAGE}` })
  id!: string;

  @ApiProperty({ description: 'The ACTIVE lot to offer', example: SERIAL_EXAMPLE })
  @Matches(SERIAL_PATTERN, { message: `lotId ${SERIAL_MESSAGE}` })
  lotId!: string;

  @ApiProperty({ description: 'The holder (seller)', example: 'GEN-ZJ-001' })
  @Matches(ID_PATTERN, { message: `owner ${ID_MESSAGE}` })
  owner!: string;

  @ApiPropertyOptional({ description: 'Certificates offered (default: the whole lot)', example: 100 })
  @IsOptional()
  @IsInt({ message: 'certificates must be an integer' })
  @Min(1)
  @Max(9_999_999)
  certificates?: number;

  @ApiProperty({ description: 'Price per certificate in fen (CNY/100), 0–100,000,000', example: 1500 })
  @IsInt({ message: 'unitPriceFen must be an integer number of fen' })
  @Min(0)
  @Max(100_000_000)
  unitPriceFen!: number;
}

@ApiSchema({ description: 'Cancel an open listing (the seller, as the trading center states it)' })
export class CancelListingDto {
  @ApiProperty({ description: 'The seller, as the trading center states it', example: 'GEN-ZJ-001' })
  @Matches(ID_PATTERN, { message: `owner ${ID_MESSAGE}` })
  owner!: string;
}

@ApiSchema({ description: 'A sale from an open listing, completed at the trading center' })
export class SellListingDto {
  @ApiProperty({ description: 'The buyer (an ACTIVE generator or consumer)', example: 'CON-SH-001' })
  @Matches(ID_PATTERN, { message: `buyer ${ID_MESSAGE}` })
  buyer!: string;

  @ApiPropertyOptional({ description: 'Certificates sold (default: all still offered)', example: 60 })
  @IsOptional()
  @IsInt({ message: 'certificates must be an integer' })
  @Min(1)
  @Max(9_999_999)
  certificates?: number;
}

export class ListListingsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    description: 'Only listings in this status',
    enum: LISTING_STATUSES,
    example: 'OPEN',
  })
  @IsOptional()
  @IsIn(LISTING_STATUSES, { message: `status must be one of ${LISTING_STATUSES.join(', ')}` })
  status?: string;

  @ApiPropertyOptional({ description: 'Seller', example: 'GEN-ZJ-001' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: `seller ${ID_MESSAGE}` })
  seller?: string;
}

@ApiSchema({ description: 'A listing: what is still offered, what was sold, the price in fen (CNY)' })
export class ListingDto {
  @ApiProperty({ description: 'Listing id', example: 'LST-2026-0001' })
  id!: string;
  @ApiProperty({ description: 'The LISTED lot', example: SERIAL_EXAMPLE })
  lotId!: string;
  @ApiProperty({ description: 'The selling participant', example: 'GEN-ZJ-001' })
  seller!: string;
  @ApiProperty({ description: 'Certificates still offered (0 once not OPEN)', example: 40 })
  certificates!: number;
  @ApiProperty({ description: 'certificates × 1,000', example: 40000 })
  volumeKwh!: number;
  @ApiProperty({ description: 'Certificates sold so far', example: 60 })
  soldCertificates!: number;
  @ApiProperty({ description: 'Price per certificate, fen', example: 1500 })
  unitPriceFen!: number;
  @ApiProperty({ description: 'Currency of the prices', example: 'CNY' })
  currency!: 'CNY';
  @ApiProperty({
    description: 'OPEN until cancelled, sold out or closed (a lot expired or withdrawn)',
    enum: LISTING_STATUSES,
    example: 'OPEN',
  })
  status!: string;
  @ApiProperty({
    description:
      'Why the ledger closed the listing (`delisted` when cancelled, `lot expired`, `withdrawn: <reason>`); ' +
      'null while OPEN and when SOLD',
    example: 'lot expired',
    nullable: true,
    type: String,
  })
  closedReason!: string | null;
  @ApiProperty({ description: 'MSP of the organisation that listed', example: 'TradingCenterMSP' })
  listedByMsp!: string;
  @ApiProperty({ description: 'When it was listed (ledger time, UTC)', example: '2026-11-21T08:00:00.000Z' })
  listedAt!: string;
  @ApiProperty({
    description: 'When it last changed (ledger time, UTC)',
    example: '2026-11-21T08:00:00.000Z',
  })
  updatedAt!: string;
  @ApiProperty({
    description: 'Ledger proof of the transaction that last changed the listing',
    type: LedgerProof,
  })
  ledger!: LedgerProof;
}

@ApiSchema({ description: 'One page of listings, ordered by id' })
export class ListingPageDto {
  @ApiProperty({ description: 'This page’s listings, ordered by id', type: [ListingDto] })
  items!: ListingDto[];
  @ApiProperty({
    description: 'Cursor of the next page (send it as `cursor`); null on the last page',
    nullable: true,
    type: String,
    example: null,
  })
  nextCursor!: string | null;
}

@ApiSchema({ description: 'A completed sale: buyer, certificates, amount in fen (CNY)' })
export class SaleDto {
  @ApiProperty({ description: 'The buying participant', example: 'CON-SH-001' })
  buyer!: string;
  @ApiProperty({ description: 'Certificates sold (1 = 1 MWh)', example: 60 })
  certificates!: number;
  @ApiProperty({ description: 'The same in kWh', example: 60000 })
  volumeKwh!: number;
  @ApiProperty({ description: 'Price per certificate in fen (CNY/100)', example: 1500 })
  unitPriceFen!: number;
  @ApiProperty({ description: 'certificates × unitPriceFen', example: 90000 })
  amountFen!: number;
  @ApiProperty({ description: 'Currency of the price', example: 'CNY' })
  currency!: 'CNY';
}

@ApiSchema({
  description:
    'What a listing action changed: the listing, the lots written, the sale (when selling) and the transaction',
})
export class ListingChangeDto {
  @ApiProperty({ description: 'The listing after the change', type: ListingDto })
  listing!: ListingDto;
  @ApiProperty({
    description: 'The lot that took the action (listed, returned or sold)',
    example: SERIAL_EXAMPLE,
  })
  lotId!: string;
  @ApiProperty({ description: 'The lots the change created or touched', type: [LotDto] })
  lots!: LotDto[];
  @ApiPropertyOptional({ type: SaleDto, description: 'Present on a sale' })
  sale?: SaleDto;
  @ApiProperty({ description: 'Ledger proof of the transaction', type: LedgerProof })
  ledger!: LedgerProof;
}

export function toListingDto(listing: Listing, blockNumber: number): ListingDto {
  return {
    id: listing.id,
    lotId: listing.lotId,
    seller: listing.seller,
    certificates: listing.volume,
    volumeKwh: listing.volume * KWH_PER_CERTIFICATE,
    soldCertificates: listing.soldVolume,
    unitPriceFen: listing.unitPriceFen,
    currency: 'CNY',
    status: listing.status,
    closedReason: orNull(listing.closedReason),
    listedByMsp: listing.listedByMsp,
    listedAt: iso(listing.listedAt),
    updatedAt: iso(listing.updatedAt),
    ledger: proof(listing.updatedTxId, blockNumber, listing.updatedAt),
  };
}
