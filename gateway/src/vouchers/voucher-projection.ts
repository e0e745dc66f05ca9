import { EntityManager } from 'typeorm';
import { upsertLots } from '../certificates/lot-projection';
import type { ChaincodeEvent } from '../ledger/port';
import { MalformedEventError } from '../projection/projector.service';

/** The Voucher the custody contract stores and puts in its events. */
export interface LedgerVoucher {
  voucherId: string;
  consumer: string;
  volumeKwh: number;
  periodStart: string;
  periodEnd: string;
  tradeId: string;
  tradeKind: string;
  seller: string;
  sourceLots: Array<{ lotId: string; serialStart: string; serialEnd: string; volume: number }>;
  priceFen: number;
  currency: string;
  status: string;
  issuedAt: string;
  issuedTxId: string;
  statusChangedAt: string;
  statusReason: string;
  claimedFor?: {
    purpose: string;
    reportingStartMonth: string;
    reportingEndMonth: string;
    reportingPeriodStart: string;
    reportingPeriodEnd: string;
  };
  history: Array<{ status: string; at: string; txId: string; by: string; byMsp: string; reason: string }>;
}

function asVoucher(value: unknown, event: ChaincodeEvent): LedgerVoucher {
  const v = value as Partial<LedgerVoucher> | null;
  if (
    !v ||
    typeof v !== 'object' ||
    typeof v.voucherId !== 'string' ||
    typeof v.consumer !== 'string' ||
    typeof v.tradeId !== 'string' ||
    typeof v.status !== 'string' ||
    !Array.isArray(v.sourceLots)
  ) {
    throw new MalformedEventError(`${event.eventName}: voucher is not a voucher`);
  }
  return v as LedgerVoucher;
}

async function upsertVoucher(
  manager: EntityManager,
  voucher: LedgerVoucher,
  event: ChaincodeEvent,
): Promise<void> {
  await manager.query(
    `INSERT INTO vouchers (id, consumer, seller, trade_id, trade_kind, volume_kwh, period_start, period_end, status,
       issued_at, issued_tx_id, issued_block, updated_at, updated_tx_id, block_number, doc)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at,
       updated_tx_id = EXCLUDED.updated_tx_id, block_number = EXCLUDED.block_number, doc = EXCLUDED.doc`,
    [
      voucher.voucherId,
      voucher.consumer,
      voucher.seller,
      voucher.tradeId,
      voucher.tradeKind,
      voucher.volumeKwh,
      voucher.periodStart,
      voucher.periodEnd,
      voucher.status,
      voucher.issuedAt,
      voucher.issuedTxId,
      // issued_block: set by the first event seen (the issue); never updated afterwards.
      event.blockNumber,
      voucher.statusChangedAt,
      event.txId,
      event.blockNumber,
      JSON.stringify(voucher),
    ],
  );
}

/** `TradeAttested { trade, voucher, lots }`: the voucher in custody and every lot the trade moved. */
export async function projectTradeAttested(
  manager: EntityManager,
  payload: unknown,
  event: ChaincodeEvent,
): Promise<void> {
  const body = payload as { voucher?: unknown; lots?: unknown } | null;
  if (!body || typeof body !== 'object') throw new MalformedEventError(`${event.eventName}: not an object`);
  const voucher = asVoucher(body.voucher, event);
  await upsertVoucher(manager, voucher, event);
  await upsertLots(manager, body.lots ?? [], event);
}

/** `VoucherReleased { voucher }`, `VoucherClaimed { voucher }`, `VoucherRevoked { voucher, lots }`. */
export async function projectVoucherChange(
  manager: EntityManager,
  payload: unknown,
  event: ChaincodeEvent,
): Promise<void> {
  const body = payload as { voucher?: unknown; lots?: unknown } | null;
  if (!body || typeof body !== 'object') throw new MalformedEventError(`${event.eventName}: not an object`);
  const voucher = asVoucher(body.voucher, event);
  await upsertVoucher(manager, voucher, event);
  if (body.lots !== undefined) await upsertLots(manager, body.lots, event);
}
