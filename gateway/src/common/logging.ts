import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoggerService } from '@nestjs/common';
import type { Params } from 'nestjs-pino';
import type { Principal } from '../auth/roles';
import type { AppConfig } from '../config/config';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id: the caller's X-Request-Id when it is sane, else a new UUID; echoed in the response. */
export function assignRequestId(req: IncomingMessage & { id?: unknown }, res: ServerResponse): string {
  if (typeof req.id === 'string') return req.id;
  const header = req.headers['x-request-id'];
  const id = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
  req.id = id;
  res.setHeader('X-Request-Id', id);
  return id;
}

/** Express middleware, installed first so even a body the JSON parser refuses gets a request id. */
export function requestIdMiddleware(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  assignRequestId(req, res);
  next();
}

/** Query parameters whose value is a credential whatever the endpoint: a key pasted into a URL is still a key. */
const SECRET_PARAMETER =
  /^(x-)?(api[-_]?key|key|token|access[-_]?token|secret|password|signature|sig|auth(orization)?)$/i;
/** An API key of ours anywhere in the URL (path or query, encoded or not). */
const API_KEY_TEXT = /gec_[A-Za-z0-9_-]{8,}/g;

/** The request target as logged: credential-named query values and anything shaped like an API key redacted. */
export function redactedUrl(url: string): string {
  const at = url.indexOf('?');
  const path = (at < 0 ? url : url.slice(0, at)).replace(API_KEY_TEXT, 'gec_[redacted]');
  if (at < 0) return path;
  const query = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // A malformed escape is logged as sent (minus key-shaped text).
      }
      if (eq >= 0 && SECRET_PARAMETER.test(name)) return `${rawName}=[redacted]`;
      return pair.replace(API_KEY_TEXT, 'gec_[redacted]');
    })
    .join('&');
  return `${path}?${query}`;
}

/** Who called, for the audit trail: the API key's id, role and whom it acts for (never the key itself). */
export function callerOf(req: IncomingMessage): Record<string, string> {
  const principal = (req as IncomingMessage & { principal?: Principal }).principal;
  return principal ? { apiKeyId: principal.keyId, role: principal.role, actsFor: principal.actsFor } : {};
}

/**
 * Nest's own start-up lines (a module loaded, every route mapped: about a hundred) at debug, not info: at info
 * the start-up log says what matters (the ledger, the database, the address, the first admin key's file).
 */
const FRAMEWORK_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

export class QuietFrameworkLogger implements LoggerService {
  constructor(private readonly logger: LoggerService) {}

  log(message: unknown, ...params: unknown[]): void {
    const context = params[params.length - 1];
    if (typeof context === 'string' && FRAMEWORK_CONTEXTS.has(context)) {
      this.logger.debug?.(message, ...params);
      return;
    }
    this.logger.log(message, ...params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.logger.error(message, ...params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.logger.warn(message, ...params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.logger.debug?.(message, ...params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.logger.verbose?.(message, ...params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    (this.logger.fatal ?? this.logger.error).call(this.logger, message, ...params);
  }
}

/**
 * Structured JSON logs (pino) with a request id per request: the caller's X-Request-Id when it is sane,
 * otherwise a new UUID, echoed in the X-Request-Id response header and in problem documents.
 * Request headers are never logged (they carry API keys); bodies are never logged (they carry credit codes); a
 * credential in the URL is redacted. Each request's line names the API key (id, role, whom it acts for).
 */
export function loggerParams(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      base: { service: 'gec-gateway' },
      messageKey: 'msg',
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      genReqId: (req: IncomingMessage, res: ServerResponse) => assignRequestId(req, res),
      serializers: {
        req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({
          id: req.id,
          method: req.method,
          url: redactedUrl(req.url),
          remoteAddress: req.remoteAddress,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      redact: {
        paths: ['req.headers', 'res.headers', '*.creditCode', '*.key', '*.password'],
        censor: '[redacted]',
      },
      customProps: (req: IncomingMessage) => callerOf(req),
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
        error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      autoLogging: { ignore: (req: IncomingMessage) => req.url === '/health' || req.url === '/metrics' },
    },
  };
}
