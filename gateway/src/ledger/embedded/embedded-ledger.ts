/**
 * The embedded ledger: one channel, one chaincode, the consortium's peers, an orderer and a committer in one
 * process, with Fabric's execute–order–validate flow end to end:
 *
 *   client signs a proposal → each required peer verifies it and simulates the chaincode (real ChaincodeStub,
 *   committed state only) and signs the result → the client checks the results match and signs the envelope
 *   → the orderer cuts blocks → the committer validates in block order (MVCC, phantoms, policies, txids)
 *   → the block and the state of valid transactions are stored → commit status and events are delivered.
 */
import { DEVELOPMENT_FOUNDERS, initialiseConsortium } from '../consortium-bootstrap';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { common, peer } from '@hyperledger/fabric-protos';
import {
  CHAIN_CHECKS,
  CommitError,
  EndorseError,
  type BlockEvent,
  type BlockRangeRequest,
  type BlockRangeVerification,
  type ChainFailure,
  type ChainInfo,
  type ChainVerification,
  type ChaincodeEvent,
  type LedgerStartupReport,
  type Checkpoint,
  type CommitStatus,
  type EventStream,
  type LedgerPort,
  type PreparedTransaction,
  type PrepareOptions,
  type SubmittedTransaction,
  type TransactionInfo,
  type TransactionRequest,
  type ValidationCodeName,
} from '../port';
import {
  buildChannelConfig,
  type EmbeddedLedgerOptions,
  resolveOptions,
  runsConsortiumContract,
  type ResolvedOptions,
} from './options';
import { buildConfigEnvelope, readChannelConfig, type ChannelConfig } from './channel-config';
import {
  ChannelUpdateRefusedError,
  applyChannelUpdate,
  buildConfigUpdateEnvelope,
  encodeChannelUpdate,
  isConfigBlock,
  lastConfigIndex,
  signChannelUpdate,
  validateChannelUpdate,
  validateConfigBlock,
  type ChannelUpdateProposal,
  type ConfigUpdateSignature,
} from './channel-update';
import { updateFromBlock, validateBlock, validationCodeName } from './committer';
import { EndorsingPeer, ProposalRejectedError } from './endorser';
import { blockEventStream, chaincodeEventStream, CommitSignal, type BlockSource } from './events';
import {
  buildProposal,
  buildTransactionPayload,
  buildEnvelope,
  computeTxId,
  decodeTransaction,
  signedProposal,
  timestampToIso,
  type DecodedProposal,
} from './fabric/protos';
import { EmbeddedCa, MspVerifier, type OrgSpec, type SigningIdentity } from './msp';
import { blockSignatureMessage, buildBlock, Orderer } from './orderer';
import { governingPolicies, planOrganisations, writtenKeys } from './endorsement-plan';
import { parsePolicy, requiredOrganisations, type Policy } from './policy';
import { ReadWriteLock } from './rwlock';
import { createContractRouter, type ContractRouter } from './shim';
import type { StateReader } from './simulator';
import { LedgerStore } from './storage/ledger-store';
import { blockHeaderHash } from './storage/block-hash';
import { failure as chainFailure, walkBlocks } from '../chain-walk';

/**
 * A proposal built once; submitting it again reuses the same transaction id. As in fabric-gateway, the
 * client signs it when it is first sent for endorsement.
 */
class EmbeddedPreparedTransaction implements PreparedTransaction {
  private signing: Promise<peer.SignedProposal> | undefined;

  constructor(
    readonly txId: string,
    readonly request: TransactionRequest,
    readonly nonce: Uint8Array,
    readonly timestamp: Date,
    private readonly proposalBytes: Uint8Array,
    private readonly signer: SigningIdentity,
  ) {}

  signed(): Promise<peer.SignedProposal> {
    this.signing ??= this.signer
      .signAsync(this.proposalBytes)
      .then((signature) => signedProposal(this.proposalBytes, signature));
    return this.signing;
  }
}

interface StatusWaiter {
  resolve: (status: CommitStatus) => void;
}

