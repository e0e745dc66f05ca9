/**
 * The messages between the gateway's thread and the embedded ledger's own thread (`ledger-thread.ts`). Only what
 * a structured clone carries: plain objects, strings, numbers and Uint8Arrays; errors travel as their fields and
 * are rebuilt as the same classes (EndorseError, CommitError), so callers cannot tell the threads apart.
 */
import { ChannelUpdateRefusedError, type ConfigUpdateSignature } from '../channel-update';
import type { OrgSpec } from '../msp';
import {
  CommitError,
  EndorseError,
  type BlockRangeRequest,
  type CommitStatus,
  type TransactionRequest,
} from '../../port';

/** A creator certificate known to the ledger thread: the gateway's thread fixes transaction ids with it. */
export interface CreatorEntry {
  mspId: string;
  name: string;
  creator: Uint8Array;
}

export type LedgerCall =
  | { op: 'submit'; request: TransactionRequest; nonce: Uint8Array; timestamp: number }
  | { op: 'evaluate'; request: TransactionRequest; timestamp: number }
  | { op: 'getTransaction'; txId: string }
  | { op: 'getBlock'; blockNumber: number }
  | { op: 'getChainInfo' }
  | { op: 'verifyChain' }
  | { op: 'verifyBlocks'; range: BlockRangeRequest }
  // Channel configuration updates (EmbeddedLedger's API of the same names).
  | { op: 'enrolOrganisation'; spec: OrgSpec }
  | {
      op: 'proposeChannelUpdate';
      change: { addOrganisations?: Record<string, string>; endorsementPolicy?: string };
    }
  | { op: 'signChannelUpdate'; bytes: Uint8Array; signer: { mspId: string; name: string } }
  | { op: 'submitChannelUpdate'; bytes: Uint8Array; signatures: ConfigUpdateSignature[] }
  | { op: 'channelConfig' }
  | { op: 'close' };

export type StreamKind = 'chaincode' | 'block';

/** Gateway thread → ledger thread. */
export type ToLedger =
  | { type: 'call'; id: number; call: LedgerCall }
  | { type: 'open-stream'; stream: number; kind: StreamKind; start?: { blockNumber: number; txId?: string } }
  /** Room for `credit` more events of the stream: the ledger thread never runs further ahead than that. */
  | { type: 'credit'; stream: number; credit: number }
  | { type: 'close-stream'; stream: number };

/** Ledger thread → gateway thread. */
export type FromLedger =
  | { type: 'ready'; creators: CreatorEntry[]; osThreadId?: number }
  | { type: 'failed-to-open'; error: WireError }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'events'; stream: number; values: unknown[] }
  | { type: 'stream-end'; stream: number; error?: WireError };

export interface WireError {
  name: string;
  message: string;
  txId?: string;
  chaincodeMessage?: string;
  status?: number | CommitStatus;
  /** A ChannelUpdateRefusedError's stable code. */
  code?: string;
}

export function toWire(error: unknown): WireError {
  if (error instanceof EndorseError) {
    return {
      name: error.name,
      message: error.message,
      txId: error.txId,
      chaincodeMessage: error.chaincodeMessage,
      status: error.status,
    };
  }
  if (error instanceof CommitError) return { name: error.name, message: error.message, status: error.status };
  if (error instanceof ChannelUpdateRefusedError) {
    return { name: error.name, message: error.message, code: error.code };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

export function fromWire(wire: WireError): Error {
  if (wire.name === 'EndorseError') {
    return new EndorseError(wire.txId ?? '', wire.chaincodeMessage ?? wire.message, wire.status as number);
  }
  if (wire.name === 'CommitError') return new CommitError(wire.status as CommitStatus);
  if (wire.name === 'ChannelUpdateRefusedError' && wire.code) {
    const code = wire.code as ChannelUpdateRefusedError['code'];
    return new ChannelUpdateRefusedError(code, wire.message.replace(`${code}: `, ''));
  }
  const error = new Error(wire.message);
  if (wire.name !== 'Error') error.name = wire.name;
  return error;
}
