import type { Histogram } from 'prom-client';
import { DelegatingLedger } from '../ledger/delegating-ledger';
import {
  isPrepared,
  type LedgerPort,
  type PreparedTransaction,
  type SubmittedTransaction,
  type TransactionRequest,
} from '../ledger/port';

function transactionOf(request: TransactionRequest | PreparedTransaction): string {
  return isPrepared(request) ? request.request.transaction : request.transaction;
}

function outcomeOf(error: unknown): string {
  if (!(error instanceof Error)) return 'error';
  if (error.name === 'EndorseError') return 'endorse_error';
  if (error.name === 'CommitError') {
    const code = (error as Error & { status?: { validationCode?: string } }).status?.validationCode;
    return code ? code.toLowerCase() : 'commit_error';
  }
  return 'error';
}

/**
 * The ledger port with a submit-duration histogram, and a close that waits for submits in flight: on shutdown
 * the HTTP server has stopped taking requests, the ledger then finishes what was started before closing.
 */
export class InstrumentedLedger extends DelegatingLedger {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    ledger: LedgerPort,
    private readonly submits: Histogram<'transaction' | 'outcome'>,
  ) {
    super(ledger);
  }

  override async submit(request: TransactionRequest | PreparedTransaction): Promise<SubmittedTransaction> {
    const end = this.submits.startTimer({ transaction: transactionOf(request) });
    const submitted = this.ledger.submit(request);
    this.inFlight.add(submitted);
    try {
      const result = await submitted;
      end({ outcome: 'valid' });
      return result;
    } catch (error) {
      end({ outcome: outcomeOf(error) });
      throw error;
    } finally {
      this.inFlight.delete(submitted);
    }
  }

  override async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    await this.ledger.close();
  }
}
