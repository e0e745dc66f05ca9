import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { ProblemError } from '../common/problem';
import type { TabularExport } from '../exports/row-stream';
import {
  certificateStatisticsSql,
  DIMENSIONS,
  greenConsumptionSql,
  MEASURES,
  rejectedTotalsSql,
  rejectedTradesSql,
  type Dimension,
} from './certificate-statistics';
import { parseDateRange, type DateRange } from './date-range';
import type {
  CertificateStatisticsDto,
  CertificateStatisticsQueryDto,
  CertificateStatisticsRowDto,
  GreenConsumptionDto,
  GreenConsumptionQueryDto,
  GreenConsumptionRowDto,
  RejectedTradesDto,
  RejectedTradesQueryDto,
  RejectedTradesRowDto,
} from './statistics.dto';

/** Rows a JSON answer holds at most; more are streamed (`format=csv|ndjson`). */
export const MAX_JSON_ROWS = 10_000;

type Raw = Record<string, string | null>;

const num = (value: string | null | undefined) => Number(value ?? 0);

function toCertificateRow(groupBy: Dimension[]) {
  return (raw: Raw): CertificateStatisticsRowDto => {
    const row: CertificateStatisticsRowDto = {} as CertificateStatisticsRowDto;
    for (const d of groupBy) {
      if (d === 'participant') {
        row.participant = raw.participant;
        row.participantName = raw.participant_name;
      } else if (d === 'month') row.month = raw.month ?? undefined;
      else row[d] = raw[d];
    }
    for (const m of MEASURES) row[m] = num(raw[m]);
    return row;
  };
}

function toGreenRow(raw: Raw): GreenConsumptionRowDto {
  return {
    consumer: raw.consumer ?? '',
    consumerName: raw.consumer_name,
    region: raw.region,
    vouchers: num(raw.vouchers),
    greenKwh: num(raw.green_kwh),
    claimedKwh: num(raw.claimed_kwh),
    revokedKwh: num(raw.revoked_kwh),
  };
}

function toRejectedRow(raw: Raw): RejectedTradesRowDto {
  return {
    check: raw.check_name ?? '',
    code: raw.code,
    trades: num(raw.trades),
    volumeKwh: num(raw.volume_kwh),
  };
}

function tooLarge(): ProblemError {
  const message =
    `more than ${MAX_JSON_ROWS} rows: stream them with format=csv or format=ndjson, ` +
    'or group by fewer dimensions or a shorter range';
  return new ProblemError(422, 'STATISTIC_TOO_LARGE', message, { errors: [{ field: 'format', message }] });
}

/** `groupBy` as a list of dimensions, each once, in the order given (default: month). */
export function dimensionsOf(groupBy: string | undefined): Dimension[] {
  if (groupBy === undefined) return ['month'];
  return [...new Set(groupBy.split(','))].filter((d): d is Dimension =>
    (DIMENSIONS as readonly string[]).includes(d),
  );
}

/**
 * The regulator's statistics (监管统计), computed when asked from the projected tables (no cache, so an answer is
 * as fresh as the projection), each measure read through an index on its time column.
 */
@Injectable()
export class StatisticsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private async rows(sql: { text: string; params: unknown[] }): Promise<Raw[]> {
    return (await this.dataSource.query(sql.text, sql.params)) as Raw[];
  }

  async certificates(query: CertificateStatisticsQueryDto): Promise<CertificateStatisticsDto> {
    const range = parseDateRange(query.from, query.to);
    const groupBy = dimensionsOf(query.groupBy);
    const raws = await this.rows(certificateStatisticsSql(range, groupBy, MAX_JSON_ROWS + 1));
    if (raws.length > MAX_JSON_ROWS) throw tooLarge();
    const rows = raws.map(toCertificateRow(groupBy));
    const totals = Object.fromEntries(
      MEASURES.map((m) => [m, rows.reduce((sum, row) => sum + row[m], 0)]),
    ) as unknown as CertificateStatisticsDto['totals'];
    return { ...bounds(range), groupBy, rows, totals };
  }

  certificatesExport(query: CertificateStatisticsQueryDto): TabularExport<Raw> {
    const range = parseDateRange(query.from, query.to);
    const groupBy = dimensionsOf(query.groupBy);
    const dims = groupBy.flatMap((d) => (d === 'participant' ? ['participant', 'participantName'] : [d]));
    return {
      name: `certificate-statistics-${groupBy.join('-')}`,
      query: certificateStatisticsSql(range, groupBy),
      toItem: toCertificateRow(groupBy),
      columns: [...dims, ...MEASURES],
    };
  }

  async greenConsumption(query: GreenConsumptionQueryDto): Promise<GreenConsumptionDto> {
    const range = parseDateRange(query.from, query.to);
    const raws = await this.rows(greenConsumptionSql(range, query.consumer, MAX_JSON_ROWS + 1));
    if (raws.length > MAX_JSON_ROWS) throw tooLarge();
    const rows = raws.map(toGreenRow);
    const sum = (key: 'vouchers' | 'greenKwh' | 'claimedKwh' | 'revokedKwh') =>
      rows.reduce((total, row) => total + row[key], 0);
    return {
      ...bounds(range),
      rows,
      totals: {
        vouchers: sum('vouchers'),
        greenKwh: sum('greenKwh'),
        claimedKwh: sum('claimedKwh'),
        revokedKwh: sum('revokedKwh'),
      },
    };
  }

  greenConsumptionExport(query: GreenConsumptionQueryDto): TabularExport<Raw> {
    return {
      name: 'green-consumption',
      query: greenConsumptionSql(parseDateRange(query.from, query.to), query.consumer),
      toItem: toGreenRow,
      columns: ['consumer', 'consumerName', 'region', 'vouchers', 'greenKwh', 'claimedKwh', 'revokedKwh'],
    };
  }

  async rejectedTrades(query: RejectedTradesQueryDto): Promise<RejectedTradesDto> {
    const range = parseDateRange(query.from, query.to);
    const [raws, totals] = await Promise.all([
      this.rows(rejectedTradesSql(range)),
      this.rows(rejectedTotalsSql(range)),
    ]);
    return {
      ...bounds(range),
      rows: raws.map(toRejectedRow),
      totals: { trades: num(totals[0]?.trades), volumeKwh: num(totals[0]?.volume_kwh) },
    };
  }

  rejectedTradesExport(query: RejectedTradesQueryDto): TabularExport<Raw> {
    return {
      name: 'rejected-trades',
      query: rejectedTradesSql(parseDateRange(query.from, query.to)),
      toItem: toRejectedRow,
      columns: ['check', 'code', 'trades', 'volumeKwh'],
    };
  }
}

function bounds(range: DateRange): { from: string; to: string } {
  return { from: range.from.toISOString(), to: range.to.toISOString() };
}