export class EmbeddedLedger implements LedgerPort {
  /**
   * The clock clients stamp proposals with. In Fabric the transaction time is the client's (peers do not check
   * it), so this is where a test puts a transaction in the past, e.g. an issuance made long ago whose lot has
   * expired since.
   */
  clock: () => Date = () => new Date();
  private readonly lock = new ReadWriteLock();
  private readonly signal = new CommitSignal();
  private readonly waiters = new Map<string, StatusWaiter[]>();
  private commitQueue: Promise<void> = Promise.resolve();
  private commitFailure: Error | undefined;
  private closed = false;
  /** Channel updates one at a time: each is validated against the configuration the one before made. */
  private configUpdates: Promise<unknown> = Promise.resolve();
  /** Why the committer refused a configuration transaction, for its submitter. */
  private readonly configRefusals = new Map<string, ChannelUpdateRefusedError>();
  /**
   * The channel configuration in force, and what is derived from it: the MSPs trusted, the chaincode policy and
   * one endorsing peer per member organisation. A committed channel update replaces them together (applyConfig),
   * under the state lock, so no simulation or validation sees half of a change.
   */
  private config!: ChannelConfig;
  /** The block holding `config` (0 until a channel update commits). */
  private configBlock = 0;
  private verifier!: MspVerifier;
  private policy!: Policy;
  private peers = new Map<string, EndorsingPeer>();
  private orderer!: Orderer;

  private constructor(
    private readonly options: ResolvedOptions,
    private readonly ca: EmbeddedCa,
    private readonly store: LedgerStore,
    private readonly router: ContractRouter,
    private readonly state: StateReader,
  ) {}

  static async open(input: EmbeddedLedgerOptions): Promise<EmbeddedLedger> {
    const options = resolveOptions(input);
    const ca = await EmbeddedCa.open(join(options.dataDir, 'msp'), options.organisations);
    const namespace = options.chaincodeName;
    const store = await LedgerStore.open(join(options.dataDir, 'ledger'), {
      updateFromBlock: (block) => updateFromBlock(block, namespace),
      sync: options.sync,
    });
    if (store.height === 0 && store.recovery.droppedBlocks.length > 0) {
      // Block 0 holds the channel configuration: a new genesis block would start another channel over the
      // one whose blocks were lost, and serve it as if nothing had happened.
      await store.close();
      throw new Error(
        `the ledger in ${options.dataDir} lost its genesis block (${store.recovery.actions.join('; ')}); ` +
          `refusing to start a new channel over it: restore the block file`,
      );
    }
    const ordererIdentity = ca.identity(options.ordererMspId, options.ordererName);
    if (store.height === 0) {
      const config = buildChannelConfig(options, ca.rootCertificates());
      const envelope = buildConfigEnvelope(config, ordererIdentity, new Date());
      const { block } = buildBlock(0, new Uint8Array(), [envelope], ordererIdentity);
      const metadata = block.getMetadata()!;
      const entries = metadata.getMetadataList_asU8();
      entries[common.BlockMetadataIndex.TRANSACTIONS_FILTER] = Uint8Array.from([peer.TxValidationCode.VALID]);
      metadata.setMetadataList(entries);
      await store.commitBlock(block, updateFromBlock(block, namespace));
    }
    let found: { config: ChannelConfig; block: number };
    try {
      found = await latestConfig(store);
    } catch (error) {
      await store.close();
      throw error;
    }
    const { config } = found;
    const router: ContractRouter = createContractRouter(
      options.contracts,
      namespace,
      config.chaincode.version,
    );
    const state: StateReader = {
      getState: (ns: string, key: string) => store.getState(ns, key),
      scanRange: (ns: string, start: string, end: string) => store.scanRange(ns, start, end),
      getHistory: (ns: string, key: string) => store.getHistory(ns, key),
    };
    const ledger: EmbeddedLedger = new EmbeddedLedger(options, ca, store, router, state);
    ledger.applyConfig(config, found.block);
    ledger.orderer = new Orderer(
      store.height,
      store.currentHash() ?? new Uint8Array(),
      ordererIdentity,
      options.batch,
      (block) => ledger.enqueueCommit(block),
      found.block,
    );
    if (input.initialiseConsortium !== false && runsConsortiumContract(input.contracts)) {
      // A development consortium: its founding members go on the ledger at the first start, as a real
      // network's deployment registers its own (network/scripts/deployCC.sh). A ledger from before the registry
      // existed gets them at its next start.
      const founder = options.organisations.find((o) => o.mspId === DEVELOPMENT_FOUNDERS[0].mspId);
      const admin = founder?.identities.find((i) => i.role === 'admin');
      if (founder && admin) {
        try {
          await initialiseConsortium(ledger, { mspId: founder.mspId, name: admin.name });
        } catch (error) {
          await ledger.close();
          throw error;
        }
      }
    }
    return ledger;
  }

