import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/roles';
import { APP_CONFIG, AppConfig } from '../config/config';
import { decodeCursor, DEFAULT_LIMIT, encodeCursor, Page } from '../common/pagination';
import { ProblemError } from '../common/problem';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { LedgerPort } from '../ledger/port';
import { Projector } from '../projection/projector.service';
import { LedgerVoucher, projectTradeAttested, projectVoucherChange } from './voucher-projection';
import {
  ClaimVoucherDto,
  ListVouchersQueryDto,
  ReleaseVoucherDto,
  RevokeVoucherDto,
  VoucherDto,
} from './vouchers.dto';

export interface VoucherRow {
  id: string;
  consumer: string;
  status: string;
  issued_at: Date;
  issued_tx_id: string;
  issued_block: string;
  updated_at: Date;
  updated_tx_id: string;
  block_number: string;
  doc: LedgerVoucher;
  trade_data_hash: string | null;
  check_data_hash: string | null;
  meter_evidence_digest: string | null;
}

/** A voucher row with its trade's hashes: what `toVoucherDto` reads (also for exports). */
export const VOUCHER_SELECT = `SELECT v.*, t.trade_data_hash, t.check_data_hash, t.meter_evidence_digest
  FROM vouchers v LEFT JOIN trades t ON t.trade_id = v.trade_id`;

export function toVoucherDto(row: VoucherRow): VoucherDto {
  const v = row.doc;
  return {
    id: v.voucherId,
    consumer: v.consumer,
    seller: v.seller,
    volumeKwh: v.volumeKwh,
    periodStart: v.periodStart,
    periodEnd: v.periodEnd,
    status: v.status,
    statusReason: v.statusReason || null,
    sourceLots: v.sourceLots.map((l) => ({
      lotId: l.lotId,
      serialStart: l.serialStart,
      serialEnd: l.serialEnd,
      volume: l.volume,
    })),
    priceFen: v.priceFen,
    currency: v.currency,
    trade: {
      tradeId: v.tradeId,
      kind: v.tradeKind,
      tradeDataHash: row.trade_data_hash?.trim() ?? null,
      checkDataHash: row.check_data_hash?.trim() ?? null,
      meterEvidenceDigest: row.meter_evidence_digest?.trim() ?? null,
    },
    claimedFor: v.claimedFor ?? null,
    history: v.history,
    ledger: {
      txId: row.issued_tx_id,
      blockNumber: Number(row.issued_block),
      validationCode: 'VALID',
      committedAt: new Date(row.issued_at).toISOString(),
    },
    lastChange: {
      txId: row.updated_tx_id,
      blockNumber: Number(row.block_number),
      validationCode: 'VALID',
      committedAt: new Date(row.updated_at).toISOString(),
    },
  };
}

/**
 * Vouchers (绿电凭证) held by the custody contract: reads from the projection of TradeAttested and Voucher*
 * events; release and claim by the trading center acting for the holder, revoke by the issuer (grid admin).
 */
@Injectable()
export class VouchersService implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly projector: Projector,
  ) {}

  onModuleInit(): void {
    this.projector.onBatch('TradeAttested', projectTradeAttested);
    for (const name of ['VoucherReleased', 'VoucherClaimed', 'VoucherRevoked']) {
      this.projector.on(name, projectVoucherChange);
    }
  }

  async get(id: string): Promise<VoucherDto> {
    const rows = (await this.dataSource.query(`${VOUCHER_SELECT} WHERE v.id = $1`, [id])) as VoucherRow[];
    if (rows.length === 0) throw new ProblemError(404, 'VOUCHER_NOT_FOUND', `no voucher ${id}`);
    return toVoucherDto(rows[0]);
  }

  /** Company names of participants by id, from the projection of the participant registry (for print). */
  async names(ids: string[]): Promise<Map<string, string>> {
    const rows = (await this.dataSource.query(`SELECT id, name FROM participants WHERE id = ANY($1)`, [
      ids,
    ])) as Array<{ id: string; name: string }>;
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  async list(query: ListVouchersQueryDto): Promise<Page<VoucherDto>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const after = decodeCursor(query.cursor, ['id']);
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.consumer) {
      params.push(query.consumer);
      where.push(`v.consumer = $${params.length}`);
    }
    if (query.status) {
      params.push(query.status);
      where.push(`v.status = $${params.length}`);
    }
    if (after) {
      params.push(after.id);
      where.push(`v.id > $${params.length}`);
    }
    params.push(limit + 1);
    const rows = (await this.dataSource.query(
      `${VOUCHER_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY v.id LIMIT $${params.length}`,
      params,
    )) as VoucherRow[];
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toVoucherDto),
      nextCursor: rows.length > limit && last ? encodeCursor({ id: last.id }) : null,
    };
  }

  release(principal: Principal, id: string, body: ReleaseVoucherDto): Promise<VoucherDto> {
    return this.change(principal, id, 'vouchers:Release', async () => ({
      voucherId: id,
      holder: body.holder ?? (await this.get(id)).consumer,
    }));
  }

  claim(principal: Principal, id: string, body: ClaimVoucherDto): Promise<VoucherDto> {
    return this.change(principal, id, 'vouchers:Claim', async () => ({
      voucherId: id,
      holder: body.holder ?? (await this.get(id)).consumer,
      purpose: body.purpose,
      reportingStartMonth: body.reportingStartMonth,
      reportingEndMonth: body.reportingEndMonth,
    }));
  }

  revoke(principal: Principal, id: string, body: RevokeVoucherDto): Promise<VoucherDto> {
    return this.change(principal, id, 'vouchers:Revoke', () =>
      Promise.resolve({ voucherId: id, reason: body.reason }),
    );
  }

  /**
   * Custody belongs to the trading center whose trade created the voucher: another trading center's key gets
   * 404, as for its trades (no probing); a voucher without a trade received here is the admin's to act on.
   */
  private async requireOwnTrade(principal: Principal, id: string): Promise<void> {
    const rows = (await this.dataSource.query(
      `SELECT t.trading_center FROM vouchers v JOIN trades t ON t.trade_id = v.trade_id WHERE v.id = $1`,
      [id],
    )) as Array<{ trading_center: string }>;
    if (rows[0]?.trading_center !== principal.actsFor) {
      throw new ProblemError(404, 'VOUCHER_NOT_FOUND', `no voucher ${id}`);
    }
  }

  /** Submit a custody transaction as the key's identity; answer once its event is projected. */
  private async change(
    principal: Principal,
    id: string,
    transaction: string,
    request: () => Promise<Record<string, unknown>>,
  ): Promise<VoucherDto> {
    if (principal.role === 'trading-center') await this.requireOwnTrade(principal, id);
    const tx = await this.ledger.submit({
      identity: principal.identity,
      transaction,
      args: [JSON.stringify(await request())],
    });
    await this.projector.waitFor(tx.txId, tx.blockNumber, this.config.projectionWaitMs);
    return this.get(id);
  }
}
