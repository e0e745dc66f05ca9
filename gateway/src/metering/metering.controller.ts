import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ServedBy } from '../organisation/served-by';
import { signedBody, SignedStream } from '../auth/request-signing';
import type { Principal } from '../auth/roles';
import type { HttpRequest, HttpResponse } from '../common/http';
import { ApiProblems, locationHeader } from '../common/openapi';
import { PROBLEM_CONTENT_TYPE, problem, ProblemError } from '../common/problem';
import { IDEMPOTENCY_HEADER, IdempotencyService } from '../idempotency/idempotency.service';
import { MeterDto, RegisterMeterDto } from './metering.dto';
import {
  ClosePeriodDto,
  CloseResultDto,
  CompletenessDto,
  CompletenessQueryDto,
  IngestQueryDto,
  IngestResultDto,
  PeriodDto,
  ReadingsRejectedProblemDto,
} from './metering.dto';
import { meterDto, MetersService } from './meters.service';
import { checkPeriod, PeriodsService } from './periods.service';
import { MetricsService } from '../metrics/metrics.service';
import { IngestFormat, ReadingsIngestionService } from './readings-ingestion.service';

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

function checkMeterId(id: string): string {
  if (!ID_PATTERN.test(id)) {
    throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: meterId', {
      errors: [{ field: 'meterId', message: 'meterId must be 1-64 characters of A-Z a-z 0-9 . _ -' }],
    });
  }
  return id;
}

const FORMATS: Record<string, IngestFormat> = {
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'text/csv': 'csv',
};

function formatOf(contentType: string | undefined): IngestFormat {
  const media = (contentType ?? '').split(';')[0].trim().toLowerCase();
  const charset = /charset\s*=\s*"?([^";]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  const format = FORMATS[media];
  if (!format || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    throw new ProblemError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'send readings as application/x-ndjson or text/csv (UTF-8)',
    );
  }
  return format;
}

@ApiTags('metering')
@Controller('v1')
// The energy data (meters, readings, periods) is the platform's: received, kept and attested by it alone.
@ServedBy('PLATFORM_OPERATOR')
export class MeteringController {
  constructor(
    private readonly meters: MetersService,
    private readonly ingestion: ReadingsIngestionService,
    private readonly periods: PeriodsService,
    private readonly idempotency: IdempotencyService,
    private readonly metrics: MetricsService,
  ) {}

