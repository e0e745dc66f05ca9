/**
 * Fabric's wire messages, built and parsed exactly as a Fabric client, peer and orderer do, with the
 * official `@hyperledger/fabric-protos` classes. Keeping real protobufs (rather than JSON look-alikes) means
 * fabric-shim's ChaincodeStub decodes our proposals unchanged, and the blocks we store are `common.Block`s
 * a Fabric block parser could read.
 */
import { createHash } from 'node:crypto';
import { common, ledger, peer } from '@hyperledger/fabric-protos';
import { Timestamp } from 'google-protobuf/google/protobuf/timestamp_pb';

export const ENDORSER_TRANSACTION = common.HeaderType.ENDORSER_TRANSACTION;

export function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** Fabric's transaction id: hex(SHA-256(nonce ‖ creator)). */
export function computeTxId(nonce: Uint8Array, creator: Uint8Array): string {
  return sha256(nonce, creator).toString('hex');
}

export function toTimestamp(date: Date): Timestamp {
  const ts = new Timestamp();
  const millis = date.getTime();
  ts.setSeconds(Math.floor(millis / 1000));
  ts.setNanos((millis % 1000) * 1_000_000);
  return ts;
}

export function timestampToIso(ts: { seconds: number; nanos: number } | undefined): string {
  if (!ts) return new Date(0).toISOString();
  return new Date(ts.seconds * 1000 + Math.floor(ts.nanos / 1_000_000)).toISOString();
}

export interface ProposalSpec {
  channelId: string;
  chaincodeName: string;
  creator: Uint8Array;
  nonce: Uint8Array;
  txId: string;
  timestamp: Date;
  args: Uint8Array[];
  transient: Map<string, Uint8Array>;
}

export interface BuiltProposal {
  proposal: peer.Proposal;
  proposalBytes: Uint8Array;
  header: common.Header;
}

/** Client side: the unsigned proposal (ProtoUtils CreateChaincodeProposalWithTxIDNonceAndTransient). */
export function buildProposal(spec: ProposalSpec): BuiltProposal {
  const chaincodeId = new peer.ChaincodeID();
  chaincodeId.setName(spec.chaincodeName);

  const headerExtension = new peer.ChaincodeHeaderExtension();
  headerExtension.setChaincodeId(chaincodeId);

  const channelHeader = new common.ChannelHeader();
  channelHeader.setType(ENDORSER_TRANSACTION);
  channelHeader.setVersion(0);
  channelHeader.setTimestamp(toTimestamp(spec.timestamp));
  channelHeader.setChannelId(spec.channelId);
  channelHeader.setTxId(spec.txId);
  channelHeader.setEpoch(0);
  channelHeader.setExtension$(headerExtension.serializeBinary());

  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setCreator(spec.creator);
  signatureHeader.setNonce(spec.nonce);

  const header = new common.Header();
  header.setChannelHeader(channelHeader.serializeBinary());
  header.setSignatureHeader(signatureHeader.serializeBinary());

  const input = new peer.ChaincodeInput();
  input.setArgsList(spec.args);
  const chaincodeSpec = new peer.ChaincodeSpec();
  chaincodeSpec.setType(peer.ChaincodeSpec.Type.NODE);
  chaincodeSpec.setChaincodeId(chaincodeId);
  chaincodeSpec.setInput(input);
  const invocationSpec = new peer.ChaincodeInvocationSpec();
  invocationSpec.setChaincodeSpec(chaincodeSpec);

  const proposalPayload = new peer.ChaincodeProposalPayload();
  proposalPayload.setInput(invocationSpec.serializeBinary());
  const transientMap = proposalPayload.getTransientmapMap();
  for (const [key, value] of spec.transient) transientMap.set(key, value);

  const proposal = new peer.Proposal();
  proposal.setHeader(header.serializeBinary());
  proposal.setPayload(proposalPayload.serializeBinary());
  return { proposal, proposalBytes: proposal.serializeBinary(), header };
}

export function signedProposal(proposalBytes: Uint8Array, signature: Uint8Array): peer.SignedProposal {
  const signed = new peer.SignedProposal();
  signed.setProposalBytes(proposalBytes);
  signed.setSignature(signature);
  return signed;
}

/** Everything a peer needs from a signed proposal, decoded once. */
export interface DecodedProposal {
  signed: peer.SignedProposal;
  proposalBytes: Uint8Array;
  signature: Uint8Array;
  headerBytes: Uint8Array;
  channelHeaderBytes: Uint8Array;
  signatureHeaderBytes: Uint8Array;
  channelHeader: common.ChannelHeader;
  creator: Uint8Array;
  nonce: Uint8Array;
  txId: string;
  channelId: string;
  chaincodeName: string;
  input: peer.ChaincodeInput;
  /** ChaincodeProposalPayload without the transient map: what goes into the transaction and the proposal hash. */
  payloadWithoutTransient: Uint8Array;
}

