import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { ISSUERS, MARKET_OPERATORS, requireLotId } from '../certificates/certificates-contract';
import { CertificateLot, copyLot } from '../certificates/lot';
import { LotChanges, requireLive, requireStatus } from '../certificates/lot-store';
import { Caller, requireMember, requireWriter } from '../lib/access';
import { emitEvent } from '../lib/events';
import { GecError } from '../lib/errors';
import { GecContract } from '../lib/gec-contract';
import { monthEnd, monthStart } from '../lib/months';
import { PAGE_FIELDS, pageRequest } from '../lib/paging';
import { requireActiveParticipant, requireManagedBy } from '../lib/parties';
import { keyAttributes, parseJson, queryPage } from '../lib/state';
import { txTime } from '../lib/time';
import {
  optionalEnum,
  parseQuery,
  parseRequest,
  requireId,
  requireMonth,
  requireText,
} from '../lib/validate';
import {
  VOUCHER_STATUSES,
  Voucher,
  VoucherClaim,
  VoucherPage,
  VoucherStatus,
  VoucherStatusChange,
  voucherFromState,
} from './voucher';
import {
  VOUCHER_BY_CONSUMER_INDEX,
  VOUCHER_BY_LOT_INDEX,
  VOUCHER_BY_STATUS_INDEX,
  VOUCHER_OBJECT,
  readVoucher,
  writeVoucher,
} from './voucher-store';

export const VOUCHER_RELEASED_EVENT = 'VoucherReleased';
export const VOUCHER_CLAIMED_EVENT = 'VoucherClaimed';
export const VOUCHER_REVOKED_EVENT = 'VoucherRevoked';

const TEXT_MAX = 256;

@Info({
  title: 'vouchers',
  description: 'Voucher custody (绿电凭证托管): release, claim as consumption evidence, revoke',
})
export class VouchersContract extends GecContract {
  constructor() {
    super('vouchers');
  }

  /**
   * Release a voucher to its holder: IN_CUSTODY → RELEASED. `request`: `{ voucherId, holder }`. The trading center
   * acting for the holder (TradingCenterMSP, gec.role admin or trading-center); `holder` must be the voucher's
   * consumer (VOUCHER_NOT_HELD) and ACTIVE. The certificates stay in custody, bound to the voucher.
   */
  @Transaction()
  @Returns('Voucher')
  async Release(ctx: Context, request: string): Promise<Voucher> {
    const caller = requireWriter(ctx, MARKET_OPERATORS);
    const fields = parseRequest(request, ['voucherId', 'holder']);
    const voucher = await readVoucher(ctx, requireId(fields.voucherId, 'voucherId'));
    await requireHolder(ctx, caller, voucher, requireId(fields.holder, 'holder'));
    requireVoucherStatus(voucher, ['IN_CUSTODY'], 'released');
    const released = changeStatus(ctx, caller, voucher, 'RELEASED', '');
    await writeVoucher(ctx, released, voucher);
    emitEvent(ctx, VOUCHER_RELEASED_EVENT, { voucher: released });
    return released;
  }

