import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import type { Principal } from '../auth/roles';
import { APP_CONFIG, AppConfig } from '../config/config';
import { ledgerProblem } from '../common/ledger-errors';
import { decodeCursor, encodeCursor } from '../common/pagination';
import { ProblemError } from '../common/problem';
import { IdempotencyService } from '../idempotency/idempotency.service';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { IdentityRef, LedgerPort, SubmittedTransaction, TransactionInfo } from '../ledger/port';
import { Projector } from '../projection/projector.service';

/**
 * What the lifecycle modules (units, certificates, listings, redemptions, exchanges, parameters) share:
 * submitting a chaincode write and waiting for its own event to be projected, evaluating a read, the ledger
 * proof of a resource, id checks and the Idempotency-Key wrapper.
 */

/** 1 certificate = 1 MWh = 1,000 kWh. */
export const KWH_PER_CERTIFICATE = 1000;

export const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const ID_MESSAGE = 'must be 1-64 characters of A-Z a-z 0-9 . _ -';
export const SERIAL_PATTERN = /^[0-9A-Z]{17}\d{4}(0[1-9]|1[0-2])\d{7}[WSHBGO][TN]$/;
export const SERIAL_MESSAGE =
  'must be a 32-character certificate serial number: 17-character project code, production month YYYYMM, ' +
  '7-digit sequence, electricity class (W S H B G O), trade class (T N)';
export const MONTH_PATTERN = /^\d{4}-(0[1-9]|1[0-2])$/;

/** A path parameter checked like a body field: 400 VALIDATION_FAILED naming it. */
export function checkParam(value: string, field: string, pattern: RegExp, message: string): string {
  if (!pattern.test(value)) {
    throw new ProblemError(400, 'VALIDATION_FAILED', `the request is invalid: ${field}`, {
      errors: [{ field, message: `${field} ${message}` }],
    });
  }
  return value;
}

export const checkId = (value: string, field = 'id') => checkParam(value, field, ID_PATTERN, ID_MESSAGE);
export const checkSerial = (value: string, field = 'serial') =>
  checkParam(value, field, SERIAL_PATTERN, SERIAL_MESSAGE);

@ApiSchema({
  description: 'The ledger transaction behind a resource: transaction id, block, validation code and time',
})
export class LedgerProof {
  @ApiProperty({
    description: 'Transaction id of the transaction that last changed the resource',
    example: '3f7c0b9e5d1a4c2b8e6f0a1d3c5b7e9f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b',
  })
  txId!: string;
  @ApiProperty({ description: 'Block the transaction was committed in', example: 12 })
  blockNumber!: number;
  @ApiProperty({ description: 'Fabric validation code of the transaction', example: 'VALID' })
  validationCode!: string;
  @ApiProperty({ description: 'Transaction time (RFC 3339)', example: '2026-11-21T08:00:00.000Z' })
  committedAt!: string;
}

export function proof(txId: string, blockNumber: number, committedAt: string): LedgerProof {
  return { txId, blockNumber: Number(blockNumber), validationCode: 'VALID', committedAt: iso(committedAt) };
}

/** RFC 3339 in UTC with milliseconds ('' stays '' → null by callers). */
export function iso(value: string | Date): string {
  return new Date(value).toISOString();
}

export function orNull(value: string | null | undefined): string | null {
  return value === undefined || value === null || value === '' ? null : value;
}

/** Chaincode request fields under their REST names. */
const REST_FIELD: Record<string, string> = {
  volume: 'certificates',
  listingId: 'id',
  redemptionId: 'id',
  exchangeId: 'id',
};

/**
 * A chaincode INVALID_ARGUMENT (`<field> must ...`) as a 400 naming the field as the REST API calls it, like
 * the gateway's own validation; any other error unchanged (the problem filter maps it).
 */
export function withFieldErrors(error: unknown): unknown {
  const problem = ledgerProblem(error);
  if (!problem || problem.code !== 'INVALID_ARGUMENT') return error;
  const match = /^([A-Za-z][A-Za-z0-9]*)((?:\[\d+\])?)(\.[A-Za-z][A-Za-z0-9]*)? (must|cannot|filters)/.exec(
    problem.detail,
  );
  if (!match) return problem;
  const [, head, index, tail] = match;
  const last = tail ? tail.slice(1) : undefined;
  const field = last
    ? `${head}${index.replace(/\[(\d+)\]/, '.$1')}.${REST_FIELD[last] ?? last}`
    : `${REST_FIELD[head] ?? head}${index.replace(/\[(\d+)\]/, '.$1')}`;
  return new ProblemError(problem.status, problem.code, problem.detail, {
    errors: [{ field, message: problem.detail }],
  });
}

