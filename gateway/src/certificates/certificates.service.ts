import type {
  CertificateLot,
  Issuance,
  LotChangeResult,
  RedemptionCheck,
  SerialProvenance,
  VoucherProvenance,
} from '@gec/chaincode';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/roles';
import { DEFAULT_LIMIT, Page } from '../common/pagination';
import { ProblemError } from '../common/problem';
import type { SubmittedTransaction } from '../ledger/port';
import { Projector } from '../projection/projector.service';
import {
  IssuanceDto,
  IssueDto,
  ListIssuancesQueryDto,
  ListLotsQueryDto,
  LotChangeDto,
  LotDto,
  LotHistoryDto,
  RedemptionCheckDto,
  SplitLotDto,
  toIssuanceDto,
  toLotDto,
  toRedemptionCheckDto,
  TransferLotDto,
  WithdrawLotDto,
} from './certificates.dto';
import { DocRow, iso, LedgerGateway, projectedPage, proof } from './ledger-support';
import { LOT_EVENTS, projectLotEvent } from './lot-projection';
import {
  ProvenanceDto,
  TxFacts,
  VoucherProvenanceDto,
  provenanceTxIds,
  toProvenanceDto,
} from './provenance.dto';

const SERIAL = /^([0-9A-Z]{17})(\d{4})(\d{2})(\d{7})([WSHBGO])([TN])$/;

/** The parts of a serial number the serial index is keyed on. */
export function serialParts(serial: string) {
  const match = SERIAL.exec(serial);
  if (!match) return undefined;
  return {
    projectCode: match[1],
    productionMonth: `${match[2]}-${match[3]}`,
    sequence: Number(match[4]),
    electricityClass: match[5],
    tradeClass: match[6],
  };
}

export function lotChange(tx: SubmittedTransaction, result: LotChangeResult): LotChangeDto {
  return {
    lotId: result.lotId,
    lots: result.lots.map((lot) => toLotDto(lot, tx.blockNumber)),
    ledger: proof(tx.txId, tx.blockNumber, tx.timestamp),
  };
}

/**
 * Issuances and certificate lots: writes to the `certificates` contract, reads from the `issuances`,
 * `certificate_lots` and `certificate_lot_versions` projections; redemption check and provenance by serial.
 */
@Injectable()
export class CertificatesService implements OnModuleInit {
  constructor(
    private readonly ledger: LedgerGateway,
    private readonly projector: Projector,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    for (const name of LOT_EVENTS) this.projector.on(name, projectLotEvent);
  }

  private query(sql: string, params: unknown[]): Promise<unknown> {
    return this.dataSource.query(sql, params);
  }

  // ---- Issuances ----

  async issue(principal: Principal, request: IssueDto): Promise<IssuanceDto> {
    const { tx, result } = await this.ledger.submit<Issuance>(principal.identity, 'certificates:Issue', {
      unitId: request.unitId,
      month: request.month,
      ...(request.tradable === undefined ? {} : { tradable: request.tradable }),
    });
    return toIssuanceDto(result, tx.blockNumber);
  }

  async listIssuances(query: ListIssuancesQueryDto): Promise<Page<IssuanceDto>> {
    const filters: Array<[string, unknown]> = [];
    if (query.unitId) filters.push(['unit_id = ?', query.unitId]);
    if (query.month) filters.push(['production_month = ?', query.month]);
    const page = await projectedPage<Issuance>((sql, params) => this.query(sql, params), {
      table: 'issuances',
      keys: ['id'],
      filters,
      limit: query.limit ?? DEFAULT_LIMIT,
      cursor: query.cursor,
    });
    return {
      items: page.rows.map((row) => toIssuanceDto(row.doc, Number(row.block_number))),
      nextCursor: page.nextCursor,
    };
  }

  // ---- Lots ----

  async getLot(lotId: string): Promise<LotDto> {
    const rows = (await this.query('SELECT doc, block_number FROM certificate_lots WHERE id = $1', [
      lotId,
    ])) as Array<DocRow<CertificateLot>>;
    if (rows.length === 0) throw new ProblemError(404, 'LOT_NOT_FOUND', `lot ${lotId} does not exist`);
    return toLotDto(rows[0].doc, Number(rows[0].block_number));
  }

  /** The projected lot holding `serial` (one indexed look-up), or undefined. */
  async lotBySerial(serial: string): Promise<DocRow<CertificateLot> | undefined> {
    const parts = serialParts(serial);
    if (!parts) return undefined;
    const rows = (await this.query(
      `SELECT doc, block_number FROM certificate_lots
       WHERE project_code = $1 AND production_month = $2 AND sequence_end >= $3
       ORDER BY sequence_end LIMIT 1`,
      [parts.projectCode, parts.productionMonth, parts.sequence],
    )) as Array<DocRow<CertificateLot>>;
    const row = rows[0];
    if (
      !row ||
      row.doc.sequenceStart > parts.sequence ||
      row.doc.electricityClass !== parts.electricityClass ||
      row.doc.tradeClass !== parts.tradeClass
    ) {
      return undefined;
    }
    return row;
  }

  async listLots(query: ListLotsQueryDto): Promise<Page<LotDto>> {
    const filters: Array<[string, unknown]> = [];
    if (query.serial) {
      const holder = await this.lotBySerial(query.serial);
      if (!holder) return { items: [], nextCursor: null };
      filters.push(['id = ?', holder.doc.id]);
    }
    if (query.owner) filters.push(['owner = ?', query.owner]);
    if (query.unitId) filters.push(['unit_id = ?', query.unitId]);
    if (query.status) filters.push(['status = ?', query.status]);
    if (query.productionMonth) filters.push(['production_month = ?', query.productionMonth]);
    const page = await projectedPage<CertificateLot>((sql, params) => this.query(sql, params), {
      table: 'certificate_lots',
      keys: ['id'],
      filters,
      limit: query.limit ?? DEFAULT_LIMIT,
      cursor: query.cursor,
    });
    return {
      items: page.rows.map((row) => toLotDto(row.doc, Number(row.block_number))),
      nextCursor: page.nextCursor,
    };
  }

