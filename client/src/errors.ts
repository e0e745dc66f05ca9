/** One validation error of a problem answer (`errors` in RFC 9457 terms of docs/api.md). */
export interface FieldError {
  /** The field at fault (`region`, `trade.lots`), when the gateway names one. */
  field?: string;
  message: string;
  /** Ingestion line errors also carry `line`, `meterId` and `code`. */
  [member: string]: unknown;
}

/** An RFC 9457 problem document as the gateway answers it (application/problem+json). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  requestId?: string;
  errors?: FieldError[];
  /** Some problems carry more members (READINGS_REJECTED: accepted, rejected, errorsTruncated). */
  [member: string]: unknown;
}

/**
 * The gateway refused a request: the problem answer as a typed error. `code` is the stable UPPER_SNAKE code to
 * branch on (`SIGNATURE_INVALID`, `LOT_NOT_OWNED`, `IDEMPOTENCY_KEY_REUSED`); `errors` names each invalid field.
 * An answer that is not a problem document (a proxy's 502 page) gets the code `HTTP_<status>`.
 */
export class GecApiError extends Error {
  override readonly name = 'GecApiError';
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly type: string;
  readonly errors: FieldError[];
  readonly requestId?: string;
  /** The whole problem document (or a synthesized one for an answer that was not a problem). */
  readonly problem: Problem;
  readonly operationId: string;
  /** The Idempotency-Key the request was sent with: retry later with the same key to stay at-most-once. */
  readonly idempotencyKey?: string;
  /** Milliseconds the gateway asked to wait (Retry-After), when it did. */
  readonly retryAfterMs?: number;

  constructor(
    problem: Problem,
    context: { operationId: string; idempotencyKey?: string; retryAfterMs?: number },
  ) {
    super(`${context.operationId}: ${problem.status} ${problem.code}: ${problem.detail}`);
    this.problem = problem;
    this.status = problem.status;
    this.code = problem.code;
    this.title = problem.title;
    this.detail = problem.detail;
    this.type = problem.type;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.requestId = problem.requestId;
    this.operationId = context.operationId;
    this.idempotencyKey = context.idempotencyKey;
    this.retryAfterMs = context.retryAfterMs;
  }

  /** The fields named by the validation errors, in order (`['region']`). */
  get fields(): string[] {
    return this.errors.map((error) => error.field).filter((field): field is string => field !== undefined);
  }
}

/** The request got no answer (connection refused or reset, timeout) even after the retries it was allowed. */
export class GecNetworkError extends Error {
  override readonly name = 'GecNetworkError';
  readonly operationId: string;
  /** Send the request again later with this key: the gateway runs a keyed write at most once. */
  readonly idempotencyKey?: string;
  readonly attempts: number;

  constructor(cause: unknown, context: { operationId: string; idempotencyKey?: string; attempts: number }) {
    const reason = cause instanceof Error ? describe(cause) : String(cause);
    super(`${context.operationId}: no answer after ${context.attempts} attempt(s): ${reason}`, { cause });
    this.operationId = context.operationId;
    this.idempotencyKey = context.idempotencyKey;
    this.attempts = context.attempts;
  }
}

/** A trade was not final (COMMITTED or REJECTED) within the time waitForTrade was given. */
export class GecTimeoutError extends Error {
  override readonly name = 'GecTimeoutError';
  constructor(
    message: string,
    /** The last state seen. */
    readonly lastState?: string,
  ) {
    super(message);
  }
}

/** undici says `fetch failed` and puts the reason (ECONNRESET, ECONNREFUSED, a timeout) in `cause`. */
function describe(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return `${error.message} (${typeof code === 'string' ? `${code}: ` : ''}${cause.message})`;
  }
  return error.message;
}
