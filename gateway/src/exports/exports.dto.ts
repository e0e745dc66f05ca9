import { ApiPropertyOptional, IntersectionType, OmitType } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { AuditLogQueryDto } from '../audit/audit-log.dto';
import { ListIssuancesQueryDto, ListLotsQueryDto } from '../certificates/certificates.dto';
import { ListExchangesQueryDto } from '../exchanges/exchanges.controller';
import { ListListingsQueryDto } from '../listings/listings.dto';
import { ListAttestationsQueryDto } from '../meter-attestations/meter-attestations';
import { ListParticipantsQueryDto } from '../participants/participants.dto';
import { ListRedemptionsQueryDto } from '../redemptions/redemptions.controller';
import { ListTradesQueryDto } from '../trades/trades.dto';
import { ListUnitsQueryDto } from '../units/units.dto';
import { ListVouchersQueryDto } from '../vouchers/vouchers.dto';
import { EXPORT_FORMATS, type ExportFormat } from './formats';

export class ExportFormatQueryDto {
  @ApiPropertyOptional({
    description:
      'CSV (RFC 4180, UTF-8, a header row; the default) or NDJSON (each line the list’s item); without it the ' +
      '`Accept` header chooses (`text/csv`, `application/x-ndjson`)',
    enum: EXPORT_FORMATS,
    example: 'csv',
  })
  @IsOptional()
  @IsIn(EXPORT_FORMATS, { message: `format must be one of ${EXPORT_FORMATS.join(', ')}` })
  format?: ExportFormat;
}

/** The list's filters, without its paging: an export is every row that matches. */
const PAGING = ['limit', 'cursor'] as const;

export class ExportLotsQueryDto extends IntersectionType(
  OmitType(ListLotsQueryDto, [...PAGING, 'serial'] as const),
  ExportFormatQueryDto,
) {}
export class ExportIssuancesQueryDto extends IntersectionType(
  OmitType(ListIssuancesQueryDto, PAGING),
  ExportFormatQueryDto,
) {}
export class ExportTradesQueryDto extends IntersectionType(
  OmitType(ListTradesQueryDto, PAGING),
  ExportFormatQueryDto,
) {}
export class ExportVouchersQueryDto extends IntersectionType(
  OmitType(ListVouchersQueryDto, PAGING),
  ExportFormatQueryDto,
) {}
export class ExportRedemptionsQueryDto extends IntersectionType(
  OmitType(ListRedemptionsQueryDto, PAGING),
  ExportFormatQueryDto,
) {}
export class ExportExchangesQueryDto extends IntersectionType(
  OmitType(ListExchangesQueryDto, PAGING),
  ExportFormatQueryDto,
) {}
export class ExportParticipantsQueryDto extends IntersectionType(
  OmitType(ListParticipantsQueryDto, PAGING),
  ExportFormatQueryDto,
) {}
export class ExportUnitsQueryDto extends IntersectionType(
  OmitType(ListUnitsQueryDto, PAGING),
  ExportFormatQueryDto,
) {}
export class ExportListingsQueryDto extends IntersectionType(
  OmitType(ListListingsQueryDto, PAGING),
  ExportFormatQueryDto,
) {}
export class ExportMeterAttestationsQueryDto extends IntersectionType(
  OmitType(ListAttestationsQueryDto, PAGING),
  ExportFormatQueryDto,
) {}
export class ExportAuditLogQueryDto extends IntersectionType(
  OmitType(AuditLogQueryDto, PAGING),
  ExportFormatQueryDto,
) {}
