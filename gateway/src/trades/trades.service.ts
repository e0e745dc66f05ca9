import { CallbackPolicy } from '../common/callback-policy';
import { Coalescer } from '../common/coalescer';
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

/**
 * A trade to store, as the columns of its row (and its outbox row's hot keys); numbers, times and JSON as they
 * travel in the statement's JSON parameter.
 */
type NewTrade = Pick<
  TradeRow,
  | 'trade_id'
  | 'trading_center'
  | 'api_key_id'
  | 'idempotency_key'
  | 'request_hash'
  | 'msp_id'
  | 'identity_name'
  | 'kind'
  | 'seller'
  | 'buyer'
  | 'trade'
  | 'trade_data_hash'
  | 'check_data_hash'
  | 'callback_url'
> & {
  call: number;
  volume_kwh: number;
  delivery_start: string;
  delivery_end: string;
  check_data: Record<string, unknown>;
  voucher_id: string;
  received_at: string;
  hot_keys: string[];
};

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

  /** Calls of `accept`, numbered: each is its own item even when two carry the same keys. */
  private calls = 0;
  private readonly inserts = new Coalescer<NewTrade, TradeRow | null>(
    (trades) => this.insertTrades(trades),
    (t) => String(t.call),
    null,
  );

  /**
   * Insert trades and their outbox rows in one statement. Each inserted row answers the first call that
   * carries its API key, Idempotency-Key and request; a call that inserted nothing (its trade id or key was
   * taken, by an earlier request or an earlier call of the batch) answers null.
   */
  private async insertTrades(trades: NewTrade[]): Promise<Map<string, TradeRow | null>> {
    const rows = (await this.dataSource.query(
      `WITH r AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(call bigint, trade_id text, trading_center text,
           api_key_id uuid, idempotency_key text, request_hash text, msp_id text, identity_name text, kind text,
           seller text, buyer text, volume_kwh bigint, delivery_start timestamptz, delivery_end timestamptz,
           trade jsonb, trade_data_hash text, check_data jsonb, check_data_hash text, callback_url text,
           voucher_id text, received_at timestamptz, hot_keys text[])),
       t AS (
         INSERT INTO trades (trade_id, trading_center, api_key_id, idempotency_key, request_hash, msp_id,
           identity_name, state, kind, seller, buyer, volume_kwh, delivery_start, delivery_end, trade,
           trade_data_hash, check_data, check_data_hash, callback_url, voucher_id, received_at, updated_at)
         SELECT trade_id, trading_center, api_key_id, idempotency_key, request_hash, msp_id, identity_name,
           'RECEIVED', kind, seller, buyer, volume_kwh, delivery_start, delivery_end, trade, trade_data_hash,
           check_data, check_data_hash, callback_url, voucher_id, received_at, received_at
         FROM r ORDER BY call
         ON CONFLICT DO NOTHING RETURNING *),
       o AS (
         INSERT INTO trade_outbox (trade_id, hot_keys)
         SELECT t.trade_id, r.hot_keys FROM t
           JOIN r ON r.trade_id = t.trade_id AND r.api_key_id = t.api_key_id
             AND r.idempotency_key = t.idempotency_key AND r.request_hash = t.request_hash
         ORDER BY r.call
         ON CONFLICT (trade_id) DO NOTHING)
       SELECT * FROM t`,
      [JSON.stringify(trades)],
    )) as TradeRow[];
    const answers = new Map<string, TradeRow | null>();
    for (const row of rows) {
      const first = trades.find(
        (t) =>
          !answers.has(String(t.call)) &&
          t.trade_id === row.trade_id &&
          t.api_key_id === row.api_key_id &&
          t.idempotency_key === row.idempotency_key &&
          t.request_hash === row.request_hash,
      );
      if (first) answers.set(String(first.call), row);
    }
    return answers;
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

    // The trade and its outbox row in one statement (both or neither), answering the stored row; trades
    // posted in the same turn share the statement.
    const stored = await this.inserts.call({
      call: this.calls++,
      trade_id: trade.tradeId,
      trading_center: principal.actsFor,
      api_key_id: principal.keyId,
      idempotency_key: idempotencyKey,
      request_hash: requestHash,
      msp_id: principal.identity.mspId,
      identity_name: principal.identity.name,
      kind: trade.kind,
      seller: trade.seller,
      buyer: trade.buyer,
      volume_kwh: trade.volumeKwh,
      delivery_start: new Date(startMs).toISOString(),
      delivery_end: new Date(endMs).toISOString(),
      trade,
      trade_data_hash: tradeDataHash,
      check_data: raw.checkData,
      check_data_hash: checkDataHash,
      // The trade's own URL, else the posting key's default.
      callback_url: raw.callbackUrl ?? principal.callbackUrl ?? null,
      voucher_id: voucherIdOf(trade.tradeId),
      received_at: new Date().toISOString(),
      hot_keys: hotKeys,
    });
    const inserted = stored ? [stored] : [];

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
