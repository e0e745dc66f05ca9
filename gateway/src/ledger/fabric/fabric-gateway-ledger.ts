/**
 * The ledger port on a real Fabric network through the Fabric Gateway service (peers 2.4+), with
 * `@hyperledger/fabric-gateway` 1.11 and `@grpc/grpc-js`.
 *
 * - submit = newProposal (the txId is fixed) → endorse → submit → getStatus, as fabric-samples'
 *   asset-transfer-events does with submitAsync; a status that is not VALID throws the port's CommitError with
 *   the same validation code name as the embedded ledger (11 MVCC_READ_CONFLICT, 12 PHANTOM_READ_CONFLICT).
 * - chaincode events are decoded from the deliver service's full blocks (with each transaction's position), from
 *   the checkpoint's block, after the transaction it names.
 * - block and transaction look-ups go through the qscc system chaincode.
 * One gRPC connection to the peer is shared by a Gateway per identity (signer from the wallet; P-256 keys sign
 * with OpenSSL, not with the library's JavaScript signer).
 */
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import {
  connect,
  hash,
  signers,
  type CloseableAsyncIterable,
  type Contract,
  type Gateway,
  type Network,
  type Proposal,
} from '@hyperledger/fabric-gateway';
import { common, gateway, peer } from '@hyperledger/fabric-protos';
import type {
  BlockRangeRequest,
  BlockRangeVerification,
  BlockEvent,
  ChainInfo,
  ChainVerification,
  ChaincodeEvent,
  Checkpoint,
  EventStream,
  IdentityRef,
  LedgerPort,
  PreparedTransaction,
  PrepareOptions,
  SubmittedTransaction,
  TransactionInfo,
  TransactionRequest,
} from '../port';
import { EndorseError } from '../port';
import { verifyBlocksThroughQscc } from '../chain-walk';
import {
  blockEventOf,
  chainInfoOf,
  chaincodeEventsOf,
  transactionInfoOf,
  txNumberIn,
  verifyBlocks,
} from './block-decode';
import type { FabricGatewayConfig } from './config';
import { commitError, endorseRetryingMismatch, mapGatewayError, validationCodeName } from './errors';
import { isP256, signP256 } from './signing';
import { loadWalletIdentitySync } from './wallet';

interface Connection {
  gateway: Gateway;
  network: Network;
  contract: Contract;
  qscc: Contract;
}

class GatewayPreparedTransaction implements PreparedTransaction {
  constructor(
    readonly txId: string,
    readonly request: TransactionRequest,
    readonly nonce: Uint8Array,
    readonly proposal: Proposal,
    readonly timestamp: string,
  ) {}
}

/**
 * `Proposal.getBytes()` of an unsigned proposal with its nonce replaced, and so its transaction id
 * (SHA-256(nonce ‖ creator), in the channel header and the ProposedTransaction): the library draws a fresh
 * nonce for every proposal and has no option to reuse one, but restores proposals from these bytes.
 */
export function withNonce(proposedTransaction: Uint8Array, nonce: Uint8Array): Uint8Array {
  const proposed = gateway.ProposedTransaction.deserializeBinary(proposedTransaction);
  const signed = proposed.getProposal();
  if (!signed) throw new Error('ProposedTransaction has no proposal');
  const proposal = peer.Proposal.deserializeBinary(signed.getProposalBytes_asU8());
  const header = common.Header.deserializeBinary(proposal.getHeader_asU8());
  const signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
  signatureHeader.setNonce(nonce);
  const txId = Buffer.from(
    hash.sha256(Buffer.concat([Buffer.from(nonce), Buffer.from(signatureHeader.getCreator_asU8())])),
  ).toString('hex');
  const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
  channelHeader.setTxId(txId);
  header.setChannelHeader(channelHeader.serializeBinary());
  header.setSignatureHeader(signatureHeader.serializeBinary());
  proposal.setHeader(header.serializeBinary());
  signed.setProposalBytes(proposal.serializeBinary());
  signed.setSignature(new Uint8Array());
  proposed.setProposal(signed);
  proposed.setTransactionId(txId);
  return proposed.serializeBinary();
}

/** The nonce in `Proposal.getBytes()`. */
function nonceOf(proposedTransaction: Uint8Array): Uint8Array {
  const proposal = peer.Proposal.deserializeBinary(proposalBytesOf(proposedTransaction));
  const header = common.Header.deserializeBinary(proposal.getHeader_asU8());
  return common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8()).getNonce_asU8();
}

/** The signed `peer.Proposal` bytes inside `Proposal.getBytes()` (a serialized `gateway.ProposedTransaction`). */
export function proposalBytesOf(proposedTransaction: Uint8Array): Uint8Array {
  const signed = gateway.ProposedTransaction.deserializeBinary(proposedTransaction).getProposal();
  if (!signed) throw new Error('ProposedTransaction has no proposal');
  return signed.getProposalBytes_asU8();
}

