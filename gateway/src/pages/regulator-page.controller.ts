import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators';
import { sendHtml } from '../common/html';
import type { HttpResponse } from '../common/http';
import { VOUCHER_STYLE_SOURCE } from '../vouchers/voucher-print';

/** The pages' files: `gateway/static` (the page; its assets in `regulator/`), two levels above both `src/pages` and `dist/pages`. */
export const STATIC_DIR = path.resolve(__dirname, '..', '..', 'static');
/** Where the regulator page's script and style are served from (express static, see app.ts). */
export const REGULATOR_ASSETS_PREFIX = '/regulator/assets/';

/**
 * The page's policy: its own script and style only, requests to this gateway only, and the printable voucher's
 * one inline style (shown in a frame of the page, which inherits this policy). No inline script, no eval, no
 * other origin, not framed by anyone.
 */
export const REGULATOR_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  `style-src 'self' ${VOUCHER_STYLE_SOURCE}`,
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The regulator page (监管查询): a static page whose script calls the JSON API with the key the regulator enters
 * once (kept in the tab's sessionStorage, sent in X-API-Key). The page itself needs no key: it holds no data.
 */
@ApiTags('audit')
@Controller('regulator')
export class RegulatorPageController {
  private readonly html = readFileSync(path.join(STATIC_DIR, 'regulator.html'), 'utf8');

  @Get()
  @Public()
  @ApiOperation({
    operationId: 'openRegulatorPage',
    summary: 'The regulator page (监管查询): search, provenance timeline, evidence and integrity checks',
    description:
      'A read-only web page for regulators, served by the gateway (plain HTML, CSS and JavaScript from ' +
      '/regulator/assets/, no other origin). The page holds no data and needs no key to load; the regulator ' +
      'enters an API key once, the page keeps it in the tab’s sessionStorage and sends it only in the X-API-Key ' +
      'header of its calls to this API (never in a URL). Search a certificate serial (provenance timeline and ' +
      'redemption check), a trade (evidence check), a voucher (provenance, printable voucher) or a participant; ' +
      'verify the chain of blocks and compare the projection with the ledger, each shown as pass or fail.',
  })
  @ApiProduces('text/html')
  @ApiOkResponse({
    description: 'The page (UTF-8 HTML)',
    content: { 'text/html': { schema: { type: 'string' }, example: '<!doctype html>…' } },
  })
  open(@Res() res: HttpResponse): void {
    sendHtml(res, 200, this.html, REGULATOR_PAGE_CSP);
  }
}
