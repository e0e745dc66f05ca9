import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { Principal } from '../auth/roles';
import { redactedUrl } from '../common/logging';
import type { MetricsService } from '../metrics/metrics.service';

/** The role whose every request is recorded. */
export const AUDITED_ROLE = 'regulator';

/** Set by the API-key guard on the request: the operationId of the route it let through or refused. */
export interface OperationTagged {
  principal?: Principal;
  operationId?: string;
  id?: unknown;
}

export interface AuditRecord {
  receivedAt: Date;
  answeredAt: Date;
  requestId: string;
  apiKeyId: string;
  role: string;
  actsFor: string | null;
  method: string;
  path: string;
  operationId: string | null;
  status: number;
  problemCode: string | null;
}

const INSERT = `
  INSERT INTO regulator_audit_log
    (received_at, answered_at, request_id, api_key_id, role, acts_for, method, path, operation_id, status, problem_code)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`;

/** The `code` of a problem document being sent, if the answer is one. */
function problemCode(res: ServerResponse, chunk: unknown): string | null {
  const type = String(res.getHeader('content-type') ?? '');
  if (!type.startsWith('application/problem+json') || chunk === undefined || chunk === null) return null;
  try {
    const text = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
    const code = (JSON.parse(text) as { code?: unknown }).code;
    return typeof code === 'string' ? code.slice(0, 64) : null;
  } catch {
    return null;
  }
}

/**
 * Records every request made with a regulator's key in `regulator_audit_log`, **before** the answer's last byte
 * is sent: the response's `end` waits for the INSERT to commit, so a regulator who got an answer has a record of
 * it. When the INSERT fails (database down, pool exhausted: at most the pool's 5 s wait), the answer is sent
 * anyway and the record is written to the log at error level with every field (`regulator audit record not
 * stored`): recording never breaks a request, and a lost row is never silent. Requests without a key, or with a
 * key that is not a regulator's, are not recorded here (the request log names them).
 */
export function auditLogMiddleware(dataSource: DataSource, metrics?: MetricsService) {
  const logger = new Logger('AuditLog');
  return (req: IncomingMessage & OperationTagged, res: ServerResponse, next: () => void): void => {
    const receivedAt = new Date();
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    let ended = false;
    (res as { end: (...args: unknown[]) => ServerResponse }).end = (...args: unknown[]): ServerResponse => {
      const principal = req.principal;
      if (ended || !principal || principal.role !== AUDITED_ROLE) return end(...args);
      ended = true;
      const record: AuditRecord = {
        receivedAt,
        answeredAt: new Date(),
        requestId: typeof req.id === 'string' ? req.id : String(res.getHeader('x-request-id') ?? ''),
        apiKeyId: principal.keyId,
        role: principal.role,
        actsFor: principal.actsFor || null,
        method: req.method ?? 'GET',
        path: redactedUrl((req as { originalUrl?: string }).originalUrl ?? req.url ?? ''),
        operationId: req.operationId ?? null,
        status: res.statusCode,
        problemCode: problemCode(res, typeof args[0] === 'function' ? undefined : args[0]),
      };
      dataSource
        .query(INSERT, [
          record.receivedAt,
          record.answeredAt,
          record.requestId.slice(0, 128),
          record.apiKeyId,
          record.role,
          record.actsFor,
          record.method.slice(0, 8),
          record.path,
          record.operationId,
          record.status,
          record.problemCode,
        ])
        .then(
          () => metrics?.auditRecords.inc({ outcome: 'stored' }),
          (error: unknown) => {
            metrics?.auditRecords.inc({ outcome: 'failed' });
            logger.error({ msg: 'regulator audit record not stored', record, error: String(error) });
          },
        )
        .finally(() => end(...args));
      return res;
    };
    next();
  };
}
