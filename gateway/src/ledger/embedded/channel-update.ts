/**
 * Channel configuration updates, as Fabric makes them (`peer channel signconfigtx` / `peer channel update`, what
 * network/scripts/addOrg.sh runs on the live network): an update computed from the configuration in force,
 * signed by the admins of a strict majority of the channel's member organisations (the `MAJORITY Admins` policy of
 * /Channel/Application), wrapped by the orderer into a CONFIG transaction that is cut into a block of its own.
 * The committer validates that transaction again against the configuration in force before it takes effect, and
 * from the next block on every peer, the committer and identity deserialisation trust the new configuration.
 *
 * Fabric encodes the update as a `common.ConfigUpdate` (read set, write set) computed by configtxlator; the
 * embedded channel carries the same facts as canonical JSON: the sequence and block of the configuration it was
 * computed from, the MSPs it adds (their root CA certificates) and, optionally, the new endorsement policy. Each
 * signature is a `common.ConfigSignature`-like pair: a SignatureHeader (creator, nonce) and an ECDSA signature over
 * SignatureHeader ‖ update bytes, exactly what Fabric's signconfigtx signs.
 */
import { randomBytes } from 'node:crypto';
import { common, peer } from '@hyperledger/fabric-protos';
import { signedConfigEnvelope, type ChannelConfig } from './channel-config';
import { computeTxId } from './fabric/protos';
import { MspVerificationError, MspVerifier, type SigningIdentity } from './msp';
import { parsePolicy, type Policy } from './policy';

/** What a channel update changes, and the configuration it was computed from. */
export interface ChannelConfigUpdate {
  channelId: string;
  /** The sequence of the configuration the update was computed from (0: the genesis configuration). */
  baseSequence: number;
  /** The block holding that configuration. */
  baseConfigBlock: number;
  /** MSPs the update adds: mspId → root CA certificate (PEM). */
  addOrganisations: Record<string, string>;
  /** The chaincode's new endorsement policy, when the update changes it. */
  endorsementPolicy?: string;
}

/** An update as the member admins sign it: the bytes are what every signature covers. */
export interface ChannelUpdateProposal {
  update: ChannelConfigUpdate;
  bytes: Uint8Array;
}

/** One admin's signature of an update: SignatureHeader { creator, nonce } bytes and the signature over them ‖ update. */
export interface ConfigUpdateSignature {
  signatureHeader: Uint8Array;
  signature: Uint8Array;
}

/** The stable codes of a refused channel update. */
export const CHANNEL_UPDATE_REFUSALS = [
  /** Computed from a configuration that is no longer the one in force. */
  'CONFIG_UPDATE_STALE',
  /** Fewer member organisations' admins signed than the MAJORITY Admins policy needs. */
  'CONFIG_UPDATE_NOT_ENOUGH_SIGNATURES',
  /** A signature by an identity of an MSP that is not a member organisation of the channel. */
  'CONFIG_UPDATE_SIGNER_NOT_MEMBER',
  /** A signature by a member's identity that is not one of its admins (NodeOU admin). */
  'CONFIG_UPDATE_SIGNER_NOT_ADMIN',
  /** A signature that does not verify, or by a certificate the member's root CA did not issue (forged). */
  'CONFIG_UPDATE_BAD_SIGNATURE',
  /** The update itself is not acceptable (malformed, another channel, an MSP already there, a bad policy). */
  'CONFIG_UPDATE_INVALID',
] as const;
export type ChannelUpdateRefusal = (typeof CHANNEL_UPDATE_REFUSALS)[number];