  /** Every enrolled identity's serialized creator (MSP id and certificate), as proposals carry it. */
  creators(): Array<{ mspId: string; name: string; creator: Uint8Array }> {
    return this.ca.listIdentities().map(({ mspId, name }) => ({
      mspId,
      name,
      creator: this.ca.identity(mspId, name).serialize(),
    }));
  }

  /** The embedded CA: the gateway enrols identities through it. */
  get certificateAuthority(): EmbeddedCa {
    return this.ca;
  }

  /** The channel configuration in force (block 0's, or the last committed channel update's). */
  get channelConfig(): ChannelConfig {
    return this.config;
  }

  /** The number of the block holding the configuration in force. */
  get channelConfigBlock(): number {
    return this.configBlock;
  }

  // ---- channel configuration updates ------------------------------------------------------------------

  /**
   * A development CA for an organisation that is to join (Fabric: its own Fabric CA, as addOrg.sh starts one),
   * with its identities enrolled; returns its root CA certificate for the channel update. The channel does not
   * trust the organisation until an update adding it commits.
   */
  async enrolOrganisation(spec: OrgSpec): Promise<{ mspId: string; rootCertificate: string }> {
    this.assertOpen();
    return { mspId: spec.mspId, rootCertificate: await this.ca.addOrganisation(spec) };
  }

  /**
   * A channel update computed from the configuration in force (configtxlator's compute_update): the MSPs to add
   * (mspId → root CA PEM) and optionally the chaincode's new endorsement policy. Checked at once (an MSP already
   * there, a policy naming unknown MSPs: CONFIG_UPDATE_INVALID); the member admins then sign its bytes.
   */
  proposeChannelUpdate(change: {
    addOrganisations?: Record<string, string>;
    endorsementPolicy?: string;
  }): ChannelUpdateProposal {
    this.assertOpen();
    const update = {
      channelId: this.config.channelId,
      baseSequence: this.config.sequence ?? 0,
      baseConfigBlock: this.configBlock,
      addOrganisations: { ...(change.addOrganisations ?? {}) },
      ...(change.endorsementPolicy !== undefined ? { endorsementPolicy: change.endorsementPolicy } : {}),
    };
    const bytes = encodeChannelUpdate(update);
    // Only the update's own checks here; its signatures (and staleness, by then) are checked when submitted.
    applyChannelUpdate(this.config, this.configBlock, update);
    return { update, bytes };
  }

  /**
   * One admin's signature of an update (`peer channel signconfigtx`), made with an identity this ledger's CA
   * enrolled. A member outside this process signs with `signChannelUpdate` from channel-update.ts and its own key.
   */
  signChannelUpdate(bytes: Uint8Array, signer: { mspId: string; name: string }): ConfigUpdateSignature {
    this.assertOpen();
    return signChannelUpdate(bytes, this.ca.identity(signer.mspId, signer.name));
  }

  /**
   * Submit a signed update (`peer channel update`): refused with ChannelUpdateRefusedError (a stable `code`) and
   * nothing changed unless the admins of a strict majority of the member organisations signed it, every signature
   * verifying with its MSP in the configuration in force, and it was computed from that configuration. Accepted,
   * the orderer puts it in a CONFIG block of its own; once that block commits, the new configuration is in force.
   */
  submitChannelUpdate(
    bytes: Uint8Array,
    signatures: readonly ConfigUpdateSignature[],
  ): Promise<{ txId: string; blockNumber: number; config: ChannelConfig }> {
    const run = this.configUpdates.then(async () => {
      this.assertOpen();
      const next = validateChannelUpdate(
        { config: this.config, block: this.configBlock, verifier: this.verifier },
        bytes,
        signatures,
      );
      const { envelope, txId } = buildConfigUpdateEnvelope(
        next,
        bytes,
        signatures,
        this.ca.identity(this.options.ordererMspId, this.options.ordererName),
        this.clock(),
      );
      const status = this.waitForStatus(txId);
      await this.orderer.broadcastConfig(envelope);
      const committed = await status;
      if (!committed.successful) {
        const refusal = this.configRefusals.get(txId);
        this.configRefusals.delete(txId);
        throw refusal ?? new CommitError(committed);
      }
      return { txId, blockNumber: committed.blockNumber, config: this.config };
    });
    this.configUpdates = run.catch(() => undefined);
    return run;
  }

