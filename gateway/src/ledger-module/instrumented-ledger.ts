import type { Histogram } from 'prom-client';
import type {
  ChaincodeEvent,
  ChainInfo,
  ChainVerification,
  BlockEvent,
  Checkpoint,
  EventStream,
  LedgerPort,
  PreparedTransaction,
  SubmittedTransaction,
  TransactionInfo,
  TransactionRequest,
} from '../ledger/port';

function transactionOf(request: TransactionRequest | PreparedTransaction): string {
  return 'txId' in request && 'request' in request ? request.request.transaction : request.transaction;
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
export class InstrumentedLedger implements LedgerPort {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly ledger: LedgerPort,
    private readonly submits: Histogram<'transaction' | 'outcome'>,
  ) {}

  prepare(request: TransactionRequest): PreparedTransaction {
    return this.ledger.prepare(request);
  }

  async submit(request: TransactionRequest | PreparedTransaction): Promise<SubmittedTransaction> {
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

  evaluate(request: TransactionRequest): Promise<Uint8Array> {
    return this.ledger.evaluate(request);
  }

  chaincodeEvents(options?: { start?: Checkpoint }): EventStream<ChaincodeEvent> {
    return this.ledger.chaincodeEvents(options);
  }

  blockEvents(options?: { startBlock?: number }): EventStream<BlockEvent> {
    return this.ledger.blockEvents(options);
  }

  getTransaction(txId: string): Promise<TransactionInfo | undefined> {
    return this.ledger.getTransaction(txId);
  }

  getBlock(blockNumber: number): Promise<Uint8Array | undefined> {
    return this.ledger.getBlock(blockNumber);
  }

  getChainInfo(): Promise<ChainInfo> {
    return this.ledger.getChainInfo();
  }

  verifyChain(): Promise<ChainVerification> {
    return this.ledger.verifyChain();
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    await this.ledger.close();
  }
}