/** The client's timestamp from `Proposal.getBytes()` (ProposedTransaction → Proposal → Header → ChannelHeader). */
export function proposalTimestamp(proposedTransaction: Uint8Array): string {
  const proposal = peer.Proposal.deserializeBinary(proposalBytesOf(proposedTransaction));
  const header = common.Header.deserializeBinary(proposal.getHeader_asU8());
  const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
  const ts = channelHeader.getTimestamp();
  return new Date(ts ? ts.getSeconds() * 1000 + Math.floor(ts.getNanos() / 1e6) : 0).toISOString();
}

/** Bytes of a transient map value (strings as UTF-8). */
function transientOf(request: TransactionRequest): Record<string, Uint8Array> | undefined {
  if (!request.transient) return undefined;
  const out: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(request.transient)) {
    out[key] = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  }
  return out;
}

/** An EventStream over an iterable opened lazily (the library's event calls are async). */
function lazyStream<S, T>(
  open: () => Promise<CloseableAsyncIterable<S>>,
  map: (item: S) => Promise<T[]>,
): EventStream<T> {
  let source: CloseableAsyncIterable<S> | undefined;
  let closed = false;
  return {
    close: () => {
      closed = true;
      source?.close();
    },
    [Symbol.asyncIterator]: async function* () {
      if (closed) return;
      source = await open();
      if (closed) {
        source.close();
        return;
      }
      try {
        for await (const item of source) {
          for (const out of await map(item)) {
            if (closed) return;
            yield out;
          }
          if (closed) return;
        }
      } catch (err) {
        // Closing cancels the gRPC stream, which ends the iteration with CANCELLED: that is a normal end.
        if (closed) return;
        throw err;
      } finally {
        source.close();
      }
    },
  };
}

export class FabricGatewayLedger implements LedgerPort {
  private readonly connections = new Map<string, Connection>();
  private closed = false;

  private constructor(
    private readonly config: FabricGatewayConfig,
    private readonly client: grpc.Client,
  ) {}

  static async connect(config: FabricGatewayConfig): Promise<FabricGatewayLedger> {
    const tlsRootCert = await readFile(config.tlsCertPath);
    const options: grpc.ClientOptions = config.hostAlias
      ? { 'grpc.ssl_target_name_override': config.hostAlias }
      : {};
    const client = new grpc.Client(config.peerEndpoint, grpc.credentials.createSsl(tlsRootCert), options);
    const ledger = new FabricGatewayLedger(config, client);
    try {
      // Fail fast on a wrong endpoint or identity: connect the service identity and read the chain height.
      ledger.connection(config.serviceIdentity);
      await ledger.getChainInfo();
    } catch (err) {
      await ledger.close();
      throw err;
    }
    return ledger;
  }

  prepare(request: TransactionRequest, options?: PrepareOptions): PreparedTransaction {
    this.assertOpen();
    return this.newPrepared(this.connection(request.identity), request, options?.nonce);
  }

  async submit(input: TransactionRequest | PreparedTransaction): Promise<SubmittedTransaction> {
    this.assertOpen();
    const prepared = this.asPrepared(input);
    const { txId } = prepared;
    const t = this.config.timeouts;
    let result: Uint8Array;
    let status;
    try {
      // A peer a block behind another endorses on an older state; endorse again, as it catches up.
      const transaction = await endorseRetryingMismatch(() =>
        prepared.proposal.endorse({ deadline: Date.now() + t.endorseMs }),
      );
      result = transaction.getResult();
      const submitted = await transaction.submit({ deadline: Date.now() + t.submitMs });
      status = await submitted.getStatus({ deadline: Date.now() + t.commitStatusMs });
    } catch (err) {
      throw mapGatewayError(err, txId);
    }
    const blockNumber = Number(status.blockNumber);
    if (!status.successful) throw commitError(txId, blockNumber, status.code);
    return {
      txId,
      blockNumber,
      validationCode: validationCodeName(status.code),
      successful: true,
      result,
      timestamp: prepared.timestamp,
    };
  }

  async evaluate(request: TransactionRequest): Promise<Uint8Array> {
    this.assertOpen();
    const prepared = this.asPrepared(request);
    try {
      return await prepared.proposal.evaluate({ deadline: Date.now() + this.config.timeouts.evaluateMs });
    } catch (err) {
      throw mapGatewayError(err, prepared.txId);
    }
  }

  /**
   * Chaincode events read from the channel's blocks (the deliver service's full blocks, decoded here), not from
   * the Gateway's chaincode event service: that one gives no transaction's position in its block, and asking the
   * peer for each block to find it (qscc) made a gateway catching up on a long channel wait a round trip per block.
   * Only VALID transactions' events, as the chaincode event service gives; resuming from a checkpoint that names a
   * transaction skips the start block's events up to and including it.
   */
  chaincodeEvents(options?: { start?: Checkpoint }): EventStream<ChaincodeEvent> {
    this.assertOpen();
    const start = options?.start;
    return lazyStream(
      async () => {
        const { network } = this.connection(this.config.serviceIdentity);
        return network.getBlockEvents(start ? { startBlock: BigInt(start.blockNumber) } : {});
      },
      async (block) => {
        const events = chaincodeEventsOf(block, this.config.chaincode);
        const blockNumber = Number(block.getHeader()?.getNumber() ?? -1);
        if (!start?.txId || blockNumber !== start.blockNumber) return events;
        const skipThrough = txNumberIn(block, start.txId);
        return events.filter((event) => event.txNumber > skipThrough);
      },
    );
  }

