/**
 * Decoding what a Fabric peer returns (blocks from the deliver service, qscc payloads) into the port's types,
 * shared by both adapters. Pure functions over protobuf bytes: the unit tests feed them blocks made by the
 * embedded ledger, which writes the same `common.Block` format.
 */
import { common, msp, peer } from '@hyperledger/fabric-protos';
import type { BlockEvent, ChainInfo, ChainVerification, ChaincodeEvent, TransactionInfo } from '../port';
import { blockDataHash, blockHeaderHash } from '../embedded/storage/block-hash';
import { validationCodeName } from './errors';

export interface EnvelopeSummary {
  txId: string;
  headerType: number;
  /** RFC 3339, from the channel header (the client's timestamp). */
  timestamp: string;
  creatorMspId: string;
  /** `Contract:Function` (first chaincode argument) for endorser transactions, '' otherwise. */
  transaction: string;
  chaincodeName: string;
  event?: { chaincodeName: string; eventName: string; payload: Uint8Array };
  /** The chaincode's response payload (what the transaction function returned). */
  result: Uint8Array;
}

function isoOf(ts: { getSeconds(): number; getNanos(): number } | undefined): string {
  if (!ts) return new Date(0).toISOString();
  return new Date(ts.getSeconds() * 1000 + Math.floor(ts.getNanos() / 1e6)).toISOString();
}

/** The facts of one transaction envelope; tolerant of config and other non-endorser transactions. */
export function summarizeEnvelope(envelopeBytes: Uint8Array): EnvelopeSummary {
  const envelope = common.Envelope.deserializeBinary(envelopeBytes);
  const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
  const header = payload.getHeader();
  if (!header) throw new Error('transaction envelope has no header');
  const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
  const signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
  let creatorMspId = '';
  try {
    creatorMspId = msp.SerializedIdentity.deserializeBinary(signatureHeader.getCreator_asU8()).getMspid();
  } catch {
    // An unreadable creator stays '' (the transaction is then invalid anyway).
  }
  const summary: EnvelopeSummary = {
    txId: channelHeader.getTxId(),
    headerType: channelHeader.getType(),
    timestamp: isoOf(channelHeader.getTimestamp()),
    creatorMspId,
    transaction: '',
    chaincodeName: '',
    result: new Uint8Array(),
  };
  if (summary.headerType !== common.HeaderType.ENDORSER_TRANSACTION) return summary;

  const transaction = peer.Transaction.deserializeBinary(payload.getData_asU8());
  const action = transaction.getActionsList()[0];
  if (!action) return summary;
  const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
  const proposalPayload = peer.ChaincodeProposalPayload.deserializeBinary(
    actionPayload.getChaincodeProposalPayload_asU8(),
  );
  const invocation = peer.ChaincodeInvocationSpec.deserializeBinary(proposalPayload.getInput_asU8());
  const firstArg = invocation.getChaincodeSpec()?.getInput()?.getArgsList_asU8()[0];
  summary.transaction = firstArg ? Buffer.from(firstArg).toString('utf8') : '';
  summary.chaincodeName = invocation.getChaincodeSpec()?.getChaincodeId()?.getName() ?? '';

  const endorsed = actionPayload.getAction();
  if (!endorsed) return summary;
  const responsePayload = peer.ProposalResponsePayload.deserializeBinary(
    endorsed.getProposalResponsePayload_asU8(),
  );
  const chaincodeAction = peer.ChaincodeAction.deserializeBinary(responsePayload.getExtension_asU8());
  summary.result = chaincodeAction.getResponse()?.getPayload_asU8() ?? new Uint8Array();
  const eventBytes = chaincodeAction.getEvents_asU8();
  if (eventBytes.length > 0) {
    const event = peer.ChaincodeEvent.deserializeBinary(eventBytes);
    summary.event = {
      chaincodeName: event.getChaincodeId(),
      eventName: event.getEventName(),
      payload: event.getPayload_asU8(),
    };
  }
  return summary;
}

/** Validation codes of a block's transactions (metadata TRANSACTIONS_FILTER). */
export function transactionCodes(block: common.Block): Uint8Array {
  return (
    block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER] ??
    new Uint8Array()
  );
}

function envelopesOf(block: common.Block): Uint8Array[] {
  return block.getData()?.getDataList_asU8() ?? [];
}

function numberOf(block: common.Block): number {
  const header = block.getHeader();
  if (!header) throw new Error('block has no header');
  return header.getNumber();
}

/** A deliver-service block as the port's BlockEvent. */
export function blockEventOf(block: common.Block): BlockEvent {
  const codes = transactionCodes(block);
  return {
    blockNumber: numberOf(block),
    blockHash: blockHeaderHash(block).toString('hex'),
    previousHash: Buffer.from(block.getHeader()!.getPreviousHash_asU8()).toString('hex'),
    bytes: block.serializeBinary(),
    transactions: envelopesOf(block).map((envelope, txNumber) => {
      let txId = '';
      try {
        txId = summarizeEnvelope(envelope).txId;
      } catch {
        // A malformed envelope keeps its position with an empty id, as Fabric records it (BAD_PAYLOAD).
      }
      return { txId, txNumber, validationCode: validationCodeName(codes[txNumber] ?? 255) };
    }),
  };
}

