import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { decodeCursor, DEFAULT_LIMIT, encodeCursor } from '../common/pagination';
import type { AuditLogEntryDto, AuditLogPageDto, AuditLogQueryDto } from './audit-log.dto';

interface Row {
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
    if (query.from) add('received_at >= ?', new Date(query.from));
    if (query.to) add('received_at < ?', new Date(query.to));
    if (query.apiKeyId) add('api_key_id = ?', query.apiKeyId);
    if (query.status !== undefined) add('status = ?', query.status);
    params.push(limit + 1);
    const rows = (await this.dataSource.query(
      `SELECT id::text AS id, received_at, answered_at, request_id, api_key_id, role, acts_for, method, path,
              operation_id, status, problem_code
         FROM regulator_audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY regulator_audit_log.id LIMIT $${params.length}`,
      params,
    )) as Row[];
    const page = rows.slice(0, limit);
    return {
      items: page.map(toEntry),
      nextCursor: rows.length > limit ? encodeCursor({ id: page[page.length - 1].id }) : null,
    };
  }
}

function toEntry(row: Row): AuditLogEntryDto {
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
