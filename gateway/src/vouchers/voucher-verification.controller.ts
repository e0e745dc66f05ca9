import { Controller, Get, Logger, Param, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators';
import { RateLimiter } from '../auth/rate-limiter';
import { sendHtml } from '../common/html';
import type { HttpRequest, HttpResponse } from '../common/http';
import { ApiPageProblems } from '../common/openapi';
import { toProblem } from '../common/problem.filter';
import { ProblemError } from '../common/problem';
import { VERIFICATION_CODE_PATTERN } from './verification-code';
import { VERIFICATION_PAGE_CSP, verificationErrorHtml, verificationHtml } from './voucher-verification-page';
import { VoucherVerificationService } from './voucher-verification.service';

const VOUCHER_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** 400 VALIDATION_FAILED naming the path parameter, as for any other input. */
function check(value: string, field: string, pattern: RegExp, message: string): void {
  if (!pattern.test(value)) {
    throw new ProblemError(400, 'VALIDATION_FAILED', `the request is invalid: ${field}`, {
      errors: [{ field, message: `${field} ${message}` }],
    });
  }
}

/** The client's address as the socket (or Express, behind a configured proxy) sees it. */
function clientAddress(req: HttpRequest): string {
  return (req as HttpRequest & { ip?: string }).ip ?? req.socket.remoteAddress ?? 'unknown';
}

/**
 * The public verification page (扫码验真) the printed voucher's QR code opens: no API key, one page per voucher,
 * rate-limited per client address. A browser gets its refusals as a page too (a forged link must say so
 * plainly); any other client gets the problem document.
 */
@ApiTags('vouchers')
@Controller('verify')
export class VoucherVerificationController {
  private readonly logger = new Logger('VoucherVerification');

  constructor(
    private readonly verification: VoucherVerificationService,
    private readonly rateLimiter: RateLimiter,
  ) {}

  @Get(':voucherId/:code')
  @Public()
  @ApiOperation({
    operationId: 'verifyVoucher',
    summary: 'Public verification page of a voucher (扫码验真), from the ledger; no API key',
    description:
      'The page the printed voucher’s QR code opens. With the voucher id and its verification code (128 bits ' +
      'derived from the voucher’s issuing transaction: voucher ids are guessable, the code is not), it shows ' +
      'what the ledger holds: status, volume, delivery period, serial ranges, and the transactions that issued and ' +
      'last changed the voucher (block, validation code, time, from qscc), with each check as pass or fail: the ' +
      'ledger holds the voucher, both transactions are VALID, this gateway’s PostgreSQL copy matches the ledger ' +
      'field by field, and the blocks holding them are intact. Nothing else: no holder, seller, trade or price. ' +
      'An unknown voucher and a wrong code get the same 404. At most PUBLIC_RATE_LIMIT_PER_MINUTE pages per ' +
      'minute per client address (default 60).',
  })
  @ApiParam({ name: 'voucherId', description: 'The voucher id', example: 'VCH-T-2026-10-0001' })
  @ApiParam({
    name: 'code',
    description: 'The verification code printed in the voucher’s QR code: 32 lowercase hex characters',
    example: '5d41402abc4b2a76b9719d911017c592',
  })
  @ApiProduces('text/html')
  @ApiOkResponse({
    description: 'The verification page (UTF-8 HTML, no script)',
    content: { 'text/html': { schema: { type: 'string' }, example: '<!doctype html>…' } },
  })
  @ApiPageProblems({
    400: 'The voucher id or code is malformed (VALIDATION_FAILED): the link is not genuine',
    404: 'No voucher with this id and code on the ledger (VOUCHER_NOT_VERIFIABLE): the link is not genuine',
    429: 'Too many pages from this address (RATE_LIMITED); retry after `Retry-After` seconds',
    502: 'The ledger could not be read',
    503: 'The database is unavailable for the moment (DATABASE_UNAVAILABLE)',
  })
  async verify(
    @Param('voucherId') voucherId: string,
    @Param('code') code: string,
    @Req() req: HttpRequest,
    @Res() res: HttpResponse,
  ): Promise<void> {
    try {
      this.rateLimiter.takePublic(clientAddress(req));
      check(voucherId, 'voucherId', VOUCHER_ID, 'must be 1-64 characters of A-Z a-z 0-9 . _ -');
      check(code, 'code', VERIFICATION_CODE_PATTERN, 'must be 32 lowercase hex characters');
      const verification = await this.verification.verify(voucherId, code);
      sendHtml(res, 200, verificationHtml(verification), VERIFICATION_PAGE_CSP);
    } catch (error) {
      if (!/text\/html/.test(String(req.headers.accept ?? ''))) throw error;
      const { problem, headers } = toProblem(error, this.logger);
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      res.locals.problemCode = problem.code;
      sendHtml(
        res,
        problem.status,
        verificationErrorHtml(problem.status, problem.detail),
        VERIFICATION_PAGE_CSP,
      );
    }
  }
}
