import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ChainVerifier } from '../audit/chain-verifier';
import { gatewayIdentity } from '../organisation/consortium';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { ledgerProblem } from '../common/ledger-errors';
import { ProblemError } from '../common/problem';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { LedgerPort } from '../ledger/port';
import { Projector } from '../projection/projector.service';
import { codeMatches } from './verification-code';
import type { LedgerVoucher } from './voucher-projection';

/** How long a check waits for the voucher's last change to reach this gateway's copy before comparing. */
const PROJECTION_WAIT_MS = 2000;

/** A transaction as the ledger itself records it (qscc), or null when the ledger does not know it. */
export interface TransactionProof {
  txId: string;
  blockNumber: number | null;
  validationCode: string | null;
  committedAt: string | null;
}

/** One check of the public verification. */
export interface VerificationCheck {
  id: 'ledger' | 'issued' | 'changed' | 'projection' | 'chain';
  passed: boolean;
  detail: string;
}

/**
 * What the public verification page (扫码验真) shows, and nothing more: the voucher's status, volume, period
 * and serial ranges as the ledger holds them, the transactions that issued and last changed it, and the checks.
 * No holder, seller, trade, price or reason: a third party confirms the paper, it does not learn about the
 * parties.
 */
export interface VoucherVerification {
  voucherId: string;
  status: string;
  volumeKwh: number;
  periodStart: string;
  periodEnd: string;
  serialRanges: Array<{ serialStart: string; serialEnd: string; certificates: number }>;
  issued: TransactionProof;
  lastChange: TransactionProof;
  checks: VerificationCheck[];
  /** Every check passed. */
  verified: boolean;
  checkedAt: string;
}

interface ProjectedVoucher {
  status: string;
  volume_kwh: string;
  period_start: Date;
  period_end: Date;
  issued_tx_id: string;
  updated_tx_id: string;
  doc: LedgerVoucher;
}

const NOT_VERIFIABLE = () =>
  new ProblemError(
    404,
    'VOUCHER_NOT_VERIFIABLE',
    'no voucher with this id and verification code is on the ledger: the link or the printed voucher is not genuine',
  );

/**
 * Public check of a voucher by its verification link. The answer comes from the ledger (vouchers:GetVoucher as
 * the gateway's own service identity, and qscc for its transactions); this gateway's PostgreSQL copy is compared
 * with it field by field, so an edited row is named as a failed check, never served.
 */