  /** Trust what `config` says from now on: its MSPs, its policy, a peer for each member with one enrolled here. */
  private applyConfig(config: ChannelConfig, block: number): void {
    const verifier = new MspVerifier(config.organisations);
    const policy = parsePolicy(config.chaincode.endorsementPolicy);
    const peers = new Map<string, EndorsingPeer>();
    const enrolled = this.ca.listIdentities();
    for (const mspId of Object.keys(config.organisations)) {
      // The organisation's own peer: its spec's when it has one, else any peer identity its CA enrolled (an
      // organisation that joined by a channel update has no spec in the options).
      const spec = this.options.organisations.find((o) => o.mspId === mspId);
      const name =
        spec?.identities.find((i) => i.role === 'peer')?.name ??
        enrolled.find((i) => i.mspId === mspId && i.role === 'peer')?.name;
      if (!name) continue;
      peers.set(
        mspId,
        new EndorsingPeer({
          channelId: config.channelId,
          chaincodeName: this.options.chaincodeName,
          identity: this.ca.identity(mspId, name),
          verifier,
          state: this.state,
          router: this.router,
        }),
      );
    }
    this.config = config;
    this.configBlock = block;
    this.verifier = verifier;
    this.policy = policy;
    this.peers = peers;
  }

  // ---- client side ----------------------------------------------------------------------------------

