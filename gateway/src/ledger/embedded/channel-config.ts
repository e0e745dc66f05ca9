/**
 * The channel's configuration, committed as block 0 like a Fabric genesis block: which MSPs exist (their
 * root CA certificates), the chaincode on the channel and its endorsement policy. Peers and the committer
 * take their trust from this block, not from the CA folder, so a later change to the folder cannot make
 * the ledger accept identities the channel never admitted.
 *
 * Fabric encodes this as a `common.ConfigEnvelope` built by configtxgen; the embedded channel carries the
 * same facts as canonical JSON inside a CONFIG-type envelope.
 */
import { common } from '@hyperledger/fabric-protos';
import { buildEnvelope, computeTxId, toTimestamp } from './fabric/protos';
import type { SigningIdentity } from './msp';

export interface ChannelConfig {
  channelId: string;
  /**
   * The configuration's sequence: 0 (or absent, as genesis blocks written before channel updates existed have
   * it) for block 0, one more with every committed channel update (channel-update.ts). A channel update names
   * the sequence it was computed from, so one built on an older configuration is refused, as Fabric's
   * configtx validator refuses a stale read set.
   */
  sequence?: number;
  /** mspId → root CA certificate (PEM). */
  organisations: Record<string, string>;
  ordererMspId: string;
  chaincode: { name: string; version: string; endorsementPolicy: string };
}

export function buildConfigEnvelope(
  config: ChannelConfig,
  signer: SigningIdentity,
  createdAt: Date,
): Uint8Array {
  // A fixed nonce: one genesis per channel.
  return signedConfigEnvelope(config.channelId, Buffer.from(config.channelId), config, signer, createdAt)
    .envelope;
}

/**
 * A CONFIG-type envelope on `channelId` carrying `data` as JSON, signed by `signer` (the genesis block's and a
 * channel update's), and its transaction id (from `nonce` and the signer, as Fabric binds them).
 */
export function signedConfigEnvelope(
  channelId: string,
  nonce: Uint8Array,
  data: unknown,
  signer: SigningIdentity,
  createdAt: Date,
): { envelope: Uint8Array; txId: string } {
  const creator = signer.serialize();
  const txId = computeTxId(nonce, creator);
  const channelHeader = new common.ChannelHeader();
  channelHeader.setType(common.HeaderType.CONFIG);
  channelHeader.setChannelId(channelId);
  channelHeader.setTxId(txId);
  channelHeader.setTimestamp(toTimestamp(createdAt));
  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setCreator(creator);
  signatureHeader.setNonce(nonce);
  const header = new common.Header();
  header.setChannelHeader(channelHeader.serializeBinary());
  header.setSignatureHeader(signatureHeader.serializeBinary());
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(Buffer.from(JSON.stringify(data)));
  const payloadBytes = payload.serializeBinary();
  return { envelope: buildEnvelope(payloadBytes, signer.sign(payloadBytes)), txId };
}

/**
 * The channel configuration a CONFIG block holds: block 0's (the configuration itself) or a channel update's
 * (`{ config, lastUpdate }`, as Fabric's ConfigEnvelope carries the new config beside the update that made it).
 */
export function readChannelConfig(configBlock: common.Block): ChannelConfig {
  const number = configBlock.getHeader()?.getNumber() ?? 0;
  const envelope = common.Envelope.deserializeBinary(configBlock.getData()!.getDataList_asU8()[0]);
  const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
  const channelHeader = common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8());
  if (channelHeader.getType() !== common.HeaderType.CONFIG) {
    throw new Error(`block ${number} is not a configuration block`);
  }
  const data = JSON.parse(Buffer.from(payload.getData_asU8()).toString('utf8')) as
    ChannelConfig | { config: ChannelConfig };
  const config = 'config' in data && typeof data.config === 'object' ? data.config : (data as ChannelConfig);
  if (!config.channelId || !config.organisations || !config.chaincode?.endorsementPolicy) {
    throw new Error(`block ${number} does not hold a gec channel configuration`);
  }
  return { ...config, sequence: config.sequence ?? 0 };
}
