/**
 * The ledger port: the only way the rest of the gateway reaches a ledger.
 *
 * Shaped after `@hyperledger/fabric-gateway` (proposal → endorse → submit → commit status, evaluate,
 * chaincode events from a checkpoint, qscc look-ups) so that the embedded ledger and a real Fabric network
 * sit behind the same calls. Nothing above this port knows which ledger it talks to.
 */

/** Fabric's transaction validation codes (`peer.TxValidationCode`), with their numeric values. */
export enum ValidationCode {
  VALID = 0,
  NIL_ENVELOPE = 1,
  BAD_PAYLOAD = 2,
  BAD_COMMON_HEADER = 3,
  BAD_CREATOR_SIGNATURE = 4,
  INVALID_ENDORSER_TRANSACTION = 5,
  INVALID_CONFIG_TRANSACTION = 6,
  UNSUPPORTED_TX_PAYLOAD = 7,
  BAD_PROPOSAL_TXID = 8,
  DUPLICATE_TXID = 9,
  ENDORSEMENT_POLICY_FAILURE = 10,
  MVCC_READ_CONFLICT = 11,
  PHANTOM_READ_CONFLICT = 12,
  UNKNOWN_TX_TYPE = 13,
  TARGET_CHAIN_NOT_FOUND = 14,
  MARSHAL_TX_ERROR = 15,
  NIL_TXACTION = 16,
  EXPIRED_CHAINCODE = 17,
  CHAINCODE_VERSION_CONFLICT = 18,
  BAD_HEADER_EXTENSION = 19,
  BAD_CHANNEL_HEADER = 20,
  BAD_RESPONSE_PAYLOAD = 21,
  BAD_RWSET = 22,
  ILLEGAL_WRITESET = 23,
  INVALID_WRITESET = 24,
  INVALID_CHAINCODE = 25,
  NOT_VALIDATED = 254,
  INVALID_OTHER_REASON = 255,
}

export type ValidationCodeName = keyof typeof ValidationCode;

/** The identity a request runs as: an MSP member known to the ledger by name (e.g. `GridMSP` / `admin`). */
export interface IdentityRef {
  mspId: string;
  /** Enrollment name within the MSP, e.g. `admin`, `platform`, `regulator`. */
  name: string;
}

export interface TransactionRequest {
  identity: IdentityRef;
  /** `Contract:Function`, e.g. `identity:RegisterParticipant`. */
  transaction: string;
  args?: string[];
  /** Private inputs: passed to the chaincode, never written to a block. */
  transient?: Record<string, Uint8Array | string>;
  /**
   * Endorse on these organisations' peers instead of the ones the chaincode policy needs (as
   * fabric-gateway's `endorsingOrganizations`). Too few gives ENDORSEMENT_POLICY_FAILURE at commit.
   */
  endorsingOrganizations?: string[];
}

/** A proposal whose transaction id is known before it is endorsed, so a retry can reuse it. */
export interface PreparedTransaction {
  readonly txId: string;
  readonly request: TransactionRequest;
  /** The proposal's nonce: with the same creator it fixes the txId (txId = SHA-256(nonce ‖ creator)). */
  readonly nonce: Uint8Array;
}

/** Whether a submission is an already prepared transaction (its txId fixed) rather than a request. */
export function isPrepared(input: TransactionRequest | PreparedTransaction): input is PreparedTransaction {
  return 'txId' in input && 'request' in input;
}

export interface PrepareOptions {
  /**
   * Reuse this nonce, and so (for the same identity) an earlier proposal's transaction id: a write whose fate is
   * unknown is retried under its own txId, so Fabric's duplicate-txId rule lets at most one of them commit.
   */
  nonce?: Uint8Array;
}

export interface CommitStatus {
  txId: string;
  blockNumber: number;
  validationCode: ValidationCodeName;
  successful: boolean;
}

export interface SubmittedTransaction extends CommitStatus {
  /** The chaincode's response payload (what the transaction function returned). */
  result: Uint8Array;
  /** Transaction timestamp chosen by the client, RFC 3339. */
  timestamp: string;
}

export interface ChaincodeEvent {
  blockNumber: number;
  txId: string;
  /** Position of the transaction in its block. */
  txNumber: number;
  chaincodeName: string;
  eventName: string;
  payload: Uint8Array;
}

export interface BlockEvent {
  blockNumber: number;
  blockHash: string;
  previousHash: string;
  /** Serialized `common.Block` protobuf, as Fabric's deliver service gives it. */
  bytes: Uint8Array;
  transactions: Array<{ txId: string; txNumber: number; validationCode: ValidationCodeName }>;
}

/** Where an event stream resumes: after `txId` in `blockNumber`, or at the start of `blockNumber` when no txId. */
export interface Checkpoint {
  blockNumber: number;
  txId?: string;
}

export interface EventStream<T> extends AsyncIterable<T> {
  close(): void;
}

export interface TransactionInfo {
  txId: string;
  blockNumber: number;
  txNumber: number;
  validationCode: ValidationCodeName;
  timestamp: string;
  creatorMspId: string;
  transaction: string;
  /** What the chaincode function returned (the endorsed response payload); empty for other transactions. */
  result: Uint8Array;
}

export interface ChainInfo {
  height: number;
  currentBlockHash: string;
  previousBlockHash: string;
  /** What the ledger's last start found in its own storage and repaired (the embedded ledger; not a peer). */
  startup?: LedgerStartupReport;
}

