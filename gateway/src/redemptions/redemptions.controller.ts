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
import { CreateRedemptionDto, RedemptionDto } from './redemptions.dto';
import { RedemptionsService } from './redemptions.service';

const READERS = ['admin', 'trading-center', 'energy-platform', 'regulator'] as const;

export class ListRedemptionsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'The holder who surrendered the certificates', example: 'CON-SH-001' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: `owner ${ID_MESSAGE}` })
  owner?: string;
}

@ApiSchema({ description: 'One page of redemptions, ordered by id' })
export class RedemptionPageDto {
  @ApiProperty({ description: 'This page’s redemptions, ordered by id', type: [RedemptionDto] })
  items!: RedemptionDto[];
  @ApiProperty({
    description: 'Cursor of the next page (send it as `cursor`); null on the last page',
    nullable: true,
    type: String,
    example: null,
  })
  nextCursor!: string | null;
}

@ApiTags('redemptions')
@Controller('v1/redemptions')
export class RedemptionsController {
  constructor(
    private readonly redemptions: RedemptionsService,
    private readonly ledger: LedgerGateway,
  ) {}

  @Post()
  @Roles('trading-center')
  @ServedBy('TRADING_CENTER')
  @ApiOperation({
    operationId: 'createRedemption',
    summary: 'Redeem certificates (兑付/核销)',
    description:
      'Submits redemption:Redeem for the holder `owner`: whole or part of each lot becomes REDEEMED for the beneficiary, consumption period and purpose; the statement lists the serial ranges. Redeemed serials never move again. Supports Idempotency-Key.',
  })
  @ApiHeader(IDEMPOTENCY_DOC)
  @ApiCreatedResponse({ type: RedemptionDto, headers: locationHeader('the redemption') })
  @ApiProblems(400, 404, 409, 422, 502)
  async create(
    @Body() body: CreateRedemptionDto,
    @CurrentPrincipal() principal: Principal,
    @Headers(IDEMPOTENCY_HEADER) idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<RedemptionDto> {
    const result = await this.ledger.idempotent(principal, idempotencyKey, '/v1/redemptions', body, 201, () =>
      this.redemptions.create(principal, body),
    );
    res.status(result.status);
    res.setHeader('Location', `/v1/redemptions/${encodeURIComponent(result.body.id)}`);
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return result.body;
  }

  @Get()
  @Roles(...READERS)
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'listRedemptions',
    summary: 'List redemptions (filter by owner; cursor pagination, ordered by id)',
  })
  @ApiOkResponse({ type: RedemptionPageDto })
  @ApiProblems(400)
  list(@Query() query: ListRedemptionsQueryDto): Promise<RedemptionPageDto> {
    return this.redemptions.list(query);
  }

  @Get(':id')
  @Roles(...READERS)
  @ServedBy('ANY')
  @ApiOperation({ operationId: 'getRedemption', summary: 'Get a redemption statement' })
  @ApiParam({ name: 'id', description: 'The redemption id', example: 'RDM-2026-0001' })
  @ApiOkResponse({ type: RedemptionDto })
  @ApiProblems(400, 404)
  get(@Param('id') id: string): Promise<RedemptionDto> {
    return this.redemptions.get(checkId(id));
  }
}