  /**
   * `timestamp`: the client's clock reading for the proposal, when the client is on another thread
   * (ThreadedEmbeddedLedger stamps proposals with its own `clock`); default this ledger's `clock`.
   */
  prepare(request: TransactionRequest, options?: PrepareOptions & { timestamp?: Date }): PreparedTransaction {
    this.assertOpen();
    const identity = this.identity(request);
    const creator = identity.serialize();
    const nonce = options?.nonce ?? randomBytes(24);
    const txId = computeTxId(nonce, creator);
    const timestamp = options?.timestamp ?? this.clock();
    const [fn, ...rest] = [request.transaction, ...(request.args ?? [])];
    const transient = new Map<string, Uint8Array>();
    for (const [key, value] of Object.entries(request.transient ?? {})) {
      transient.set(key, typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
    }
    const { proposalBytes } = buildProposal({
      channelId: this.config.channelId,
      chaincodeName: this.options.chaincodeName,
      creator,
      nonce,
      txId,
      timestamp,
      args: [fn, ...rest].map((a) => Buffer.from(a, 'utf8')),
      transient,
    });
    return new EmbeddedPreparedTransaction(txId, request, nonce, timestamp, proposalBytes, identity);
  }

  async submit(input: TransactionRequest | PreparedTransaction): Promise<SubmittedTransaction> {
    return (await this.endorseForOrdering(input)).order();
  }

  /**
   * Endorse a transaction and sign its envelope now; `order()` sends it to the ordering service later (the Fabric
   * Gateway's Endorse, then Submit). Envelopes are ordered in the order of the `order()` calls, which lets a test
   * put transactions endorsed against the same state into one block in a chosen order.
   */
  async endorseForOrdering(
    input: TransactionRequest | PreparedTransaction,
  ): Promise<{ txId: string; order(): Promise<SubmittedTransaction> }> {
    const prepared = this.asPrepared(input);
    const { decoded, proposalResponsePayload, endorsements, payload } = await this.endorse(prepared);
    const identity = this.identity(prepared.request);
    const txPayload = buildTransactionPayload(decoded, proposalResponsePayload, endorsements);
    const envelope = buildEnvelope(txPayload, await identity.signAsync(txPayload));
    return {
      txId: prepared.txId,
      order: async () => {
        const status = this.waitForStatus(prepared.txId);
        await this.orderer.broadcast(envelope);
        const committed = await status;
        if (!committed.successful) throw new CommitError(committed);
        return { ...committed, result: payload, timestamp: prepared.timestamp.toISOString() };
      },
    };
  }

  async evaluate(request: TransactionRequest, timestamp?: Date): Promise<Uint8Array> {
    const prepared = this.prepare(request, { timestamp }) as EmbeddedPreparedTransaction;
    const target = this.peers.get(request.identity.mspId) ?? [...this.peers.values()][0];
    const result = await this.lock.read(async () => {
      const decoded = await this.check(target, prepared);
      return target.endorse(decoded);
    });
    if (result.status >= 400) throw new EndorseError(prepared.txId, result.message, result.status);
    return result.payload;
  }

  // ---- events and queries ---------------------------------------------------------------------------

  chaincodeEvents(options?: { start?: Checkpoint }): EventStream<ChaincodeEvent> {
    this.assertOpen();
    return chaincodeEventStream(this.blockSource(), this.options.chaincodeName, options?.start);
  }

  blockEvents(options?: { startBlock?: number }): EventStream<BlockEvent> {
    this.assertOpen();
    return blockEventStream(this.blockSource(), options?.startBlock);
  }

  async getTransaction(txId: string): Promise<TransactionInfo | undefined> {
    const location = await this.store.getTxLocation(txId);
    if (!location) return undefined;
    const block = await this.store.getBlock(location.blockNumber);
    const envelope = block?.getData()?.getDataList_asU8()[location.txNumber];
    if (!envelope) return undefined;
    const tx = decodeTransaction(envelope);
    let creatorMspId = '';
    try {
      creatorMspId = this.verifier.deserialize(tx.creator).mspId;
    } catch {
      // An invalid creator is exactly what BAD_CREATOR_SIGNATURE records; report it without an MSP.
    }
    return {
      txId,
      blockNumber: location.blockNumber,
      txNumber: location.txNumber,
      validationCode: validationCodeName(location.validationCode) as ValidationCodeName,
      timestamp: timestampToIso(tx.timestamp),
      creatorMspId,
      transaction: tx.endorsed?.functionName ?? '',
      result: tx.endorsed?.response.payload ?? new Uint8Array(),
    };
  }

  async getBlock(blockNumber: number): Promise<Uint8Array | undefined> {
    return this.store.getBlockBytes(blockNumber);
  }

  async getChainInfo(): Promise<ChainInfo> {
    return {
      height: this.store.height,
      currentBlockHash: (this.store.currentHash() ?? Buffer.alloc(0)).toString('hex'),
      previousBlockHash: (this.store.previousHash() ?? Buffer.alloc(0)).toString('hex'),
      startup: this.startupReport(),
    };
  }

  /** What opening the block store and state database found and repaired (see LedgerStore's start-up). */
  startupReport(): LedgerStartupReport {
    const recovery = this.store.recovery;
    return {
      repairs: recovery.actions,
      droppedBlocks: recovery.droppedBlocks,
      droppedTransactions: recovery.droppedTransactions.map((t) => ({
        txId: t.txId,
        blockNumber: t.blockNumber,
        validationCode: validationCodeName(t.validationCode),
      })),
      stateRebuilt: recovery.stateRebuiltBecause !== undefined,
      ...(recovery.chainVerified ? { chainVerified: recovery.chainVerified } : {}),
    };
  }

  /** Hash chain, index and orderer signatures of every block. */
  async verifyChain(): Promise<ChainVerification> {
    const result = await this.store.verifyChain();
    const problems = [...result.problems];
    for (let n = 0; n < this.store.height; n++) {
      let block: common.Block | undefined;
      try {
        block = await this.store.getBlock(n);
      } catch (err) {
        problems.push(`block ${n}: unreadable (${(err as Error).message})`);
        continue;
      }
      if (!block) continue;
      if (this.ordererSignatureProblem(block)) {
        problems.push(`block ${n}: no valid orderer signature over the block header`);
      }
    }
    return { ok: problems.length === 0, height: result.height, problems };
  }

  /**
   * Blocks `from`..`to` with every check: the block file record and its checksum, the block index entry
   * (offset, length, header hash; the savepoint for the last block), decode, number, data hash, previous-hash
   * link, the orderer's signature (verified with the orderer's certificate, trusted through the OrdererMSP root
   * in block 0), and the txId index of each transaction (block, position, validation code; a DUPLICATE_TXID
   * points at the earlier transaction that kept the id).
   */
  async verifyBlocks(range: BlockRangeRequest): Promise<BlockRangeVerification> {
    this.assertOpen();
    const namespace = this.options.chaincodeName;
    return walkBlocks(range, {
      checks: CHAIN_CHECKS.map((check) => ({ check, performed: true })),
      read: async (n) => {
        const audit = await this.store.auditStoredBlock(n);
        return {
          bytes: audit.bytes,
          failures: audit.problems.map((p) => chainFailure(n, p.check, p.expected, p.found)),
        };
      },
      inspect: async (n, block) => {
        const failures: ChainFailure[] = [];
        const signatureProblem = this.ordererSignatureProblem(block);
        if (signatureProblem) {
          failures.push(
            chainFailure(
              n,
              'orderer-signature',
              `a valid signature by ${this.config.ordererMspId}.orderer over the block header`,
              signatureProblem,
            ),
          );
        }
        let update: ReturnType<typeof updateFromBlock>;
        try {
          update = updateFromBlock(block, namespace);
        } catch (err) {
          failures.push(
            chainFailure(
              n,
              'tx-index',
              'transactions the index can be checked against',
              (err as Error).message,
            ),
          );
          return failures;
        }
        for (const tx of update.txs) {
          if (tx.txId === '') continue; // an undecodable envelope is indexed under no id, as on a peer
          const at = await this.store.getTxLocation(tx.txId);
          const expected = `${tx.txId} at block ${n} tx ${tx.txNum} ${validationCodeName(tx.validationCode)}`;
          if (!at) {
            failures.push(chainFailure(n, 'tx-index', expected, 'no entry'));
            continue;
          }
          const here = at.blockNumber === n && at.txNumber === tx.txNum;
          const earlier = at.blockNumber < n || (at.blockNumber === n && at.txNumber < tx.txNum);
          const duplicate = tx.validationCode === peer.TxValidationCode.DUPLICATE_TXID;
          if ((here && at.validationCode === tx.validationCode) || (duplicate && earlier)) continue;
          failures.push(
            chainFailure(
              n,
              'tx-index',
              duplicate ? `${expected} (or the earlier transaction that kept the id)` : expected,
              `block ${at.blockNumber} tx ${at.txNumber} ${validationCodeName(at.validationCode)}`,
            ),
          );
        }
        return failures;
      },
    });
  }

  /** Why a block carries no valid orderer signature over its header, or undefined when it does. */
  private ordererSignatureProblem(block: common.Block): string | undefined {
    const ordererPrincipal = `${this.config.ordererMspId}.orderer`;
    let signatures: common.Metadata;
    try {
      const entry = block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.SIGNATURES];
      if (!entry || entry.length === 0) return 'no SIGNATURES metadata';
      signatures = common.Metadata.deserializeBinary(entry);
    } catch (err) {
      return `unreadable SIGNATURES metadata (${(err as Error).message})`;
    }
    const list = signatures.getSignaturesList();
    if (list.length === 0) return 'no signature in the SIGNATURES metadata';
    const reasons: string[] = [];
    for (const s of list) {
      try {
        const header = common.SignatureHeader.deserializeBinary(s.getSignatureHeader_asU8());
        const identity = this.verifier.verify(
          header.getCreator_asU8(),
          blockSignatureMessage(signatures.getValue_asU8(), s.getSignatureHeader_asU8(), block.getHeader()!),
          s.getSignature_asU8(),
        );
        if (this.verifier.satisfiesPrincipal(identity, ordererPrincipal)) return undefined;
        reasons.push(`a signature by ${identity.mspId} ${identity.role}, not ${ordererPrincipal}`);
      } catch (err) {
        reasons.push((err as Error).message);
      }
    }
    return reasons.join('; ');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.orderer.stop();
    await this.commitQueue;
    this.closed = true;
    this.signal.notify();
    await this.store.close();
  }

