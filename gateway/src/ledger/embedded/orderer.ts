/**
 * The ordering service: a single-node solo/Raft-like block cutter. Envelopes are ordered as they arrive and
 * cut into blocks by transaction count, by bytes or when the batch timeout expires, as Fabric's
 * `BatchSize`/`BatchTimeout` channel settings do. The orderer assigns the block number, links the previous
 * header hash, computes the data hash and signs the block; validation is the committer's job.
 */
import { randomBytes } from 'node:crypto';
import { common } from '@hyperledger/fabric-protos';
import { computeBlockDataHash, computeBlockHeaderHash } from './storage/block-hash';
import type { SigningIdentity } from './msp';

export interface BatchSettings {
  /** Fabric default 500; ours is lower to keep single-request latency low. */
  maxMessageCount: number;
  /** Fabric's PreferredMaxBytes default is 2 MB. */
  preferredMaxBytes: number;
  /** Fabric default 2 s; ours favours latency. */
  batchTimeoutMs: number;
}

export const DEFAULT_BATCH: BatchSettings = {
  maxMessageCount: 200,
  preferredMaxBytes: 2 * 1024 * 1024,
  batchTimeoutMs: 5,
};

const METADATA_ENTRIES = 5; // SIGNATURES, LAST_CONFIG, TRANSACTIONS_FILTER, ORDERER (deprecated), COMMIT_HASH

/** The bytes the orderer signs for a block: metadata value ‖ signature header ‖ header (as Fabric does). */
export function blockSignatureMessage(
  value: Uint8Array,
  signatureHeader: Uint8Array,
  header: common.BlockHeader,
): Buffer {
  return Buffer.concat([value, signatureHeader, header.serializeBinary()]);
}

/**
 * `lastConfig`: the number of the newest configuration block at or before this one, recorded as Fabric's
 * orderer does (in the signed OrdererBlockMetadata and the LAST_CONFIG entry), so that a peer reopening its
 * ledger finds the channel configuration in force without scanning the chain.
 */
export function buildBlock(
  number: number,
  previousHash: Uint8Array,
  envelopes: Uint8Array[],
  signer: SigningIdentity,
  lastConfig = 0,
): { block: common.Block; hash: Buffer } {
  const header = new common.BlockHeader();
  header.setNumber(number);
  header.setPreviousHash(previousHash);
  const dataHash = computeBlockDataHash(envelopes);
  header.setDataHash(dataHash);
  const data = new common.BlockData();
  data.setDataList(envelopes);

  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setCreator(signer.serialize());
  signatureHeader.setNonce(randomBytes(24));
  const signatureHeaderBytes = signatureHeader.serializeBinary();
  const lastConfigIndex = new common.LastConfig();
  lastConfigIndex.setIndex(lastConfig);
  const ordererMetadata = new common.OrdererBlockMetadata();
  ordererMetadata.setLastConfig(lastConfigIndex);
  const signedValue = ordererMetadata.serializeBinary();
  const metadataSignature = new common.MetadataSignature();
  metadataSignature.setSignatureHeader(signatureHeaderBytes);
  metadataSignature.setSignature(
    signer.sign(blockSignatureMessage(signedValue, signatureHeaderBytes, header)),
  );
  const signatures = new common.Metadata();
  signatures.setValue(signedValue);
  signatures.setSignaturesList([metadataSignature]);
  const lastConfigEntry = new common.Metadata();
  lastConfigEntry.setValue(lastConfigIndex.serializeBinary());

  const metadata = new common.BlockMetadata();
  const entries: Uint8Array[] = Array.from({ length: METADATA_ENTRIES }, () => new Uint8Array());
  entries[common.BlockMetadataIndex.SIGNATURES] = signatures.serializeBinary();
  entries[common.BlockMetadataIndex.LAST_CONFIG] = lastConfigEntry.serializeBinary();
  entries[common.BlockMetadataIndex.TRANSACTIONS_FILTER] = new Uint8Array(envelopes.length);
  metadata.setMetadataList(entries);

  const block = new common.Block();
  block.setHeader(header);
  block.setData(data);
  block.setMetadata(metadata);
  const hash = computeBlockHeaderHash({ number, previousHash, dataHash });
  return { block, hash };
}

interface Pending {
  envelope: Uint8Array;
  ordered: () => void;
}

export class Orderer {
  private batch: Pending[] = [];
  private batchBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private nextNumber: number,
    private previousHash: Uint8Array,
    private readonly signer: SigningIdentity,
    private readonly settings: BatchSettings,
    /** Receives blocks strictly in order; returns when the block is queued for commit. */
    private readonly deliver: (block: common.Block) => void,
    /** The newest configuration block so far (block 0 on a channel that was never updated). */
    private lastConfig = 0,
  ) {}

  /**
   * Order a configuration transaction. As Fabric's orderer does, the pending batch is cut first and the
   * configuration goes in a block of its own, so every transaction is validated under exactly one
   * configuration: those before it under the old one, those after under the new. Resolves once it is cut.
   */
  broadcastConfig(envelope: Uint8Array): Promise<number> {
    if (this.stopped) return Promise.reject(new Error('the ordering service is stopped'));
    this.cut();
    const number = this.nextNumber;
    const { block, hash } = buildBlock(number, this.previousHash, [envelope], this.signer, number);
    this.nextNumber += 1;
    this.previousHash = hash;
    this.lastConfig = number;
    this.deliver(block);
    return Promise.resolve(number);
  }

  /** Broadcast: resolves once the envelope is in a cut block (not yet committed). */
  broadcast(envelope: Uint8Array): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('the ordering service is stopped'));
    return new Promise<void>((ordered) => {
      this.batch.push({ envelope, ordered });
      this.batchBytes += envelope.length;
      if (
        this.batch.length >= this.settings.maxMessageCount ||
        this.batchBytes >= this.settings.preferredMaxBytes
      ) {
        this.cut();
      } else if (!this.timer) {
        this.timer = setTimeout(() => this.cut(), this.settings.batchTimeoutMs);
      }
    });
  }

  /** Cut whatever is pending, then refuse new envelopes. */
  stop(): void {
    this.cut();
    this.stopped = true;
  }

  private cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.batch.length === 0) return;
    const pending = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    const { block, hash } = buildBlock(
      this.nextNumber,
      this.previousHash,
      pending.map((p) => p.envelope),
      this.signer,
      this.lastConfig,
    );
    this.nextNumber += 1;
    this.previousHash = hash;
    this.deliver(block);
    for (const p of pending) p.ordered();
  }
}
