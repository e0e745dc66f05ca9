import type { CertificateLot } from '@gec/chaincode';
import { EntityManager } from 'typeorm';
import { eventLots, upsertLots, upsertLotsOfEvents } from '../certificates/lot-projection';
import type { ChaincodeEvent } from '../ledger/port';
import { BatchEventHandler, MalformedEventError } from '../projection/projector.service';

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

/**
 * Upsert vouchers of several events in ledger order, in one statement: a voucher's row takes its last version;
 * `issued_block` is set by the first event that ever wrote the row (the issue) and never updated afterwards.
 */
async function upsertVouchers(
  manager: EntityManager,
  changes: Array<{ voucher: LedgerVoucher; event: ChaincodeEvent }>,
): Promise<void> {
  const rows = new Map<string, { voucher: LedgerVoucher; event: ChaincodeEvent; issuedBlock: number }>();
  for (const { voucher, event } of changes) {
    const issuedBlock = rows.get(voucher.voucherId)?.issuedBlock ?? event.blockNumber;
    rows.set(voucher.voucherId, { voucher, event, issuedBlock });
  }
  const docs = [...rows.values()].map(({ voucher, event, issuedBlock }) => ({
    doc: voucher,
    txId: event.txId,
    block: event.blockNumber,
    issuedBlock,
  }));
  await manager.query(
    `INSERT INTO vouchers (id, consumer, seller, trade_id, trade_kind, volume_kwh, period_start, period_end, status,
       issued_at, issued_tx_id, issued_block, updated_at, updated_tx_id, block_number, doc)
     SELECT doc->>'voucherId', doc->>'consumer', doc->>'seller', doc->>'tradeId', doc->>'tradeKind',
       (doc->>'volumeKwh')::bigint, (doc->>'periodStart')::timestamptz, (doc->>'periodEnd')::timestamptz,
       doc->>'status', (doc->>'issuedAt')::timestamptz, doc->>'issuedTxId', (v->>'issuedBlock')::bigint,
       (doc->>'statusChangedAt')::timestamptz, v->>'txId', (v->>'block')::bigint, doc
     FROM jsonb_array_elements($1::jsonb) AS v, LATERAL (SELECT v->'doc' AS doc) AS d
     ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at,
       updated_tx_id = EXCLUDED.updated_tx_id, block_number = EXCLUDED.block_number, doc = EXCLUDED.doc`,
    [JSON.stringify(docs)],
  );
}

/** `TradeAttested { trade, voucher, lots }` as parsed: the voucher in custody and every lot the trade moved. */
interface TradeAttested {
  voucher: LedgerVoucher;
  lots: CertificateLot[];
}

/**
 * `TradeAttested`: the vouchers and lot moves of a run of attestations (a block's) in two statements, not two
 * per trade.
 */
export const projectTradeAttested: BatchEventHandler<TradeAttested> = {
  parse(payload, event) {
    const body = payload as { voucher?: unknown; lots?: unknown } | null;
    if (!body || typeof body !== 'object') throw new MalformedEventError(`${event.eventName}: not an object`);
    return { voucher: asVoucher(body.voucher, event), lots: eventLots(body.lots ?? [], event) };
  },
  async apply(manager, run) {
    await upsertVouchers(
      manager,
      run.map(({ value, event }) => ({ voucher: value.voucher, event })),
    );
    await upsertLotsOfEvents(
      manager,
      run.map(({ value, event }) => ({ lots: value.lots, event })),
    );
  },
};

/** `VoucherReleased { voucher }`, `VoucherClaimed { voucher }`, `VoucherRevoked { voucher, lots }`. */
export async function projectVoucherChange(
  manager: EntityManager,
  payload: unknown,
  event: ChaincodeEvent,
): Promise<void> {
  const body = payload as { voucher?: unknown; lots?: unknown } | null;
  if (!body || typeof body !== 'object') throw new MalformedEventError(`${event.eventName}: not an object`);
  const voucher = asVoucher(body.voucher, event);
  await upsertVouchers(manager, [{ voucher, event }]);
  if (body.lots !== undefined) await upsertLots(manager, body.lots, event);
}