  async lotHistory(lotId: string): Promise<LotHistoryDto> {
    await this.getLot(lotId);
    const rows = (await this.query(
      `SELECT tx_id, block_number, event_name, committed_at, doc FROM certificate_lot_versions
       WHERE lot_id = $1 ORDER BY block_number, tx_number`,
      [lotId],
    )) as Array<DocRow<CertificateLot> & { tx_id: string; event_name: string; committed_at: Date }>;
    return {
      lotId,
      versions: rows.map((row) => ({
        txId: row.tx_id,
        blockNumber: Number(row.block_number),
        eventName: row.event_name,
        committedAt: row.committed_at.toISOString(),
        lot: toLotDto(row.doc, Number(row.block_number)),
      })),
    };
  }

  async split(principal: Principal, lotId: string, request: SplitLotDto): Promise<LotChangeDto> {
    const { tx, result } = await this.ledger.submit<LotChangeResult>(
      principal.identity,
      'certificates:Split',
      {
        lotId,
        owner: request.owner,
        volume: request.certificates,
      },
    );
    return lotChange(tx, result);
  }

  async transfer(principal: Principal, lotId: string, request: TransferLotDto): Promise<LotChangeDto> {
    const { tx, result } = await this.ledger.submit<LotChangeResult>(
      principal.identity,
      'certificates:Transfer',
      {
        lotId,
        from: request.from,
        to: request.to,
        ...(request.certificates === undefined ? {} : { volume: request.certificates }),
      },
    );
    return lotChange(tx, result);
  }

  async expire(principal: Principal, lotId: string): Promise<LotChangeDto> {
    const { tx, result } = await this.ledger.submit<LotChangeResult>(
      principal.identity,
      'certificates:Expire',
      {
        lotId,
      },
    );
    return lotChange(tx, result);
  }

  async withdraw(principal: Principal, lotId: string, request: WithdrawLotDto): Promise<LotChangeDto> {
    const { tx, result } = await this.ledger.submit<LotChangeResult>(
      principal.identity,
      'certificates:Withdraw',
      {
        lotId,
        reason: request.reason,
        ...(request.certificates === undefined ? {} : { volume: request.certificates }),
      },
    );
    return lotChange(tx, result);
  }

  // ---- By serial ----

  /**
   * Redemption check (兑付信息核查) of one serial, answered by the ledger (redemption:CheckRedemption, one
   * endorsement, nothing ordered): the answer is the evidence a regulator or a buyer relies on, so it never comes
   * from the PostgreSQL projection, whose rows can lag or be edited (a REDEEMED lot edited to ACTIVE in the
   * projection answered `redeemed: false` while the ledger said REDEEMED).
   */
  async redemptionCheck(principal: Principal, serial: string): Promise<RedemptionCheckDto> {
    return toRedemptionCheckDto(
      await this.ledger.evaluate<RedemptionCheck>(principal.identity, 'redemption:CheckRedemption', serial),
    );
  }

  /**
   * Provenance of a serial, all from the ledger: one evaluate of queries:GetSerialProvenance walks the lots on
   * the serial's path (the lot holding it found with one range read of the serial-range index, each lot's moves
   * with one read of its move index) and returns the issuance, vouchers, trades, redemption and exchange; then
   * the ledger's own record of every transaction it names (qscc: block, validation code, time, submitting MSP).
   * Nothing comes from the PostgreSQL projection, so an edited row cannot change the answer.
   */
  async provenance(principal: Principal, serial: string): Promise<ProvenanceDto> {
    return this.proven(
      await this.ledger.evaluate<SerialProvenance>(principal.identity, 'queries:GetSerialProvenance', serial),
    );
  }

  /** Provenance of a lot: the path of its serials from issuance, and its own moves (queries:GetLotProvenance). */
  async lotProvenance(principal: Principal, lotId: string): Promise<ProvenanceDto> {
    return this.proven(
      await this.ledger.evaluate<SerialProvenance>(principal.identity, 'queries:GetLotProvenance', lotId),
    );
  }

  /** Provenance of each lot a voucher holds (queries:GetVoucherProvenance). */
  async voucherProvenance(principal: Principal, voucherId: string): Promise<VoucherProvenanceDto> {
    const result = await this.ledger.evaluate<VoucherProvenance>(
      principal.identity,
      'queries:GetVoucherProvenance',
      voucherId,
    );
    return {
      voucherId: result.voucher.voucherId,
      status: result.voucher.status,
      tradeId: result.voucher.tradeId,
      lots: await Promise.all(result.lots.map((lot) => this.proven(lot))),
    };
  }

  private async proven(provenance: SerialProvenance): Promise<ProvenanceDto> {
    const facts = new Map<string, TxFacts>();
    await Promise.all(
      provenanceTxIds(provenance).map(async (txId) => {
        const info = await this.ledger.transaction(txId);
        if (info) {
          facts.set(txId, {
            blockNumber: info.blockNumber,
            txNumber: info.txNumber,
            validationCode: info.validationCode,
            committedAt: iso(info.timestamp),
            mspId: info.creatorMspId,
            transaction: info.transaction,
          });
        }
      }),
    );
    return toProvenanceDto(provenance, facts);
  }
}
