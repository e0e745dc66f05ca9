import { applyDecorators, Controller, Get, Headers, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/auth.decorators';
import type { Role } from '../auth/roles';
import { ServedBy, type Server } from '../organisation/served-by';
import type { HttpResponse } from '../common/http';
import { ApiProblems } from '../common/openapi';
import {
  ExportAuditLogQueryDto,
  ExportExchangesQueryDto,
  ExportIssuancesQueryDto,
  ExportListingsQueryDto,
  ExportLotsQueryDto,
  ExportMeterAttestationsQueryDto,
  ExportParticipantsQueryDto,
  ExportRedemptionsQueryDto,
  ExportTradesQueryDto,
  ExportUnitsQueryDto,
  ExportVouchersQueryDto,
} from './exports.dto';
import { answerFormat, ApiTabularOk, EXPORT_FORMATS, type ExportFormat } from './formats';
import {
  auditLogExport,
  exchangesExport,
  issuancesExport,
  listingsExport,
  lotsExport,
  meterAttestationsExport,
  participantsExport,
  redemptionsExport,
  tradesExport,
  unitsExport,
  vouchersExport,
} from './list-exports';
import { FETCH_ROWS, MAX_CONCURRENT_EXPORTS, RowStreamer } from './row-stream';

/** The documentation every export shares. */
function ExportOperation(
  operationId: string,
  list: string,
  order: string,
  server: Server = 'ANY',
  roles: Role[] = ['admin', 'regulator'],
) {
  return applyDecorators(
    Roles(...roles),
    ServedBy(server),
    ApiOperation({
      operationId,
      summary: `Every ${list} matching the filters, streamed as CSV or NDJSON`,
      description:
        `The rows the list endpoint pages through (same filters, ${order}), all of them in one streamed answer ` +
        `from one database snapshot: CSV with a header row (RFC 4180; nested values as JSON; text a spreadsheet ` +
        `would run as a formula gets a leading \`'\`) or NDJSON with the list's item on each line. Memory stays ` +
        `bounded whatever the size (${FETCH_ROWS} rows fetched at a time, the next once the client has taken them); ` +
        `at most ${MAX_CONCURRENT_EXPORTS} exports stream at once per gateway (503 EXPORTS_BUSY with Retry-After). ` +
        'Reads only.',
    }),
    ApiTabularOk(`The ${list}, streamed`),
    ApiProblems(400, 503),
  );
}

const format = (query: { format?: ExportFormat }, accept: string | undefined) =>
  answerFormat(query.format, accept, EXPORT_FORMATS, 'csv') as ExportFormat;

/** Exports (CSV, NDJSON) of the registry's lists for the regulator and the consortium admin. */
@ApiTags('exports')
@Controller('v1/exports')
export class ExportsController {
  constructor(private readonly streamer: RowStreamer) {}

  @Get('lots')
  @ExportOperation('exportLots', 'certificate lot', 'by id')
  lots(
    @Query() q: ExportLotsQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() res: HttpResponse,
  ) {
    return this.streamer.stream(res, format(q, accept), lotsExport(q));
  }

  @Get('issuances')
  @ExportOperation('exportIssuances', 'issuance', 'by id')
  issuances(
    @Query() q: ExportIssuancesQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() res: HttpResponse,
  ) {
    return this.streamer.stream(res, format(q, accept), issuancesExport(q));
  }

  @Get('trades')
  // The trade pipeline's rows are kept by the platform's gateway only.
  @ExportOperation('exportTrades', 'trade', 'by time received', 'PLATFORM_OPERATOR')
  trades(
    @Query() q: ExportTradesQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() res: HttpResponse,
  ) {
    return this.streamer.stream(res, format(q, accept), tradesExport(q));
  }

  @Get('vouchers')
  @ExportOperation('exportVouchers', 'voucher', 'by id')
  vouchers(
    @Query() q: ExportVouchersQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() res: HttpResponse,
  ) {
    return this.streamer.stream(res, format(q, accept), vouchersExport(q));
  }

  @Get('redemptions')
  @ExportOperation('exportRedemptions', 'redemption', 'by id')
  redemptions(
    @Query() q: ExportRedemptionsQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() res: HttpResponse,
  ) {
    return this.streamer.stream(res, format(q, accept), redemptionsExport(q));
  }

  @Get('exchanges')
  @ExportOperation('exportExchanges', 'exchange', 'by id')
  exchanges(
    @Query() q: ExportExchangesQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() res: HttpResponse,
  ) {
    return this.streamer.stream(res, format(q, accept), exchangesExport(q));
  }

  @Get('participants')
  @ExportOperation('exportParticipants', 'participant', 'by id')
  participants(
    @Query() q: ExportParticipantsQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() res: HttpResponse,
  ) {
    return this.streamer.stream(res, format(q, accept), participantsExport(q));
  }

  @Get('units')
  @ExportOperation('exportUnits', 'generation unit', 'by id')
  units(
    @Query() q: ExportUnitsQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() res: HttpResponse,
  ) {
    return this.streamer.stream(res, format(q, accept), unitsExport(q));
  }

  @Get('listings')
  @ExportOperation('exportListings', 'listing', 'by id')
  listings(
    @Query() q: ExportListingsQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() res: HttpResponse,
  ) {
    return this.streamer.stream(res, format(q, accept), listingsExport(q));
  }

  @Get('meter-attestations')
  @ExportOperation('exportMeterAttestations', 'meter attestation', 'by meter and month')
  meterAttestations(
    @Query() q: ExportMeterAttestationsQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() res: HttpResponse,
  ) {
    return this.streamer.stream(res, format(q, accept), meterAttestationsExport(q));
  }

  @Get('audit-log')
  // As the log itself (GET /v1/audit/log): regulators only, and this export is recorded in it too.
  @ExportOperation('exportRegulatorAuditLog', 'regulator audit log entry', 'oldest first', 'ANY', [
    'regulator',
  ])
  auditLog(
    @Query() q: ExportAuditLogQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() res: HttpResponse,
  ) {
    return this.streamer.stream(res, format(q, accept), auditLogExport(q));
  }
}
