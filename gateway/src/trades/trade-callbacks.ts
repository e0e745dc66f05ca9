import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CallbackPolicy } from '../common/callback-policy';
import { APP_CONFIG, AppConfig } from '../config/config';
import { MetricsService } from '../metrics/metrics.service';
import { TradeRow, toStatusDto } from './trade-model';

const MAX_ATTEMPTS = 6;
const TIMEOUT_MS = 5000;
/** A claimed callback is invisible to other instances for this long (it is being delivered). */
const LEASE_SECONDS = 30;

/**
 * Callbacks: once a trade is final (REJECTED or COMMITTED) and has a callbackUrl, its status resource is POSTed
 * there (under the callback policy: https to public addresses unless CALLBACK_ALLOW says otherwise; 5 s timeout), retried with backoff up to 6 times, from a loop of its own so a slow
 * receiver never holds up the pipeline. Due callbacks are claimed with `FOR UPDATE SKIP LOCKED` and a lease, so
 * several gateways deliver each callback once (at least once across crashes).
 */
@Injectable()
export class TradeCallbacks implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('TradeCallbacks');
  private stopped = false;
  private loop?: Promise<void>;
  private wakeUp?: () => void;

  private readonly policy: CallbackPolicy;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    this.policy = new CallbackPolicy(config.callbackAllow);
  }

  /**
   * POST `body` to `url` under the callback policy (checked again now: the policy may have changed since the
   * URL was accepted; names resolved in the connection's own look-up). Resolves with the HTTP status.
   */
  private post(url: string, body: string): Promise<number> {
    const refusal = this.policy.refusal(url);
    if (refusal) return Promise.reject(new Error(refusal));
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        target,
        {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
            'User-Agent': 'gec-gateway',
          },
          lookup: this.policy.lookup,
          timeout: TIMEOUT_MS,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  onApplicationBootstrap(): void {
    if (process.env.TRADE_PIPELINE === 'off') return;
    this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    if (this.loop) await Promise.race([this.loop, new Promise((r) => setTimeout(r, 6000).unref())]);
  }

  wake(): void {
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let delivered = 0;
      try {
        delivered = await this.deliverDue();
      } catch (error) {
        if (!this.stopped) this.logger.warn(`callbacks: ${(error as Error).message}`);
      }
      if (delivered === 0 && !this.stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          this.wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  private async deliverDue(): Promise<number> {
    const rows = (await this.dataSource.query(
      `UPDATE trades SET callback_next_at = now() + make_interval(secs => $1)
       WHERE trade_id IN (
         SELECT trade_id FROM trades WHERE callback_state = 'PENDING' AND callback_next_at <= now()
         ORDER BY callback_next_at FOR UPDATE SKIP LOCKED LIMIT 10)
       RETURNING *`,
      [LEASE_SECONDS],
    )) as [TradeRow[], number];
    const claimed = rows[0];
    await Promise.all(claimed.map((row) => this.deliver(row)));
    return claimed.length;
  }

  private async deliver(row: TradeRow): Promise<void> {
    const url = (row as unknown as { callback_url: string }).callback_url;
    let error: string | undefined;
    try {
      // Redirects are not followed (a 3xx is a failed delivery): a redirect could lead anywhere.
      const status = await this.post(url, JSON.stringify(toStatusDto(row)));
      if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (e) {
      error = (e as Error).message;
    }
    const attempts = row.callback_attempts + 1;
    if (!error) {
      await this.dataSource.query(
        `UPDATE trades SET callback_state = 'DELIVERED', callback_attempts = $2, callback_last_error = NULL
         WHERE trade_id = $1`,
        [row.trade_id, attempts],
      );
      this.metrics.callbacks.inc({ outcome: 'delivered' });
      return;
    }
    const failed = attempts >= MAX_ATTEMPTS;
    this.metrics.callbacks.inc({ outcome: failed ? 'abandoned' : 'failed' });
    await this.dataSource.query(
      `UPDATE trades SET callback_state = $2, callback_attempts = $3, callback_last_error = $4,
         callback_next_at = now() + make_interval(secs => $5) WHERE trade_id = $1`,
      [
        row.trade_id,
        failed ? 'FAILED' : 'PENDING',
        attempts,
        error.slice(0, 1000),
        Math.min(2 ** attempts, 300),
      ],
    );
    if (failed) this.logger.warn(`callback of trade ${row.trade_id} failed ${attempts} times: ${error}`);
  }
}
