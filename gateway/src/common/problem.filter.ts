import {
  ArgumentsHost,
  BadRequestException,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { HttpRequest as Request, HttpResponse as Response } from './http';
import { ledgerProblem } from './ledger-errors';
import { PROBLEM_CONTENT_TYPE, problem, Problem, ProblemError } from './problem';

const HTTP_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_CONTENT',
  429: 'TOO_MANY_REQUESTS',
};

/** Body-parser errors (malformed JSON, body too large) carry `type` and `status`. */
interface BodyParserError {
  type: string;
  status: number;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as BodyParserError).type === 'string' &&
    typeof (error as BodyParserError).status === 'number'
  );
}

/** Error codes of a database that is not there (connection refused, reset, shut down, starting up). */
const DATABASE_DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/** Whether `error` says PostgreSQL cannot be reached now (pg, or TypeORM wrapping pg). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; driverError?: { code?: unknown }; message?: unknown };
  const code = e.code ?? e.driverError?.code;
  if (typeof code === 'string' && DATABASE_DOWN_CODES.has(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|terminating connection due to administrator command|the database system is (starting up|shutting down)/i.test(
    String(e.message ?? ''),
  );
}

/** Turn any error into a problem document; never a stack trace. */
export function toProblem(
  error: unknown,
  logger: Logger,
): { problem: Problem; headers: Record<string, string> } {
  if (error instanceof ProblemError) {
    return {
      problem: problem(error.status, error.code, error.detail, error.extra.errors),
      headers: error.extra.headers ?? {},
    };
  }
  const fromLedger = ledgerProblem(error);
  if (fromLedger) {
    if (fromLedger.status >= 500) logger.warn(`ledger failure: ${(error as Error).message}`);
    return { problem: problem(fromLedger.status, fromLedger.code, fromLedger.detail), headers: {} };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    // Nest turns the JSON parser's SyntaxError into a bare BadRequestException (the gateway's own code
    // throws ProblemError, never that).
    if (
      status === 400 &&
      error.constructor === BadRequestException &&
      /JSON/.test((error as HttpException).message)
    ) {
      return { problem: problem(400, 'MALFORMED_JSON', 'the request body is not valid JSON'), headers: {} };
    }
    const code = HTTP_CODES[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST');
    const detail = status === 404 ? 'no such resource' : error.message;
    if (status >= 500) logger.error(error.stack ?? error.message);
    return { problem: problem(status, code, detail), headers: {} };
  }
  if (isDatabaseUnavailable(error)) {
    logger.warn(`database unavailable: ${(error as Error).message}`);
    return {
      problem: problem(
        503,
        'DATABASE_UNAVAILABLE',
        'the database is unavailable for the moment; retry shortly (a write with the same Idempotency-Key)',
      ),
      headers: { 'Retry-After': '5' },
    };
  }
  if (isBodyParserError(error) && error.status >= 400 && error.status < 500) {
    if (error.type === 'entity.parse.failed') {
      return { problem: problem(400, 'MALFORMED_JSON', 'the request body is not valid JSON'), headers: {} };
    }
    if (error.type === 'entity.too.large') {
      return { problem: problem(413, 'PAYLOAD_TOO_LARGE', 'the request body is too large'), headers: {} };
    }
    return {
      problem: problem(error.status, HTTP_CODES[error.status] ?? 'BAD_REQUEST', error.type),
      headers: {},
    };
  }
  logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return {
    problem: problem(HttpStatus.INTERNAL_SERVER_ERROR, 'INTERNAL_ERROR', 'an unexpected error occurred'),
    headers: {},
  };
}

export function sendProblem(
  res: Response,
  req: Request,
  body: Problem,
  headers: Record<string, string> = {},
) {
  const requestId = (req as Request & { id?: unknown }).id;
  const full: Problem = {
    ...body,
    instance: req.originalUrl?.split('?')[0],
    ...(requestId !== undefined ? { requestId: String(requestId) } : {}),
  };
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  // For the metrics middleware: refusals counted by their stable code (signatures, rate limits, rules, …).
  res.locals.problemCode = body.code;
  res.status(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(full));
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    const { problem: body, headers } = toProblem(error, this.logger);
    if (res.headersSent) {
      this.logger.error(`error after the response was sent: ${body.code}`);
      return;
    }
    sendProblem(res, req, body, headers);
  }
}