  blockEvents(options?: { startBlock?: number }): EventStream<BlockEvent> {
    this.assertOpen();
    return lazyStream(
      async () => {
        const { network } = this.connection(this.config.serviceIdentity);
        return network.getBlockEvents(
          options?.startBlock !== undefined ? { startBlock: BigInt(options.startBlock) } : {},
        );
      },
      async (block) => [blockEventOf(block)],
    );
  }

  async getTransaction(txId: string): Promise<TransactionInfo | undefined> {
    const processed = await this.qscc('GetTransactionByID', txId);
    if (!processed) return undefined;
    const block = await this.qscc('GetBlockByTxID', txId);
    if (!block) return undefined;
    return transactionInfoOf(processed, block);
  }

  async getBlock(blockNumber: number): Promise<Uint8Array | undefined> {
    return this.qscc('GetBlockByNumber', String(blockNumber));
  }

  async getChainInfo(): Promise<ChainInfo> {
    const bytes = await this.qscc('GetChainInfo');
    if (!bytes) throw new Error(`qscc GetChainInfo returned nothing for channel ${this.config.channel}`);
    return chainInfoOf(bytes);
  }

  async verifyChain(): Promise<ChainVerification> {
    const info = await this.getChainInfo();
    return verifyBlocks(info.height, (n) => this.getBlock(n), info.currentBlockHash);
  }

  /** Blocks through qscc: what a client can check on a peer, and what it cannot (QSCC_CHECKS says which). */
  verifyBlocks(range: BlockRangeRequest): Promise<BlockRangeVerification> {
    return verifyBlocksThroughQscc(range, this);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const connection of this.connections.values()) connection.gateway.close();
    this.connections.clear();
    this.client.close();
  }

  // ---- internals ------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new Error('the fabric-gateway ledger is closed');
  }

  /** The Gateway of an identity, opened on first use (wallet read once) over the shared gRPC client. */
  private connection(identity: IdentityRef): Connection {
    const key = keyOf(identity);
    const cached = this.connections.get(key);
    if (cached) return cached;
    const entry = loadWalletIdentitySync(this.config.walletDir, identity);
    // A P-256 key signs the whole message with OpenSSL (hash.none hands the signer the message, not a digest):
    // the library's own signer computes ECDSA in JavaScript, about 1 ms a signature, three per transaction.
    const openssl = isP256(entry.privateKey);
    const gateway = connect({
      client: this.client,
      identity: { mspId: entry.mspId, credentials: entry.certificate },
      signer: openssl
        ? async (message) => signP256(message, entry.privateKey)
        : signers.newPrivateKeySigner(entry.privateKey),
      hash: openssl ? hash.none : hash.sha256,
    });
    const network = gateway.getNetwork(this.config.channel);
    const connection = {
      gateway,
      network,
      contract: network.getContract(this.config.chaincode),
      qscc: network.getContract('qscc'),
    };
    this.connections.set(key, connection);
    return connection;
  }

  private asPrepared(input: TransactionRequest | PreparedTransaction): GatewayPreparedTransaction {
    if (input instanceof GatewayPreparedTransaction) return input;
    if ('txId' in input)
      throw new Error('a prepared transaction from another ledger cannot be submitted here');
    return this.newPrepared(this.connection(input.identity), input);
  }

  private newPrepared(
    connection: Connection,
    request: TransactionRequest,
    nonce?: Uint8Array,
  ): GatewayPreparedTransaction {
    let proposal = connection.contract.newProposal(request.transaction, {
      arguments: request.args ?? [],
      transientData: transientOf(request),
      endorsingOrganizations: request.endorsingOrganizations,
    });
    if (nonce) proposal = connection.gateway.newProposal(withNonce(proposal.getBytes(), nonce));
    const bytes = proposal.getBytes();
    return new GatewayPreparedTransaction(
      proposal.getTransactionId(),
      request,
      nonce ?? nonceOf(bytes),
      proposal,
      proposalTimestamp(bytes),
    );
  }

  /** qscc call as the service identity; undefined when the peer says the entry does not exist. */
  private async qscc(fn: string, ...args: string[]): Promise<Uint8Array | undefined> {
    this.assertOpen();
    const { qscc } = this.connection(this.config.serviceIdentity);
    try {
      return await qscc.evaluate(fn, {
        arguments: [this.config.channel, ...args],
      });
    } catch (err) {
      const mapped = mapGatewayError(err, '');
      if (mapped instanceof EndorseError && isNotFound(mapped.chaincodeMessage)) return undefined;
      throw mapped;
    }
  }
}

function keyOf(identity: IdentityRef): string {
  return `${identity.mspId}/${identity.name}`;
}

/** qscc's messages for an unknown transaction or block (Fabric 2.4/2.5 ledger errors). */
export function isNotFound(message: string): boolean {
  return /entry not found|no such transaction|not found in index|failed to get (transaction|block)|could not find/i.test(
    message,
  );
}