/** A channel update the channel's policy does not admit; nothing changed. */
export class ChannelUpdateRefusedError extends Error {
  override readonly name = 'ChannelUpdateRefusedError';
  constructor(
    readonly code: ChannelUpdateRefusal,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

const refuse = (code: ChannelUpdateRefusal, message: string) => new ChannelUpdateRefusedError(code, message);

/** Deterministic JSON (sorted keys): every admin signs the same bytes for the same update. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function encodeChannelUpdate(update: ChannelConfigUpdate): Uint8Array {
  return Buffer.from(canonicalJson(update), 'utf8');
}

export function decodeChannelUpdate(bytes: Uint8Array): ChannelConfigUpdate {
  let value: Partial<ChannelConfigUpdate>;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<ChannelConfigUpdate>;
  } catch (err) {
    throw refuse('CONFIG_UPDATE_INVALID', `the update is not readable: ${(err as Error).message}`);
  }
  const orgs = value?.addOrganisations;
  if (
    typeof value?.channelId !== 'string' ||
    !Number.isInteger(value.baseSequence) ||
    !Number.isInteger(value.baseConfigBlock) ||
    !orgs ||
    typeof orgs !== 'object' ||
    Object.values(orgs).some((pem) => typeof pem !== 'string') ||
    (value.endorsementPolicy !== undefined && typeof value.endorsementPolicy !== 'string')
  ) {
    throw refuse(
      'CONFIG_UPDATE_INVALID',
      'the update must name channelId, baseSequence, baseConfigBlock and addOrganisations (mspId → root CA PEM)',
    );
  }
  return value as ChannelConfigUpdate;
}

/** Sign an update as one admin: what `peer channel signconfigtx` does with the admin's MSP folder. */
export function signChannelUpdate(bytes: Uint8Array, signer: SigningIdentity): ConfigUpdateSignature {
  const header = new common.SignatureHeader();
  header.setCreator(signer.serialize());
  header.setNonce(randomBytes(24));
  const signatureHeader = header.serializeBinary();
  return { signatureHeader, signature: signer.sign(Buffer.concat([signatureHeader, bytes])) };
}

/** The channel's member (application) organisations: every MSP of the configuration but the orderer's. */
export function memberOrganisations(config: ChannelConfig): string[] {
  return Object.keys(config.organisations)
    .filter((mspId) => mspId !== config.ordererMspId)
    .sort();
}

/** Fabric's ImplicitMetaPolicy MAJORITY: more than half of the sub-policies (here: of the member organisations). */
export function majorityOf(members: number): number {
  return Math.floor(members / 2) + 1;
}

/** The configuration an update makes of `config`; refuses a stale or unacceptable update. */
export function applyChannelUpdate(
  config: ChannelConfig,
  configBlock: number,
  update: ChannelConfigUpdate,
): ChannelConfig {
  const sequence = config.sequence ?? 0;
  if (update.channelId !== config.channelId) {
    throw refuse(
      'CONFIG_UPDATE_INVALID',
      `the update is for channel ${update.channelId}, this is ${config.channelId}`,
    );
  }
  if (update.baseSequence !== sequence || update.baseConfigBlock !== configBlock) {
    throw refuse(
      'CONFIG_UPDATE_STALE',
      `the update was computed from configuration sequence ${update.baseSequence} (block ${update.baseConfigBlock}); ` +
        `the configuration in force is sequence ${sequence} (block ${configBlock}): compute it again and collect the signatures anew`,
    );
  }
  const added = Object.entries(update.addOrganisations);
  if (added.length === 0 && update.endorsementPolicy === undefined) {
    throw refuse('CONFIG_UPDATE_INVALID', 'the update changes nothing');
  }
  for (const [mspId, pem] of added) {
    if (config.organisations[mspId] !== undefined) {
      throw refuse('CONFIG_UPDATE_INVALID', `MSP ${mspId} is already in the channel configuration`);
    }
    try {
      // The same check every peer makes of a root: a self-signed CA certificate.
      new MspVerifier({ [mspId]: pem });
    } catch (err) {
      throw refuse('CONFIG_UPDATE_INVALID', `MSP ${mspId}: ${(err as Error).message}`);
    }
  }
  const organisations = { ...config.organisations, ...update.addOrganisations };
  const endorsementPolicy = update.endorsementPolicy ?? config.chaincode.endorsementPolicy;
  let policy: Policy;
  try {
    policy = parsePolicy(endorsementPolicy);
  } catch (err) {
    throw refuse('CONFIG_UPDATE_INVALID', `endorsement policy: ${(err as Error).message}`);
  }
  const unknown = principalsOf(policy).filter((mspId) => organisations[mspId] === undefined);
  if (unknown.length > 0) {
    throw refuse(
      'CONFIG_UPDATE_INVALID',
      `the endorsement policy names MSPs that are not in the channel: ${[...new Set(unknown)].join(', ')}`,
    );
  }
  return {
    ...config,
    sequence: sequence + 1,
    organisations,
    chaincode: { ...config.chaincode, endorsementPolicy },
  };
}

function principalsOf(policy: Policy): string[] {
  return policy.kind === 'signedBy' ? [policy.principal.mspId] : policy.rules.flatMap(principalsOf);
}

/**
 * The member organisations whose admins signed, checked with the MSPs of the configuration in force; refuses a
 * signature by a non-member, a non-admin or one that does not verify, and too few organisations.
 */
export function checkUpdateSignatures(
  config: ChannelConfig,
  verifier: MspVerifier,
  bytes: Uint8Array,
  signatures: readonly ConfigUpdateSignature[],
): string[] {
  const members = memberOrganisations(config);
  const signed = new Set<string>();
  for (const [i, s] of signatures.entries()) {
    let creator: Uint8Array;
    try {
      creator = common.SignatureHeader.deserializeBinary(s.signatureHeader).getCreator_asU8();
    } catch (err) {
      throw refuse(
        'CONFIG_UPDATE_BAD_SIGNATURE',
        `signature ${i}: unreadable header (${(err as Error).message})`,
      );
    }
    let identity;
    try {
      identity = verifier.verify(creator, Buffer.concat([s.signatureHeader, bytes]), s.signature);
    } catch (err) {
      const reason = err instanceof MspVerificationError ? err.reason : undefined;
      if (reason === 'UNKNOWN_MSP') {
        throw refuse(
          'CONFIG_UPDATE_SIGNER_NOT_MEMBER',
          `signature ${i}: ${(err as Error).message}; the channel's members are ${members.join(', ')}`,
        );
      }
      throw refuse('CONFIG_UPDATE_BAD_SIGNATURE', `signature ${i}: ${(err as Error).message}`);
    }
    if (!members.includes(identity.mspId)) {
      throw refuse(
        'CONFIG_UPDATE_SIGNER_NOT_MEMBER',
        `signature ${i} is by ${identity.mspId} ${identity.role}, not by a member organisation (${members.join(', ')})`,
      );
    }
    if (identity.role !== 'admin') {
      throw refuse(
        'CONFIG_UPDATE_SIGNER_NOT_ADMIN',
        `signature ${i} is by ${identity.id}, a ${identity.mspId} ${identity.role}; only the members' admins sign channel updates`,
      );
    }
    signed.add(identity.mspId);
  }
  const needed = majorityOf(members.length);
  if (signed.size < needed) {
    throw refuse(
      'CONFIG_UPDATE_NOT_ENOUGH_SIGNATURES',
      `the channel's MAJORITY Admins policy needs the admins of ${needed} of its ${members.length} member ` +
        `organisations (${members.join(', ')}); signed by ${signed.size}${signed.size > 0 ? ` (${[...signed].sort().join(', ')})` : ''}`,
    );
  }
  return [...signed].sort();
}

/** The configuration an update makes, when its signatures satisfy the channel's policy: what both orderer and committer check. */
export function validateChannelUpdate(
  current: { config: ChannelConfig; block: number; verifier: MspVerifier },
  bytes: Uint8Array,
  signatures: readonly ConfigUpdateSignature[],
): ChannelConfig {
  const update = decodeChannelUpdate(bytes);
  const next = applyChannelUpdate(current.config, current.block, update);
  checkUpdateSignatures(current.config, current.verifier, bytes, signatures);
  return next;
}

/** What a channel update's CONFIG transaction carries: the new configuration and the signed update that made it. */
interface ConfigUpdateData {
  config: ChannelConfig;
  lastUpdate: { update: string; signatures: Array<{ signatureHeader: string; signature: string }> };
}

/** The orderer's CONFIG transaction for a validated update (Fabric: a ConfigEnvelope the orderer signs). */
export function buildConfigUpdateEnvelope(
  config: ChannelConfig,
  bytes: Uint8Array,
  signatures: readonly ConfigUpdateSignature[],
  orderer: SigningIdentity,
  createdAt: Date,
): { envelope: Uint8Array; txId: string } {
  const data: ConfigUpdateData = {
    config,
    lastUpdate: {
      update: Buffer.from(bytes).toString('base64'),
      signatures: signatures.map((s) => ({
        signatureHeader: Buffer.from(s.signatureHeader).toString('base64'),
        signature: Buffer.from(s.signature).toString('base64'),
      })),
    },
  };
  return signedConfigEnvelope(config.channelId, randomBytes(24), data, orderer, createdAt);
}

/** Whether a block is a configuration block (Fabric: one CONFIG envelope alone in its block). */
export function isConfigBlock(block: common.Block): boolean {
  const envelopes = block.getData()?.getDataList_asU8() ?? [];
  if (envelopes.length !== 1) return false;
  try {
    const payload = common.Payload.deserializeBinary(
      common.Envelope.deserializeBinary(envelopes[0]).getPayload_asU8(),
    );
    const type = common.ChannelHeader.deserializeBinary(
      payload.getHeader()!.getChannelHeader_asU8(),
    ).getType();
    return type === common.HeaderType.CONFIG;
  } catch {
    return false;
  }
}

export interface ConfigValidationContext {
  config: ChannelConfig;
  /** The block holding `config`. */
  block: number;
  verifier: MspVerifier;
}

export interface ValidatedConfigBlock {
  code: number;
  /** The configuration in force after this block (undefined when it is not valid). */
  config?: ChannelConfig;
  txId: string;
  /** Why it is not valid. */
  refusal?: ChannelUpdateRefusedError;
}

/**
 * The committer's validation of a configuration block (Fabric's peer re-validates every CONFIG transaction
 * against its own configuration): the orderer's signature on the envelope, the txId binding, the update and its
 * signatures against the configuration in force, and the new configuration being exactly what the update makes.
 * Writes the code into the block's TRANSACTIONS_FILTER (VALID or INVALID_CONFIG_TRANSACTION).
 */
export function validateConfigBlock(block: common.Block, ctx: ConfigValidationContext): ValidatedConfigBlock {
  let txId = '';
  let result: ValidatedConfigBlock;
  try {
    const envelope = common.Envelope.deserializeBinary(block.getData()!.getDataList_asU8()[0]);
    const payloadBytes = envelope.getPayload_asU8();
    const payload = common.Payload.deserializeBinary(payloadBytes);
    const channelHeader = common.ChannelHeader.deserializeBinary(
      payload.getHeader()!.getChannelHeader_asU8(),
    );
    const signatureHeader = common.SignatureHeader.deserializeBinary(
      payload.getHeader()!.getSignatureHeader_asU8(),
    );
    txId = channelHeader.getTxId();
    if (channelHeader.getChannelId() !== ctx.config.channelId) {
      throw refuse(
        'CONFIG_UPDATE_INVALID',
        `configuration transaction for channel ${channelHeader.getChannelId()}`,
      );
    }
    if (computeTxId(signatureHeader.getNonce_asU8(), signatureHeader.getCreator_asU8()) !== txId) {
      throw refuse(
        'CONFIG_UPDATE_INVALID',
        `configuration transaction id ${txId} is not bound to its nonce and creator`,
      );
    }
    let orderer;
    try {
      orderer = ctx.verifier.verify(
        signatureHeader.getCreator_asU8(),
        payloadBytes,
        envelope.getSignature_asU8(),
      );
    } catch (err) {
      throw refuse('CONFIG_UPDATE_BAD_SIGNATURE', `the orderer's signature: ${(err as Error).message}`);
    }
    if (!ctx.verifier.satisfiesPrincipal(orderer, `${ctx.config.ordererMspId}.orderer`)) {
      throw refuse(
        'CONFIG_UPDATE_BAD_SIGNATURE',
        `a configuration transaction is made by ${ctx.config.ordererMspId}'s orderer, not by ${orderer.mspId} ${orderer.role}`,
      );
    }
    const data = JSON.parse(Buffer.from(payload.getData_asU8()).toString('utf8')) as ConfigUpdateData;
    if (!data?.lastUpdate?.update || !Array.isArray(data.lastUpdate.signatures)) {
      throw refuse('CONFIG_UPDATE_INVALID', 'the configuration transaction carries no signed update');
    }
    const bytes = Buffer.from(data.lastUpdate.update, 'base64');
    const signatures = data.lastUpdate.signatures.map((s) => ({
      signatureHeader: Buffer.from(s.signatureHeader, 'base64'),
      signature: Buffer.from(s.signature, 'base64'),
    }));
    const next = validateChannelUpdate(ctx, bytes, signatures);
    if (canonicalJson(next) !== canonicalJson(data.config)) {
      throw refuse('CONFIG_UPDATE_INVALID', 'the configuration in the block is not the one its update makes');
    }
    result = { code: peer.TxValidationCode.VALID, config: next, txId };
  } catch (err) {
    const refusal =
      err instanceof ChannelUpdateRefusedError
        ? err
        : refuse('CONFIG_UPDATE_INVALID', `unreadable configuration transaction: ${(err as Error).message}`);
    result = { code: peer.TxValidationCode.INVALID_CONFIG_TRANSACTION, txId, refusal };
  }
  const metadata = block.getMetadata()!;
  const entries = metadata.getMetadataList_asU8();
  entries[common.BlockMetadataIndex.TRANSACTIONS_FILTER] = Uint8Array.from([result.code]);
  metadata.setMetadataList(entries);
  return result;
}

/**
 * The number of the newest configuration block at or before `block`, as the orderer recorded it (0 for blocks
 * cut before configuration updates existed, whose channel had only its genesis configuration).
 */
export function lastConfigIndex(block: common.Block): number {
  const entry = block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.LAST_CONFIG];
  if (!entry || entry.length === 0) return 0;
  const metadata = common.Metadata.deserializeBinary(entry);
  return common.LastConfig.deserializeBinary(metadata.getValue_asU8()).getIndex();
}
