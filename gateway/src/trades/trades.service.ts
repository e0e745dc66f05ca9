import { CallbackPolicy } from '../common/callback-policy';
import { APP_CONFIG, AppConfig } from '../config/config';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/roles';
import { decodeCursor, DEFAULT_LIMIT, encodeCursor, Page } from '../common/pagination';
import { FieldError, ProblemError } from '../common/problem';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { LedgerPort } from '../ledger/port';
import { checkTradeEvidence, TradeEvidence } from './trade-evidence';
import {
  canonical,
  monthStartMs,
  sha256Hex,
  shanghaiMonth,
  TradeData,
  TradeRow,
  toStatusDto,
  voucherIdOf,
  wholeMonths,
} from './trade-model';
import { ListTradesQueryDto, TradeStatusDto } from './trades.dto';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export interface AcceptedTrade {
  replayed: boolean;
  status: TradeStatusDto;
}

/** Listeners told when a trade is accepted (the local pipeline wakes up at once instead of polling). */
export type TradeAcceptedListener = () => void;

/**
 * Acquisition (获取绿电交易数据): a trade is stored durably at once with its outbox row, in one database
 * transaction, and answered with its status resource. Idempotency is per API key and Idempotency-Key, kept in
 * the trade row itself (unique), so the record of the request and the work to do can never disagree.
 */
@Injectable()
export class TradesService {
  private readonly listeners = new Set<TradeAcceptedListener>();