  @Post('meters')
  @Roles('energy-platform', 'admin')
  @ApiOperation({
    operationId: 'registerMeter',
    summary: 'Register a meter (generation meter of a unit, or consumption meter of a consumer)',
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
  @ApiCreatedResponse({ type: MeterDto, headers: locationHeader('the meter') })
  @ApiProblems(400, 409, 422)
  async register(
    @Body() body: RegisterMeterDto,
    @CurrentPrincipal() principal: Principal,
    @Headers(IDEMPOTENCY_HEADER) idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: HttpResponse,
  ): Promise<MeterDto> {
    const result = await this.idempotency.run(
      { apiKeyId: principal.keyId, key: idempotencyKey, method: 'POST', path: '/v1/meters', body },
      async () => ({ status: 201, body: await this.meters.register(principal, body) }),
    );
    res.status(result.status);
    res.setHeader('Location', `/v1/meters/${encodeURIComponent(result.body.meterId)}`);
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return result.body;
  }

  @Get('meters/:id')
  @Roles('admin', 'trading-center', 'energy-platform', 'regulator')
  @ApiOperation({ operationId: 'getMeter', summary: 'Get a meter' })
  @ApiParam({ name: 'id', description: 'The meter id', example: 'MTR-WIND-001' })
  @ApiOkResponse({ type: MeterDto })
  @ApiProblems(400, 404)
  async get(@Param('id') id: string): Promise<MeterDto> {
    return meterDto(await this.meters.get(checkMeterId(id)));
  }

  @Post('meter-readings')
  @SignedStream()
  @HttpCode(200)
  @Roles('energy-platform')
  @ApiOperation({
    operationId: 'ingestMeterReadings',
    summary: 'Ingest interval readings in bulk (NDJSON or CSV, streamed)',
    description:
      'One reading per line: `{"meterId","intervalStart","kwh"}` (NDJSON) or `meterId,intervalStart,kwh` ' +
      'after a header (CSV). kwh: up to 3 decimals (stored as integer Wh). intervalStart: RFC 3339 with an ' +
      'offset, on the meter’s interval grid, interval ended. Idempotent per (meter, interval start): the same ' +
      'value again is `unchanged`; another value is READING_CONFLICT unless sent with `correction=true&reason=…` ' +
      '(new version, the old one kept). Attested (closed) periods need `correction=true` and must then be ' +
      'closed again. `mode=partial` (default) stores every good line and lists the bad ones (200); ' +
      '`mode=atomic` stores nothing when any line is bad (422 READINGS_REJECTED with every bad line). ' +
      'At most 1000 bad lines are listed; `rejected` is their total. Too many readings for one request: 413 ' +
      'TOO_MANY_LINES; a body that is neither NDJSON nor CSV in UTF-8: 415.',
  })
  @ApiConsumes('application/x-ndjson', 'text/csv')
  @ApiBody({
    schema: { type: 'string' },
    examples: {
      ndjson: {
        value: '{"meterId":"MTR-WIND-001","intervalStart":"2026-10-01T00:00:00+08:00","kwh":"12.345"}\n',
      },
      csv: { value: 'meterId,intervalStart,kwh\nMTR-WIND-001,2026-10-01T00:00:00+08:00,12.345\n' },
    },
  })
  @ApiOkResponse({ type: IngestResultDto })
  @ApiProblems(400, 409, 413, 415)
  @ApiExtraModels(ReadingsRejectedProblemDto)
  @ApiResponse({
    status: 422,
    description:
      'mode=atomic and some line is bad (READINGS_REJECTED): nothing was stored; `errors` lists the bad lines',
    content: {
      [PROBLEM_CONTENT_TYPE]: {
        schema: { $ref: getSchemaPath(ReadingsRejectedProblemDto) },
        example: {
          type: 'urn:gec-ledger:problem:readings-rejected',
          title: 'Readings rejected',
          status: 422,
          detail: '1 of 2976 line(s) are bad; mode=atomic: nothing was stored',
          code: 'READINGS_REJECTED',
          instance: '/v1/meter-readings',
          accepted: 2975,
          unchanged: 0,
          corrected: 0,
          rejected: 1,
          errors: [
            {
              line: 17,
              meterId: 'MTR-WIND-001',
              field: 'kwh',
              code: 'NEGATIVE_VALUE',
              message: 'kwh must not be negative (got -1.5)',
            },
          ],
          errorsTruncated: false,
        },
      },
    },
  })
  async ingest(
    @Req() req: HttpRequest,
    @Res() res: HttpResponse,
    @Query() query: IngestQueryDto,
  ): Promise<void> {
    let outcome;
    try {
      const format = formatOf(req.headers['content-type']);
      const correction = query.correction === 'true';
      if (correction && !query.reason?.trim()) {
        throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: reason', {
          errors: [{ field: 'reason', message: 'a correction needs a reason' }],
        });
      }
      // signedBody: hashed while it streams, the request signature verified when it has ended.
      outcome = await this.ingestion.ingest(signedBody(req), {
        format,
        mode: query.mode ?? 'partial',
        correction,
        reason: correction ? query.reason!.trim() : null,
        identity: (req as HttpRequest & { principal?: Principal }).principal?.identity,
      });
    } catch (error) {
      if (!req.readableEnded) req.resume();
      throw error;
    }
    const counts = {
      accepted: outcome.accepted,
      unchanged: outcome.unchanged,
      corrected: outcome.corrected,
      rejected: outcome.rejected,
      errors: outcome.errors,
      errorsTruncated: outcome.errorsTruncated,
    };
    const lines = this.metrics.meterReadings;
    if (outcome.rolledBack) {
      lines.inc({ outcome: 'rolled_back' }, outcome.lines);
    } else {
      lines.inc({ outcome: 'accepted' }, outcome.accepted);
      lines.inc({ outcome: 'unchanged' }, outcome.unchanged);
      lines.inc({ outcome: 'corrected' }, outcome.corrected);
      lines.inc({ outcome: 'rejected' }, outcome.rejected);
    }
    if (outcome.rolledBack) {
      res.locals.problemCode = 'READINGS_REJECTED';
      const body = {
        ...problem(
          422,
          'READINGS_REJECTED',
          `${outcome.rejected} of ${outcome.lines} line(s) are bad; mode=atomic: nothing was stored`,
        ),
        instance: req.originalUrl?.split('?')[0],
        ...counts,
      };
      res.status(422).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
      return;
    }
    res.status(200).type('application/json').send(JSON.stringify(counts));
  }

