import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { ApiProblems } from '../common/openapi';
import { PageQueryDto } from '../common/pagination';
import { ProblemError } from '../common/problem';
import { CurrentPrincipal, Roles } from './auth.decorators';
import { ServedBy } from '../organisation/served-by';
import {
  ApiKeyPageDto,
  CreateApiKeyDto,
  CreatedApiKeyDto,
  RegisterSigningKeyDto,
  SigningKeyDto,
} from './api-keys.dto';
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
// Each gateway keeps the keys of those who call it, in its own database.
@ServedBy('ANY')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiOperation({
    operationId: 'createApiKey',
    summary: 'Create an API key (admin)',
    description:
      'Creates a key with one role, acting for one participant or organisation, and the Fabric identity the ' +
      'gateway uses on its behalf. Least privilege: only admin keys may use an admin identity ' +
      '(ADMIN_IDENTITY_NOT_ALLOWED); a single-organisation gateway gives keys its own organisation’s identities ' +
      'only (IDENTITY_OF_OTHER_ORGANISATION), and the identity must be one the gateway holds (IDENTITY_NOT_HELD). ' +
      'Defaults on the development consortium (GEC_ORGANISATION=all): admin → GridMSP/admin, trading-center → ' +
      'TradingCenterMSP/trading, energy-platform → GridMSP/platform, regulator → RegulatorMSP/regulator; on a ' +
      'single-organisation gateway: admin keys its admin identity (the regulator’s: its client), every other key ' +
      'its client identity (GridMSP/platform, TradingCenterMSP/trading, RegulatorMSP/regulator). The secret is in ' +
      'this response only; only its SHA-256 hash is stored.',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiProblems(400, 422)
  async create(
    @Body() body: CreateApiKeyDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CreatedApiKeyDto> {
    const { entity, key, signingSecret } = await this.apiKeys.create(body, principal.keyId);
    return {
      ...toApiKeyDto(entity, signingSecret ? ['hmac-sha256'] : []),
      key,
      signing: signingSecret ? { keyId: entity.id, alg: 'hmac-sha256', secret: signingSecret } : null,
    };
  }

  @Post(':id/signing-key')
  @ApiOperation({
    operationId: 'registerSigningKey',
    summary: 'Register a request-signing key of an API key (admin)',
    description:
      'sm2-sm3: registers (or replaces) the SM2 public key the integration signs its requests with. ' +
      'hmac-sha256: generates a new secret (rotation), shown only in this response; the old one stops ' +
      'working. Only for trading-center and energy-platform keys.',
  })
  @ApiCreatedResponse({ type: SigningKeyDto })
  @ApiProblems(400, 404, 409, 422)
  @ApiParam({
    name: 'id',
    description: 'The API key id (a UUID)',
    example: '5a3c2b1e-8f0d-4c7a-9e2b-1d4f6a8b0c2e',
  })
  registerSigningKey(
    @Param('id', uuidPipe) id: string,
    @Body() body: RegisterSigningKeyDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SigningKeyDto> {
    return this.apiKeys.registerSigningKey(id, body, principal.keyId);
  }

  @Get()
  @ApiOperation({ operationId: 'listApiKeys', summary: 'List API keys, revoked ones included (admin)' })
  @ApiOkResponse({ type: ApiKeyPageDto })
  @ApiProblems(400)
  list(@Query() query: PageQueryDto): Promise<ApiKeyPageDto> {
    return this.apiKeys.list(query.limit, query.cursor);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key (admin)',
    description: 'Idempotent. The last admin key stays.',
  })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiProblems(400, 404, 409)
  @ApiParam({
    name: 'id',
    description: 'The API key id (a UUID)',
    example: '5a3c2b1e-8f0d-4c7a-9e2b-1d4f6a8b0c2e',
  })
  async revoke(@Param('id', uuidPipe) id: string, @CurrentPrincipal() principal: Principal): Promise<void> {
    await this.apiKeys.revoke(id, principal.keyId);
  }
}
