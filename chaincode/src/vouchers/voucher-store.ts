import { Context } from 'fabric-contract-api';
import { applyHolderPolicy } from '../consortium/holder-policy';
import { GecError } from '../lib/errors';
import { compositeKey, deleteIndex, getJson, putIndex, putJson } from '../lib/state';
import { Voucher, voucherFromState } from './voucher';

/** A voucher: key `gec.voucher\0<voucherId>\0`. */
export const VOUCHER_OBJECT = 'gec.voucher';
/** Vouchers by holder and status: `gec.voucher~consumer\0<consumer>\0<status>\0<voucherId>\0`. */
export const VOUCHER_BY_CONSUMER_INDEX = 'gec.voucher~consumer';
/** Vouchers by status: `gec.voucher~status\0<status>\0<voucherId>\0`. */
export const VOUCHER_BY_STATUS_INDEX = 'gec.voucher~status';
/** The voucher behind a lot: `gec.voucher~lot\0<lotId>\0<voucherId>\0`. */
export const VOUCHER_BY_LOT_INDEX = 'gec.voucher~lot';

export function voucherKey(ctx: Context, voucherId: string): string {
  return compositeKey(ctx, VOUCHER_OBJECT, [voucherId]);
}

export async function findVoucher(ctx: Context, voucherId: string): Promise<Voucher | undefined> {
  const stored = await getJson(ctx, voucherKey(ctx, voucherId));
  return stored === undefined ? undefined : voucherFromState(stored);
}

/** The voucher `voucherId`, or VOUCHER_NOT_FOUND. */
export async function readVoucher(ctx: Context, voucherId: string): Promise<Voucher> {
  const voucher = await findVoucher(ctx, voucherId);
  if (voucher === undefined) throw new GecError('VOUCHER_NOT_FOUND', `voucher ${voucherId} does not exist`);
  return voucher;
}

/** Write a voucher and keep its indexes exact (`previous`: the version read, absent for a new voucher). */
export async function writeVoucher(ctx: Context, voucher: Voucher, previous?: Voucher): Promise<void> {
  await putJson(ctx, voucherKey(ctx, voucher.voucherId), voucher);
  if (previous === undefined) {
    // Endorsed as its holder's: the trading center the consumer is held through, with the platform.
    await applyHolderPolicy(ctx, voucherKey(ctx, voucher.voucherId), voucher.consumer, true);
    for (const lot of voucher.sourceLots) {
      await putIndex(ctx, VOUCHER_BY_LOT_INDEX, [lot.lotId, voucher.voucherId]);
    }
  } else if (previous.status !== voucher.status) {
    await deleteIndex(ctx, VOUCHER_BY_CONSUMER_INDEX, [
      previous.consumer,
      previous.status,
      previous.voucherId,
    ]);
    await deleteIndex(ctx, VOUCHER_BY_STATUS_INDEX, [previous.status, previous.voucherId]);
  } else {
    return;
  }
  await putIndex(ctx, VOUCHER_BY_CONSUMER_INDEX, [voucher.consumer, voucher.status, voucher.voucherId]);
  await putIndex(ctx, VOUCHER_BY_STATUS_INDEX, [voucher.status, voucher.voucherId]);
}