  // ---- internals ------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new Error('the embedded ledger is closed');
    if (this.commitFailure)
      throw new Error(`the embedded ledger stopped committing: ${this.commitFailure.message}`);
  }

  private identity(request: TransactionRequest): SigningIdentity {
    return this.ca.identity(request.identity.mspId, request.identity.name);
  }

  private asPrepared(input: TransactionRequest | PreparedTransaction): EmbeddedPreparedTransaction {
    if (input instanceof EmbeddedPreparedTransaction) return input;
    if ('txId' in input)
      throw new Error('a prepared transaction from another ledger cannot be submitted here');
    return this.prepare(input) as EmbeddedPreparedTransaction;
  }

  private async check(
    target: EndorsingPeer,
    prepared: EmbeddedPreparedTransaction,
  ): Promise<DecodedProposal> {
    try {
      return await target.checkProposal(await prepared.signed());
    } catch (err) {
      if (err instanceof ProposalRejectedError) throw new EndorseError(prepared.txId, err.message, 500);
      throw err;
    }
  }

  /**
   * Endorse as the Fabric Gateway does: on one peer per organisation the request names, or else first on one
   * peer of the chaincode policy's first organisation, then on the peers of the smallest set of organisations
   * that satisfies every policy governing what that endorsement writes (the chaincode policy and the written
   * keys' key-level policies, as committed: Fabric's ChaincodeInterest and discovery). All must agree.
   */
  private async endorse(prepared: EmbeddedPreparedTransaction) {
    this.assertOpen();
    const explicit = prepared.request.endorsingOrganizations;
    const preferred = explicit ?? requiredOrganisations(this.policy);
    const peerOf = (mspId: string) => {
      const target = this.peers.get(mspId);
      if (!target)
        throw new EndorseError(prepared.txId, `no peer of organisation ${mspId} on this channel`, 500);
      return target;
    };
    const results = await this.lock.read(async () => {
      if (await this.store.getTxLocation(prepared.txId)) {
        throw new EndorseError(prepared.txId, `duplicate transaction found [${prepared.txId}]`, 500);
      }
      const out: Array<{ decoded: DecodedProposal; result: Awaited<ReturnType<EndorsingPeer['endorse']>> }> =
        [];
      let checked: { by: EndorsingPeer; decoded: DecodedProposal } | undefined;
      const endorseOn = async (target: EndorsingPeer) => {
        // Every in-process peer trusts the same MSPs and joined the same channel and chaincode, so decoding
        // and authenticating the same proposal bytes gives each the same answer: do it once. Each peer still
        // runs the chaincode and signs its own endorsement, and the committer verifies every signature.
        if (!checked || !target.checksLike(checked.by)) {
          checked = { by: target, decoded: await this.check(target, prepared) };
        }
        out.push({ decoded: checked.decoded, result: await target.endorse(checked.decoded) });
      };
      await endorseOn(peerOf(preferred[0]));
      let orgs = preferred;
      if (!explicit && out[0].result.status < 400) {
        const policies = await governingPolicies(
          writtenKeys(out[0].result.proposalResponsePayload!, this.options.chaincodeName),
          (key) => this.store.getState(this.options.chaincodeName, key),
          this.policy,
        );
        const candidates = [
          ...preferred,
          ...[...this.peers.keys()].filter((m) => !preferred.includes(m)).sort(),
        ];
        const planned = planOrganisations(preferred[0], candidates, policies);
        if (!planned) {
          throw new EndorseError(
            prepared.txId,
            'no combination of peers can be derived which satisfy the endorsement policy',
            500,
          );
        }
        orgs = planned;
      }
      if (out[0].result.status < 400) for (const mspId of orgs.slice(1)) await endorseOn(peerOf(mspId));
      return out;
    });
    const failed = results.find((r) => r.result.status >= 400);
    if (failed) throw new EndorseError(prepared.txId, failed.result.message, failed.result.status);
    const first = results[0];
    const reference = Buffer.from(first.result.proposalResponsePayload!);
    if (results.some((r) => !reference.equals(Buffer.from(r.result.proposalResponsePayload!)))) {
      throw new EndorseError(
        prepared.txId,
        'ProposalResponsePayloads do not match: the chaincode is not deterministic across endorsers',
        500,
      );
    }
    return {
      decoded: first.decoded,
      proposalResponsePayload: reference,
      endorsements: results.map((r) => r.result.endorsement!),
      payload: first.result.payload,
    };
  }

  private waitForStatus(txId: string): Promise<CommitStatus> {
    return new Promise((resolve) => {
      const list = this.waiters.get(txId) ?? [];
      list.push({ resolve });
      this.waiters.set(txId, list);
    });
  }

  private enqueueCommit(block: common.Block): void {
    this.commitQueue = this.commitQueue
      .then(() => this.commit(block))
      .catch((err: Error) => {
        // A failed commit (disk full, I/O error) stops the ledger rather than letting state diverge.
        this.commitFailure = err;
        for (const [txId, list] of this.waiters) {
          for (const w of list) {
            w.resolve({
              txId,
              blockNumber: -1,
              validationCode: 'INVALID_OTHER_REASON' as ValidationCodeName,
              successful: false,
            });
          }
        }
        this.waiters.clear();
      });
  }

  private async commit(block: common.Block): Promise<void> {
    if (this.commitFailure) throw this.commitFailure;
    if (isConfigBlock(block)) return this.commitConfigBlock(block);
    const validated = await validateBlock(block, {
      channelId: this.config.channelId,
      namespace: this.options.chaincodeName,
      verifier: this.verifier,
      chaincodePolicy: this.policy,
      store: this.store,
    });
    const update = updateFromBlock(
      block,
      this.options.chaincodeName,
      validated.map((tx) => tx.decoded),
    );
    await this.store.commitBlock(block, update, { applyGuard: (work) => this.lock.write(work) });
    const blockNumber = block.getHeader()!.getNumber();
    for (const tx of validated) {
      const txId = tx.decoded?.txId;
      if (!txId) continue;
      const list = this.waiters.get(txId);
      if (!list) continue;
      this.waiters.delete(txId);
      const validationCode = validationCodeName(tx.code) as ValidationCodeName;
      for (const w of list)
        w.resolve({ txId, blockNumber, validationCode, successful: tx.code === peer.TxValidationCode.VALID });
    }
    this.signal.notify();
  }

  /**
   * A configuration block: validated against the configuration in force (validateConfigBlock), stored, and, when
   * valid, put in force in the same critical section as its state commit, so the next block is validated, and
   * every later proposal endorsed, under the new configuration.
   */
  private async commitConfigBlock(block: common.Block): Promise<void> {
    const blockNumber = block.getHeader()!.getNumber();
    const validated = validateConfigBlock(block, {
      config: this.config,
      block: this.configBlock,
      verifier: this.verifier,
    });
    const update = updateFromBlock(block, this.options.chaincodeName);
    await this.store.commitBlock(block, update, {
      applyGuard: (work) =>
        this.lock.write(async () => {
          await work();
          if (validated.config) this.applyConfig(validated.config, blockNumber);
        }),
    });
    if (validated.refusal) this.configRefusals.set(validated.txId, validated.refusal);
    const list = this.waiters.get(validated.txId);
    this.waiters.delete(validated.txId);
    const validationCode = validationCodeName(validated.code) as ValidationCodeName;
    for (const w of list ?? []) {
      w.resolve({
        txId: validated.txId,
        blockNumber,
        validationCode,
        successful: validated.code === peer.TxValidationCode.VALID,
      });
    }
    this.signal.notify();
  }

  private blockSource(): BlockSource {
    return {
      height: () => this.store.height,
      getBlock: (n) => this.store.getBlock(n),
      blockHash: async (n) => {
        const block = await this.store.getBlock(n);
        if (!block) throw new Error(`block ${n} not found`);
        return {
          hash: blockHeaderHash(block).toString('hex'),
          previousHash: Buffer.from(block.getHeader()!.getPreviousHash_asU8()).toString('hex'),
        };
      },
      signal: this.signal,
      closed: () => this.closed,
    };
  }
}

