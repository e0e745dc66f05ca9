import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/auth.decorators';
import { ServedBy } from '../organisation/served-by';
import type { HttpResponse } from '../common/http';
import { ApiProblems } from '../common/openapi';
import { ANSWER_FORMATS, answerFormat, ApiTabularOk, type AnswerFormat } from '../exports/formats';
import { RowStreamer, type TabularExport } from '../exports/row-stream';
import {
  CertificateStatisticsDto,
  CertificateStatisticsQueryDto,
  GreenConsumptionDto,
  GreenConsumptionQueryDto,
  RejectedTradesDto,
  RejectedTradesQueryDto,
} from './statistics.dto';
import { MAX_JSON_ROWS, StatisticsService } from './statistics.service';

const RANGE_NOTE =
  'The range is `[from, to)`: months and days are Asia/Shanghai, date-times carry their offset; a malformed ' +
  'bound is 400 VALIDATION_FAILED naming it, `to` not after `from` 400 DATE_RANGE_INVALID naming `to`. ' +
  'Computed from the projected tables when asked (no cache). `format=csv|ndjson` (or `Accept: text/csv`, ' +
  '`application/x-ndjson`) streams the rows instead of the JSON document.';

/** Statistics for the regulator (监管统计) and the consortium admin, read-only. */
@ApiTags('statistics')
@Controller('v1/statistics')
export class StatisticsController {
  constructor(
    private readonly statistics: StatisticsService,
    private readonly streamer: RowStreamer,
  ) {}

  @Get('certificates')
  @Roles('admin', 'regulator')
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'getCertificateStatistics',
    summary: 'Certificates issued, traded, redeemed, exchanged, expired and withdrawn in a range, grouped',
    description:
      'Certificate counts (1 certificate = 1 MWh) of the events in the range, grouped by any combination of ' +
      '`month`, `province`, `technology` and `participant` (`groupBy=month,province`). Issued: issuances. ' +
      'Traded: sold from listings (绿证售卖), moved by attested trades, transferred; under the seller. Redeemed, ' +
      'exchanged, expired, withdrawn: by the time the certificates reached that state; under their holder. ' +
      `A JSON answer holds at most ${MAX_JSON_ROWS} rows (422 STATISTIC_TOO_LARGE beyond: stream them). ` +
      RANGE_NOTE,
  })
  @ApiTabularOk('The statistic (JSON), or its rows streamed as CSV or NDJSON', CertificateStatisticsDto)
  @ApiProblems(400, 422, 503)
  async certificates(
    @Query() query: CertificateStatisticsQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() res: HttpResponse,
  ): Promise<void> {
    await this.answer(res, query.format, accept, {
      json: () => this.statistics.certificates(query),
      rows: () => this.statistics.certificatesExport(query),
    });
  }

  @Get('green-consumption')
  @Roles('admin', 'regulator')
  @ServedBy('ANY')
  @ApiOperation({
    operationId: 'getGreenConsumptionStatistics',
    summary: 'Green consumption attested per consumer in a range (vouchers, kWh)',
    description:
      'Per consumer: the vouchers (绿电凭证) created by the trades attested in the range, their kWh (revoked ' +
      'ones apart), the kWh claimed as consumption evidence and the kWh revoked since. `consumer` narrows to ' +
      `one. A JSON answer holds at most ${MAX_JSON_ROWS} rows. ` +
      RANGE_NOTE,
  })
  @ApiTabularOk('The statistic (JSON), or its rows streamed as CSV or NDJSON', GreenConsumptionDto)
  @ApiProblems(400, 422, 503)
  async greenConsumption(
    @Query() query: GreenConsumptionQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() res: HttpResponse,
  ): Promise<void> {
    await this.answer(res, query.format, accept, {
      json: () => this.statistics.greenConsumption(query),
      rows: () => this.statistics.greenConsumptionExport(query),
    });
  }

  @Get('rejected-trades')
  @Roles('admin', 'regulator')
  @ServedBy('PLATFORM_OPERATOR')
  @ApiOperation({
    operationId: 'getRejectedTradeStatistics',
    summary: 'Trades rejected in a range by failed check (存证校验)',
    description:
      'Trades rejected in the range (by the time they were rejected), per failed check with their count and ' +
      'kWh: a trade counts under each check it failed; one refused by the ledger at attestation after passing ' +
      'every check counts under `ledger` with the refusal’s code. `totals` counts each trade once. ' +
      RANGE_NOTE,
  })
  @ApiTabularOk('The statistic (JSON), or its rows streamed as CSV or NDJSON', RejectedTradesDto)
  @ApiProblems(400, 503)
  async rejectedTrades(
    @Query() query: RejectedTradesQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() res: HttpResponse,
  ): Promise<void> {
    await this.answer(res, query.format, accept, {
      json: () => this.statistics.rejectedTrades(query),
      rows: () => this.statistics.rejectedTradesExport(query),
    });
  }

  /** The statistic as a JSON document, or its rows streamed, as `format` (or else Accept) asks. */
  private async answer<Row>(
    res: HttpResponse,
    format: AnswerFormat | undefined,
    accept: string | undefined,
    statistic: { json: () => Promise<object>; rows: () => TabularExport<Row> },
  ): Promise<void> {
    const chosen = answerFormat(format, accept, ANSWER_FORMATS, 'json');
    if (chosen !== 'json') return this.streamer.stream(res, chosen, statistic.rows());
    const body = await statistic.json();
    res.status(200).type('application/json; charset=utf-8').send(JSON.stringify(body));
  }
}
