import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import type { Principal } from '../auth/roles';
import type { HttpResponse } from '../common/http';
import { ApiProblems } from '../common/openapi';
import { ProblemError } from '../common/problem';
import { voucherHtml } from './voucher-print';
import {
  ClaimVoucherDto,
  ListVouchersQueryDto,
  ReleaseVoucherDto,
  RevokeVoucherDto,
  VoucherDto,
  VoucherPageDto,
} from './vouchers.dto';
import { VouchersService } from './vouchers.service';

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const READERS = ['admin', 'trading-center', 'energy-platform', 'regulator'] as const;

function checkId(id: string): string {
  if (!ID_PATTERN.test(id)) {
    throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: id', {
      errors: [{ field: 'id', message: 'id must be 1-64 characters of A-Z a-z 0-9 . _ -' }],
    });
  }
  return id;
}

@ApiTags('vouchers')
@Controller('v1/vouchers')
export class VouchersController {
  constructor(private readonly vouchers: VouchersService) {}

  @Get()
  @Roles(...READERS)
  @ApiOperation({
    operationId: 'listVouchers',
    summary: 'List vouchers (filter by consumer and status; cursor pagination by id)',
  })
  @ApiOkResponse({ type: VoucherPageDto })
  @ApiProblems(400)
  list(@Query() query: ListVouchersQueryDto): Promise<VoucherPageDto> {
    return this.vouchers.list(query);
  }

  @Get(':id')
  @Roles(...READERS)
  @ApiOperation({
    operationId: 'getVoucher',
    summary: 'A voucher with its source lots, serial ranges, trade and ledger proof',
  })
  @ApiParam({
    name: 'id',
    description: 'The voucher id: VCH- and the trade id',
    example: 'VCH-T-2026-10-0001',
  })
  @ApiOkResponse({ type: VoucherDto })
  @ApiProblems(400, 404)
  get(@Param('id') id: string): Promise<VoucherDto> {
    return this.vouchers.get(checkId(id));
  }

  @Get(':id/print')
  @Roles(...READERS)
  @ApiOperation({
    operationId: 'printVoucher',
    summary: 'A printable HTML page of the voucher (绿电凭证), Chinese and English',
  })
  @ApiProduces('text/html')
  @ApiOkResponse({
    description: 'The voucher as an HTML page (UTF-8)',
    content: { 'text/html': { schema: { type: 'string' } } },
  })
  @ApiProblems(400, 404)
  @ApiParam({
    name: 'id',
    description: 'The voucher id: VCH- and the trade id',
    example: 'VCH-T-2026-10-0001',
  })
  async print(@Param('id') id: string, @Res() res: HttpResponse): Promise<void> {
    const voucher = await this.vouchers.get(checkId(id));
    res
      .status(200)
      .type('text/html; charset=utf-8')
      .send(voucherHtml(voucher, `/v1/vouchers/${encodeURIComponent(voucher.id)}`));
  }

  @Post(':id/release')
  @HttpCode(200)
  @Roles('trading-center')
  @ApiOperation({
    operationId: 'releaseVoucher',
    summary: 'Release a voucher to its holder (IN_CUSTODY → RELEASED); vouchers:Release',
  })
  @ApiOkResponse({ type: VoucherDto })
  @ApiProblems(400, 404, 409, 422, 502)
  @ApiParam({
    name: 'id',
    description: 'The voucher id: VCH- and the trade id',
    example: 'VCH-T-2026-10-0001',
  })
  release(
    @Param('id') id: string,
    @Body() body: ReleaseVoucherDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<VoucherDto> {
    return this.vouchers.release(principal, checkId(id), body);
  }

  @Post(':id/claim')
  @HttpCode(200)
  @Roles('trading-center')
  @ApiOperation({
    operationId: 'claimVoucher',
    summary: 'Claim a voucher as consumption evidence (→ CLAIMED, final); vouchers:Claim',
  })
  @ApiOkResponse({ type: VoucherDto })
  @ApiProblems(400, 404, 409, 422, 502)
  @ApiParam({
    name: 'id',
    description: 'The voucher id: VCH- and the trade id',
    example: 'VCH-T-2026-10-0001',
  })
  claim(
    @Param('id') id: string,
    @Body() body: ClaimVoucherDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<VoucherDto> {
    return this.vouchers.claim(principal, checkId(id), body);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({
    operationId: 'revokeVoucher',
    summary: 'Revoke a voucher with a reason (issuer; → REVOKED, final); vouchers:Revoke',
  })
  @ApiOkResponse({ type: VoucherDto })
  @ApiProblems(400, 404, 409, 422, 502)
  @ApiParam({
    name: 'id',
    description: 'The voucher id: VCH- and the trade id',
    example: 'VCH-T-2026-10-0001',
  })
  revoke(
    @Param('id') id: string,
    @Body() body: RevokeVoucherDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<VoucherDto> {
    return this.vouchers.revoke(principal, checkId(id), body);
  }
}
