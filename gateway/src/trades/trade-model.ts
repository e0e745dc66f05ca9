import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { TradeCheckDto, TradeState, TradeStatusDto } from './trades.dto';

const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** RFC 8785 canonical JSON (the `canonicalize` package). */
export function canonical(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('value cannot be canonicalized');
  return text;
}

/** The Asia/Shanghai month (`YYYY-MM`) an instant falls in. */
export function shanghaiMonth(ms: number): string {
  return new Date(ms + SHANGHAI_OFFSET_MS).toISOString().slice(0, 7);
}

export function monthStartMs(month: string): number {
  return Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)) - 1, 1) - SHANGHAI_OFFSET_MS;
}

export function addMonths(month: string, n: number): string {
  const index = Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1 + n;
  return `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;
}

/** The months of [start, end) when both are Asia/Shanghai month starts, else undefined. */
export function wholeMonths(startMs: number, endMs: number): string[] | undefined {
  const first = shanghaiMonth(startMs);
  const last = shanghaiMonth(endMs);
  if (monthStartMs(first) !== startMs || monthStartMs(last) !== endMs || endMs <= startMs) return undefined;
  const months: string[] = [];
  for (let m = first; m < last && months.length <= 12; m = addMonths(m, 1)) months.push(m);
  return months;
}

/** kWh with up to 3 decimals (number or string) → integer Wh, exactly. */
export function kwhToWh(value: number | string): bigint {
  const [whole, fraction = ''] = String(value).split('.');
  return BigInt(whole) * 1000n + BigInt((fraction + '000').slice(0, 3));
}

/** The voucher id of a trade: derived from the trade id, so a trade can never get two vouchers. */
export function voucherIdOf(tradeId: string): string {
  return tradeId.length <= 60 ? `VCH-${tradeId}` : `VCH-${sha256Hex(tradeId).slice(0, 60)}`;
}

export interface TradeCheck {
  name: string;
  passed: boolean;
  reason: string;
  inputs: unknown;
  checkedAt: string;
}

export interface TradeRow {
  trade_id: string;
  trading_center: string;
  api_key_id: string;
  idempotency_key: string;
  request_hash: string;
  msp_id: string;
  identity_name: string;
  state: TradeState;
  kind: string;
  seller: string;
  buyer: string;
  volume_kwh: string;
  delivery_start: Date;
  delivery_end: Date;
  trade: TradeData;
  trade_data_hash: string;
  check_data: { keyId: string; alg: string; signature: string };
  check_data_hash: string;
  callback_url: string | null;
  checks: TradeCheck[];
  allocation: Record<string, string> | null;
  meter_evidence: unknown;
  meter_evidence_digest: string | null;
  failure_code: string | null;
  failure_detail: string | null;
  voucher_id: string | null;
  tx_id: string | null;
  block_number: string | null;
  validation_code: string | null;
  committed_at: Date | null;
  attempts: number;
  received_at: Date;
  updated_at: Date;
  verified_at: Date | null;
  finished_at: Date | null;
  callback_state: string | null;
  callback_attempts: number;
}

/** The trade data as the trading center sent (and signed) it. */
export interface TradeData {
  tradeId: string;
  kind: 'GREEN_POWER' | 'CERTIFICATE_ONLY';
  seller: string;
  buyer: string;
  volumeKwh: number;
  priceFen: number;
  currency: string;
  deliveryStart: string;
  deliveryEnd: string;
  sellerUnitIds: string[];
  buyerMeterIds: string[];
  profile?: Array<{ intervalStart: string; kwh: number | string }>;
  lots?: Array<{ lotId: string; volume?: number }>;
}

const iso = (value: Date | null): string | null => (value ? new Date(value).toISOString() : null);

export function toStatusDto(row: TradeRow): TradeStatusDto {
  const committed = row.state === 'COMMITTED' && row.tx_id !== null && row.block_number !== null;
  return {
    tradeId: row.trade_id,
    state: row.state,
    tradingCenter: row.trading_center,
    kind: row.kind,
    seller: row.seller,
    buyer: row.buyer,
    volumeKwh: Number(row.volume_kwh),
    deliveryStart: new Date(row.delivery_start).toISOString(),
    deliveryEnd: new Date(row.delivery_end).toISOString(),
    receivedAt: new Date(row.received_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    verifiedAt: iso(row.verified_at),
    finishedAt: iso(row.finished_at),
    tradeDataHash: row.trade_data_hash,
    checkDataHash: row.check_data_hash,
    meterEvidenceDigest: row.meter_evidence_digest,
    checks: (row.checks ?? []) as TradeCheckDto[],
    failure: row.failure_code ? { code: row.failure_code, detail: row.failure_detail ?? '' } : null,
    voucherId: row.state === 'COMMITTED' ? row.voucher_id : null,
    txId: row.tx_id,
    blockNumber: row.block_number === null ? null : Number(row.block_number),
    ledger: committed
      ? {
          txId: row.tx_id!,
          blockNumber: Number(row.block_number),
          validationCode: row.validation_code ?? 'VALID',
          committedAt: iso(row.committed_at) ?? '',
        }
      : null,
    callbackState: row.callback_state,
  };
}
