/**
 * The ledger port through the legacy SDK `fabric-network` 2.2, for peers without the Fabric Gateway service
 * (Fabric 2.2 LTS): the client collects endorsements itself (service discovery from a connection profile),
 * sends the transaction to the orderer and listens for the commit event.
 *
 * - prepare() fixes the transaction id without a network call: txId = SHA-256(nonce ‖ serialized creator),
 *   exactly as fabric-common computes it; submit() rebuilds the Transaction from that state with
 *   `contract.deserializeTransaction`, so a retry reuses the id.
 * - chaincode events: `contract.addContractListener` (full blocks) with a checkpointer; resuming after a
 *   transaction skips the start block's events up to and including it.
 * - errors: the same mapping as the fabric-gateway adapter (TransactionError codes → CommitError names).
 * - signatures: fabric-common signs in plain JavaScript (elliptic on bn.js: 17 ms a signature in Node on a loaded
 *   2-core machine, 430 ms under Jest), and every proposal, envelope, query, discovery and event request is
 *   signed; this adapter signs with Node's crypto (OpenSSL) instead, low-S as Fabric requires. Its client TLS
 *   certificate (fabric-common would generate one per identity with jsrsasign) is made once per ledger.
 */
import 'reflect-metadata';
import { createHash, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { common, msp } from '@hyperledger/fabric-protos';
import * as x509 from '@peculiar/x509';
import {
  DefaultEventHandlerStrategies,
  Gateway,
  Wallets,
  type BlockEvent as NetworkBlockEvent,
  type Checkpointer,
  type Contract,
  type ContractEvent,
  type IdentityProvider,
  type Network,
  type X509Identity,
} from 'fabric-network';
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
import { CommitError, EndorseError } from '../port';
import { verifyBlocksThroughQscc } from '../chain-walk';
import { blockEventOf, chainInfoOf, transactionInfoOf, txNumberIn, verifyBlocks } from './block-decode';
import type { FabricNetworkConfig } from './config';
import { endorseRetryingMismatch, mapNetworkError } from './errors';
import { isNotFound } from './fabric-gateway-ledger';
import { loadWalletIdentitySync, type WalletIdentity } from './wallet';
import { isP256, signP256 } from './signing';

interface Connection {
  gateway: Gateway;
  network: Network;
  contract: Contract;
  qscc: Contract;
}

class NetworkPreparedTransaction implements PreparedTransaction {
  constructor(
    readonly txId: string,
    readonly request: TransactionRequest,
    readonly nonce: Buffer,
    readonly timestamp: string,
  ) {}
}

/** fabric-common's transaction id: hex SHA-256 of nonce ‖ SerializedIdentity{mspid, id_bytes = PEM}. */
export function legacyTxId(nonce: Uint8Array, identity: { mspId: string; certificate: Uint8Array }): string {
  const creator = new msp.SerializedIdentity();
  creator.setMspid(identity.mspId);
  creator.setIdBytes(identity.certificate);
  return createHash('sha256').update(nonce).update(creator.serializeBinary()).digest('hex');
}

/** fabric-network's Checkpointer kept in memory: where the stream has got to, as the port's Checkpoint. */
export class MemoryCheckpointer implements Checkpointer {
  private blockNumber: bigint | undefined;
  private txIds = new Set<string>();

  constructor(start?: number) {
    this.blockNumber = start === undefined ? undefined : BigInt(start);
  }

  async addTransactionId(transactionId: string): Promise<void> {
    this.txIds.add(transactionId);
  }

  async getBlockNumber(): Promise<import('long') | undefined> {
    if (this.blockNumber === undefined) return undefined;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Long = require('long') as typeof import('long');
    return Long.fromString(this.blockNumber.toString());
  }

  async getTransactionIds(): Promise<Set<string>> {
    return new Set(this.txIds);
  }

  async setBlockNumber(blockNumber: import('long')): Promise<void> {
    this.blockNumber = BigInt(blockNumber.toString());
    this.txIds = new Set();
  }
}

/** Push-to-pull: a callback listener feeding an async iterator. */
class EventQueue<T> {
  private readonly items: T[] = [];
  private waiting: ((done: boolean) => void) | undefined;
  private failure: Error | undefined;
  closed = false;

  push(item: T): void {
    this.items.push(item);
    this.wake(false);
  }

  fail(err: Error): void {
    this.failure = err;
    this.wake(true);
  }

  close(): void {
    this.closed = true;
    this.wake(true);
  }

  private wake(done: boolean): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(done);
  }

  async *drain(): AsyncGenerator<T> {
    while (!this.closed) {
      if (this.items.length > 0) {
        yield this.items.shift()!;
        continue;
      }
      if (this.failure) throw this.failure;
      await new Promise<boolean>((resolve) => (this.waiting = resolve));
    }
  }
}

