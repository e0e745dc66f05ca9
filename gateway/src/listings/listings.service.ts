import type { Listing, ListingResult } from '@gec/chaincode';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/roles';
import { toLotDto } from '../certificates/certificates.dto';
import {
  DocRow,
  KWH_PER_CERTIFICATE,
  LedgerGateway,
  projectedPage,
  proof,
} from '../certificates/ledger-support';
import { upsertLots } from '../certificates/lot-projection';
import { DEFAULT_LIMIT, Page } from '../common/pagination';
import { ProblemError } from '../common/problem';
import type { SubmittedTransaction } from '../ledger/port';
import { Projector } from '../projection/projector.service';
import { listingEventHandler } from './listing-projection';
import {
  CancelListingDto,
  CreateListingDto,
  ListingChangeDto,
  ListingDto,
  ListListingsQueryDto,
  SellListingDto,
  toListingDto,
} from './listings.dto';

function change(tx: SubmittedTransaction, result: ListingResult): ListingChangeDto {
  return {
    listing: toListingDto(result.listing, tx.blockNumber),
    lotId: result.lotId,
    lots: result.lots.map((lot) => toLotDto(lot, tx.blockNumber)),
    ledger: proof(tx.txId, tx.blockNumber, tx.timestamp),
  };
}

/** Listings (绿证售卖): writes to certificates:List / Delist / SellFromListing, reads from `listings`. */
/** The list's filters, which the export shares: `[condition with ?, value]` for each one given. */
export function listingFilters(query: { status?: string; seller?: string }): Array<[string, unknown]> {
  const filters: Array<[string, unknown]> = [];
  if (query.status) filters.push(['status = ?', query.status]);
  if (query.seller) filters.push(['seller = ?', query.seller]);
  return filters;
}

@Injectable()
export class ListingsService implements OnModuleInit {
  constructor(
    private readonly ledger: LedgerGateway,
    private readonly projector: Projector,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    const handler = listingEventHandler(upsertLots);
    for (const name of ['LotListed', 'LotDelisted', 'ListingSold']) this.projector.on(name, handler);
  }

  async create(principal: Principal, request: CreateListingDto): Promise<ListingChangeDto> {
    const { tx, result } = await this.ledger.submit<ListingResult>(principal.identity, 'certificates:List', {
      listingId: request.id,
      lotId: request.lotId,
      owner: request.owner,
      unitPriceFen: request.unitPriceFen,
      ...(request.certificates === undefined ? {} : { volume: request.certificates }),
    });
    return change(tx, result);
  }

  async cancel(principal: Principal, id: string, request: CancelListingDto): Promise<ListingChangeDto> {
    const { tx, result } = await this.ledger.submit<ListingResult>(
      principal.identity,
      'certificates:Delist',
      {
        listingId: id,
        owner: request.owner,
      },
    );
    return change(tx, result);
  }

  async sell(principal: Principal, id: string, request: SellListingDto): Promise<ListingChangeDto> {
    const { tx, result } = await this.ledger.submit<ListingResult>(
      principal.identity,
      'certificates:SellFromListing',
      {
        listingId: id,
        buyer: request.buyer,
        ...(request.certificates === undefined ? {} : { volume: request.certificates }),
      },
    );
    const answer = change(tx, result);
    const sold = result.lots.find((lot) => lot.id === result.lotId);
    const certificates = sold?.volume ?? 0;
    answer.sale = {
      buyer: request.buyer,
      certificates,
      volumeKwh: certificates * KWH_PER_CERTIFICATE,
      unitPriceFen: result.listing.unitPriceFen,
      amountFen: certificates * result.listing.unitPriceFen,
      currency: 'CNY',
    };
    return answer;
  }

  async get(id: string): Promise<ListingDto> {
    const rows = (await this.dataSource.query('SELECT doc, block_number FROM listings WHERE id = $1', [
      id,
    ])) as Array<DocRow<Listing>>;
    if (rows.length === 0) throw new ProblemError(404, 'LISTING_NOT_FOUND', `listing ${id} does not exist`);
    return toListingDto(rows[0].doc, Number(rows[0].block_number));
  }

  async list(query: ListListingsQueryDto): Promise<Page<ListingDto>> {
    const filters = listingFilters(query);
    const page = await projectedPage<Listing>((sql, params) => this.dataSource.query(sql, params), {
      table: 'listings',
      keys: ['id'],
      filters,
      limit: query.limit ?? DEFAULT_LIMIT,
      cursor: query.cursor,
    });
    return {
      items: page.rows.map((row) => toListingDto(row.doc, Number(row.block_number))),
      nextCursor: page.nextCursor,
    };
  }
}
