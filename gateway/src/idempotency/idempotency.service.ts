import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import canonicalize from 'canonicalize';
import { DataSource } from 'typeorm';
import { ledgerProblem } from '../common/ledger-errors';
import { FieldError, ProblemError } from '../common/problem';
import { InstanceLiveness } from '../database/instance-liveness';
import { JournaledWrite, withWriteJournal } from '../ledger/write-journal';
import { IdempotencyEntity } from './idempotency.entity';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** Test hook (fault tests): pause this long after the work is done, before its answer is stored. 0 in production. */
const COMPLETE_DELAY_MS = Number.parseInt(process.env.IDEMPOTENCY_COMPLETE_DELAY_MS ?? '', 10) || 0;

/**
 * Answers that say "nothing was decided, try again": not remembered under the key, so a retry runs again. A
 * conflict with a concurrent change (LEDGER_CONFLICT), a rate limit, the key in use, and server-side failures.
 */
function isRetryable(problem: ProblemError | undefined): boolean {
  return (
    !problem ||
    problem.status >= 500 ||
    problem.status === 429 ||
    problem.code === 'LEDGER_CONFLICT' ||
    problem.code === 'IDEMPOTENCY_KEY_IN_PROGRESS'
  );
}

export interface IdempotentResult<T> {
  status: number;
  body: T;
  replayed: boolean;
}

interface StoredProblem {
  problem: { status: number; code: string; detail: string; errors?: FieldError[] };
}

/**
 * `Idempotency-Key` on POSTs that create something (api.md): same key and same body → the first answer
 * again; same key, other body → 409 IDEMPOTENCY_KEY_REUSED; the same key still running → 409
 * IDEMPOTENCY_KEY_IN_PROGRESS. Keys are scoped to the API key. Answers that decide the request (success, a
 * refusal for the client's input) are kept and replayed; retryable ones (see `isRetryable`) are not.
 *
 * A write runs at most once, even across a crash: every ledger transaction the request submits has its id
 * recorded in the key's row first (`ledger_writes`, through the write journal), and a retry resolves those ids
 * on the ledger before anything is sent again (`JournaledLedger`). The row names the instance running the
 * request (`owner`); a retry takes over at once when that instance is gone (`InstanceLiveness`), never while it
 * runs.
 *
 * The request fingerprint is a SHA-256 of the canonical (RFC 8785) body; nothing else of the body is kept.
 */
