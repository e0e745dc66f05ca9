import { ServedBy } from '../organisation/served-by';
import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import type { Principal } from '../auth/roles';
import { ApiProblems } from '../common/openapi';
import { ProblemError } from '../common/problem';
import { CheckKeyDto, RegisterCheckKeyDto } from './check-keys.dto';
import { CheckKeysService } from './check-keys.service';

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

function checkId(id: string): string {
  if (!ID_PATTERN.test(id)) {
    throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: id', {
      errors: [{ field: 'id', message: 'id must be 1-64 characters of A-Z a-z 0-9 . _ -' }],
    });
  }
  return id;
}

@ApiTags('trades')
// The trading center's gateway registers (publishes on the ledger, as its own admin) and revokes the keys it signs
// trade data with; the platform's gateway, whose pipeline verifies trades, registers the same keys from the ledger
// (and an HMAC trial key's secret, once the trading center has consented on the ledger).
@ServedBy('TRADING_CENTER', 'PLATFORM_OPERATOR')
@Controller('v1/trading-centers')
export class CheckKeysController {
  constructor(private readonly keys: CheckKeysService) {}

  @Post(':id/check-keys')
  @Roles('admin')
  @ApiOperation({
    operationId: 'registerCheckKey',
    summary: 'Register a check key of a trading center (HMAC-SHA256 secret or SM2 public key)',
    description:
      'The trading center signs the RFC 8785 canonical trade data with this key (check data). HMAC secrets are ' +
      'stored encrypted with AES-256-GCM (key GEC_SECRET_KEY or the generated data-folder key) and never returned.',
  })
  @ApiParam({ name: 'id', description: 'The trading center’s participant id', example: 'TC-001' })
  @ApiCreatedResponse({ type: CheckKeyDto })
  @ApiProblems(400, 404, 409, 422)
  register(
    @Param('id') id: string,
    @Body() body: RegisterCheckKeyDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CheckKeyDto> {
    return this.keys.register(checkId(id), body, principal.keyId);
  }

  @Post(':id/check-keys/:keyId/revoke')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({
    operationId: 'revokeCheckKey',
    summary:
      'Revoke a check key (key rotation): check data signed with it fails the signature check from now on',
  })
  @ApiParam({ name: 'id', description: 'The trading center’s participant id', example: 'TC-001' })
  @ApiParam({ name: 'keyId', description: 'The check key id, as registered', example: 'tc-2026-01' })
  @ApiOkResponse({ type: CheckKeyDto })
  @ApiProblems(400, 404)
  revoke(@Param('id') id: string, @Param('keyId') keyId: string): Promise<CheckKeyDto> {
    return this.keys.revoke(checkId(id), checkId(keyId));
  }

  @Get(':id/check-keys')
  @Roles('admin', 'trading-center', 'regulator')
  @ApiOperation({
    operationId: 'listCheckKeys',
    summary: 'List the check keys of a trading center (no secrets)',
  })
  @ApiOkResponse({ type: [CheckKeyDto] })
  @ApiProblems(400, 404)
  @ApiParam({ name: 'id', description: 'The trading center’s participant id', example: 'TC-001' })
  list(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<CheckKeyDto[]> {
    // A trading center sees its own keys only (another's: 404, no probing).
    if (principal.role === 'trading-center' && principal.actsFor !== id) {
      throw new ProblemError(404, 'TRADING_CENTER_NOT_FOUND', `no trading center ${id}`);
    }
    return this.keys.list(checkId(id));
  }
}