export function decodeProposal(signed: peer.SignedProposal): DecodedProposal {
  const proposalBytes = signed.getProposalBytes_asU8();
  const proposal = peer.Proposal.deserializeBinary(proposalBytes);
  const headerBytes = proposal.getHeader_asU8();
  const header = common.Header.deserializeBinary(headerBytes);
  const channelHeaderBytes = header.getChannelHeader_asU8();
  const signatureHeaderBytes = header.getSignatureHeader_asU8();
  const channelHeader = common.ChannelHeader.deserializeBinary(channelHeaderBytes);
  const signatureHeader = common.SignatureHeader.deserializeBinary(signatureHeaderBytes);
  const extension = peer.ChaincodeHeaderExtension.deserializeBinary(channelHeader.getExtension_asU8());
  const payload = peer.ChaincodeProposalPayload.deserializeBinary(proposal.getPayload_asU8());
  const invocation = peer.ChaincodeInvocationSpec.deserializeBinary(payload.getInput_asU8());
  const input = invocation.getChaincodeSpec()?.getInput();
  if (!input) throw new Error('proposal carries no chaincode input');
  const stripped = new peer.ChaincodeProposalPayload();
  stripped.setInput(payload.getInput_asU8());
  return {
    signed,
    proposalBytes,
    signature: signed.getSignature_asU8(),
    headerBytes,
    channelHeaderBytes,
    signatureHeaderBytes,
    channelHeader,
    creator: signatureHeader.getCreator_asU8(),
    nonce: signatureHeader.getNonce_asU8(),
    txId: channelHeader.getTxId(),
    channelId: channelHeader.getChannelId(),
    chaincodeName: extension.getChaincodeId()?.getName() ?? '',
    input,
    payloadWithoutTransient: stripped.serializeBinary(),
  };
}

/** Fabric's GetProposalHash1: over the header parts and the payload without its transient map. */
export function proposalHash(decoded: DecodedProposal): Buffer {
  return sha256(decoded.channelHeaderBytes, decoded.signatureHeaderBytes, decoded.payloadWithoutTransient);
}

export interface KvRead {
  key: string;
  version?: { blockNum: number; txNum: number };
}
export interface KvWrite {
  key: string;
  value?: Uint8Array;
  isDelete: boolean;
}
export interface KvMetadataWrite {
  key: string;
  entries: Array<{ name: string; value: Uint8Array }>;
}
export interface RangeQuery {
  startKey: string;
  endKey: string;
  itrExhausted: boolean;
  reads: KvRead[];
}
export interface NamespaceRwSet {
  namespace: string;
  reads: KvRead[];
  rangeQueries: RangeQuery[];
  writes: KvWrite[];
  metadataWrites: KvMetadataWrite[];
}

function toKvRead(read: KvRead): ledger.rwset.kvrwset.KVRead {
  const kvRead = new ledger.rwset.kvrwset.KVRead();
  kvRead.setKey(read.key);
  if (read.version) {
    const version = new ledger.rwset.kvrwset.Version();
    version.setBlockNum(read.version.blockNum);
    version.setTxNum(read.version.txNum);
    kvRead.setVersion(version);
  }
  return kvRead;
}

function fromKvRead(kvRead: ledger.rwset.kvrwset.KVRead): KvRead {
  const version = kvRead.getVersion();
  return {
    key: kvRead.getKey(),
    version: version ? { blockNum: version.getBlockNum(), txNum: version.getTxNum() } : undefined,
  };
}

export function encodeRwSet(nsSets: NamespaceRwSet[]): Uint8Array {
  const txRwSet = new ledger.rwset.TxReadWriteSet();
  txRwSet.setDataModel(ledger.rwset.TxReadWriteSet.DataModel.KV);
  txRwSet.setNsRwsetList(
    nsSets.map((set) => {
      const kv = new ledger.rwset.kvrwset.KVRWSet();
      kv.setReadsList(set.reads.map(toKvRead));
      kv.setRangeQueriesInfoList(
        set.rangeQueries.map((rq) => {
          const info = new ledger.rwset.kvrwset.RangeQueryInfo();
          info.setStartKey(rq.startKey);
          info.setEndKey(rq.endKey);
          info.setItrExhausted(rq.itrExhausted);
          const raw = new ledger.rwset.kvrwset.QueryReads();
          raw.setKvReadsList(rq.reads.map(toKvRead));
          info.setRawReads(raw);
          return info;
        }),
      );
      kv.setWritesList(
        set.writes.map((w) => {
          const kvWrite = new ledger.rwset.kvrwset.KVWrite();
          kvWrite.setKey(w.key);
          kvWrite.setIsDelete(w.isDelete);
          if (w.value) kvWrite.setValue(w.value);
          return kvWrite;
        }),
      );
      kv.setMetadataWritesList(
        set.metadataWrites.map((m) => {
          const write = new ledger.rwset.kvrwset.KVMetadataWrite();
          write.setKey(m.key);
          write.setEntriesList(
            m.entries.map((e) => {
              const entry = new ledger.rwset.kvrwset.KVMetadataEntry();
              entry.setName(e.name);
              entry.setValue(e.value);
              return entry;
            }),
          );
          return write;
        }),
      );
      const ns = new ledger.rwset.NsReadWriteSet();
      ns.setNamespace(set.namespace);
      ns.setRwset(kv.serializeBinary());
      return ns;
    }),
  );
  return txRwSet.serializeBinary();
}