/** The chaincode events of a block's VALID transactions of `chaincodeName`, in block order. */
export function chaincodeEventsOf(block: common.Block, chaincodeName: string): ChaincodeEvent[] {
  const blockNumber = numberOf(block);
  const codes = transactionCodes(block);
  const events: ChaincodeEvent[] = [];
  envelopesOf(block).forEach((envelope, txNumber) => {
    if (codes[txNumber] !== peer.TxValidationCode.VALID) return;
    let summary: EnvelopeSummary;
    try {
      summary = summarizeEnvelope(envelope);
    } catch {
      return;
    }
    if (!summary.event || summary.event.chaincodeName !== chaincodeName) return;
    events.push({
      blockNumber,
      txId: summary.txId,
      txNumber,
      chaincodeName,
      eventName: summary.event.eventName,
      payload: summary.event.payload,
    });
  });
  return events;
}

/** Position of a transaction id in a block, or -1. */
export function txNumberIn(block: common.Block, txId: string): number {
  return envelopesOf(block).findIndex((envelope) => {
    try {
      return summarizeEnvelope(envelope).txId === txId;
    } catch {
      return false;
    }
  });
}

/**
 * qscc GetTransactionByID (`peer.ProcessedTransaction`) plus the block that holds it (qscc GetBlockByTxID:
 * ProcessedTransaction carries no block number) → TransactionInfo.
 */
export function transactionInfoOf(processedTransaction: Uint8Array, blockBytes: Uint8Array): TransactionInfo {
  const processed = peer.ProcessedTransaction.deserializeBinary(processedTransaction);
  const envelope = processed.getTransactionenvelope();
  if (!envelope) throw new Error('ProcessedTransaction has no envelope');
  const summary = summarizeEnvelope(envelope.serializeBinary());
  const block = common.Block.deserializeBinary(blockBytes);
  return {
    txId: summary.txId,
    blockNumber: numberOf(block),
    txNumber: txNumberIn(block, summary.txId),
    validationCode: validationCodeName(processed.getValidationcode()),
    timestamp: summary.timestamp,
    creatorMspId: summary.creatorMspId,
    transaction: summary.transaction,
    result: summary.result,
  };
}

/** qscc GetChainInfo (`common.BlockchainInfo`) → ChainInfo. */
export function chainInfoOf(bytes: Uint8Array): ChainInfo {
  const info = common.BlockchainInfo.deserializeBinary(bytes);
  return {
    height: info.getHeight(),
    currentBlockHash: Buffer.from(info.getCurrentblockhash_asU8()).toString('hex'),
    previousBlockHash: Buffer.from(info.getPreviousblockhash_asU8()).toString('hex'),
  };
}

/** A ProcessedTransaction for a block's transaction, as qscc would return it (used by tests and tools). */
export function processedTransactionOf(block: common.Block, txNumber: number): Uint8Array {
  const processed = new peer.ProcessedTransaction();
  processed.setTransactionenvelope(common.Envelope.deserializeBinary(envelopesOf(block)[txNumber]));
  processed.setValidationcode(transactionCodes(block)[txNumber] ?? 255);
  return processed.serializeBinary();
}

/**
 * Walk blocks 0..height-1: each block's number, its data hash against its data, and its previous hash against
 * the header hash (SHA-256 of the ASN.1 DER header) of the block before; the last against `currentBlockHash`
 * when given. Orderer signatures are not checked here (that needs the channel's MSPs; the peer checked them
 * when it committed the block).
 */
export async function verifyBlocks(
  height: number,
  getBlock: (n: number) => Promise<Uint8Array | undefined>,
  currentBlockHash?: string,
): Promise<ChainVerification> {
  const problems: string[] = [];
  let previous: Buffer | undefined;
  for (let n = 0; n < height; n++) {
    let block: common.Block;
    try {
      const bytes = await getBlock(n);
      if (!bytes) {
        problems.push(`block ${n}: missing`);
        previous = undefined;
        continue;
      }
      block = common.Block.deserializeBinary(bytes);
    } catch (err) {
      problems.push(`block ${n}: unreadable (${(err as Error).message})`);
      previous = undefined;
      continue;
    }
    const header = block.getHeader();
    if (!header) {
      problems.push(`block ${n}: no header`);
      previous = undefined;
      continue;
    }
    if (header.getNumber() !== n) problems.push(`block ${n}: header says block ${header.getNumber()}`);
    if (!blockDataHash(block).equals(Buffer.from(header.getDataHash_asU8()))) {
      problems.push(`block ${n}: data hash does not match the block's transactions`);
    }
    if (n === 0) {
      if (header.getPreviousHash_asU8().length !== 0)
        problems.push('block 0: genesis block has a previous hash');
    } else if (previous && !previous.equals(Buffer.from(header.getPreviousHash_asU8()))) {
      problems.push(`block ${n}: previous hash does not match the header hash of block ${n - 1}`);
    }
    previous = blockHeaderHash(block);
  }
  if (
    currentBlockHash !== undefined &&
    previous &&
    height > 0 &&
    previous.toString('hex') !== currentBlockHash
  ) {
    problems.push(`block ${height - 1}: header hash differs from the peer's current block hash`);
  }
  return { ok: problems.length === 0, height, problems };
}