export interface Written<T> {
  tx: SubmittedTransaction;
  /** What the chaincode function returned. */
  result: T;
}

@Injectable()
export class LedgerGateway {
  private readonly logger = new Logger('LedgerGateway');

  constructor(
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly projector: Projector,
    private readonly idempotency: IdempotencyService,
  ) {}

  /**
   * Submit `transaction` with one JSON argument and wait until its event is projected, so a GET right after
   * the answer sees the change. Ledger errors propagate (the problem filter maps them).
   */
  async submit<T>(identity: IdentityRef, transaction: string, request: unknown): Promise<Written<T>> {
    const tx = await this.ledger
      .submit({ identity, transaction, args: [JSON.stringify(request)] })
      .catch((error: unknown) => {
        throw withFieldErrors(error);
      });
    const projected = await this.projector.waitFor(tx.txId, tx.blockNumber, this.config.projectionWaitMs);
    if (!projected) {
      this.logger.warn(`tx ${tx.txId} committed but not projected within ${this.config.projectionWaitMs} ms`);
    }
    return { tx, result: JSON.parse(Buffer.from(tx.result).toString('utf8')) as T };
  }

  async evaluate<T>(identity: IdentityRef, transaction: string, ...args: string[]): Promise<T> {
    const bytes = await this.ledger.evaluate({ identity, transaction, args }).catch((error: unknown) => {
      throw withFieldErrors(error);
    });
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  }

  /** The ledger's record of a transaction (qscc), or undefined when the ledger does not know it. */
  transaction(txId: string): Promise<TransactionInfo | undefined> {
    return this.ledger.getTransaction(txId);
  }

  /** The block of a committed transaction (qscc), or null when the ledger does not know it. */
  async blockOf(txId: string): Promise<number | null> {
    return (await this.ledger.getTransaction(txId))?.blockNumber ?? null;
  }

  /** Run a creating POST under the api.md Idempotency-Key rules. */
  async idempotent<T>(
    principal: Principal,
    key: string | undefined,
    path: string,
    body: unknown,
    status: number,
    execute: () => Promise<T>,
  ): Promise<{ status: number; body: T; replayed: boolean }> {
    return this.idempotency.run({ apiKeyId: principal.keyId, key, method: 'POST', path, body }, async () => ({
      status,
      body: await execute(),
    }));
  }
}

export interface DocRow<T> {
  doc: T;
  block_number: string | number;
  [column: string]: unknown;
}

/**
 * One page of projected rows: `SELECT <columns> FROM <table> WHERE <filters> AND (<keys>) > cursor ORDER BY <keys>
 * LIMIT limit + 1`. Filters are `[sqlWithPlaceholder, value]`, the placeholder written `?`.
 */
export async function projectedPage<T>(
  query: (sql: string, params: unknown[]) => Promise<unknown>,
  options: {
    table: string;
    keys: string[];
    filters: Array<[string, unknown]>;
    limit: number;
    cursor: string | undefined;
    columns?: string;
  },
): Promise<{ rows: Array<DocRow<T>>; nextCursor: string | null }> {
  const params: unknown[] = [];
  const where: string[] = [];
  for (const [sql, value] of options.filters) {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  }
  const after = decodeCursor(options.cursor, options.keys);
  if (after) {
    const placeholders = options.keys.map((key) => {
      params.push(after[key]);
      return `$${params.length}`;
    });
    where.push(`(${options.keys.join(', ')}) > (${placeholders.join(', ')})`);
  }
  params.push(options.limit + 1);
  const sql =
    `SELECT ${options.columns ?? 'doc, block_number'}, ${options.keys.join(', ')} FROM ${options.table}` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY ${options.keys.join(', ')} LIMIT $${params.length}`;
  const rows = (await query(sql, params)) as Array<DocRow<T>>;
  const page = rows.slice(0, options.limit);
  const last = page[page.length - 1];
  return {
    rows: page,
    nextCursor:
      rows.length > options.limit && last
        ? encodeCursor(Object.fromEntries(options.keys.map((key) => [key, String(last[key]).trim()])))
        : null,
  };
}
