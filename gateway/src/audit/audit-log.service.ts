import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { decodeCursor, DEFAULT_LIMIT, encodeCursor } from '../common/pagination';
import type { AuditLogEntryDto, AuditLogPageDto, AuditLogQueryDto } from './audit-log.dto';

/** A row of `regulator_audit_log` as `AUDIT_LOG_SELECT` reads it. */
export interface AuditLogRow {
  id: string;
  received_at: Date;
  answered_at: Date;
  request_id: string;
  api_key_id: string;
  role: string;
  acts_for: string | null;
  method: string;
  path: string;
  operation_id: string | null;
  status: number;
  problem_code: string | null;
}

/** The log's columns, as `toAuditLogEntry` reads them: the list's and the export's. */
export const AUDIT_LOG_SELECT = `SELECT id::text AS id, received_at, answered_at, request_id, api_key_id, role, acts_for,
       method, path, operation_id, status, problem_code FROM regulator_audit_log`;

/** The list's filters, which the export shares: `[condition with ?, value]` for each one given. */
export function auditLogFilters(query: {
  from?: string;
  to?: string;
  apiKeyId?: string;
  status?: number;
}): Array<[string, unknown]> {
  const filters: Array<[string, unknown]> = [];
  if (query.from) filters.push(['received_at >= ?', new Date(query.from)]);
  if (query.to) filters.push(['received_at < ?', new Date(query.to)]);
  if (query.apiKeyId) filters.push(['api_key_id = ?', query.apiKeyId]);
  if (query.status !== undefined) filters.push(['status = ?', query.status]);
  return filters;
}

/** Reads the regulator audit log (written by `auditLogMiddleware`; the table refuses UPDATE and DELETE). */
@Injectable()
export class AuditLogService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async list(query: AuditLogQueryDto): Promise<AuditLogPageDto> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    const after = decodeCursor(query.cursor, ['id']);
    if (after) add('id > ?::bigint', after.id);
    for (const [condition, value] of auditLogFilters(query)) add(condition, value);
    params.push(limit + 1);
    const rows = (await this.dataSource.query(
      `${AUDIT_LOG_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY regulator_audit_log.id LIMIT $${params.length}`,
      params,
    )) as AuditLogRow[];
    const page = rows.slice(0, limit);
    return {
      items: page.map(toAuditLogEntry),
      nextCursor: rows.length > limit ? encodeCursor({ id: page[page.length - 1].id }) : null,
    };
  }
}

/** A row of the log as the list's item. */
export function toAuditLogEntry(row: AuditLogRow): AuditLogEntryDto {
  return {
    id: row.id,
    receivedAt: new Date(row.received_at).toISOString(),
    answeredAt: new Date(row.answered_at).toISOString(),
    requestId: row.request_id,
    apiKeyId: row.api_key_id,
    role: row.role,
    actsFor: row.acts_for,
    method: row.method,
    path: row.path,
    operationId: row.operation_id,
    status: Number(row.status),
    problemCode: row.problem_code,
  };
}
