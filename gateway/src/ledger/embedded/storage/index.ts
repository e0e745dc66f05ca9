/** Storage layer of the embedded ledger: block file + LevelDB index, state and history. */
export {
  computeBlockDataHash,
  computeBlockHeaderHash,
  blockHeaderHash,
  blockDataHash,
  encodeBlockHeaderDer,
} from './block-hash';
export type { HeaderFields } from './block-hash';
export { BlockStoreDamagedError, LedgerStore } from './ledger-store';
export type {
  BlockUpdate,
  ChainVerification,
  DroppedTransaction,
  HistoryEntry,
  KeyWrite,
  LedgerStoreOptions,
  MetadataWrite,
  RecoveryReport,
  TxLocation,
  TxTimestamp,
  TxUpdate,
  UpdateFromBlock,
  Version,
  VersionedValue,
} from './ledger-store';