  @Get('meters/:id/completeness')
  @Roles('admin', 'trading-center', 'energy-platform', 'regulator')
  @ApiOperation({
    operationId: 'getMeterCompleteness',
    summary: 'Which intervals of a month (Asia/Shanghai) are missing',
    description: 'Expected intervals of the month on the meter’s grid, present ones, and the gaps as ranges.',
  })
  @ApiParam({ name: 'id', description: 'The meter id', example: 'MTR-WIND-001' })
  @ApiOkResponse({ type: CompletenessDto })
  @ApiProblems(400, 404)
  completeness(@Param('id') id: string, @Query() query: CompletenessQueryDto): Promise<CompletenessDto> {
    return this.periods.completeness(checkMeterId(id), checkPeriod(query.period));
  }

  @Get('meters/:id/periods/:period')
  @Roles('admin', 'trading-center', 'energy-platform', 'regulator')
  @ApiOperation({
    operationId: 'getMeterPeriod',
    summary: 'A metering period: status, totals, Merkle root and ledger proof',
  })
  @ApiParam({ name: 'id', description: 'The meter id', example: 'MTR-WIND-001' })
  @ApiParam({
    name: 'period',
    description: 'The period: a month, YYYY-MM (China Standard Time)',
    example: '2026-10',
  })
  @ApiOkResponse({ type: PeriodDto })
  @ApiProblems(400, 404)
  getPeriod(@Param('id') id: string, @Param('period') period: string): Promise<PeriodDto> {
    return this.periods.get(checkMeterId(id), checkPeriod(period));
  }

  @Post('meters/:id/periods/:period/close')
  @HttpCode(200)
  @Roles('energy-platform')
  @ApiOperation({
    operationId: 'closeMeterPeriod',
    summary: 'Close a metering period: total and Merkle root committed on the ledger; readings frozen',
    description:
      'Refused while the month has not ended (PERIOD_NOT_ENDED) or intervals are missing (PERIOD_INCOMPLETE, ' +
      'naming the gaps). Submits metering:AttestMeterPeriod, or metering:CorrectMeterPeriod with the next ' +
      'version when the period was corrected after an earlier close.',
  })
  @ApiParam({ name: 'id', description: 'The meter id', example: 'MTR-WIND-001' })
  @ApiParam({
    name: 'period',
    description: 'The period: a month, YYYY-MM (China Standard Time)',
    example: '2026-10',
  })
  @ApiOkResponse({ type: CloseResultDto })
  @ApiProblems(400, 404, 409, 422, 502)
  close(
    @Param('id') id: string,
    @Param('period') period: string,
    @Body() body: ClosePeriodDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CloseResultDto> {
    return this.periods.close(principal, checkMeterId(id), checkPeriod(period), body?.reason);
  }
}
