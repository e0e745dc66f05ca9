/** Settings shared by the Fabric adapters (built by `createLedger` in ../factory.ts from the environment). */
import type { IdentityRef } from '../port';

export interface FabricCommonConfig {
  /** Channel name (FABRIC_CHANNEL, default gec-channel). */
  channel: string;
  /** Chaincode name (FABRIC_CHAINCODE, default gec). */
  chaincode: string;
  /** Wallet folder `<mspId>/<name>/{cert.pem,key.pem}` (FABRIC_WALLET). */
  walletDir: string;
  /** Identity for events and qscc look-ups (FABRIC_SERVICE_IDENTITY, default GridMSP/admin). */
  serviceIdentity: IdentityRef;
  /** Deadlines in milliseconds. */
  timeouts: { evaluateMs: number; endorseMs: number; submitMs: number; commitStatusMs: number };
}

export interface FabricGatewayConfig extends FabricCommonConfig {
  /** The Fabric Gateway peer, host:port (FABRIC_PEER_ENDPOINT). */
  peerEndpoint: string;
  /** PEM file of the CA that signed the peer's TLS certificate (FABRIC_TLS_CERT). */
  tlsCertPath: string;
  /** TLS server name to expect when it differs from the endpoint host (FABRIC_PEER_HOST_ALIAS). */
  hostAlias?: string;
}

export interface FabricNetworkConfig extends FabricCommonConfig {
  /** Common connection profile JSON (FABRIC_CONNECTION_PROFILE). */
  connectionProfile: string;
  /** Service discovery (FABRIC_DISCOVERY, default true) and its localhost mapping (FABRIC_AS_LOCALHOST). */
  discovery: boolean;
  asLocalhost: boolean;
}

export const DEFAULT_TIMEOUTS: FabricCommonConfig['timeouts'] = {
  evaluateMs: 5_000,
  endorseMs: 15_000,
  submitMs: 5_000,
  commitStatusMs: 60_000,
};
