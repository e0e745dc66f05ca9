import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ServedBy } from '../organisation/served-by';
import type { Principal } from '../auth/roles';
import { checkId, LedgerGateway } from '../certificates/ledger-support';
import type { HttpResponse as Response } from '../common/http';
import { ApiProblems, locationHeader } from '../common/openapi';
import { IDEMPOTENCY_HEADER } from '../idempotency/idempotency.service';
import { IDEMPOTENCY_DOC } from '../units/units.controller';
import {
  CancelListingDto,
  CreateListingDto,
  ListingChangeDto,
  ListingDto,
  ListingPageDto,
  ListListingsQueryDto,
  SellListingDto,
} from './listings.dto';
import { ListingsService } from './listings.service';

const READERS = ['admin', 'trading-center', 'energy-platform', 'regulator'] as const;

@ApiTags('listings')
@Controller('v1/listings')
export class ListingsController {
  constructor(
    private readonly listings: ListingsService,
    private readonly ledger: LedgerGateway,
  ) {}

  @Post()
  @Roles('trading-center')
  @ServedBy('TRADING_CENTER')
  @ApiOperation({
    operationId: 'createListing',
    summary: 'List certificates for sale (绿证售卖)',
    description:
      'Submits certificates:List for the holder `owner`: the offered part of the lot (split off when partial) ' +
      'becomes LISTED. Tradable, unexpired, not bound to a green-power trade. Supports Idempotency-Key.',
  })
  @ApiHeader(IDEMPOTENCY_DOC)
  @ApiCreatedResponse({ type: ListingChangeDto, headers: locationHeader('the listing') })
  @ApiProblems(400, 404, 409, 422, 502)
  async create(
    @Body() body: CreateListingDto,
    @CurrentPrincipal() principal: Principal,
    @Headers(IDEMPOTENCY_HEADER) idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ListingChangeDto> {
    const result = await this.ledger.idempotent(principal, idempotencyKey, '/v1/listings', body, 201, () =>
      this.listings.create(principal, body),
    );
    res.status(result.status);
    res.setHeader('Location', `/v1/listings/${encodeURIComponent(result.body.listing.id)}`);
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return result.body;
  }

  @Get()
  @Roles(...READERS)
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'listListings',
    summary: 'List listings (filter by status and seller; cursor pagination, ordered by id)',
  })
  @ApiOkResponse({ type: ListingPageDto })
  @ApiProblems(400)
  list(@Query() query: ListListingsQueryDto): Promise<ListingPageDto> {
    return this.listings.list(query);
  }

  @Get(':id')
  @Roles(...READERS)
  @ServedBy('ANY')
  @ApiOperation({ operationId: 'getListing', summary: 'Get a listing' })
  @ApiParam({ name: 'id', description: 'The listing id', example: 'LST-2026-0001' })
  @ApiOkResponse({ type: ListingDto })
  @ApiProblems(400, 404)
  get(@Param('id') id: string): Promise<ListingDto> {
    return this.listings.get(checkId(id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Roles('trading-center')
  @ServedBy('TRADING_CENTER')
  @ApiOperation({
    operationId: 'cancelListing',
    summary: 'Cancel an open listing',
    description: 'Submits certificates:Delist: what is still offered returns to ACTIVE.',
  })
  @ApiParam({ name: 'id', description: 'The listing id', example: 'LST-2026-0001' })
  @ApiOkResponse({ type: ListingChangeDto })
  @ApiProblems(400, 404, 409, 502)
  cancel(
    @Param('id') id: string,
    @Body() body: CancelListingDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ListingChangeDto> {
    return this.listings.cancel(principal, checkId(id), body);
  }

  @Post(':id/sell')
  @Roles('trading-center')
  @ServedBy('TRADING_CENTER')
  @ApiOperation({
    operationId: 'sellFromListing',
    summary: 'Sell from an open listing',
    description:
      'Submits certificates:SellFromListing (the sale completed at the trading center): the sold part moves to ' +
      'the buyer as ACTIVE; the rest stays listed. Supports Idempotency-Key.',
  })
  @ApiParam({ name: 'id', description: 'The listing id', example: 'LST-2026-0001' })
  @ApiHeader(IDEMPOTENCY_DOC)
  @ApiCreatedResponse({ type: ListingChangeDto })
  @ApiProblems(400, 404, 409, 422, 502)
  async sell(
    @Param('id') id: string,
    @Body() body: SellListingDto,
    @CurrentPrincipal() principal: Principal,
    @Headers(IDEMPOTENCY_HEADER) idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ListingChangeDto> {
    const listingId = checkId(id);
    const result = await this.ledger.idempotent(
      principal,
      idempotencyKey,
      `/v1/listings/${listingId}/sell`,
      body,
      201,
      () => this.listings.sell(principal, listingId, body),
    );
    res.status(result.status);
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return result.body;
  }
}
