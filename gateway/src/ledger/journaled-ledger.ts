import { DelegatingLedger } from './delegating-ledger';
import {
  isPrepared,
  type PreparedTransaction,
  type SubmittedTransaction,
  type TransactionInfo,
  type TransactionRequest,
} from './port';
import { nextJournaledWrite } from './write-journal';

/** A committed transaction as `submit` would have answered it. */
function submittedOf(info: TransactionInfo): SubmittedTransaction {
  return {
    txId: info.txId,
    blockNumber: info.blockNumber,
    validationCode: info.validationCode,
    successful: true,
    result: info.result,
    timestamp: info.timestamp,
  };
}

/**
 * Writes made for a journaled request (an `Idempotency-Key`; see `write-journal.ts`) are executed at most once:
 * - the transaction id is recorded before the proposal is sent;
 * - on a retry of the request, the write at the same position is resolved by that id first: VALID on the ledger →
 *   its committed result, nothing sent; invalid on the ledger → it changed nothing, a new transaction is made;
 *   unknown to the ledger (never sent, or perhaps still on its way) → it is sent again under the same transaction
 *   id, so Fabric's duplicate-txId rule lets at most one copy commit.
 * Callers that prepare their own transactions (the trade pipeline) keep their own records and pass through.
 */
export class JournaledLedger extends DelegatingLedger {
  override async submit(input: TransactionRequest | PreparedTransaction): Promise<SubmittedTransaction> {
    if (isPrepared(input)) return this.ledger.submit(input);
    const write = nextJournaledWrite();
    if (!write) return this.ledger.submit(input);
    const earlier = write.journal.earlier[write.position];
    if (earlier) {
      const info = await this.ledger.getTransaction(earlier.txId);
      if (info?.validationCode === 'VALID') return submittedOf(info);
      if (!info) {
        return this.submitOnce(this.ledger.prepare(input, { nonce: Buffer.from(earlier.nonce, 'base64') }));
      }
    }
    const prepared = this.ledger.prepare(input);
    await write.journal.record(write.position, {
      txId: prepared.txId,
      nonce: Buffer.from(prepared.nonce).toString('base64'),
      transaction: input.transaction,
    });
    return this.submitOnce(prepared);
  }

  /**
   * Submit; when that fails, the same transaction id may still have committed (another copy of it won: the
   * ledger refuses the duplicate), and then that commit is the answer.
   */
  private async submitOnce(prepared: PreparedTransaction): Promise<SubmittedTransaction> {
    try {
      return await this.ledger.submit(prepared);
    } catch (error) {
      const info = await this.ledger.getTransaction(prepared.txId).catch(() => undefined);
      if (info?.validationCode === 'VALID') return submittedOf(info);
      throw error;
    }
  }
}