export function decodeRwSet(bytes: Uint8Array): NamespaceRwSet[] {
  const txRwSet = ledger.rwset.TxReadWriteSet.deserializeBinary(bytes);
  return txRwSet.getNsRwsetList().map((ns) => {
    const kv = ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
    return {
      namespace: ns.getNamespace(),
      reads: kv.getReadsList().map(fromKvRead),
      rangeQueries: kv.getRangeQueriesInfoList().map((info) => ({
        startKey: info.getStartKey(),
        endKey: info.getEndKey(),
        itrExhausted: info.getItrExhausted(),
        reads: (info.getRawReads()?.getKvReadsList() ?? []).map(fromKvRead),
      })),
      writes: kv.getWritesList().map((w) => ({
        key: w.getKey(),
        isDelete: w.getIsDelete(),
        value: w.getIsDelete() ? undefined : w.getValue_asU8(),
      })),
      metadataWrites: kv.getMetadataWritesList().map((m) => ({
        key: m.getKey(),
        entries: m.getEntriesList().map((e) => ({ name: e.getName(), value: e.getValue_asU8() })),
      })),
    };
  });
}

export interface ChaincodeEventData {
  chaincodeId: string;
  txId: string;
  eventName: string;
  payload: Uint8Array;
}

/** Peer side: the ProposalResponsePayload an endorser signs. */
export function buildProposalResponsePayload(options: {
  proposalHash: Uint8Array;
  chaincodeName: string;
  rwSet: Uint8Array;
  event?: ChaincodeEventData;
  status: number;
  message: string;
  payload: Uint8Array;
}): Uint8Array {
  const response = new peer.Response();
  response.setStatus(options.status);
  response.setMessage(options.message);
  response.setPayload(options.payload);
  const chaincodeId = new peer.ChaincodeID();
  chaincodeId.setName(options.chaincodeName);
  const action = new peer.ChaincodeAction();
  action.setResults(options.rwSet);
  if (options.event) {
    const event = new peer.ChaincodeEvent();
    event.setChaincodeId(options.event.chaincodeId);
    event.setTxId(options.event.txId);
    event.setEventName(options.event.eventName);
    event.setPayload(options.event.payload);
    action.setEvents(event.serializeBinary());
  }
  action.setResponse(response);
  action.setChaincodeId(chaincodeId);
  const prp = new peer.ProposalResponsePayload();
  prp.setProposalHash(options.proposalHash);
  prp.setExtension$(action.serializeBinary());
  return prp.serializeBinary();
}

export function buildEndorsement(endorser: Uint8Array, signature: Uint8Array): peer.Endorsement {
  const endorsement = new peer.Endorsement();
  endorsement.setEndorser(endorser);
  endorsement.setSignature(signature);
  return endorsement;
}

/** Client side: the transaction payload (ProtoUtils CreateSignedTx) that the client signs into an envelope. */
export function buildTransactionPayload(
  decoded: DecodedProposal,
  proposalResponsePayload: Uint8Array,
  endorsements: peer.Endorsement[],
): Uint8Array {
  const endorsedAction = new peer.ChaincodeEndorsedAction();
  endorsedAction.setProposalResponsePayload(proposalResponsePayload);
  endorsedAction.setEndorsementsList(endorsements);
  const actionPayload = new peer.ChaincodeActionPayload();
  actionPayload.setChaincodeProposalPayload(decoded.payloadWithoutTransient);
  actionPayload.setAction(endorsedAction);
  const action = new peer.TransactionAction();
  action.setHeader(decoded.signatureHeaderBytes);
  action.setPayload(actionPayload.serializeBinary());
  const transaction = new peer.Transaction();
  transaction.setActionsList([action]);
  const payload = new common.Payload();
  payload.setHeader(common.Header.deserializeBinary(decoded.headerBytes));
  payload.setData(transaction.serializeBinary());
  return payload.serializeBinary();
}

