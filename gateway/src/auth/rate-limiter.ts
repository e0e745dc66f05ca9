import { Inject, Injectable } from '@nestjs/common';
import { ProblemError } from '../common/problem';
import { APP_CONFIG, AppConfig } from '../config/config';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Above this many buckets, full (idle) ones are dropped: a full bucket is the same as no bucket. */
const BUCKETS_SWEEP_AT = 10_000;

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * Per-API-key rate limits (docs/api.md, "rate limits"): one token bucket per key for writes (POST, PUT, PATCH,
 * DELETE; RATE_LIMIT_PER_MINUTE, default 600) and one for reads (RATE_LIMIT_READS_PER_MINUTE, default 3000).
 * A bucket holds a minute's worth of tokens (the burst) and refills continuously; every request takes one
 * token — a bulk ingestion is one request, whatever its size. Empty → 429 RATE_LIMITED with `Retry-After`
 * (whole seconds until a token is back). 0 turns a limit off.
 *
 * The buckets are in the memory of each gateway instance: with N instances behind a load balancer a key may
 * make up to N× the limit. Share the buckets (e.g. in PostgreSQL or Redis) if that matters.
 */
@Injectable()
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Take a token for a request of `method` by key `apiKeyId`, or throw 429. */
  take(apiKeyId: string, method: string, nowMs = Date.now()): void {
    const write = !READ_METHODS.has(method.toUpperCase());
    const perMinute = write ? this.config.rateLimitPerMinute : this.config.rateLimitReadsPerMinute;
    const what = `this API key may make ${perMinute} ${write ? 'write' : 'read'} requests per minute`;
    this.takeFrom(`${apiKeyId}:${write ? 'w' : 'r'}`, perMinute, what, nowMs);
  }

  /**
   * Take a token for a public page asked for from `address` (PUBLIC_RATE_LIMIT_PER_MINUTE), or throw 429: a
   * page anyone may open is still a ledger read, and must not let one client enumerate or flood it.
   */
  takePublic(address: string, nowMs = Date.now()): void {
    const perMinute = this.config.publicRateLimitPerMinute;
    const what = `one address may open ${perMinute} public pages per minute`;
    this.takeFrom(`public:${address}`, perMinute, what, nowMs);
  }

  private takeFrom(id: string, perMinute: number, what: string, nowMs: number): void {
    if (perMinute <= 0) return;
    const perMs = perMinute / 60_000;
    const bucket = this.buckets.get(id) ?? { tokens: perMinute, updatedMs: nowMs };
    bucket.tokens = Math.min(perMinute, bucket.tokens + Math.max(0, nowMs - bucket.updatedMs) * perMs);
    bucket.updatedMs = nowMs;
    if (bucket.tokens < 1) {
      this.buckets.set(id, bucket);
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
      throw new ProblemError(429, 'RATE_LIMITED', `${what}; retry in ${retryAfter} s`, {
        headers: { 'Retry-After': String(retryAfter) },
      });
    }
    bucket.tokens -= 1;
    this.buckets.set(id, bucket);
    if (this.buckets.size > BUCKETS_SWEEP_AT) this.sweep(nowMs);
  }

  private sweep(nowMs: number): void {
    for (const [id, bucket] of this.buckets) {
      const perMinute = id.startsWith('public:')
        ? this.config.publicRateLimitPerMinute
        : id.endsWith(':w')
          ? this.config.rateLimitPerMinute
          : this.config.rateLimitReadsPerMinute;
      if (bucket.tokens + (nowMs - bucket.updatedMs) * (perMinute / 60_000) >= perMinute)
        this.buckets.delete(id);
    }
  }
}