@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger('Idempotency');
  /** Keys this instance is running now (`apiKeyId key`). */
  private readonly running = new Set<string>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly liveness: InstanceLiveness,
  ) {}

  async run<T>(
    scope: { apiKeyId: string; key: string | undefined; method: string; path: string; body: unknown },
    execute: () => Promise<{ status: number; body: T }>,
  ): Promise<IdempotentResult<T>> {
    const { apiKeyId, key, method, path } = scope;
    if (key === undefined) return { ...(await execute()), replayed: false };
    if (!KEY_PATTERN.test(key)) {
      throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: Idempotency-Key', {
        errors: [
          { field: 'Idempotency-Key', message: 'Idempotency-Key must be 1-255 visible ASCII characters' },
        ],
      });
    }
    const requestHash = createHash('sha256')
      .update(`${method} ${path}\n${canonicalize(scope.body ?? null) ?? ''}`)
      .digest('hex');
    const repository = this.dataSource.getRepository(IdempotencyEntity);

    const owner = this.liveness.id;
    const claimed = (await this.dataSource.query(
      `INSERT INTO idempotency_keys (api_key_id, key, method, path, request_hash, state, owner)
       VALUES ($1, $2, $3, $4, $5, 'IN_PROGRESS', $6) ON CONFLICT DO NOTHING RETURNING key`,
      [apiKeyId, key, method, path, requestHash, owner],
    )) as unknown[];
    let earlier: JournaledWrite[] = [];
    if (claimed.length === 0) {
      const existing = await repository.findOneByOrFail({ apiKeyId, key });
      if (existing.requestHash !== requestHash) {
        throw new ProblemError(
          409,
          'IDEMPOTENCY_KEY_REUSED',
          'this Idempotency-Key was used for a different request; use a new key for a new request',
        );
      }
      if (existing.state === 'COMPLETED') return this.replay<T>(existing);
      const takenOver = await this.takeOver(apiKeyId, key);
      if (!takenOver) {
        throw new ProblemError(
          409,
          'IDEMPOTENCY_KEY_IN_PROGRESS',
          'a request with this Idempotency-Key is running',
          {
            headers: { 'Retry-After': '1' },
          },
        );
      }
      earlier = takenOver;
      if (earlier.length > 0) {
        this.logger.log(
          `Idempotency-Key ${key}: resuming an earlier attempt; its ledger writes are resolved by txId ` +
            earlier.map((w) => w.txId).join(', '),
        );
      }
    }

    const recorded = [...earlier];
    const journal = {
      earlier,
      record: async (position: number, write: JournaledWrite) => {
        recorded[position] = write;
        await this.dataSource.query(
          `UPDATE idempotency_keys SET ledger_writes = $3, updated_at = now() WHERE api_key_id = $1 AND key = $2`,
          [apiKeyId, key, JSON.stringify(recorded)],
        );
      },
    };
    const runningKey = `${apiKeyId} ${key}`;
    this.running.add(runningKey);
    try {
      const result = await withWriteJournal(journal, execute);
      if (COMPLETE_DELAY_MS > 0) {
        this.logger.warn(
          `Idempotency-Key ${key}: done; storing its answer in ${COMPLETE_DELAY_MS} ms (test hook)`,
        );
        await new Promise((resolve) => setTimeout(resolve, COMPLETE_DELAY_MS));
      }
      await repository.update(
        { apiKeyId, key },
        {
          state: 'COMPLETED',
          statusCode: result.status,
          response: result.body as object,
          updatedAt: new Date(),
        },
      );
      return { ...result, replayed: false };
    } catch (error) {
      const problem = error instanceof ProblemError ? error : ledgerProblem(error);
      if (!isRetryable(problem)) {
        const stored: StoredProblem = {
          problem: {
            status: problem!.status,
            code: problem!.code,
            detail: problem!.detail,
            errors: problem!.extra.errors,
          },
        };
        await repository.update(
          { apiKeyId, key },
          { state: 'COMPLETED', statusCode: problem!.status, response: stored, updatedAt: new Date() },
        );
      } else if (recorded.length > 0) {
        // Something may have reached the ledger: keep the record of it and let the next attempt resolve it.
        await this.dataSource.query(
          `UPDATE idempotency_keys SET owner = NULL, updated_at = now() WHERE api_key_id = $1 AND key = $2`,
          [apiKeyId, key],
        );
      } else {
        await repository.delete({ apiKeyId, key });
      }
      throw error;
    } finally {
      this.running.delete(runningKey);
    }
  }

  /**
   * Take over a request left IN_PROGRESS by an attempt that is no longer running: released after a retryable
   * failure, or owned by an instance that is gone (or by this one, restarted work it no longer runs). Returns
   * the earlier attempt's recorded ledger writes, or undefined while the request is running somewhere.
   */
  private async takeOver(apiKeyId: string, key: string): Promise<JournaledWrite[] | undefined> {
    const mine = this.running.has(`${apiKeyId} ${key}`);
    const rows = (await this.dataSource.query(
      `UPDATE idempotency_keys SET owner = $3, updated_at = now()
       WHERE api_key_id = $1 AND key = $2 AND state = 'IN_PROGRESS'
         AND (owner IS NULL OR (owner = $3 AND NOT $4) OR (owner <> $3 AND NOT ${InstanceLiveness.aliveSql('owner')}))
       RETURNING ledger_writes`,
      [apiKeyId, key, this.liveness.id, mine],
    )) as [Array<{ ledger_writes: JournaledWrite[] }>, number];
    return rows[0][0]?.ledger_writes;
  }

  private replay<T>(existing: IdempotencyEntity): IdempotentResult<T> {
    const status = existing.statusCode ?? 200;
    if (status >= 400) {
      const { problem } = existing.response as StoredProblem;
      throw new ProblemError(problem.status, problem.code, problem.detail, {
        errors: problem.errors,
        headers: { 'Idempotent-Replayed': 'true' },
      });
    }
    return { status, body: existing.response as T, replayed: true };
  }
}
