/**
 * Value types shared by the codec and the store. They live one level below both so that imports point one
 * way (codec → types ← ledger-store) instead of the codec importing the store that imports it.
 */

export interface Version {
  blockNum: number;
  txNum: number;
}

export interface VersionedValue {
  value: Buffer;
  version: Version;
  metadata?: Record<string, Buffer>;
}

export interface TxTimestamp {
  seconds: number;
  nanos: number;
}