/**
 * The configuration in force in a stored ledger: the newest configuration block, found as a peer finds it, by the
 * LAST_CONFIG index the orderer wrote into the last block. A ledger written before channel updates existed has
 * none there, and only its genesis configuration.
 */
async function latestConfig(store: LedgerStore): Promise<{ config: ChannelConfig; block: number }> {
  const last = await store.getBlock(store.height - 1);
  if (!last) throw new Error(`the ledger has no block ${store.height - 1}`);
  let index = lastConfigIndex(last);
  for (;;) {
    const block = await store.getBlock(index);
    if (!block) throw new Error(`the ledger has no configuration block ${index}`);
    const code = block.getMetadata()?.getMetadataList_asU8()[
      common.BlockMetadataIndex.TRANSACTIONS_FILTER
    ]?.[0];
    // A configuration block the committer refused is not in force: the one before it is. (Updates are
    // validated before they are ordered, so this is only a ledger whose commit-time check disagreed.)
    if (index === 0 || (isConfigBlock(block) && code === peer.TxValidationCode.VALID)) {
      return { config: readChannelConfig(block), block: index };
    }
    index -= 1;
    while (index > 0) {
      const previous = await store.getBlock(index);
      if (previous && isConfigBlock(previous)) break;
      index -= 1;
    }
  }
}