  private readonly callbackPolicy: CallbackPolicy;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.callbackPolicy = new CallbackPolicy(config.callbackAllow);
  }

  onAccepted(listener: TradeAcceptedListener): void {
    this.listeners.add(listener);
  }

  async accept(
    principal: Principal,
    idempotencyKey: string | undefined,
    raw: { trade: TradeData; checkData: Record<string, unknown>; callbackUrl?: string },
  ): Promise<AcceptedTrade> {
    if (idempotencyKey === undefined || !KEY_PATTERN.test(idempotencyKey)) {
      throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: Idempotency-Key', {
        errors: [
          {
            field: 'Idempotency-Key',
            message: 'the Idempotency-Key header is required: 1-255 visible ASCII characters',
          },
        ],
      });
    }
    const trade = raw.trade;
    const errors: FieldError[] = [];
    const startMs = Date.parse(trade.deliveryStart);
    const endMs = Date.parse(trade.deliveryEnd);
    const months = wholeMonths(startMs, endMs);
    if (!months) {
      // Name the end that is wrong: a start inside a month is the start's fault, not the end's.
      const startIsMonthStart = !Number.isNaN(startMs) && monthStartMs(shanghaiMonth(startMs)) === startMs;
      errors.push({
        field: startIsMonthStart ? 'trade.deliveryEnd' : 'trade.deliveryStart',
        message:
          'the delivery period [deliveryStart, deliveryEnd) must be whole Asia/Shanghai months ' +
          '(e.g. 2026-10-01T00:00:00+08:00 to 2026-11-01T00:00:00+08:00)',
      });
    } else if (months.length > 12) {
      errors.push({ field: 'trade.deliveryEnd', message: 'the delivery period must be at most 12 months' });
    }
    if (trade.seller === trade.buyer) {
      errors.push({ field: 'trade.buyer', message: 'buyer must differ from seller' });
    }
    (trade.lots ?? []).forEach((lot, i) => {
      if ((trade.lots ?? []).findIndex((other) => other.lotId === lot.lotId) !== i) {
        errors.push({ field: `trade.lots.${i}.lotId`, message: 'lots must not repeat a lot' });
      }
    });
    (trade.profile ?? []).forEach((interval, i) => {
      const at = Date.parse(interval.intervalStart);
      if (Number.isNaN(at) || at < startMs || at >= endMs) {
        errors.push({
          field: `trade.profile.${i}.intervalStart`,
          message: 'must lie in the delivery period',
        });
      }
    });
    const callbackRefusal =
      raw.callbackUrl === undefined ? undefined : this.callbackPolicy.refusal(raw.callbackUrl);
    if (callbackRefusal) errors.push({ field: 'callbackUrl', message: callbackRefusal });
    if (errors.length > 0) {
      throw new ProblemError(
        400,
        'VALIDATION_FAILED',
        `the request is invalid: ${[...new Set(errors.map((e) => e.field))].join(', ')}`,
        { errors: errors.slice(0, 100) },
      );
    }
    const tradeDataHash = sha256Hex(canonical(trade));
    const checkDataHash = sha256Hex(canonical(raw.checkData));
    const requestHash = sha256Hex(`POST /v1/trades\n${canonical(raw)}`);
    // Hot keys the chaincode writes for this trade: the consumer-month green total always, the unit-month green
    // totals of a green-power trade (keyed here by seller-month, which covers its units), and every lot it
    // moves. Trades sharing one are attested one after the other; the others never wait for each other.
    const hotKeys = [
      ...new Set([
        ...months!.flatMap((m) =>
          trade.kind === 'GREEN_POWER'
            ? [`buyer:${trade.buyer}:${m}`, `seller:${trade.seller}:${m}`]
            : [`buyer:${trade.buyer}:${m}`],
        ),
        ...(trade.lots ?? []).map((lot) => `lot:${lot.lotId}`),
      ]),
    ].sort();

    // The trade and its outbox row in one statement (both or neither), answering the stored row.
    const inserted = (await this.dataSource.query(
      `WITH t AS (
         INSERT INTO trades (trade_id, trading_center, api_key_id, idempotency_key, request_hash, msp_id,
           identity_name, state, kind, seller, buyer, volume_kwh, delivery_start, delivery_end, trade,
           trade_data_hash, check_data, check_data_hash, callback_url, voucher_id, received_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'RECEIVED', $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
           $20, $20)
         ON CONFLICT DO NOTHING RETURNING *),
       o AS (INSERT INTO trade_outbox (trade_id, hot_keys) SELECT trade_id, $21 FROM t)
       SELECT * FROM t`,
      [
        trade.tradeId,
        principal.actsFor,
        principal.keyId,
        idempotencyKey,
        requestHash,
        principal.identity.mspId,
        principal.identity.name,
        trade.kind,
        trade.seller,
        trade.buyer,
        trade.volumeKwh,
        new Date(startMs),
        new Date(endMs),
        JSON.stringify(trade),
        tradeDataHash,
        JSON.stringify(raw.checkData),
        checkDataHash,
        // The trade's own URL, else the posting key's default.
        raw.callbackUrl ?? principal.callbackUrl ?? null,
        voucherIdOf(trade.tradeId),
        new Date(),
        hotKeys,
      ],
    )) as TradeRow[];

    if (inserted.length > 0) {
      for (const listener of this.listeners) listener();
      return { replayed: false, status: toStatusDto(inserted[0]) };
    }
    const byKey = (await this.dataSource.query(
      `SELECT * FROM trades WHERE api_key_id = $1 AND idempotency_key = $2`,
      [principal.keyId, idempotencyKey],
    )) as TradeRow[];
    if (byKey.length > 0) {
      if (byKey[0].request_hash !== requestHash) {
        throw new ProblemError(
          409,
          'IDEMPOTENCY_KEY_REUSED',
          'this Idempotency-Key was used for a different request; use a new key for a new request',
        );
      }
      return { replayed: true, status: toStatusDto(byKey[0]) };
    }
    throw new ProblemError(
      409,
      'TRADE_EXISTS',
      `trade ${trade.tradeId} was already received (with another Idempotency-Key); read it at /v1/trades/${trade.tradeId}`,
    );
  }

  private async row(tradeId: string): Promise<TradeRow> {
    const rows = (await this.dataSource.query(`SELECT * FROM trades WHERE trade_id = $1`, [
      tradeId,
    ])) as TradeRow[];
    if (rows.length === 0) throw new ProblemError(404, 'TRADE_NOT_FOUND', `no trade ${tradeId}`);
    return rows[0];
  }

  /** A trade's status; a trading center sees only its own trades (others are 404, not 403: no probing). */
  async get(principal: Principal, tradeId: string): Promise<TradeStatusDto> {
    const row = await this.row(tradeId);
    if (principal.role === 'trading-center' && row.trading_center !== principal.actsFor) {
      throw new ProblemError(404, 'TRADE_NOT_FOUND', `no trade ${tradeId}`);
    }
    return toStatusDto(row);
  }

  /** The evidence of a committed trade, checked again against the ledger and the stored readings. */
  async evidence(principal: Principal, tradeId: string): Promise<TradeEvidence> {
    const row = await this.row(tradeId);
    if (principal.role === 'trading-center' && row.trading_center !== principal.actsFor) {
      throw new ProblemError(404, 'TRADE_NOT_FOUND', `no trade ${tradeId}`);
    }
    if (row.state !== 'COMMITTED') {
      throw new ProblemError(
        409,
        'TRADE_NOT_COMMITTED',
        `trade ${tradeId} is ${row.state}: it has no ledger evidence`,
      );
    }
    return checkTradeEvidence(this.dataSource, this.ledger, principal.identity, row);
  }

  async list(principal: Principal, query: ListTradesQueryDto): Promise<Page<TradeStatusDto>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const after = decodeCursor(query.cursor, ['receivedAt', 'tradeId']);
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (principal.role === 'trading-center') add('trading_center = ?', principal.actsFor);
    if (query.state) add('state = ?', query.state);
    if (query.seller) add('seller = ?', query.seller);
    if (query.buyer) add('buyer = ?', query.buyer);
    if (after) {
      params.push(after.receivedAt, after.tradeId);
      where.push(`(received_at, trade_id) > ($${params.length - 1}::timestamptz, $${params.length})`);
    }
    params.push(limit + 1);
    const rows = (await this.dataSource.query(
      `SELECT * FROM trades ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY received_at, trade_id LIMIT $${params.length}`,
      params,
    )) as TradeRow[];
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toStatusDto),
      nextCursor:
        rows.length > limit && last
          ? encodeCursor({ receivedAt: new Date(last.received_at).toISOString(), tradeId: last.trade_id })
          : null,
    };
  }
}
