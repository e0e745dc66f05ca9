import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiProblems, ApiRoles } from '../common/openapi';
import { PageQueryDto } from '../common/pagination';
import { ProblemError } from '../common/problem';
import { CurrentPrincipal, Roles } from './auth.decorators';
import { ApiKeyPageDto, CreateApiKeyDto, CreatedApiKeyDto } from './api-keys.dto';
import { ApiKeysService, toApiKeyDto } from './api-keys.service';
import type { Principal } from './roles';

const uuidPipe = new ParseUUIDPipe({
  exceptionFactory: () =>
    new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: id', {
      errors: [{ field: 'id', message: 'id must be a UUID' }],
    }),
});

@ApiTags('api-keys')
@Controller('v1/api-keys')
@Roles('admin')
@ApiRoles('admin')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiOperation({
    summary: 'Create an API key (admin)',
    description:
      'Creates a key with one role, acting for one participant or organisation, and the Fabric identity the ' +
      'gateway uses on its behalf (by default: admin → GridMSP/admin, trading-center → TradingCenterMSP/admin, ' +
      'energy-platform → GridMSP/platform, regulator → RegulatorMSP/regulator). The secret is in this response ' +
      'only; only its SHA-256 hash is stored.',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiProblems(400)
  async create(
    @Body() body: CreateApiKeyDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CreatedApiKeyDto> {
    const { entity, key } = await this.apiKeys.create(body, principal.keyId);
    return { ...toApiKeyDto(entity), key };
  }

  @Get()
  @ApiOperation({ summary: 'List API keys, revoked ones included (admin)' })
  @ApiOkResponse({ type: ApiKeyPageDto })
  @ApiProblems(400)
  list(@Query() query: PageQueryDto): Promise<ApiKeyPageDto> {
    return this.apiKeys.list(query.limit, query.cursor);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Revoke an API key (admin)',
    description: 'Idempotent. The last admin key stays.',
  })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiProblems(400, 404, 409)
  async revoke(@Param('id', uuidPipe) id: string, @CurrentPrincipal() principal: Principal): Promise<void> {
    await this.apiKeys.revoke(id, principal.keyId);
  }
}
