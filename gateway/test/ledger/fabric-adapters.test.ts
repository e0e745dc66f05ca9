/**
 * The Fabric adapters' logic that needs no Fabric network: error mapping from the libraries' own error
 * classes, configuration checks, and decoding of blocks and qscc payloads, using real protobuf blocks
 * written by the embedded ledger (the same `common.Block` format a peer returns).
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, generateKeyPairSync, verify } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  CommitError as LibCommitError,
  CommitStatusError,
  EndorseError as LibEndorseError,
  GatewayError,
  connect,
  signers,
} from '@hyperledger/fabric-gateway';
import { common, peer } from '@hyperledger/fabric-protos';
import { CommitError, EndorseError } from '../../src/ledger/port';
import { createTestNetwork, type TestNetwork } from '../../src/ledger/embedded/testing';
import { readCertificateInfo } from '../../src/ledger/embedded/msp';
import {
  blockEventOf,
  chainInfoOf,
  chaincodeEventsOf,
  processedTransactionOf,
  transactionInfoOf,
  verifyBlocks,
} from '../../src/ledger/fabric/block-decode';
import {
  commitError,
  endorseRetryingMismatch,
  ENDORSEMENT_MISMATCH_RETRY_MS,
  extractChaincodeMessage,
  isEndorsementMismatch,
  mapGatewayError,
  mapNetworkError,
} from '../../src/ledger/fabric/errors';
import {
  isNotFound,
  proposalBytesOf,
  proposalTimestamp,
} from '../../src/ledger/fabric/fabric-gateway-ledger';
import {
  ephemeralTlsClient,
  legacyTxId,
  MemoryCheckpointer,
  nodeSigningProvider,
} from '../../src/ledger/fabric/fabric-network-ledger';
import { signP256 } from '../../src/ledger/fabric/signing';
import { decodeDerSignature, isLowS } from '../../src/ledger/embedded/msp/ecdsa';
import { loadWalletIdentitySync, WalletError } from '../../src/ledger/fabric/wallet';
import {
  createLedger,
  ledgerConfigFromEnv,
  LedgerConfigError,
  validateLedgerConfig,
} from '../../src/ledger/factory';

// fabric-network's index does not export TransactionError at run time (only its types do).
const { TransactionError } =
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('fabric-network/lib/errors/transactionerror') as typeof import('fabric-network');
// SubmitError is exported by the package as a type only; its class lives in the dist module.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SubmitError } = require('@hyperledger/fabric-gateway/dist/submiterror') as {
  SubmitError: typeof LibEndorseError;
};

const REPO = resolve(__dirname, '..', '..', '..');
const cause = Object.assign(new Error('grpc'), { code: 10, details: '', metadata: new grpc.Metadata() });

describe('fabric adapters: error mapping', () => {
  const registered = 'PARTICIPANT_EXISTS: participant P1 is already registered';

  it('maps fabric-gateway EndorseError to the port EndorseError with the chaincode message from details', () => {
    const err = new LibEndorseError({
      code: grpc.status.ABORTED,
      details: [
        { address: 'peer0.grid:7051', mspId: 'GridMSP', message: `chaincode response 500, ${registered}` },
      ],
      cause,
      transactionId: 'tx-1',
      message: '10 ABORTED: failed to endorse transaction, see attached details for more info',
    });
    const mapped = mapGatewayError(err, 'ignored');
    expect(mapped).toBeInstanceOf(EndorseError);
    expect(mapped).toMatchObject({ txId: 'tx-1', chaincodeMessage: registered, status: 500 });
  });

  it('endorses again when the peers disagree (one a block behind), and only then', async () => {
    // The Fabric Gateway's answer when two endorsers simulated on different states.
    const mismatch = new LibEndorseError({
      code: grpc.status.ABORTED,
      details: [],
      cause,
      transactionId: 'tx-m',
      message: '10 ABORTED: ProposalResponsePayloads do not match',
    });
    expect(isEndorsementMismatch(mismatch)).toBe(true);
    expect(
      isEndorsementMismatch(new Error('No valid responses from any peers. Peer endorsements do not match')),
    ).toBe(true);
    let calls = 0;
    const result = await endorseRetryingMismatch(async () => {
      calls += 1;
      if (calls < 3) throw mismatch;
      return 'endorsed';
    });
    expect({ result, calls }).toEqual({ result: 'endorsed', calls: 3 });
    // A refusal by the chaincode is not retried.
    const refusal = new LibEndorseError({
      code: grpc.status.ABORTED,
      details: [
        { address: 'peer0.grid:7051', mspId: 'GridMSP', message: `chaincode response 500, ${registered}` },
      ],
      cause,
      transactionId: 'tx-r',
      message: '10 ABORTED: failed to endorse transaction, see attached details for more info',
    });
    calls = 0;
    await expect(
      endorseRetryingMismatch(async () => {
        calls += 1;
        throw refusal;
      }),
    ).rejects.toBe(refusal);
    expect(calls).toBe(1);
    // A mismatch that lasts (a chaincode that is not deterministic) fails after the last pause.
    calls = 0;
    await expect(
      endorseRetryingMismatch(async () => {
        calls += 1;
        throw mismatch;
      }),
    ).rejects.toBe(mismatch);
    expect(calls).toBe(ENDORSEMENT_MISMATCH_RETRY_MS.length + 1);
  });

  it('maps SubmitError and CommitStatusError (checked by name) to EndorseError with status 503', () => {
    for (const ErrorClass of [SubmitError, CommitStatusError]) {
      const err = new ErrorClass({
        code: grpc.status.UNAVAILABLE,
        details: [],
        cause,
        transactionId: 'tx-2',
        message: '14 UNAVAILABLE: no orderer reachable',
      });
      expect(err).toBeInstanceOf(GatewayError);
      const mapped = mapGatewayError(err, 'tx-2') as EndorseError;
      expect(mapped).toBeInstanceOf(EndorseError);
      expect(mapped.status).toBe(503);
      expect(mapped.chaincodeMessage).toBe('14 UNAVAILABLE: no orderer reachable');
    }
  });

  it('maps an evaluate GatewayError whose message carries the chaincode response', () => {
    const err = new GatewayError({
      code: grpc.status.UNKNOWN,
      details: [],
      cause,
      message:
        '2 UNKNOWN: evaluate call to endorser returned error: chaincode response 500, PARTICIPANT_NOT_FOUND: participant X is not registered',
    });
    expect(mapGatewayError(err, 'tx-3')).toMatchObject({
      txId: 'tx-3',
      chaincodeMessage: 'PARTICIPANT_NOT_FOUND: participant X is not registered',
    });
  });

  it('gives the same validation code names as the embedded ledger for CommitError 11 and 12', () => {
    const mvcc = mapGatewayError(
      new LibCommitError({ code: 11, transactionId: 'tx-4' }),
      'tx-4',
    ) as CommitError;
    expect(mvcc).toBeInstanceOf(CommitError);
    expect(mvcc.status).toMatchObject({
      txId: 'tx-4',
      validationCode: 'MVCC_READ_CONFLICT',
      successful: false,
    });
    const phantom = mapGatewayError(
      new LibCommitError({ code: 12, transactionId: 'tx-5' }),
      'tx-5',
    ) as CommitError;
    expect(phantom.status.validationCode).toBe('PHANTOM_READ_CONFLICT');
    expect(commitError('tx-6', 7, 10).status).toEqual({
      txId: 'tx-6',
      blockNumber: 7,
      validationCode: 'ENDORSEMENT_POLICY_FAILURE',
      successful: false,
    });
    expect(commitError('tx-7', 1, 99).status.validationCode).toBe('INVALID_OTHER_REASON');
  });

  it('maps fabric-network TransactionError and endorsement failures the same way', () => {
    const tx = new TransactionError({
      message: 'invalid',
      transactionId: 'tx-8',
      transactionCode: 'MVCC_READ_CONFLICT',
    });
    expect((mapNetworkError(tx, 'tx-8') as CommitError).status.validationCode).toBe('MVCC_READ_CONFLICT');
    const endorse = new Error(
      `No valid responses from any peers. Errors:\n    peer=peer0.grid.gec.example:7051, status=500, message=${registered}`,
    );
    expect(mapNetworkError(endorse, 'tx-9')).toMatchObject({
      txId: 'tx-9',
      chaincodeMessage: registered,
      status: 500,
    });
    const evaluate = Object.assign(new Error('peer error response'), {
      isEndorsed: false,
      status: 500,
      message: 'ROLE_NOT_PERMITTED: requires gec.role admin',
    });
    expect(mapNetworkError(evaluate, 'tx-10')).toMatchObject({
      chaincodeMessage: 'ROLE_NOT_PERMITTED: requires gec.role admin',
    });
    const other = new Error('connect ECONNREFUSED');
    expect(mapNetworkError(other, 'tx-11')).toBe(other);
  });

  it('extracts the chaincode message and recognises qscc "not found" answers', () => {
    expect(extractChaincodeMessage(['x', 'chaincode response 403, ROLE_NOT_PERMITTED: no'])).toEqual({
      status: 403,
      message: 'ROLE_NOT_PERMITTED: no',
    });
    expect(isNotFound('Failed to get transaction with id abc, error Entry not found in index')).toBe(true);
    expect(isNotFound('PARTICIPANT_NOT_FOUND: participant X')).toBe(false);
  });
});

describe('fabric adapters: configuration', () => {
  it('names every missing setting of LEDGER=fabric-gateway', async () => {
    const config = ledgerConfigFromEnv({ LEDGER: 'fabric-gateway' });
    const problems = validateLedgerConfig(config).join('\n');
    expect(problems).toMatch(/FABRIC_PEER_ENDPOINT/);
    expect(problems).toMatch(/FABRIC_TLS_CERT/);
    expect(problems).toMatch(/FABRIC_WALLET/);
    await expect(createLedger(config)).rejects.toBeInstanceOf(LedgerConfigError);
  });

  it('names the connection profile for LEDGER=fabric-network and rejects unknown ledgers', () => {
    expect(
      validateLedgerConfig(ledgerConfigFromEnv({ LEDGER: 'fabric-network', FABRIC_WALLET: '/w' })).join(),
    ).toMatch(/FABRIC_CONNECTION_PROFILE/);
    expect(() => ledgerConfigFromEnv({ LEDGER: 'besu' })).toThrow(
      /LEDGER must be one of embedded, fabric-gateway, fabric-network/,
    );
    expect(() => ledgerConfigFromEnv({ FABRIC_SERVICE_IDENTITY: 'admin' })).toThrow(
      /FABRIC_SERVICE_IDENTITY must be MSPID\/name/,
    );
    expect(() => ledgerConfigFromEnv({ FABRIC_DISCOVERY: 'maybe' })).toThrow(/FABRIC_DISCOVERY/);
  });

  it('accepts a complete fabric-gateway configuration', () => {
    const config = ledgerConfigFromEnv({
      LEDGER: 'fabric-gateway',
      FABRIC_PEER_ENDPOINT: '127.0.0.1:7051',
      FABRIC_TLS_CERT: '/tls/ca.crt',
      FABRIC_WALLET: '/wallet',
      FABRIC_SERVICE_IDENTITY: 'GridMSP/platform',
    });
    expect(validateLedgerConfig(config)).toEqual([]);
    expect(config.serviceIdentity).toEqual({ mspId: 'GridMSP', name: 'platform' });
  });

  it('opens the embedded ledger by default', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gec-factory-'));
    try {
      const ledger = await createLedger(ledgerConfigFromEnv({}, { dataDir }));
      // Block 0 (the channel) and block 1 (the development consortium's founders, registered at the first start).
      expect((await ledger.getChainInfo()).height).toBe(2);
      await ledger.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('fabric adapters: decoding real blocks', () => {
  let net: TestNetwork;
  const creditCode = '91110000100000000X';
  let registerTx: string;
  let statusTx: string;

  beforeAll(async () => {
    net = await createTestNetwork();
    const registered = await net.ledger.submit({
      identity: net.ids.gridAdmin,
      transaction: 'identity:RegisterParticipant',
      args: [JSON.stringify({ id: 'GEN-1', kind: 'GENERATOR', name: 'Wind farm', region: '110000' })],
      transient: { creditCode },
    });
    registerTx = registered.txId;
    statusTx = (
      await net.ledger.submit({
        identity: net.ids.tradingAdmin,
        transaction: 'identity:SetParticipantStatus',
        args: [JSON.stringify({ id: 'GEN-1', status: 'SUSPENDED', reason: 'audit' })],
      })
    ).txId;
  });
  afterAll(async () => net.close());

  const blockOf = async (n: number) => common.Block.deserializeBinary((await net.ledger.getBlock(n))!);

  it('decodes a block event like the embedded ledger delivers it', async () => {
    const info = await net.ledger.getTransaction(registerTx);
    const block = await blockOf(info!.blockNumber);
    const event = blockEventOf(block);
    const stream = net.ledger.blockEvents({ startBlock: info!.blockNumber });
    const iterator = stream[Symbol.asyncIterator]();
    const embedded = (await iterator.next()).value;
    stream.close();
    expect(event).toEqual({ ...embedded, bytes: expect.any(Uint8Array) });
    expect(Buffer.from(event.bytes).equals(Buffer.from(embedded.bytes))).toBe(true);
  });

  it('finds the chaincode events of valid transactions with their tx numbers', async () => {
    const info = await net.ledger.getTransaction(statusTx);
    const events = chaincodeEventsOf(await blockOf(info!.blockNumber), 'gec');
    expect(events).toEqual([
      expect.objectContaining({
        txId: statusTx,
        txNumber: info!.txNumber,
        eventName: 'ParticipantStatusChanged',
      }),
    ]);
    expect(chaincodeEventsOf(await blockOf(info!.blockNumber), 'other')).toEqual([]);
  });

  it('decodes qscc GetTransactionByID (ProcessedTransaction) into the same TransactionInfo', async () => {
    const expected = await net.ledger.getTransaction(registerTx);
    const block = await blockOf(expected!.blockNumber);
    const processed = processedTransactionOf(block, expected!.txNumber);
    expect(peer.ProcessedTransaction.deserializeBinary(processed).getValidationcode()).toBe(0);
    expect(transactionInfoOf(processed, block.serializeBinary())).toEqual(expected);
  });

  it('decodes qscc GetChainInfo (BlockchainInfo)', async () => {
    // BlockchainInfo has no start-up report: that describes the embedded ledger's own storage, not the chain.
    const { startup: _startup, ...expected } = await net.ledger.getChainInfo();
    const info = new common.BlockchainInfo();
    info.setHeight(expected.height);
    info.setCurrentblockhash(Buffer.from(expected.currentBlockHash, 'hex'));
    info.setPreviousblockhash(Buffer.from(expected.previousBlockHash, 'hex'));
    expect(chainInfoOf(info.serializeBinary())).toEqual(expected);
  });

  it('verifies the hash chain, and names the block whose data or link was changed', async () => {
    const { height, currentBlockHash } = await net.ledger.getChainInfo();
    const read = (n: number) => net.ledger.getBlock(n);
    expect(await verifyBlocks(height, read, currentBlockHash)).toEqual({ ok: true, height, problems: [] });

    const tamperedData = async (n: number) => {
      const bytes = await read(n);
      if (n !== 1 || !bytes) return bytes;
      const block = common.Block.deserializeBinary(bytes);
      const data = block
        .getData()!
        .getDataList_asU8()
        .map((d) => Uint8Array.from(d));
      data[0][data[0].length - 1] ^= 1;
      block.getData()!.setDataList(data);
      return block.serializeBinary();
    };
    const tampered = await verifyBlocks(height, tamperedData, currentBlockHash);
    expect(tampered.ok).toBe(false);
    expect(tampered.problems).toEqual(["block 1: data hash does not match the block's transactions"]);

    const relinked = async (n: number) => {
      const bytes = await read(n);
      if (n !== 2 || !bytes) return bytes;
      const block = common.Block.deserializeBinary(bytes);
      block.getHeader()!.setPreviousHash(Buffer.alloc(32, 7));
      return block.serializeBinary();
    };
    const broken = await verifyBlocks(height, relinked);
    expect(broken.problems).toContain('block 2: previous hash does not match the header hash of block 1');
  });
});

describe('fabric adapters: identities and transaction ids', () => {
  let dir: string;
  let wallet: string;
  const haveOpenssl = (() => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gec-enroll-'));
    wallet = join(dir, 'network', 'organizations', 'wallet');
    if (!haveOpenssl) return;
    // A copy of the scripts with a stand-in for cryptogen's Grid CA (same file names and layout).
    cpSync(join(REPO, 'network', 'scripts'), join(dir, 'network', 'scripts'), { recursive: true });
    cpSync(join(REPO, 'network', 'network.env'), join(dir, 'network', 'network.env'));
    const org = join(dir, 'network', 'organizations', 'peerOrganizations', 'grid.gec.example');
    mkdirSync(join(org, 'ca'), { recursive: true });
    mkdirSync(join(org, 'msp', 'tlscacerts'), { recursive: true });
    const caKey = join(org, 'ca', 'priv_sk');
    const caCert = join(org, 'ca', 'ca.grid.gec.example-cert.pem');
    execFileSync('openssl', [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      caKey,
    ]);
    execFileSync('openssl', [
      'req',
      '-x509',
      '-new',
      '-key',
      caKey,
      '-subj',
      '/C=US/O=grid.gec.example/CN=ca.grid.gec.example',
      '-days',
      '30',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      caCert,
    ]);
    cpSync(caCert, join(org, 'msp', 'tlscacerts', 'tlsca.grid.gec.example-cert.pem'));
    writeFileSync(join(org, 'msp', 'config.yaml'), 'NodeOUs:\n  Enable: true\n');
    execFileSync('bash', [join(dir, 'network', 'scripts', 'enroll.sh'), 'grid', 'admin', 'admin', 'admin'], {
      stdio: 'ignore',
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  (haveOpenssl ? it : it.skip)(
    'enroll.sh issues a certificate whose gec.role the chaincode reads, OU admin',
    () => {
      const pem = readFileSync(join(wallet, 'GridMSP', 'admin', 'cert.pem'), 'utf8');
      const info = readCertificateInfo(pem);
      expect(info.attrs['gec.role']).toBe('admin');
      expect(info.organizationalUnits).toContain('admin');
      expect(info.id).toMatch(/^x509::\/C=CN\/O=grid.gec.example\/OU=admin\/CN=admin@grid.gec.example::/);
    },
  );

  (haveOpenssl ? it : it.skip)(
    'fabric-gateway proposals and the legacy txId formula agree (sha256(nonce ‖ creator))',
    () => {
      const identity = loadWalletIdentitySync(wallet, { mspId: 'GridMSP', name: 'admin' });
      const client = new grpc.Client('127.0.0.1:1', grpc.credentials.createInsecure());
      const gateway = connect({
        client,
        identity: { mspId: identity.mspId, credentials: identity.certificate },
        signer: signers.newPrivateKeySigner(identity.privateKey),
      });
      try {
        const before = Date.now();
        const proposal = gateway
          .getNetwork('gec-channel')
          .getContract('gec')
          .newProposal('identity:GetParticipant', {
            arguments: ['GEN-1'],
          });
        const bytes = proposal.getBytes();
        const timestamp = Date.parse(proposalTimestamp(bytes));
        expect(timestamp).toBeGreaterThanOrEqual(before - 1000);
        expect(timestamp).toBeLessThanOrEqual(Date.now() + 1000);
        const header = common.Header.deserializeBinary(
          peer.Proposal.deserializeBinary(proposalBytesOf(bytes)).getHeader_asU8(),
        );
        const nonce = common.SignatureHeader.deserializeBinary(
          header.getSignatureHeader_asU8(),
        ).getNonce_asU8();
        expect(legacyTxId(nonce, identity)).toBe(proposal.getTransactionId());
      } finally {
        gateway.close();
        client.close();
      }
    },
  );

  it('says which wallet file is missing', () => {
    expect(() => loadWalletIdentitySync(join(dir, 'nowhere'), { mspId: 'GridMSP', name: 'ghost' })).toThrow(
      WalletError,
    );
    expect(() => loadWalletIdentitySync(join(dir, 'nowhere'), { mspId: 'GridMSP', name: 'ghost' })).toThrow(
      /GridMSP\/ghost is not in the wallet .*cert\.pem/,
    );
    expect(() => loadWalletIdentitySync(dir, { mspId: '../etc', name: 'x' })).toThrow(/plain folder names/);
  });

  it('keeps legacy checkpoints in memory', async () => {
    const legacy = new MemoryCheckpointer(3);
    expect(String(await legacy.getBlockNumber())).toBe('3');
    await legacy.addTransactionId('t1');
    expect([...(await legacy.getTransactionIds())]).toEqual(['t1']);
  });
});

describe('Fabric adapters: signatures by OpenSSL, not by the SDKs', () => {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('signs low-S DER that verifies, for every message', () => {
    for (let n = 0; n < 64; n++) {
      const message = Buffer.from(`proposal ${n}`);
      const signature = signP256(message, keys.privateKey);
      expect(verify('sha256', message, keys.publicKey, signature)).toBe(true);
      // Without the normalisation about half of these would have a high S, which Fabric's BCCSP refuses.
      expect(isLowS(decodeDerSignature(signature).s)).toBe(true);
    }
  });

  it("replaces the signing of fabric-network's X.509 users, whose signatures still verify with their certificate", async () => {
    // Any P-256 certificate and key will do: the self-signed pair the adapter makes for TLS.
    const { certificate, key } = await ephemeralTlsClient();
    const provider = await nodeSigningProvider();
    const identity = { type: 'X.509', mspId: 'GridMSP', credentials: { certificate, privateKey: key } };
    const user = await provider.getUserContext(identity, 'GridMSP/admin');
    // fabric-common's own signer (elliptic, in JavaScript) is never asked.
    const javascriptSign = jest.spyOn(provider.getCryptoSuite(), 'sign');
    const message = Buffer.from('a transaction envelope');
    const signature = user.getSigningIdentity().sign(message, undefined);
    expect(javascriptSign).not.toHaveBeenCalled();
    expect(verify('sha256', message, new X509Certificate(certificate).publicKey, signature)).toBe(true);
    expect(isLowS(decodeDerSignature(signature).s)).toBe(true);
    expect(user.getMspid()).toBe('GridMSP');
  });

  it('makes its client TLS certificate once, with a key that matches it', async () => {
    const { certificate, key } = await ephemeralTlsClient();
    const cert = new X509Certificate(certificate);
    expect(cert.checkPrivateKey(createPrivateKey(key))).toBe(true);
    expect(cert.subject).toContain('gec-ledger fabric-network client');
  });
});