/** Position of a transaction in a fabric-network full block event (decoded by fabric-common's BlockDecoder). */
function txNumberOfEvent(event: ContractEvent): number | undefined {
  const txEvent = event.getTransactionEvent();
  const data = (txEvent.getBlockEvent().blockData as { data?: { data?: unknown[] } }).data?.data;
  if (!Array.isArray(data)) return undefined;
  const index = data.findIndex((envelope) => {
    const header = (envelope as { payload?: { header?: { channel_header?: { tx_id?: string } } } }).payload
      ?.header;
    return header?.channel_header?.tx_id === txEvent.transactionId;
  });
  return index >= 0 ? index : undefined;
}

/**
 * fabric-network's X.509 identity provider, with each user's signing done by `signP256` (for P-256 keys; any
 * other key keeps fabric-common's signer). fabric-common's SigningIdentity.sign(message) hashes and signs with
 * elliptic; every signature the SDK makes goes through it (IdentityContext.sign).
 */
export async function nodeSigningProvider(): Promise<IdentityProvider> {
  const base = (await Wallets.newInMemoryWallet()).getProviderRegistry().getProvider('X.509');
  return {
    type: base.type,
    getCryptoSuite: () => base.getCryptoSuite(),
    fromJson: (data) => base.fromJson(data),
    toJson: (identity) => base.toJson(identity),
    async getUserContext(identity, name) {
      const user = await base.getUserContext(identity, name);
      const privateKey = (identity as X509Identity).credentials.privateKey;
      const key = createPrivateKey(privateKey);
      if (isP256(key)) {
        const signing = user.getSigningIdentity() as unknown as { sign(message: Uint8Array): Buffer };
        signing.sign = (message) => signP256(message, key);
      }
      return user;
    },
  };
}

/**
 * A self-signed client TLS certificate for the peers' and orderer's connections, as fabric-common makes when
 * the application gives none (peers without client authentication accept any), made with WebCrypto.
 */
export async function ephemeralTlsClient(): Promise<{ certificate: string; key: string }> {
  const crypto = webcrypto as unknown as NonNullable<
    Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1]
  >;
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomBytes(8)
        .toString('hex')
        .replace(/^[89a-f]/, '1'),
      name: 'CN=gec-ledger fabric-network client',
      notBefore: new Date(now - 5 * 60_000),
      notAfter: new Date(now + 365 * 24 * 3600_000),
      keys,
      signingAlgorithm: algorithm,
      extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
    },
    crypto,
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { certificate: certificate.toString('pem'), key };
}

export class FabricNetworkLedger implements LedgerPort {
  private readonly connections = new Map<string, Promise<Connection>>();
  private readonly identities = new Map<string, WalletIdentity>();
  private identityProvider: Promise<IdentityProvider> | undefined;
  private tlsClient: Promise<{ certificate: string; key: string }> | undefined;
  private closed = false;

  private constructor(
    private readonly config: FabricNetworkConfig,
    private readonly profile: Record<string, unknown>,
  ) {}

  static async connect(config: FabricNetworkConfig): Promise<FabricNetworkLedger> {
    const profile = JSON.parse(await readFile(config.connectionProfile, 'utf8')) as Record<string, unknown>;
    const ledger = new FabricNetworkLedger(config, profile);
    try {
      await ledger.getChainInfo();
    } catch (err) {
      await ledger.close();
      throw err;
    }
    return ledger;
  }

  prepare(request: TransactionRequest, options?: PrepareOptions): PreparedTransaction {
    this.assertOpen();
    const identity = this.identity(request.identity);
    const nonce = options?.nonce ? Buffer.from(options.nonce) : randomBytes(24);
    return new NetworkPreparedTransaction(
      legacyTxId(nonce, identity),
      request,
      nonce,
      new Date().toISOString(),
    );
  }

