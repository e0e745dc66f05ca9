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
import type { HttpResponse as Response } from '../common/http';
import { ApiProblems, locationHeader } from '../common/openapi';
import { IDEMPOTENCY_HEADER } from '../idempotency/idempotency.service';
import { checkId, LedgerGateway } from '../certificates/ledger-support';
import { ChangeUnitStatusDto, ListUnitsQueryDto, RegisterUnitDto, UnitDto, UnitPageDto } from './units.dto';
import { UnitsService } from './units.service';

export const IDEMPOTENCY_DOC = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'Same key and body → the first answer again; same key, other body → 409 IDEMPOTENCY_KEY_REUSED',
  // Any 1-255 visible ASCII characters; a UUID per logical request is what clients usually send.
  schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
  example: '0f8e2c1a-5b7d-4e3f-9a21-6c4d8b2e7f10',
};

@ApiTags('units')
@Controller('v1/units')
export class UnitsController {
  constructor(
    private readonly units: UnitsService,
    private readonly ledger: LedgerGateway,
  ) {}

  @Post()
  @Roles('admin', 'trading-center')
  @ServedBy('PLATFORM_OPERATOR', 'TRADING_CENTER')
  @ApiOperation({
    operationId: 'registerUnit',
    summary: 'Register a generation unit',
    description:
      'Submits units:RegisterUnit. The owner must be an ACTIVE GENERATOR; the project code and every meter must ' +
      'be new. Answers once committed and projected, with the ledger proof. Supports Idempotency-Key.',
  })
  @ApiHeader(IDEMPOTENCY_DOC)
  @ApiCreatedResponse({
    type: UnitDto,
    description: 'Registered (or the replay of the first answer)',
    headers: locationHeader('the unit'),
  })
  @ApiProblems(400, 404, 409, 422, 502)
  async register(
    @Body() body: RegisterUnitDto,
    @CurrentPrincipal() principal: Principal,
    @Headers(IDEMPOTENCY_HEADER) idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<UnitDto> {
    const result = await this.ledger.idempotent(principal, idempotencyKey, '/v1/units', body, 201, () =>
      this.units.register(principal, body),
    );
    res.status(result.status);
    res.setHeader('Location', `/v1/units/${encodeURIComponent(result.body.id)}`);
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return result.body;
  }

  @Get()
  @Roles('admin', 'trading-center', 'energy-platform', 'regulator')
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'listUnits',
    summary: 'List units (filter by owner and status; cursor pagination, ordered by id)',
  })
  @ApiOkResponse({ type: UnitPageDto })
  @ApiProblems(400)
  list(@Query() query: ListUnitsQueryDto): Promise<UnitPageDto> {
    return this.units.list(query);
  }

  @Get(':id')
  @Roles('admin', 'trading-center', 'energy-platform', 'regulator')
  @ServedBy('ANY')
  @ApiOperation({ operationId: 'getUnit', summary: 'Get a unit' })
  @ApiParam({ name: 'id', description: 'The generation unit id', example: 'UNIT-ZJ-WIND-01' })
  @ApiOkResponse({ type: UnitDto })
  @ApiProblems(400, 404)
  get(@Param('id') id: string): Promise<UnitDto> {
    return this.units.get(checkId(id));
  }

  @Post(':id/status')
  @HttpCode(200)
  @Roles('admin', 'trading-center')
  @ServedBy('PLATFORM_OPERATOR', 'TRADING_CENTER')
  @ApiOperation({
    operationId: 'changeUnitStatus',
    summary: 'Suspend, reactivate or decommission a unit',
    description: 'Submits units:SetUnitStatus. DECOMMISSIONED is final; only ACTIVE units are issued.',
  })
  @ApiParam({ name: 'id', description: 'The generation unit id', example: 'UNIT-ZJ-WIND-01' })
  @ApiOkResponse({ type: UnitDto })
  @ApiProblems(400, 404, 409, 502)
  changeStatus(
    @Param('id') id: string,
    @Body() body: ChangeUnitStatusDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<UnitDto> {
    return this.units.changeStatus(principal, checkId(id), body);
  }
}