/** A start-up check of the embedded ledger's block store and state database, and its repairs. */
export interface LedgerStartupReport {
  /** One sentence per finding and repair, as logged at start; empty when storage opened clean. */
  repairs: string[];
  /** Committed blocks the block file no longer held in full: cut away, and their writes are not in state. */
  droppedBlocks: number[];
  droppedTransactions: Array<{ txId: string; blockNumber: number; validationCode: string }>;
  /** State, history and indexes were rebuilt from the block file. */
  stateRebuilt: boolean;
  /** Blocks whose hash chain was checked at start (record checksums of every block are checked every start). */
  chainVerified?: { from: number; to: number };
}

export interface ChainVerification {
  ok: boolean;
  height: number;
  /** Each problem names the block and what failed (data hash, previous hash, signature, index). */
  problems: string[];
}

/**
 * The checks a block-range verification can make, each named in a failure:
 * - `record`: the block's bytes are readable where the store keeps them (the embedded block file's record checksum);
 * - `decode`: the bytes are a `common.Block` with a header;
 * - `number`: the header's number is the block's position in the chain;
 * - `data-hash`: the header's data hash is SHA-256 of the block's transactions;
 * - `previous-hash`: the header's previous hash is the header hash of the block before (empty for block 0);
 * - `orderer-signature`: the block metadata carries a valid signature of an orderer of the channel's orderer
 *   organisation over the header;
 * - `block-index`: the store's block index (number → file offset, length, header hash) agrees with the block;
 * - `tx-index`: the store's transaction index (txId → block, position, validation code) agrees with the block.
 */
export const CHAIN_CHECKS = [
  'record',
  'decode',
  'number',
  'data-hash',
  'previous-hash',
  'orderer-signature',
  'block-index',
  'tx-index',
] as const;
export type ChainCheck = (typeof CHAIN_CHECKS)[number];

/** Whether this ledger kind performs a check, and if not (or only in part), why. */
export interface ChainCheckSupport {
  check: ChainCheck;
  performed: boolean;
  note?: string;
}

/** One check a block failed: what was expected and what was found, in words a regulator can act on. */
export interface ChainFailure {
  blockNumber: number;
  check: ChainCheck;
  expected: string;
  found: string;
}

export interface BlockRangeRequest {
  from: number;
  to: number;
  /**
   * Header hash (hex) of block `from - 1` as an earlier verification recorded it: the link of block `from` is
   * checked against it. Without it the block before is read and hashed (not otherwise checked).
   */
  previousHash?: string;
}

export interface BlockRangeVerification {
  from: number;
  to: number;
  /** Blocks read (to - from + 1 unless a block was missing). */
  blocksChecked: number;
  /** Every check, and whether this ledger kind made it. */
  checks: ChainCheckSupport[];
  /** Every failure in block order (the first is the first one found). */
  failures: ChainFailure[];
  /** Header hash (hex) of block `to` recomputed from its bytes: what the next range links to. */
  lastHeaderHash?: string;
}

/**
 * Raised when endorsement fails: the chaincode returned an error (a rule was broken) or the proposal was
 * refused (unknown identity, bad signature). Nothing was ordered. `chaincodeMessage` is the chaincode's own
 * message, e.g. `PARTICIPANT_EXISTS: participant P1 is already registered`.
 */
export class EndorseError extends Error {
  override readonly name = 'EndorseError';
  constructor(
    readonly txId: string,
    readonly chaincodeMessage: string,
    readonly status = 500,
  ) {
    super(`endorsement of ${txId} failed: ${chaincodeMessage}`);
  }
}

/** Raised when a transaction was ordered but committed invalid (e.g. MVCC_READ_CONFLICT). Nothing changed. */
export class CommitError extends Error {
  override readonly name = 'CommitError';
  constructor(readonly status: CommitStatus) {
    super(`transaction ${status.txId} committed in block ${status.blockNumber} as ${status.validationCode}`);
  }
}

export interface LedgerPort {
  /** Fix the transaction id (nonce + creator) before anything is sent, as `Contract.newProposal` does. */
  prepare(request: TransactionRequest, options?: PrepareOptions): PreparedTransaction;
  /** Endorse, order and wait for commit. Throws EndorseError, or CommitError when not VALID. */
  submit(request: TransactionRequest | PreparedTransaction): Promise<SubmittedTransaction>;
  /** Run a read-only transaction on one endorser; nothing is ordered. Throws EndorseError on a chaincode error. */
  evaluate(request: TransactionRequest): Promise<Uint8Array>;
  /** Chaincode events of valid transactions, in commit order, from a checkpoint (default: the next block). */
  chaincodeEvents(options?: { start?: Checkpoint }): EventStream<ChaincodeEvent>;
  /** Every block, from `startBlock` (default: the next block), in order. */
  blockEvents(options?: { startBlock?: number }): EventStream<BlockEvent>;
  /** qscc GetTransactionByID: undefined when the ledger has never seen the id. */
  getTransaction(txId: string): Promise<TransactionInfo | undefined>;
  /** qscc GetBlockByNumber: the serialized `common.Block`. */
  getBlock(blockNumber: number): Promise<Uint8Array | undefined>;
  /** qscc GetChainInfo. */
  getChainInfo(): Promise<ChainInfo>;
  /** Re-hash every block and check the chain links and the index. */
  verifyChain(): Promise<ChainVerification>;
  /**
   * Verify blocks `from`..`to` (inclusive, both below the height): every check of CHAIN_CHECKS this ledger kind
   * can make, each failure named by block, check, expected and found; `checks` says which were not made and why.
   */
  verifyBlocks(range: BlockRangeRequest): Promise<BlockRangeVerification>;
  close(): Promise<void>;
}
