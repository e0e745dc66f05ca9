/**
 * A member joins the running channel, as Fabric does it (network/scripts/addOrg.sh on the live network): a
 * channel configuration update signed by the admins of a strict majority of the members (the MAJORITY Admins
 * policy), ordered as a CONFIG transaction in a block of its own and validated again by the committer. Before it
 * commits the channel refuses the new MSP's identities; after it, peers, committer and identity deserialisation
 * trust them; the configuration survives a restart and the chain still verifies. Refused updates change nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { common, msp } from '@hyperledger/fabric-protos';
import {
  ChannelUpdateRefusedError,
  lastConfigIndex,
  signChannelUpdate,
  validateConfigBlock,
} from '../../src/ledger/embedded/channel-update';
import type { ChannelConfig } from '../../src/ledger/embedded/channel-config';
import { validateBlock, validationCodeName } from '../../src/ledger/embedded/committer';
import { decodeTransaction } from '../../src/ledger/embedded/fabric/protos';
import { EmbeddedCa, MspVerifier, SECOND_TRADING_CENTER } from '../../src/ledger/embedded/msp';
import { parsePolicy } from '../../src/ledger/embedded/policy';
import type { LedgerStore } from '../../src/ledger/embedded/storage/ledger-store';
import { createTestNetwork, type TestNetwork } from '../../src/ledger/embedded/testing';
import { ThreadedEmbeddedLedger } from '../../src/ledger/embedded/thread/threaded-ledger';
import { EndorseError, type BlockEvent, type ChaincodeEvent } from '../../src/ledger/port';
import { ProbeContract } from './fixtures/probe-contract';

const TC2 = SECOND_TRADING_CENTER.mspId;
const TC2_ADMIN = { mspId: TC2, name: 'admin' };
const OR_POLICY = "AND('GridMSP.peer',OR('TradingCenterMSP.peer','TradingCenter2MSP.peer'))";
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

describe('embedded ledger: a member joins by a channel configuration update', () => {
  let net: TestNetwork;
  let root: string;

  const put = (identity: { mspId: string; name: string }, key: string, value: string, orgs?: string[]) =>
    net.ledger.submit({
      identity,
      transaction: 'probe:Put',
      args: [key, value],
      ...(orgs ? { endorsingOrganizations: orgs } : {}),
    });
  const get = (identity: { mspId: string; name: string }, key: string) =>
    net.ledger.evaluate({ identity, transaction: 'probe:Get', args: [key] });
  const refusal = async (promise: Promise<unknown>): Promise<ChannelUpdateRefusedError> => {
    const error = await promise.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ChannelUpdateRefusedError);
    return error as ChannelUpdateRefusedError;
  };
  const proposal = () =>
    net.ledger.proposeChannelUpdate({ addOrganisations: { [TC2]: root }, endorsementPolicy: OR_POLICY });

  beforeAll(async () => {
    net = await createTestNetwork({ contracts: [ProbeContract] });
    await put(net.ids.gridAdmin, 'before', 'the update');
    root = (await net.ledger.enrolOrganisation(SECOND_TRADING_CENTER)).rootCertificate;
  });
  afterAll(async () => net.close());

  describe('before the update', () => {
    it('refuses the new MSP’s identities although its CA exists: the channel does not trust it', async () => {
      await expect(get(TC2_ADMIN, 'before')).rejects.toThrow(EndorseError);
      await expect(get(TC2_ADMIN, 'before')).rejects.toThrow(/unknown MSP "TradingCenter2MSP"/);
      await expect(put(TC2_ADMIN, 'k', 'v')).rejects.toThrow(/unknown MSP "TradingCenter2MSP"/);
      await expect(put(net.ids.gridAdmin, 'k', 'v', ['GridMSP', TC2])).rejects.toThrow(
        /no peer of organisation TradingCenter2MSP/,
      );
      expect(Object.keys(net.ledger.channelConfig.organisations)).not.toContain(TC2);
    });
  });

  describe('refused updates change nothing', () => {
    let heightBefore: number;
    let configBefore: unknown;
    beforeEach(async () => {
      heightBefore = (await net.ledger.getChainInfo()).height;
      configBefore = structuredClone(net.ledger.channelConfig);
    });
    afterEach(async () => {
      expect((await net.ledger.getChainInfo()).height).toBe(heightBefore);
      expect(net.ledger.channelConfig).toEqual(configBefore);
      expect(net.ledger.channelConfigBlock).toBe(0);
      await expect(get(TC2_ADMIN, 'before')).rejects.toThrow(/unknown MSP/);
    });

    it('signed by one member of three (a minority): CONFIG_UPDATE_NOT_ENOUGH_SIGNATURES', async () => {
      const { bytes } = proposal();
      const error = await refusal(
        net.ledger.submitChannelUpdate(bytes, [net.ledger.signChannelUpdate(bytes, net.ids.gridAdmin)]),
      );
      expect(error.code).toBe('CONFIG_UPDATE_NOT_ENOUGH_SIGNATURES');
      expect(error.message).toMatch(/needs the admins of 2 of its 3 member organisations/);
      await expect(net.ledger.submitChannelUpdate(bytes, [])).rejects.toThrow(
        /CONFIG_UPDATE_NOT_ENOUGH_SIGNATURES/,
      );
    });

    it('one organisation signing twice is still one organisation', async () => {
      const { bytes } = proposal();
      const error = await refusal(
        net.ledger.submitChannelUpdate(bytes, [
          net.ledger.signChannelUpdate(bytes, net.ids.gridAdmin),
          net.ledger.signChannelUpdate(bytes, net.ids.gridAdmin),
        ]),
      );
      expect(error.code).toBe('CONFIG_UPDATE_NOT_ENOUGH_SIGNATURES');
    });

    it('a member’s client identity is not an admin: CONFIG_UPDATE_SIGNER_NOT_ADMIN', async () => {
      const { bytes } = proposal();
      const error = await refusal(
        net.ledger.submitChannelUpdate(bytes, [
          net.ledger.signChannelUpdate(bytes, net.ids.gridAdmin),
          net.ledger.signChannelUpdate(bytes, net.ids.tradingClient),
        ]),
      );
      expect(error.code).toBe('CONFIG_UPDATE_SIGNER_NOT_ADMIN');
      expect(error.message).toMatch(/TradingCenterMSP client/);
    });

    it('the joining organisation (not yet a member) or the orderer: CONFIG_UPDATE_SIGNER_NOT_MEMBER', async () => {
      const { bytes } = proposal();
      const byJoiner = await refusal(
        net.ledger.submitChannelUpdate(bytes, [
          net.ledger.signChannelUpdate(bytes, net.ids.gridAdmin),
          net.ledger.signChannelUpdate(bytes, TC2_ADMIN),
        ]),
      );
      expect(byJoiner.code).toBe('CONFIG_UPDATE_SIGNER_NOT_MEMBER');
      const byOrderer = await refusal(
        net.ledger.submitChannelUpdate(bytes, [
          net.ledger.signChannelUpdate(bytes, net.ids.gridAdmin),
          net.ledger.signChannelUpdate(bytes, { mspId: 'OrdererMSP', name: 'orderer0' }),
        ]),
      );
      expect(byOrderer.code).toBe('CONFIG_UPDATE_SIGNER_NOT_MEMBER');
    });

    it('a forged admin (a certificate another CA issued in TradingCenterMSP’s name): CONFIG_UPDATE_BAD_SIGNATURE', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'gec-forger-'));
      try {
        const forger = await EmbeddedCa.open(dir, [
          {
            mspId: 'TradingCenterMSP',
            domain: 'tradingcenter.gec.example',
            identities: [{ name: 'admin', role: 'admin', attrs: { 'gec.role': 'admin' } }],
          },
        ]);
        const { bytes } = proposal();
        const error = await refusal(
          net.ledger.submitChannelUpdate(bytes, [
            net.ledger.signChannelUpdate(bytes, net.ids.gridAdmin),
            signChannelUpdate(bytes, forger.identity('TradingCenterMSP', 'admin')),
          ]),
        );
        expect(error.code).toBe('CONFIG_UPDATE_BAD_SIGNATURE');
        expect(error.message).toMatch(/not issued by the root CA of TradingCenterMSP/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('a real admin’s signature over other bytes (a tampered update): CONFIG_UPDATE_BAD_SIGNATURE', async () => {
      const { bytes } = proposal();
      const other = net.ledger.proposeChannelUpdate({ addOrganisations: { [TC2]: root } }).bytes;
      const error = await refusal(
        net.ledger.submitChannelUpdate(bytes, [
          net.ledger.signChannelUpdate(bytes, net.ids.gridAdmin),
          net.ledger.signChannelUpdate(other, net.ids.tradingAdmin),
        ]),
      );
      expect(error.code).toBe('CONFIG_UPDATE_BAD_SIGNATURE');
    });

    it('an update that is itself wrong is refused when proposed: CONFIG_UPDATE_INVALID', () => {
      expect(() => net.ledger.proposeChannelUpdate({ addOrganisations: { GridMSP: root } })).toThrow(
        /CONFIG_UPDATE_INVALID: MSP GridMSP is already in the channel configuration/,
      );
      expect(() =>
        net.ledger.proposeChannelUpdate({ endorsementPolicy: "AND('GridMSP.peer','NobodyMSP.peer')" }),
      ).toThrow(/CONFIG_UPDATE_INVALID: .*NobodyMSP/);
      expect(() => net.ledger.proposeChannelUpdate({ addOrganisations: { X: 'not a PEM' } })).toThrow(
        /CONFIG_UPDATE_INVALID/,
      );
    });
  });

  describe('signed by a majority (GridMSP and TradingCenterMSP admins, 2 of 3)', () => {
    let stale: Uint8Array;
    let committed: { txId: string; blockNumber: number };
    let chaincodeEvents: ChaincodeEvent[];
    let blockEvents: BlockEvent[];
    let genesisConfig: ChannelConfig | undefined;

    beforeAll(async () => {
      genesisConfig = structuredClone(net.ledger.channelConfig);
      const { bytes, update } = proposal();
      stale = bytes;
      expect(update).toMatchObject({ baseSequence: 0, baseConfigBlock: 0 });
      committed = await net.ledger.submitChannelUpdate(bytes, [
        net.ledger.signChannelUpdate(bytes, net.ids.gridAdmin),
        net.ledger.signChannelUpdate(bytes, net.ids.tradingAdmin),
      ]);
    });

    it('commits a CONFIG block of its own and puts the new configuration in force', async () => {
      const info = await net.ledger.getTransaction(committed.txId);
      expect(info).toMatchObject({
        blockNumber: committed.blockNumber,
        txNumber: 0,
        validationCode: 'VALID',
        creatorMspId: 'OrdererMSP',
      });
      const block = common.Block.deserializeBinary((await net.ledger.getBlock(committed.blockNumber))!);
      expect(block.getData()!.getDataList_asU8()).toHaveLength(1);
      expect(lastConfigIndex(block)).toBe(committed.blockNumber);
      expect(net.ledger.channelConfigBlock).toBe(committed.blockNumber);
      expect(net.ledger.channelConfig).toMatchObject({
        sequence: 1,
        organisations: { [TC2]: root },
        chaincode: { endorsementPolicy: OR_POLICY },
      });
    });

    it('trusts the new MSP: its identities are endorsed, its peer endorses, the committer counts it', async () => {
      expect(text(await get(TC2_ADMIN, 'before'))).toBe('the update');
      const byTc2 = await put(TC2_ADMIN, 'tc2', 'joined');
      expect(byTc2.validationCode).toBe('VALID');
      // Identity deserialisation names its creator's MSP.
      expect(await net.ledger.getTransaction(byTc2.txId)).toMatchObject({ creatorMspId: TC2 });
      // The same block, validated by a committer under the configuration before the update, is refused: the
      // committer's trust is the configuration's, not the CA folder's.
      const block = common.Block.deserializeBinary((await net.ledger.getBlock(byTc2.blockNumber))!);
      const before = genesisConfig!;
      const underOldConfig = await validateBlock(block, {
        channelId: before.channelId,
        namespace: 'gec',
        verifier: new MspVerifier(before.organisations),
        chaincodePolicy: parsePolicy(before.chaincode.endorsementPolicy),
        // The creator check comes before anything reads state: no store is needed to refuse it.
        store: undefined as unknown as LedgerStore,
      });
      expect(underOldConfig.map((t) => validationCodeName(t.code))).toEqual(['BAD_CREATOR_SIGNATURE']);
      // The grid and the new trading center alone satisfy the OR policy the update brought.
      const endorsedByTc2 = await put(net.ids.gridAdmin, 'grid+tc2', 'endorsed', ['GridMSP', TC2]);
      expect(endorsedByTc2.validationCode).toBe('VALID');
      expect(text(await get(net.ids.regulator, 'grid+tc2'))).toBe('endorsed');
    });

    it('the committer validates a configuration block itself: replayed on the configuration it made, it is stale', async () => {
      const block = common.Block.deserializeBinary((await net.ledger.getBlock(committed.blockNumber))!);
      const config = net.ledger.channelConfig;
      const replayed = validateConfigBlock(block, {
        config,
        block: committed.blockNumber,
        verifier: new MspVerifier(config.organisations),
      });
      expect(validationCodeName(replayed.code)).toBe('INVALID_CONFIG_TRANSACTION');
      expect(replayed.refusal?.code).toBe('CONFIG_UPDATE_STALE');
      // Under the configuration it was computed from, the same block is valid and makes the same configuration.
      const original = validateConfigBlock(block, {
        config: genesisConfig!,
        block: 0,
        verifier: new MspVerifier(genesisConfig!.organisations),
      });
      expect(validationCodeName(original.code)).toBe('VALID');
      expect(original.config).toEqual(config);
    });

    it('plans endorsements as the Fabric Gateway does: a key only the grid and the new member may change', async () => {
      await put(net.ids.gridAdmin, 'tc2-held', 'issued');
      const restrict = await net.ledger.submit({
        identity: net.ids.gridAdmin,
        transaction: 'probe:RestrictKey',
        args: ['tc2-held', `GridMSP,${TC2}`],
      });
      expect(restrict.validationCode).toBe('VALID');
      // The chaincode policy's first choice (the grid and the first trading center) cannot write it...
      await expect(
        put(net.ids.gridAdmin, 'tc2-held', 'by the wrong pair', ['GridMSP', 'TradingCenterMSP']),
      ).rejects.toMatchObject({ status: { validationCode: 'ENDORSEMENT_POLICY_FAILURE' } });
      // ...so the ledger reads the written key's policy and has the new member's peer endorse as well.
      const moved = await put(net.ids.gridAdmin, 'tc2-held', 'moved');
      expect(moved.validationCode).toBe('VALID');
      const block = common.Block.deserializeBinary((await net.ledger.getBlock(moved.blockNumber))!);
      const envelope = block
        .getData()!
        .getDataList_asU8()
        .map((bytes) => decodeTransaction(bytes))
        .find((tx) => tx.txId === moved.txId)!;
      const endorsers = envelope.endorsed!.endorsements.map((e) =>
        msp.SerializedIdentity.deserializeBinary(e.endorser).getMspid(),
      );
      expect(endorsers).toEqual(expect.arrayContaining(['GridMSP', TC2]));
      expect(text(await get(net.ids.regulator, 'tc2-held'))).toBe('moved');
    });

    it('later blocks name the configuration block as their last configuration', async () => {
      const later = await put(net.ids.gridAdmin, 'later', 'block');
      const block = common.Block.deserializeBinary((await net.ledger.getBlock(later.blockNumber))!);
      expect(lastConfigIndex(block)).toBe(committed.blockNumber);
    });

    it('an update computed from the old configuration is stale: CONFIG_UPDATE_STALE', async () => {
      const error = await refusal(
        net.ledger.submitChannelUpdate(stale, [
          net.ledger.signChannelUpdate(stale, net.ids.gridAdmin),
          net.ledger.signChannelUpdate(stale, net.ids.tradingAdmin),
        ]),
      );
      expect(error.code).toBe('CONFIG_UPDATE_STALE');
      expect(error.message).toMatch(/sequence 0 \(block 0\).*sequence 1 \(block \d+\)/);
    });

    it('the majority is now of four members: three admins', async () => {
      const { bytes } = net.ledger.proposeChannelUpdate({ endorsementPolicy: "AND('GridMSP.peer')" });
      const error = await refusal(
        net.ledger.submitChannelUpdate(bytes, [
          net.ledger.signChannelUpdate(bytes, net.ids.gridAdmin),
          net.ledger.signChannelUpdate(bytes, net.ids.tradingAdmin),
        ]),
      );
      expect(error.message).toMatch(/3 of its 4 member organisations/);
    });

    it('the chain verifies, and event streams pass over the configuration block', async () => {
      const chain = await net.ledger.verifyChain();
      expect(chain).toMatchObject({ ok: true, problems: [] });
      const height = (await net.ledger.getChainInfo()).height;
      const range = await net.ledger.verifyBlocks({ from: 0, to: height - 1 });
      expect(range.failures).toEqual([]);
      expect(range.blocksChecked).toBe(height);

      chaincodeEvents = [];
      blockEvents = [];
      const events = net.ledger.chaincodeEvents({ start: { blockNumber: 0 } });
      const blocks = net.ledger.blockEvents({ startBlock: 0 });
      for await (const e of blocks) {
        blockEvents.push(e);
        if (e.blockNumber === height - 1) break;
      }
      blocks.close();
      const last = await put(net.ids.gridAdmin, 'event-after', 'config');
      for await (const e of events) {
        chaincodeEvents.push(e);
        if (e.txId === last.txId) break;
      }
      events.close();
      const config = blockEvents.find((b) => b.blockNumber === committed.blockNumber);
      expect(config?.transactions).toEqual([{ txId: committed.txId, txNumber: 0, validationCode: 'VALID' }]);
      expect(chaincodeEvents.some((e) => e.blockNumber === committed.blockNumber)).toBe(false);
      expect(chaincodeEvents.some((e) => e.blockNumber > committed.blockNumber)).toBe(true);
    });

    it('survives a restart: the configuration in force is found again from the block store', async () => {
      const height = (await net.ledger.getChainInfo()).height;
      await net.restart();
      expect(net.ledger.channelConfigBlock).toBe(committed.blockNumber);
      expect(net.ledger.channelConfig).toMatchObject({ sequence: 1, organisations: { [TC2]: root } });
      expect(text(await get(TC2_ADMIN, 'tc2'))).toBe('joined');
      const after = await put(net.ids.gridAdmin, 'after-restart', 'ok', ['GridMSP', TC2]);
      expect(after.blockNumber).toBe(height);
      expect(await net.ledger.verifyChain()).toMatchObject({ ok: true });
    });
  });
});

describe('the threaded embedded ledger: the same channel update over its wire', () => {
  let dataDir: string;
  let ledger: ThreadedEmbeddedLedger;
  const consortium = (identity: { mspId: string; name: string }) =>
    ledger.evaluate({ identity, transaction: 'consortium:GetConsortium' });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gec-threaded-update-'));
    ledger = await ThreadedEmbeddedLedger.open({ dataDir, sync: false });
  });
  afterAll(async () => {
    await ledger?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a minority with the named error, admits a majority, and keeps it across a restart', async () => {
    const { rootCertificate } = await ledger.enrolOrganisation(SECOND_TRADING_CENTER);
    await expect(consortium(TC2_ADMIN)).rejects.toThrow(/unknown MSP "TradingCenter2MSP"/);
    const { bytes } = await ledger.proposeChannelUpdate({ addOrganisations: { [TC2]: rootCertificate } });
    const grid = await ledger.signChannelUpdate(bytes, { mspId: 'GridMSP', name: 'admin' });
    const minority = await ledger.submitChannelUpdate(bytes, [grid]).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(minority).toBeInstanceOf(ChannelUpdateRefusedError);
    expect(minority).toMatchObject({ code: 'CONFIG_UPDATE_NOT_ENOUGH_SIGNATURES' });
    const trading = await ledger.signChannelUpdate(bytes, { mspId: 'TradingCenterMSP', name: 'admin' });
    const committed = await ledger.submitChannelUpdate(bytes, [grid, trading]);
    expect(committed.config.organisations[TC2]).toBe(rootCertificate);
    // The peers accept its identity now; the chaincode answers (its registry gives it no part yet).
    const memberOfChannel = /UNKNOWN_ORGANISATION: organisation TradingCenter2MSP is not an active member/;
    await expect(consortium(TC2_ADMIN)).rejects.toThrow(memberOfChannel);

    await ledger.close();
    ledger = await ThreadedEmbeddedLedger.open({ dataDir, sync: false });
    expect(await ledger.channelConfig()).toMatchObject({
      block: committed.blockNumber,
      config: { sequence: 1, organisations: { [TC2]: rootCertificate } },
    });
    await expect(consortium(TC2_ADMIN)).rejects.toThrow(memberOfChannel);
    expect(await ledger.verifyChain()).toMatchObject({ ok: true });
  });
});
