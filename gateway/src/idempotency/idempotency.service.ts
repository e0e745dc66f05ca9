import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import canonicalize from 'canonicalize';
import { DataSource } from 'typeorm';
import { ledgerProblem } from '../common/ledger-errors';
import { FieldError, ProblemError } from '../common/problem';
import { IdempotencyEntity } from './idempotency.entity';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
/** An IN_PROGRESS record older than this was abandoned (the gateway died mid-request): it may be taken over. */
const ABANDONED_AFTER_MS = 5 * 60 * 1000;

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
 * IDEMPOTENCY_KEY_IN_PROGRESS. Keys are scoped to the API key. Answers that are the client's fault (4xx) are
 * kept and replayed; server-side failures are not, so the client can retry with the same key.
 *
 * The request fingerprint is a SHA-256 of the canonical (RFC 8785) body; nothing else of the body is kept.
 */
@Injectable()
export class IdempotencyService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

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

    const claimed = (await this.dataSource.query(
      `INSERT INTO idempotency_keys (api_key_id, key, method, path, request_hash, state)
       VALUES ($1, $2, $3, $4, $5, 'IN_PROGRESS') ON CONFLICT DO NOTHING RETURNING key`,
      [apiKeyId, key, method, path, requestHash],
    )) as unknown[];
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
      const takenOver =
        (
          (await this.dataSource.query(
            `UPDATE idempotency_keys SET updated_at = now() WHERE api_key_id = $1 AND key = $2
           AND state = 'IN_PROGRESS' AND updated_at < now() - make_interval(secs => $3) RETURNING key`,
            [apiKeyId, key, ABANDONED_AFTER_MS / 1000],
          )) as [unknown[], number]
        )[0].length === 1;
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
    }

    try {
      const result = await execute();
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
      if (problem && problem.status < 500) {
        const stored: StoredProblem = {
          problem: {
            status: problem.status,
            code: problem.code,
            detail: problem.detail,
            errors: problem.extra.errors,
          },
        };
        await repository.update(
          { apiKeyId, key },
          { state: 'COMPLETED', statusCode: problem.status, response: stored, updatedAt: new Date() },
        );
      } else {
        await repository.delete({ apiKeyId, key });
      }
      throw error;
    }
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
