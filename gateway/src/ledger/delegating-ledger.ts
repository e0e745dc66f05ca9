import type {
  BlockEvent,
  BlockRangeRequest,
  BlockRangeVerification,
  ChainInfo,
  ChainVerification,
  ChaincodeEvent,
  Checkpoint,
  EventStream,
  LedgerPort,
  PreparedTransaction,
  PrepareOptions,
  SubmittedTransaction,
  TransactionInfo,
  TransactionRequest,
} from './port';

/** A ledger port that passes every call to another: the base of decorators that change one or two calls. */
export class DelegatingLedger implements LedgerPort {
  constructor(protected readonly ledger: LedgerPort) {}

  prepare(request: TransactionRequest, options?: PrepareOptions): PreparedTransaction {
    return this.ledger.prepare(request, options);
  }

  submit(request: TransactionRequest | PreparedTransaction): Promise<SubmittedTransaction> {
    return this.ledger.submit(request);
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

  verifyBlocks(range: BlockRangeRequest): Promise<BlockRangeVerification> {
    return this.ledger.verifyBlocks(range);
  }

  close(): Promise<void> {
    return this.ledger.close();
  }
}
