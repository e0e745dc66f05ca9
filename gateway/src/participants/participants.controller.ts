import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import type { HttpResponse as Response } from '../common/http';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ServedBy } from '../organisation/served-by';
import type { Principal } from '../auth/roles';
import { ApiProblems, locationHeader } from '../common/openapi';
import { ProblemError } from '../common/problem';
import { IDEMPOTENCY_HEADER, IdempotencyService } from '../idempotency/idempotency.service';
import {
  ChangeParticipantStatusDto,
  ListParticipantsQueryDto,
  ParticipantDto,
  ParticipantPageDto,
  RegisterParticipantDto,
} from './participants.dto';
import { ParticipantsService } from './participants.service';

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

function checkId(id: string): string {
  if (!ID_PATTERN.test(id)) {
    throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: id', {
      errors: [{ field: 'id', message: 'id must be 1-64 characters of A-Z a-z 0-9 . _ -' }],
    });
  }
  return id;
}

@ApiTags('participants')
@Controller('v1/participants')
export class ParticipantsController {
  constructor(
    private readonly participants: ParticipantsService,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Post()
  @Roles('admin', 'trading-center')
  @ServedBy('PLATFORM_OPERATOR', 'TRADING_CENTER')
  @ApiOperation({
    operationId: 'registerParticipant',
    summary: 'Register a participant on the ledger',
    description:
      'Submits identity:RegisterParticipant as the key’s Fabric identity. The credit code travels in the ' +
      'transient map (never in a block, never logged). Answers once the registration is committed and ' +
      'projected, with the ledger proof. Supports Idempotency-Key.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Same key and body → the first answer again; same key, other body → 409 IDEMPOTENCY_KEY_REUSED',
    // Any 1-255 visible ASCII characters; a UUID per logical request is what clients usually send.
    schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
    example: '0f8e2c1a-5b7d-4e3f-9a21-6c4d8b2e7f10',
  })
  @ApiCreatedResponse({
    type: ParticipantDto,
    description: 'Registered (or the replay of the first answer)',
    headers: locationHeader('the participant'),
  })
  @ApiProblems(400, 409, 422, 502)
  async register(
    @Body() body: RegisterParticipantDto,
    @CurrentPrincipal() principal: Principal,
    @Headers(IDEMPOTENCY_HEADER) idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ParticipantDto> {
    const result = await this.idempotency.run(
      { apiKeyId: principal.keyId, key: idempotencyKey, method: 'POST', path: '/v1/participants', body },
      async () => ({ status: 201, body: await this.participants.register(principal, body) }),
    );
    res.status(result.status);
    res.setHeader('Location', `/v1/participants/${encodeURIComponent(result.body.id)}`);
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return result.body;
  }

  @Get()
  @Roles('admin', 'trading-center', 'energy-platform', 'regulator')
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'listParticipants',
    summary: 'List participants (filter by kind and status; cursor pagination, ordered by id)',
  })
  @ApiOkResponse({ type: ParticipantPageDto })
  @ApiProblems(400)
  list(@Query() query: ListParticipantsQueryDto): Promise<ParticipantPageDto> {
    return this.participants.list(query);
  }

  @Get(':id')
  @Roles('admin', 'trading-center', 'energy-platform', 'regulator')
  @ServedBy('ANY')
  @ApiOperation({ operationId: 'getParticipant', summary: 'Get a participant' })
  @ApiParam({ name: 'id', description: 'The participant id', example: 'GEN-ZJ-001' })
  @ApiOkResponse({ type: ParticipantDto })
  @ApiProblems(400, 404)
  get(@Param('id') id: string): Promise<ParticipantDto> {
    return this.participants.get(checkId(id));
  }

  @Post(':id/status')
  @HttpCode(200)
  @Roles('admin', 'trading-center')
  @ServedBy('PLATFORM_OPERATOR', 'TRADING_CENTER')
  @ApiOperation({
    operationId: 'changeParticipantStatus',
    summary: 'Change a participant’s status (ACTIVE, SUSPENDED, REVOKED)',
    description: 'Submits identity:SetParticipantStatus. REVOKED is final.',
  })
  @ApiParam({ name: 'id', description: 'The participant id', example: 'GEN-ZJ-001' })
  @ApiOkResponse({ type: ParticipantDto })
  @ApiProblems(400, 404, 409, 502)
  changeStatus(
    @Param('id') id: string,
    @Body() body: ChangeParticipantStatusDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ParticipantDto> {
    return this.participants.changeStatus(principal, checkId(id), body);
  }
}
