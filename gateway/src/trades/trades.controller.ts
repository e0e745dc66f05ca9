import { ServedBy } from '../organisation/served-by';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import type { Principal } from '../auth/roles';
import type { HttpRequest, HttpResponse } from '../common/http';
import { ApiProblems, locationHeader } from '../common/openapi';
import { ProblemError } from '../common/problem';
import type { TradeEvidence } from './trade-evidence';
import type { TradeData } from './trade-model';
import {
  ListTradesQueryDto,
  SubmitTradeDto,
  TradeEvidenceDto,
  TradePageDto,
  TradeStatusDto,
} from './trades.dto';
import { TradesService } from './trades.service';

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

function checkId(id: string): string {
  if (!ID_PATTERN.test(id)) {
    throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: tradeId', {
      errors: [{ field: 'tradeId', message: 'tradeId must be 1-64 characters of A-Z a-z 0-9 . _ -' }],
    });
  }
  return id;
}

@ApiTags('trades')
// The platform (GridMSP) runs the trade pipeline (存证校验, then attestation with its own identity); trading
// centers post their trades to the platform's gateway, whose database alone holds the pipeline's rows.
@ServedBy('PLATFORM_OPERATOR')
@Controller('v1/trades')
export class TradesController {
  constructor(private readonly trades: TradesService) {}

  @Post()
  @HttpCode(202)
  @Roles('trading-center')
  @ApiOperation({
    operationId: 'submitTrade',
    summary: 'Post a completed trade for attestation (获取绿电交易数据 → 存证校验 → 上链)',
    description:
      'Stored durably at once (state RECEIVED) and answered 202 with Location: /v1/trades/{tradeId}. The gateway ' +
      'then verifies it against the meter data and the check data and, only if every check passes, attests it ' +
      'on the ledger and issues the voucher in custody. checkData.signature: base64 HMAC-SHA256 (or SM2/SM3) over ' +
      'the RFC 8785 canonical bytes of `trade`, with the key registered for the trading center. Idempotency-Key ' +
      'is required: same key and body → the same resource; same key, other body → 409 IDEMPOTENCY_KEY_REUSED; ' +
      'the same tradeId under another key → 409 TRADE_EXISTS.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: true,
    description:
      'Required: same key and body → the same resource; same key, other body → 409 IDEMPOTENCY_KEY_REUSED',
    schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
    example: '0f8e2c1a-5b7d-4e3f-9a21-6c4d8b2e7f10',
  })
  @ApiAcceptedResponse({ type: TradeStatusDto, headers: locationHeader('the trade’s status') })
  @ApiProblems(400, 409)
  async submit(
    @Body() _body: SubmitTradeDto,
    @Req()
    req: HttpRequest & {
      body: { trade: TradeData; checkData: Record<string, unknown>; callbackUrl?: string };
    },
    @CurrentPrincipal() principal: Principal,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: HttpResponse,
  ): Promise<TradeStatusDto> {
    // The signature and the hashes are over the trade exactly as sent (the raw JSON body), not the DTO.
    const { trade, checkData, callbackUrl } = req.body;
    const accepted = await this.trades.accept(principal, idempotencyKey, { trade, checkData, callbackUrl });
    res.setHeader('Location', `/v1/trades/${encodeURIComponent(accepted.status.tradeId)}`);
    if (accepted.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return accepted.status;
  }

  @Get()
  @Roles('admin', 'trading-center', 'regulator')
  @ApiOperation({
    operationId: 'listTrades',
    summary: 'List trades (a trading center sees its own); filters state, seller, buyer',
  })
  @ApiOkResponse({ type: TradePageDto })
  @ApiProblems(400)
  list(@Query() query: ListTradesQueryDto, @CurrentPrincipal() principal: Principal): Promise<TradePageDto> {
    return this.trades.list(principal, query);
  }

  @Get(':tradeId/evidence')
  @Roles('admin', 'trading-center', 'regulator')
  @ApiOperation({
    operationId: 'getTradeEvidence',
    summary: 'Check a committed trade’s evidence again (audit)',
    description:
      'Recomputes the hashes of the stored trade data and check data and the digest of the meter evidence and ' +
      'compares them with the ledger’s attestation; checks each meter-month attestation on the ledger and the ' +
      'Merkle root of the readings stored now. `ok` is true when everything still matches.',
  })
  @ApiParam({
    name: 'tradeId',
    description: 'The trade id given by the trading center',
    example: 'T-2026-10-0001',
  })
  @ApiOkResponse({ description: 'The evidence check', type: TradeEvidenceDto })
  @ApiProblems(400, 404, 409)
  evidence(
    @Param('tradeId') tradeId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<TradeEvidence> {
    return this.trades.evidence(principal, checkId(tradeId));
  }

  @Get(':tradeId')
  @Roles('admin', 'trading-center', 'regulator')
  @ApiOperation({
    operationId: 'getTrade',
    summary: 'A trade’s status: state, timestamps, every check with inputs and result, transaction, voucher',
  })
  @ApiParam({
    name: 'tradeId',
    description: 'The trade id given by the trading center',
    example: 'T-2026-10-0001',
  })
  @ApiOkResponse({ type: TradeStatusDto })
  @ApiProblems(400, 404)
  get(@Param('tradeId') tradeId: string, @CurrentPrincipal() principal: Principal): Promise<TradeStatusDto> {
    return this.trades.get(principal, checkId(tradeId));
  }
}
