import { Body, Controller, Get, Headers, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiPropertyOptional,
  ApiSchema,
  ApiTags,
} from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ServedBy } from '../organisation/served-by';
import type { Principal } from '../auth/roles';
import { checkId, ID_MESSAGE, ID_PATTERN, LedgerGateway } from '../certificates/ledger-support';
import type { HttpResponse as Response } from '../common/http';
import { ApiProblems, locationHeader } from '../common/openapi';
import { PageQueryDto } from '../common/pagination';
import { IDEMPOTENCY_HEADER } from '../idempotency/idempotency.service';
import { IDEMPOTENCY_DOC } from '../units/units.controller';
import { CreateExchangeDto, ExchangeDto } from './exchanges.dto';
import { ExchangesService } from './exchanges.service';

const READERS = ['admin', 'trading-center', 'energy-platform', 'regulator'] as const;

export class ListExchangesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'The holder who surrendered the certificates', example: 'CON-SH-001' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: `owner ${ID_MESSAGE}` })
  owner?: string;
}

@ApiSchema({ description: 'One page of exchanges, ordered by id' })
export class ExchangePageDto {
  @ApiProperty({ description: 'This page’s exchanges, ordered by id', type: [ExchangeDto] })
  items!: ExchangeDto[];
  @ApiProperty({
    description: 'Cursor of the next page (send it as `cursor`); null on the last page',
    nullable: true,
    type: String,
    example: null,
  })
  nextCursor!: string | null;
}

@ApiTags('exchanges')
@Controller('v1/exchanges')
export class ExchangesController {
  constructor(
    private readonly exchanges: ExchangesService,
    private readonly ledger: LedgerGateway,
  ) {}

  @Post()
  @Roles('trading-center')
  @ServedBy('TRADING_CENTER')
  @ApiOperation({
    operationId: 'createExchange',
    summary: 'Exchange certificates for green electricity (绿电兑换)',
    description:
      'Submits redemption:Exchange for the holder `owner`: whole or part of each lot (tradable, not bound to a green-power trade) becomes EXCHANGED, recorded with the electricity side’s reference. The surrendered serials are final. Supports Idempotency-Key.',
  })
  @ApiHeader(IDEMPOTENCY_DOC)
  @ApiCreatedResponse({ type: ExchangeDto, headers: locationHeader('the exchange') })
  @ApiProblems(400, 404, 409, 422, 502)
  async create(
    @Body() body: CreateExchangeDto,
    @CurrentPrincipal() principal: Principal,
    @Headers(IDEMPOTENCY_HEADER) idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ExchangeDto> {
    const result = await this.ledger.idempotent(principal, idempotencyKey, '/v1/exchanges', body, 201, () =>
      this.exchanges.create(principal, body),
    );
    res.status(result.status);
    res.setHeader('Location', `/v1/exchanges/${encodeURIComponent(result.body.id)}`);
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return result.body;
  }

  @Get()
  @Roles(...READERS)
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'listExchanges',
    summary: 'List exchanges (filter by owner; cursor pagination, ordered by id)',
  })
  @ApiOkResponse({ type: ExchangePageDto })
  @ApiProblems(400)
  list(@Query() query: ListExchangesQueryDto): Promise<ExchangePageDto> {
    return this.exchanges.list(query);
  }

  @Get(':id')
  @Roles(...READERS)
  @ServedBy('ANY')
  @ApiOperation({ operationId: 'getExchange', summary: 'Get a exchange statement' })
  @ApiParam({ name: 'id', description: 'The exchange id', example: 'EXC-2026-0001' })
  @ApiOkResponse({ type: ExchangeDto })
  @ApiProblems(400, 404)
  get(@Param('id') id: string): Promise<ExchangeDto> {
    return this.exchanges.get(checkId(id));
  }
}