  /**
   * Claim a voucher as consumption evidence (消纳依据): IN_CUSTODY or RELEASED → CLAIMED, final. `request`: `{
   * voucherId, holder, purpose, reportingStartMonth, reportingEndMonth (YYYY-MM, inclusive) }`; the reporting
   * period must contain the voucher's period (CLAIM_PERIOD_MISMATCH). Same callers as Release. Every certificate
   * behind it must still be in custody and unexpired at the transaction time; they stay in custody for good.
   */
  @Transaction()
  @Returns('Voucher')
  async Claim(ctx: Context, request: string): Promise<Voucher> {
    const caller = requireWriter(ctx, MARKET_OPERATORS);
    const fields = parseRequest(request, [
      'voucherId',
      'holder',
      'purpose',
      'reportingStartMonth',
      'reportingEndMonth',
    ]);
    const voucherId = requireId(fields.voucherId, 'voucherId');
    const holder = requireId(fields.holder, 'holder');
    const purpose = requireText(fields.purpose, 'purpose', TEXT_MAX);
    const startMonth = requireMonth(fields.reportingStartMonth, 'reportingStartMonth');
    const endMonth = requireMonth(fields.reportingEndMonth, 'reportingEndMonth');
    if (endMonth < startMonth) {
      throw new GecError('INVALID_ARGUMENT', 'reportingEndMonth must not be before reportingStartMonth');
    }
    const voucher = await readVoucher(ctx, voucherId);
    await requireHolder(ctx, caller, voucher, holder);
    requireVoucherStatus(voucher, ['IN_CUSTODY', 'RELEASED'], 'claimed');
    const claim = Object.assign(new VoucherClaim(), {
      purpose,
      reportingStartMonth: startMonth,
      reportingEndMonth: endMonth,
      reportingPeriodStart: monthStart(startMonth),
      reportingPeriodEnd: monthEnd(endMonth),
    });
    if (
      Date.parse(claim.reportingPeriodStart) > Date.parse(voucher.periodStart) ||
      Date.parse(claim.reportingPeriodEnd) < Date.parse(voucher.periodEnd)
    ) {
      throw new GecError(
        'CLAIM_PERIOD_MISMATCH',
        `voucher ${voucherId} covers [${voucher.periodStart}, ${voucher.periodEnd}), which is not within the reporting period ${startMonth} to ${endMonth}`,
      );
    }
    const changes = new LotChanges(ctx, txTime(ctx), ctx.stub.getTxID());
    for (const source of voucher.sourceLots) {
      const lot = await changes.get(source.lotId);
      requireLive(lot, changes.now);
      requireStatus(lot, ['IN_CUSTODY']);
    }
    const claimed = changeStatus(ctx, caller, voucher, 'CLAIMED', purpose);
    claimed.claimedFor = claim;
    await writeVoucher(ctx, claimed, voucher);
    emitEvent(ctx, VOUCHER_CLAIMED_EVENT, { voucher: claimed });
    return claimed;
  }

  /**
   * Revoke a voucher (issuer, dispute handling): IN_CUSTODY or RELEASED → REVOKED, final; a CLAIMED voucher is
   * final and can never be revoked (VOUCHER_CLAIMED). `request`: `{ voucherId, reason }`. GridMSP admin.
   *
   * The certificates behind it never silently return to the market: those of a GREEN_POWER trade are WITHDRAWN
   * (reason `voucher <id> revoked: <reason>`), since they stay bound to a trade whose evidence is void; those of a
   * CERTIFICATE_ONLY trade return to the buyer as ACTIVE (the certificate sale stands; only the voucher is void,
   * so a later redemption is the buyer's only consumption claim on them). The trade's green kWh stay counted
   * against the consumer-month and unit-month totals (totals never go down).
   */
  @Transaction()
  @Returns('Voucher')
  async Revoke(ctx: Context, request: string): Promise<Voucher> {
    const caller = requireWriter(ctx, ISSUERS);
    const fields = parseRequest(request, ['voucherId', 'reason']);
    const voucher = await readVoucher(ctx, requireId(fields.voucherId, 'voucherId'));
    const reason = requireText(fields.reason, 'reason', TEXT_MAX);
    requireVoucherStatus(voucher, ['IN_CUSTODY', 'RELEASED'], 'revoked');
    const changes = new LotChanges(ctx, txTime(ctx), ctx.stub.getTxID());
    for (const source of voucher.sourceLots) {
      const lot = await changes.get(source.lotId);
      requireStatus(lot, ['IN_CUSTODY']);
      changes.update(
        voucher.tradeKind === 'GREEN_POWER'
          ? copyLot(lot, {
              status: 'WITHDRAWN',
              statusReason: `voucher ${voucher.voucherId} revoked: ${reason}`,
            })
          : copyLot(lot, { status: 'ACTIVE' }),
      );
    }
    const lots: CertificateLot[] = await changes.flush();
    const revoked = changeStatus(ctx, caller, voucher, 'REVOKED', reason);
    await writeVoucher(ctx, revoked, voucher);
    emitEvent(ctx, VOUCHER_REVOKED_EVENT, { voucher: revoked, lots });
    return revoked;
  }

  /** A voucher by id with its source lots, trade and history (VOUCHER_NOT_FOUND); any member. */
  @Transaction(false)
  @Returns('Voucher')
  async GetVoucher(ctx: Context, voucherId: string): Promise<Voucher> {
    requireMember(ctx);
    return readVoucher(ctx, requireId(voucherId, 'voucherId'));
  }