  async submit(input: TransactionRequest | PreparedTransaction): Promise<SubmittedTransaction> {
    this.assertOpen();
    const prepared = this.asPrepared(input);
    const { request, txId } = prepared;
    const { contract, network } = await this.connection(request.identity);
    const state = {
      name: request.transaction,
      nonce: prepared.nonce.toString('base64'),
      transactionId: txId,
    };
    const transaction = contract.deserializeTransaction(Buffer.from(JSON.stringify(state)));
    if (transaction.getTransactionId() !== txId) {
      throw new Error(
        `fabric-network rebuilt transaction ${transaction.getTransactionId()} instead of ${txId}`,
      );
    }
    const transient = transientOf(request);
    if (transient) transaction.setTransient(transient);
    if (request.endorsingOrganizations)
      transaction.setEndorsingOrganizations(...request.endorsingOrganizations);
    // Learn the block number from the block event of this transaction. fabric-network resolves submit() on its
    // own commit listener, which may run before this one sees the same block: wait for it (bounded) rather
    // than ask the peer by query, which is what failed a committed transaction under load (qscc REQUEST TIMEOUT).
    let blockNumber = -1;
    let seen: () => void = () => undefined;
    const inBlock = new Promise<void>((resolve) => (seen = resolve));
    const commitListener = async (event: NetworkBlockEvent) => {
      if (event.getTransactionEvents().some((tx) => tx.transactionId === txId)) {
        blockNumber = Number(event.blockNumber);
        seen();
      }
    };
    await network.addBlockListener(commitListener, { type: 'filtered' });
    let result: Buffer;
    try {
      try {
        // Endorsed again while two peers disagree (one a block behind): nothing was ordered yet, same txId.
        result = await endorseRetryingMismatch(() => transaction.submit(...(request.args ?? [])));
      } catch (err) {
        throw withBlockNumber(mapNetworkError(err, txId), blockNumber);
      }
      if (blockNumber < 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          inBlock,
          new Promise<void>((resolve) => (timer = setTimeout(resolve, this.config.timeouts.commitStatusMs))),
        ]);
        clearTimeout(timer);
      }
    } finally {
      network.removeBlockListener(commitListener);
    }
    if (blockNumber < 0) blockNumber = (await this.getTransaction(txId))?.blockNumber ?? -1;
    return {
      txId,
      blockNumber,
      validationCode: 'VALID',
      successful: true,
      result,
      timestamp: prepared.timestamp,
    };
  }

  async evaluate(request: TransactionRequest): Promise<Uint8Array> {
    this.assertOpen();
    const { contract } = await this.connection(request.identity);
    const transaction = contract.createTransaction(request.transaction);
    const transient = transientOf(request);
    if (transient) transaction.setTransient(transient);
    try {
      return await transaction.evaluate(...(request.args ?? []));
    } catch (err) {
      throw mapNetworkError(err, transaction.getTransactionId());
    }
  }

  chaincodeEvents(options?: { start?: Checkpoint }): EventStream<ChaincodeEvent> {
    this.assertOpen();
    const start = options?.start;
    const queue = new EventQueue<ChaincodeEvent>();
    let detach: (() => void) | undefined;
    const open = async () => {
      const { contract } = await this.connection(this.config.serviceIdentity);
      let skipThrough = -1;
      if (start?.txId) {
        const bytes = await this.getBlock(start.blockNumber);
        if (bytes) skipThrough = txNumberIn(common.Block.deserializeBinary(bytes), start.txId);
      }
      const checkpointer = new MemoryCheckpointer(start?.blockNumber);
      const listener = async (event: ContractEvent) => {
        const txEvent = event.getTransactionEvent();
        const blockNumber = Number(txEvent.getBlockEvent().blockNumber);
        const txNumber = txNumberOfEvent(event) ?? -1;
        if (start && blockNumber === start.blockNumber && txNumber <= skipThrough) return;
        queue.push({
          blockNumber,
          txId: txEvent.transactionId,
          txNumber,
          chaincodeName: event.chaincodeId,
          eventName: event.eventName,
          payload: event.payload ?? Buffer.alloc(0),
        });
      };
      await contract.addContractListener(listener, {
        type: 'full',
        checkpointer,
        ...(start ? { startBlock: start.blockNumber } : {}),
      });
      detach = () => contract.removeContractListener(listener);
    };
    return this.queueStream(queue, open, () => detach?.());
  }

  blockEvents(options?: { startBlock?: number }): EventStream<BlockEvent> {
    this.assertOpen();
    const queue = new EventQueue<BlockEvent>();
    let detach: (() => void) | undefined;
    const open = async () => {
      const { network } = await this.connection(this.config.serviceIdentity);
      // Full blocks arrive decoded by fabric-common; the port wants the protobuf bytes, read through qscc.
      const listener = async (event: NetworkBlockEvent) => {
        const bytes = await this.getBlock(Number(event.blockNumber));
        if (bytes) queue.push(blockEventOf(common.Block.deserializeBinary(bytes)));
      };
      await network.addBlockListener(listener, {
        type: 'filtered',
        ...(options?.startBlock !== undefined ? { startBlock: options.startBlock } : {}),
      });
      detach = () => network.removeBlockListener(listener);
    };
    return this.queueStream(queue, open, () => detach?.());
  }

  async getTransaction(txId: string): Promise<TransactionInfo | undefined> {
    const processed = await this.qscc('GetTransactionByID', txId);
    if (!processed) return undefined;
    const block = await this.qscc('GetBlockByTxID', txId);
    return block ? transactionInfoOf(processed, block) : undefined;
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
    const connections = await Promise.allSettled([...this.connections.values()]);
    for (const c of connections) if (c.status === 'fulfilled') c.value.gateway.disconnect();
    this.connections.clear();
  }

  // ---- internals ------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new Error('the fabric-network ledger is closed');
  }

  private identity(ref: IdentityRef): WalletIdentity {
    const key = `${ref.mspId}/${ref.name}`;
    let identity = this.identities.get(key);
    if (!identity) {
      identity = loadWalletIdentitySync(this.config.walletDir, ref);
      this.identities.set(key, identity);
    }
    return identity;
  }

  private connection(ref: IdentityRef): Promise<Connection> {
    const key = `${ref.mspId}/${ref.name}`;
    let pending = this.connections.get(key);
    if (!pending) {
      pending = this.openConnection(ref);
      this.connections.set(key, pending);
      pending.catch(() => this.connections.delete(key));
    }
    return pending;
  }

  private async openConnection(ref: IdentityRef): Promise<Connection> {
    const entry = this.identity(ref);
    const identity: X509Identity = {
      type: 'X.509',
      mspId: entry.mspId,
      credentials: {
        certificate: entry.certificate.toString('utf8'),
        privateKey: entry.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      },
    };
    this.tlsClient ??= ephemeralTlsClient();
    this.identityProvider ??= nodeSigningProvider();
    const gateway = new Gateway();
    await gateway.connect(this.profile, {
      identity,
      identityProvider: await this.identityProvider,
      tlsInfo: await this.tlsClient,
      discovery: { enabled: this.config.discovery, asLocalhost: this.config.asLocalhost },
      eventHandlerOptions: {
        // A submit returns once every peer of the channel has committed it. With ANYFORTX the next transaction
        // could be endorsed by a peer still a block behind, and the two endorsements then differ ("Peer
        // endorsements do not match"); the Fabric Gateway avoids that by choosing the peers with the highest
        // ledger height, which this SDK cannot.
        strategy: DefaultEventHandlerStrategies.NETWORK_SCOPE_ALLFORTX,
        commitTimeout: Math.ceil(this.config.timeouts.commitStatusMs / 1000),
        endorseTimeout: Math.ceil(this.config.timeouts.endorseMs / 1000),
      },
      queryHandlerOptions: { timeout: Math.ceil(this.config.timeouts.evaluateMs / 1000) },
    });
    const network = await gateway.getNetwork(this.config.channel);
    return {
      gateway,
      network,
      contract: network.getContract(this.config.chaincode),
      qscc: network.getContract('qscc'),
    };
  }

  private asPrepared(input: TransactionRequest | PreparedTransaction): NetworkPreparedTransaction {
    if (input instanceof NetworkPreparedTransaction) return input;
    if ('txId' in input)
      throw new Error('a prepared transaction from another ledger cannot be submitted here');
    return this.prepare(input) as NetworkPreparedTransaction;
  }

  private async qscc(fn: string, ...args: string[]): Promise<Uint8Array | undefined> {
    this.assertOpen();
    const { qscc } = await this.connection(this.config.serviceIdentity);
    try {
      return await qscc.evaluateTransaction(fn, this.config.channel, ...args);
    } catch (err) {
      const mapped = mapNetworkError(err, '');
      const message = mapped instanceof EndorseError ? mapped.chaincodeMessage : (err as Error).message;
      if (isNotFound(message)) return undefined;
      throw mapped;
    }
  }

  private queueStream<T>(
    queue: EventQueue<T>,
    open: () => Promise<void>,
    detach: () => void,
  ): EventStream<T> {
    let opened: Promise<void> | undefined;
    return {
      close: () => {
        detach();
        queue.close();
      },
      [Symbol.asyncIterator]: () => {
        opened ??= open().catch((err: Error) => queue.fail(err));
        return queue.drain();
      },
    };
  }
}

function transientOf(request: TransactionRequest): Record<string, Buffer> | undefined {
  if (!request.transient) return undefined;
  const out: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(request.transient)) {
    out[key] = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  }
  return out;
}

/** fabric-network's TransactionError has no block number; fill it in when the commit event gave one. */
function withBlockNumber(err: unknown, blockNumber: number): unknown {
  if (err instanceof CommitError && blockNumber >= 0) return new CommitError({ ...err.status, blockNumber });
  return err;
}