export function buildEnvelope(payload: Uint8Array, signature: Uint8Array): Uint8Array {
  const envelope = new common.Envelope();
  envelope.setPayload(payload);
  envelope.setSignature(signature);
  return envelope.serializeBinary();
}

/** A transaction envelope decoded for validation. Throws on anything malformed (→ BAD_PAYLOAD). */
export interface DecodedTransaction {
  envelopePayload: Uint8Array;
  envelopeSignature: Uint8Array;
  headerType: number;
  channelHeader: common.ChannelHeader;
  txId: string;
  channelId: string;
  creator: Uint8Array;
  nonce: Uint8Array;
  timestamp: { seconds: number; nanos: number };
  /** Present for endorser transactions. */
  endorsed?: {
    chaincodeName: string;
    proposalResponsePayload: Uint8Array;
    endorsements: Array<{ endorser: Uint8Array; signature: Uint8Array }>;
    rwSets: NamespaceRwSet[];
    event?: ChaincodeEventData;
    response: { status: number; message: string; payload: Uint8Array };
    functionName: string;
  };
}

export function decodeTransaction(envelopeBytes: Uint8Array): DecodedTransaction {
  const envelope = common.Envelope.deserializeBinary(envelopeBytes);
  const envelopePayload = envelope.getPayload_asU8();
  const payload = common.Payload.deserializeBinary(envelopePayload);
  const header = payload.getHeader();
  if (!header) throw new Error('envelope payload has no header');
  const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
  const signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
  const ts = channelHeader.getTimestamp();
  const decoded: DecodedTransaction = {
    envelopePayload,
    envelopeSignature: envelope.getSignature_asU8(),
    headerType: channelHeader.getType(),
    channelHeader,
    txId: channelHeader.getTxId(),
    channelId: channelHeader.getChannelId(),
    creator: signatureHeader.getCreator_asU8(),
    nonce: signatureHeader.getNonce_asU8(),
    timestamp: { seconds: ts?.getSeconds() ?? 0, nanos: ts?.getNanos() ?? 0 },
  };
  if (decoded.headerType !== ENDORSER_TRANSACTION) return decoded;

  const transaction = peer.Transaction.deserializeBinary(payload.getData_asU8());
  const actions = transaction.getActionsList();
  if (actions.length !== 1) throw new Error(`expected one transaction action, found ${actions.length}`);
  const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(actions[0].getPayload_asU8());
  const endorsedAction = actionPayload.getAction();
  if (!endorsedAction) throw new Error('transaction action has no endorsed action');
  const prpBytes = endorsedAction.getProposalResponsePayload_asU8();
  const prp = peer.ProposalResponsePayload.deserializeBinary(prpBytes);
  const chaincodeAction = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
  const eventBytes = chaincodeAction.getEvents_asU8();
  let event: ChaincodeEventData | undefined;
  if (eventBytes.length > 0) {
    const ev = peer.ChaincodeEvent.deserializeBinary(eventBytes);
    event = {
      chaincodeId: ev.getChaincodeId(),
      txId: ev.getTxId(),
      eventName: ev.getEventName(),
      payload: ev.getPayload_asU8(),
    };
  }
  const response = chaincodeAction.getResponse();
  const ccpp = peer.ChaincodeProposalPayload.deserializeBinary(
    actionPayload.getChaincodeProposalPayload_asU8(),
  );
  const invocation = peer.ChaincodeInvocationSpec.deserializeBinary(ccpp.getInput_asU8());
  const firstArg = invocation.getChaincodeSpec()?.getInput()?.getArgsList_asU8()[0];
  decoded.endorsed = {
    chaincodeName: chaincodeAction.getChaincodeId()?.getName() ?? '',
    proposalResponsePayload: prpBytes,
    endorsements: endorsedAction.getEndorsementsList().map((e) => ({
      endorser: e.getEndorser_asU8(),
      signature: e.getSignature_asU8(),
    })),
    rwSets: decodeRwSet(chaincodeAction.getResults_asU8()),
    event,
    response: {
      status: response?.getStatus() ?? 0,
      message: response?.getMessage() ?? '',
      payload: response?.getPayload_asU8() ?? new Uint8Array(),
    },
    functionName: firstArg ? Buffer.from(firstArg).toString('utf8') : '',
  };
  return decoded;
}

/** The validation codes a committer writes into block metadata (TRANSACTIONS_FILTER). */
export function transactionsFilter(block: common.Block): Uint8Array {
  return (
    block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER] ??
    new Uint8Array()
  );
}