  /** The voucher whose certificates include lot `lotId` (VOUCHER_NOT_FOUND); any member. */
  @Transaction(false)
  @Returns('Voucher')
  async GetVoucherByLot(ctx: Context, lotId: string): Promise<Voucher> {
    requireMember(ctx);
    const id = requireLotId(lotId, 'lotId');
    const page = await queryPage(ctx, { objectType: VOUCHER_BY_LOT_INDEX, attributes: [id] }, 1, '');
    if (page.records.length === 0) {
      throw new GecError('VOUCHER_NOT_FOUND', `no voucher holds lot ${id}`);
    }
    return readVoucher(ctx, keyAttributes(ctx, page.records[0].key)[1]);
  }

  /**
   * Vouchers one page at a time. `query`: `{ consumer?, status?, pageSize? (1-1000, default 50), bookmark? }`;
   * any member.
   */
  @Transaction(false)
  @Returns('VoucherPage')
  async ListVouchers(ctx: Context, query: string): Promise<VoucherPage> {
    requireMember(ctx);
    const fields = parseQuery(query, ['consumer', 'status', ...PAGE_FIELDS]);
    const consumer = fields.consumer === undefined ? undefined : requireId(fields.consumer, 'consumer');
    const status = optionalEnum(fields.status, 'status', VOUCHER_STATUSES);
    const { pageSize, bookmark } = pageRequest(fields);
    const items: Voucher[] = [];
    if (consumer === undefined && status === undefined) {
      const page = await queryPage(ctx, { objectType: VOUCHER_OBJECT, attributes: [] }, pageSize, bookmark);
      for (const record of page.records) items.push(voucherFromState(parseJson(record.value)));
      return voucherPage(items, page.bookmark, page.fetchedCount);
    }
    const [objectType, attributes] =
      consumer !== undefined
        ? [VOUCHER_BY_CONSUMER_INDEX, status === undefined ? [consumer] : [consumer, status]]
        : [VOUCHER_BY_STATUS_INDEX, [status!]];
    const page = await queryPage(ctx, { objectType, attributes }, pageSize, bookmark);
    for (const record of page.records) {
      const parts = keyAttributes(ctx, record.key);
      items.push(await readVoucher(ctx, parts[parts.length - 1]));
    }
    return voucherPage(items, page.bookmark, page.fetchedCount);
  }
}

function voucherPage(items: Voucher[], bookmark: string, fetchedCount: number): VoucherPage {
  return Object.assign(new VoucherPage(), { items, bookmark, fetchedCount });
}

async function requireHolder(ctx: Context, caller: Caller, voucher: Voucher, holder: string): Promise<void> {
  if (voucher.consumer !== holder) {
    throw new GecError('VOUCHER_NOT_HELD', `voucher ${voucher.voucherId} is not held by ${holder}`);
  }
  requireManagedBy(ctx, caller, await requireActiveParticipant(ctx, holder, 'holder', ['CONSUMER']));
}

function requireVoucherStatus(voucher: Voucher, allowed: readonly VoucherStatus[], action: string): void {
  if (allowed.includes(voucher.status)) return;
  if (voucher.status === 'CLAIMED') {
    throw new GecError(
      'VOUCHER_CLAIMED',
      `voucher ${voucher.voucherId} was claimed as consumption evidence; that is final and it cannot be ${action}`,
    );
  }
  throw new GecError(
    'VOUCHER_STATUS_NOT_PERMITTED',
    `voucher ${voucher.voucherId} is ${voucher.status}; only a voucher ${allowed.join(' or ')} can be ${action}`,
  );
}

function changeStatus(
  ctx: Context,
  caller: Caller,
  voucher: Voucher,
  status: VoucherStatus,
  reason: string,
): Voucher {
  const now = txTime(ctx);
  const txId = ctx.stub.getTxID();
  const change = Object.assign(new VoucherStatusChange(), {
    status,
    at: now,
    txId,
    by: caller.id,
    byMsp: caller.mspId,
    reason,
  });
  return Object.assign(voucherFromState(voucher), {
    status,
    statusChangedAt: now,
    statusReason: reason,
    history: [...voucher.history, change],
  });
}
