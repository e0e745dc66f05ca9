import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ServedBy } from '../organisation/served-by';
import type { Principal } from '../auth/roles';
import * as QRCode from 'qrcode';
import { sendHtml } from '../common/html';
import type { HttpRequest, HttpResponse } from '../common/http';
import { ApiProblems } from '../common/openapi';
import { ProblemError } from '../common/problem';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { verificationPath } from './verification-code';
import { VOUCHER_PRINT_CSP, voucherHtml } from './voucher-print';
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
  constructor(
    private readonly vouchers: VouchersService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @Roles(...READERS)
  @ServedBy('ANY')
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
  @ServedBy('ANY')
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
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'printVoucher',
    summary: 'A printable HTML page of the voucher (绿电凭证), Chinese and English',
    description:
      'Company names of holder and seller (from the participant registry), times in Asia/Shanghai, volumes in ' +
      'kWh and MWh with separators, the source serial ranges, the ledger proof, and a QR code (inline SVG) of ' +
      'the public verification page (operation verifyVoucher; its address starts with PUBLIC_URL, or the ' +
      'address the request came to). Self-contained: no script, no external resource. It needs the API key like ' +
      'any read: people open it from the regulator page (/regulator), which fetches it with the key kept in the ' +
      'page’s session and shows it, printable; the key never goes into a URL.',
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
  async print(@Param('id') id: string, @Req() req: HttpRequest, @Res() res: HttpResponse): Promise<void> {
    const voucher = await this.vouchers.get(checkId(id));
    const verifyUrl = `${this.publicUrl(req)}${verificationPath(voucher.id, voucher.ledger.txId)}`;
    const html = voucherHtml(voucher, {
      names: await this.vouchers.names([voucher.consumer, voucher.seller]),
      verifyUrl,
      qrSvg: await QRCode.toString(verifyUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
    });
    sendHtml(res, 200, html, VOUCHER_PRINT_CSP);
  }

  /** Where people reach this gateway: PUBLIC_URL, or the scheme and Host the request came with. */
  private publicUrl(req: HttpRequest): string {
    if (this.config.publicUrl) return this.config.publicUrl;
    const scheme = (req as HttpRequest & { protocol?: string }).protocol ?? 'http';
    return `${scheme}://${req.headers.host ?? 'localhost'}`;
  }

  @Post(':id/release')
  @HttpCode(200)
  @Roles('trading-center')
  @ServedBy('TRADING_CENTER')
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
  @ServedBy('TRADING_CENTER')
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
  @ServedBy('PLATFORM_OPERATOR')
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