@Injectable()
export class VoucherVerificationService {
  constructor(
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly projector: Projector,
    private readonly chain: ChainVerifier,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async verify(voucherId: string, code: string): Promise<VoucherVerification> {
    const voucher = await this.ledgerVoucher(voucherId);
    // The same answer for an unknown voucher and a wrong code: the page tells a forger nothing.
    if (!voucher || !codeMatches(code, voucher.voucherId, voucher.issuedTxId)) throw NOT_VERIFIABLE();
    const last = voucher.history[voucher.history.length - 1];
    const [issued, lastChange] = await Promise.all([
      this.transaction(voucher.issuedTxId),
      this.transaction(last?.txId ?? voucher.issuedTxId),
    ]);
    if (lastChange.blockNumber !== null) {
      await this.projector.waitFor(lastChange.txId, lastChange.blockNumber, PROJECTION_WAIT_MS);
    }
    const checks: VerificationCheck[] = [
      { id: 'ledger', passed: true, detail: `vouchers:GetVoucher("${voucher.voucherId}")` },
      txCheck('issued', issued),
      txCheck('changed', lastChange),
      await this.projectionCheck(voucher),
      await this.chainCheck(issued, lastChange),
    ];
    return {
      voucherId: voucher.voucherId,
      status: voucher.status,
      volumeKwh: voucher.volumeKwh,
      periodStart: voucher.periodStart,
      periodEnd: voucher.periodEnd,
      serialRanges: voucher.sourceLots.map((l) => ({
        serialStart: l.serialStart,
        serialEnd: l.serialEnd,
        certificates: l.volume,
      })),
      issued,
      lastChange,
      checks,
      verified: checks.every((c) => c.passed),
      checkedAt: new Date().toISOString(),
    };
  }

  private async ledgerVoucher(voucherId: string): Promise<LedgerVoucher | undefined> {
    try {
      const bytes = await this.ledger.evaluate({
        // Nobody's key: the gateway reads as itself, with the identity it reads events and qscc with (on Fabric
        // FABRIC_SERVICE_IDENTITY, else its own organisation's client identity; an evaluate, never ordered).
        identity: this.config.ledgerSettings?.serviceIdentity ?? gatewayIdentity(this.config.organisation),
        transaction: 'vouchers:GetVoucher',
        args: [voucherId],
      });
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as LedgerVoucher;
    } catch (error) {
      // Not found, or an id the chaincode refuses: both are "not genuine"; anything else is the ledger's trouble.
      const problem = ledgerProblem(error);
      if (problem && (problem.status === 404 || problem.status === 400)) return undefined;
      throw error;
    }
  }

  private async transaction(txId: string): Promise<TransactionProof> {
    const info = await this.ledger.getTransaction(txId);
    return {
      txId,
      blockNumber: info?.blockNumber ?? null,
      validationCode: info?.validationCode ?? null,
      committedAt: info ? new Date(info.timestamp).toISOString() : null,
    };
  }

  /** This gateway's row against the ledger's object, field by field; each difference named. */
  private async projectionCheck(voucher: LedgerVoucher): Promise<VerificationCheck> {
    const rows = (await this.dataSource.query(
      `SELECT status, volume_kwh, period_start, period_end, issued_tx_id, updated_tx_id, doc
       FROM vouchers WHERE id = $1`,
      [voucher.voucherId],
    )) as ProjectedVoucher[];
    const row = rows[0];
    if (!row)
      return { id: 'projection', passed: false, detail: 'this registry holds no copy of the voucher' };
    const ranges = (v: Pick<LedgerVoucher, 'sourceLots'>) =>
      JSON.stringify(v.sourceLots.map((l) => [l.lotId, l.serialStart, l.serialEnd, l.volume]));
    const last = voucher.history[voucher.history.length - 1]?.txId ?? voucher.issuedTxId;
    const fields: Array<[string, unknown, unknown]> = [
      ['status', voucher.status, row.status],
      ['status (document)', voucher.status, row.doc.status],
      ['volumeKwh', voucher.volumeKwh, Number(row.volume_kwh)],
      ['volumeKwh (document)', voucher.volumeKwh, row.doc.volumeKwh],
      ['periodStart', Date.parse(voucher.periodStart), new Date(row.period_start).getTime()],
      ['periodEnd', Date.parse(voucher.periodEnd), new Date(row.period_end).getTime()],
      ['serial ranges', ranges(voucher), ranges(row.doc)],
      ['issuing transaction', voucher.issuedTxId, row.issued_tx_id],
      ['last change', last, row.updated_tx_id],
    ];
    const differ = fields.filter(([, ledger, stored]) => ledger !== stored).map(([name]) => name);
    return differ.length === 0
      ? { id: 'projection', passed: true, detail: 'status, volume, period, serial ranges and transactions' }
      : { id: 'projection', passed: false, detail: `differs from the ledger: ${differ.join(', ')}` };
  }

  /**
   * The blocks holding the voucher's transactions are intact (hashes, link to the block before, orderer
   * signature, index): covered by the gateway's own chain verification when it has reached them, otherwise
   * verified now, one or two blocks.
   */
  private async chainCheck(
    issued: TransactionProof,
    lastChange: TransactionProof,
  ): Promise<VerificationCheck> {
    const status = this.chain.status;
    if (status.state === 'failed') {
      const at = status.failure ? ` at block ${status.failure.blockNumber}` : '';
      return { id: 'chain', passed: false, detail: `the chain verification found a failure${at}` };
    }
    const blocks = [...new Set([issued.blockNumber, lastChange.blockNumber])].filter(
      (b): b is number => b !== null,
    );
    if (blocks.length === 0) return { id: 'chain', passed: false, detail: 'no block to verify' };
    const highest = Math.max(...blocks);
    if (status.verifiedBlock !== null && status.verifiedBlock >= highest) {
      return { id: 'chain', passed: true, detail: `blocks 0–${status.verifiedBlock} verified` };
    }
    const failures = (
      await Promise.all(blocks.map((b) => this.ledger.verifyBlocks({ from: b, to: b })))
    ).flatMap((r) => r.failures);
    return failures.length === 0
      ? { id: 'chain', passed: true, detail: `block ${blocks.join(' and ')} verified now` }
      : {
          id: 'chain',
          passed: false,
          detail: `block ${failures[0].blockNumber}: ${failures[0].check} failed`,
        };
  }
}

function txCheck(id: 'issued' | 'changed', tx: TransactionProof): VerificationCheck {
  if (tx.blockNumber === null) return { id, passed: false, detail: `the ledger does not know ${tx.txId}` };
  return {
    id,
    passed: tx.validationCode === 'VALID',
    detail: `${tx.validationCode} in block ${tx.blockNumber}`,
  };
}
