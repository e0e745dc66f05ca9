/**
 * An endorsing peer of one organisation. It does what a Fabric peer's endorser does with a SignedProposal:
 * check the creator's signature and MSP, the transaction id binding and duplicates, execute the chaincode
 * against committed state through fabric-shim's own ChaincodeStub and contract router, and sign the
 * ProposalResponsePayload with the peer's identity.
 */
import type { peer } from '@hyperledger/fabric-protos';
import {
  buildEndorsement,
  buildProposalResponsePayload,
  computeTxId,
  decodeProposal,
  encodeRwSet,
  proposalHash,
  type DecodedProposal,
} from './fabric/protos';
import { TxSimulator, type StateReader } from './simulator';
import type { MspVerifier, SigningIdentity } from './msp';
import { ChaincodeStub, type ContractRouter } from './shim';

export interface EndorsementResult {
  /** 200 when the chaincode succeeded; otherwise the chaincode's status and message, and nothing signed. */
  status: number;
  message: string;
  payload: Uint8Array;
  proposalResponsePayload?: Uint8Array;
  endorsement?: peer.Endorsement;
  hasWrites: boolean;
}

export class ProposalRejectedError extends Error {
  override readonly name = 'ProposalRejectedError';
}

export interface PeerOptions {
  channelId: string;
  chaincodeName: string;
  identity: SigningIdentity;
  verifier: MspVerifier;
  state: StateReader;
  router: ContractRouter;
}

export class EndorsingPeer {
  constructor(private readonly options: PeerOptions) {}

  get mspId(): string {
    return this.options.identity.mspId;
  }

  /**
   * Whether `other` decides `checkProposal` exactly as this peer does: same channel, same chaincode, the same
   * MSP verifier (the same trusted roots and identity cache). Its outcome then holds for both.
   */
  checksLike(other: EndorsingPeer): boolean {
    const mine = this.options;
    const theirs = other.options;
    return (
      other === this ||
      (mine.channelId === theirs.channelId &&
        mine.chaincodeName === theirs.chaincodeName &&
        mine.verifier === theirs.verifier)
    );
  }

  /**
   * Decode and authenticate a proposal. The duplicate-txid check against the ledger is made once by the
   * caller: every peer of the embedded network shares one ledger, so asking each would read the same index.
   */
  async checkProposal(signed: peer.SignedProposal): Promise<DecodedProposal> {
    let decoded: DecodedProposal;
    try {
      decoded = decodeProposal(signed);
    } catch (err) {
      throw new ProposalRejectedError(`malformed proposal: ${(err as Error).message}`);
    }
    const { channelId, chaincodeName, verifier } = this.options;
    if (decoded.channelId !== channelId) {
      throw new ProposalRejectedError(
        `channel '${decoded.channelId}' not found (this peer joined '${channelId}')`,
      );
    }
    if (decoded.chaincodeName !== chaincodeName) {
      throw new ProposalRejectedError(
        `chaincode '${decoded.chaincodeName}' is not installed (only '${chaincodeName}')`,
      );
    }
    try {
      await verifier.verifyAsync(decoded.creator, decoded.proposalBytes, decoded.signature);
    } catch (err) {
      throw new ProposalRejectedError(
        `access denied: creator signature or identity invalid: ${(err as Error).message}`,
      );
    }
    if (computeTxId(decoded.nonce, decoded.creator) !== decoded.txId) {
      throw new ProposalRejectedError(`incorrect txid ${decoded.txId}: it must be SHA-256(nonce ‖ creator)`);
    }
    return decoded;
  }

  /** Execute the chaincode and, if it succeeded, endorse the result. */
  async endorse(decoded: DecodedProposal): Promise<EndorsementResult> {
    const { state, router, chaincodeName, identity } = this.options;
    const simulator = new TxSimulator(state, chaincodeName);
    const stub = new ChaincodeStub(simulator, decoded.channelId, decoded.txId, decoded.input, decoded.signed);
    // The shim reads the executing peer's MSP id from the process environment; several peers share this
    // process, so each stub answers for the peer that runs it.
    stub.getMspID = () => identity.mspId;
    const response = await router.Invoke(stub);
    const status = response.status ?? 500;
    const payload = response.payload ? Buffer.from(response.payload) : Buffer.alloc(0);
    if (status >= 400) {
      return { status, message: response.message ?? 'chaincode error', payload, hasWrites: false };
    }
    const rwSet = simulator.results();
    const event = stub.chaincodeEvent;
    const proposalResponsePayload = buildProposalResponsePayload({
      proposalHash: proposalHash(decoded),
      chaincodeName,
      rwSet: encodeRwSet([rwSet]),
      event: event
        ? {
            chaincodeId: chaincodeName,
            txId: decoded.txId,
            eventName: event.getEventName(),
            payload: event.getPayload_asU8(),
          }
        : undefined,
      status,
      message: response.message ?? '',
      payload,
    });
    const endorser = identity.serialize();
    const signature = await identity.signAsync(Buffer.concat([proposalResponsePayload, endorser]));
    return {
      status,
      message: response.message ?? '',
      payload,
      proposalResponsePayload,
      endorsement: buildEndorsement(endorser, signature),
      hasWrites: simulator.hasWrites(),
    };
  }
}
