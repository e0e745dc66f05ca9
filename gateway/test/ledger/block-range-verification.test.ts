/**
 * Verification of a block range on the embedded ledger (`verifyBlocks`): every check made, a clean chain passes
 * whole and in parts, and each kind of damage to the block file, made while the ledger is open, is named by
 * block, check, expected and found: a byte flipped on disk (record checksum), a transaction id changed with the
 * record resealed (data hash and transaction index), an orderer signature changed (signature), a header changed
 * (header hash in the index and the next block's link).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { common } from '@hyperledger/fabric-protos';
import { verifyBlocksThroughQscc } from '../../src/ledger/chain-walk';
import { EmbeddedLedger } from '../../src/ledger/embedded/embedded-ledger';
import { TEST_IDENTITIES } from '../../src/ledger/embedded/testing';
import { ThreadedEmbeddedLedger } from '../../src/ledger/embedded/thread/threaded-ledger';
import { CHAIN_CHECKS, CommitError } from '../../src/ledger/port';
import { blockRecords, flipText, rewriteBlock } from '../support/block-file';
import { creditCode } from '../support/harness';
import { ProbeContract } from './fixtures/probe-contract';

const probe = (transaction: string, ...args: string[]) => ({
  identity: TEST_IDENTITIES.gridAdmin,
  transaction: `probe:${transaction}`,
  args,
});

let root: string;
let copies = 0;
const opened: EmbeddedLedger[] = [];
const open = async (dataDir: string) => {
  const ledger = await EmbeddedLedger.open({ dataDir, contracts: [ProbeContract], sync: false });
  opened.push(ledger);
  return ledger;
};

/** A fresh ledger of 6 blocks (one holding an MVCC_READ_CONFLICT) and the transaction ids by block. */
async function written(): Promise<{ dir: string; ledger: EmbeddedLedger; txIds: Map<number, string> }> {
  const dir = join(root, `ledger-${copies++}`);
  const ledger = await open(dir);
  const txIds = new Map<number, string>();
  for (const [key, value] of [
    ['a', '1'],
    ['b', '2'],
    ['counter', '10'],
  ]) {
    const tx = await ledger.submit(probe('Put', key, value));
    txIds.set(tx.blockNumber, tx.txId);
  }
  // Both endorsed against the same counter, then ordered together: one block, the second an MVCC conflict
  // (left to their own pace under load, the second could be endorsed after the first committed).
  const endorsed = [
    await ledger.endorseForOrdering(probe('Increment', 'counter')),
    await ledger.endorseForOrdering(probe('Increment', 'counter')),
  ];
  const raced = await Promise.allSettled(endorsed.map((e) => e.order()));
  expect(
    raced.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason),
  ).toEqual([expect.any(CommitError)]);
  const tx = await ledger.submit(probe('Put', 'c', '3'));
  txIds.set(tx.blockNumber, tx.txId);
  expect((await ledger.getChainInfo()).height).toBe(6);
  return { dir, ledger, txIds };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gec-range-verification-'));
});

afterAll(async () => {
  for (const ledger of opened) await ledger.close().catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

describe('verifyBlocks on the embedded ledger', () => {
  it('makes every check and finds nothing wrong on a clean chain, whole or in parts', async () => {
    const { ledger } = await written();
    const whole = await ledger.verifyBlocks({ from: 0, to: 5 });
    expect(whole).toMatchObject({ from: 0, to: 5, blocksChecked: 6, failures: [] });
    expect(whole.checks).toEqual(CHAIN_CHECKS.map((check) => ({ check, performed: true })));
    expect(whole.lastHeaderHash).toBe((await ledger.getChainInfo()).currentBlockHash);

    const head = await ledger.verifyBlocks({ from: 0, to: 2 });
    // The rest, linked to the hash the first part ended with (as an incremental run does).
    const rest = await ledger.verifyBlocks({ from: 3, to: 5, previousHash: head.lastHeaderHash });
    expect([head.failures, rest.failures]).toEqual([[], []]);
    expect(rest.lastHeaderHash).toBe(whole.lastHeaderHash);
    // Without a recorded hash the block before the range is read and hashed for the link.
    expect((await ledger.verifyBlocks({ from: 4, to: 4 })).failures).toEqual([]);
  });

  it('finds nothing wrong in the last block while later blocks are committed during its verification', async () => {
    // The last block's checks read the savepoint and the block file's end, which a commit moves: read while a
    // commit was between its state batch and its new height, they named a savepoint "at block n+1" as damage.
    const { ledger } = await written();
    for (let round = 0; round < 100; round++) {
      const { height } = await ledger.getChainInfo();
      const last = height - 1;
      let committed = false;
      const submitted = ledger
        .submit(probe('Put', 'during', String(round)))
        .finally(() => (committed = true));
      const verifying = async () => {
        const failures = [];
        while (!committed) failures.push(...(await ledger.verifyBlocks({ from: last, to: last })).failures);
        return failures;
      };
      const walking = async () => {
        const problems = [];
        while (!committed) problems.push(...(await ledger.verifyChain()).problems);
        return problems;
      };
      const found = await Promise.all([verifying(), verifying(), walking()]);
      await submitted;
      expect(found.flat()).toEqual([]);
    }
    const { height } = await ledger.getChainInfo();
    expect((await ledger.verifyBlocks({ from: 0, to: height - 1 })).failures).toEqual([]);
  });

  it('names the link when the hash recorded for the block before the range is not that block’s', async () => {
    const { ledger } = await written();
    const wrong = 'ab'.repeat(32);
    const result = await ledger.verifyBlocks({ from: 3, to: 5, previousHash: wrong });
    expect(result.failures).toEqual([
      {
        blockNumber: 3,
        check: 'previous-hash',
        expected: `${wrong} (the header hash of block 2)`,
        found: expect.stringMatching(/^[0-9a-f]{64} \(the previous hash in block 3's header\)$/),
      },
    ]);
  });

  it('names a byte flipped in an older block’s record (its checksum) and nothing in the other blocks', async () => {
    const { dir, ledger } = await written();
    const records = await blockRecords(dir);
    await rewriteBlock(dir, 2, (bytes) => (bytes[bytes.length >> 1] ^= 0x01), false);
    const result = await ledger.verifyBlocks({ from: 0, to: 5 });
    expect(result.failures[0]).toEqual({
      blockNumber: 2,
      check: 'record',
      expected: expect.stringMatching(
        new RegExp(
          `^record checksum [0-9a-f]{64} \\(stored with the record at offset ${records[2].offset}\\)$`,
        ),
      ),
      found: expect.stringMatching(/^[0-9a-f]{64} \(SHA-256 of the record's bytes now\)$/),
    });
    // The flipped byte also changes what the block's content hashes to; nothing else in the chain is named.
    expect(result.failures.filter((f) => f.blockNumber !== 2)).toEqual([]);
  });

  it('names a transaction id changed and resealed: the data hash and the transaction index of that block', async () => {
    const { dir, ledger, txIds } = await written();
    const txId = txIds.get(1)!;
    await rewriteBlock(dir, 1, (bytes) => flipText(bytes, txId), true);
    const result = await ledger.verifyBlocks({ from: 0, to: 5 });
    expect(result.failures).toEqual([
      {
        blockNumber: 1,
        check: 'data-hash',
        expected: expect.stringMatching(/^[0-9a-f]{64} \(the data hash in the block header\)$/),
        found: expect.stringMatching(/^[0-9a-f]{64} \(SHA-256 of the block's 1 transaction\(s\)\)$/),
      },
      {
        blockNumber: 1,
        check: 'tx-index',
        expected: expect.stringMatching(/^[0-9a-f]{64} at block 1 tx 0 VALID$/),
        found: 'no entry',
      },
    ]);
    expect(result.failures[1].expected).not.toContain(txId);
  });

  it('names an orderer signature changed and resealed', async () => {
    const { dir, ledger } = await written();
    const block = common.Block.deserializeBinary((await ledger.getBlock(3))!);
    const signature = common.Metadata.deserializeBinary(
      block.getMetadata()!.getMetadataList_asU8()[common.BlockMetadataIndex.SIGNATURES],
    )
      .getSignaturesList()[0]
      .getSignature_asU8();
    await rewriteBlock(
      dir,
      3,
      (bytes) => (bytes[bytes.indexOf(Buffer.from(signature)) + signature.length - 1] ^= 0x01),
      true,
    );
    const result = await ledger.verifyBlocks({ from: 0, to: 5 });
    expect(result.failures).toEqual([
      {
        blockNumber: 3,
        check: 'orderer-signature',
        expected: 'a valid signature by OrdererMSP.orderer over the block header',
        found: expect.stringContaining('signature verification failed'),
      },
    ]);
  });

  it('names a header changed and resealed: the block index’s header hash, and the next block’s link', async () => {
    const { dir, ledger } = await written();
    const block = common.Block.deserializeBinary((await ledger.getBlock(4))!);
    const dataHash = Buffer.from(block.getHeader()!.getDataHash_asU8());
    const changed = Buffer.from(dataHash);
    changed[0] ^= 0x01;
    await rewriteBlock(dir, 4, (bytes) => changed.copy(bytes, bytes.indexOf(dataHash)), true);
    const result = await ledger.verifyBlocks({ from: 0, to: 5 });
    expect(result.failures.map((f) => [f.blockNumber, f.check])).toEqual([
      [4, 'block-index'],
      [4, 'data-hash'],
      [4, 'orderer-signature'],
      [5, 'previous-hash'],
    ]);
    expect(result.failures[1]).toMatchObject({
      expected: `${changed.toString('hex')} (the data hash in the block header)`,
    });
  });
});

describe('verifyBlocks through qscc (the Fabric adapters)', () => {
  it('checks what qscc allows, says what it cannot check, and names a changed block', async () => {
    const { dir, ledger, txIds } = await written();
    // The embedded ledger answers GetBlockByNumber and GetTransactionByID as a peer's qscc does.
    const qscc = {
      getBlock: (n: number) => ledger.getBlock(n),
      getTransaction: (txId: string) => ledger.getTransaction(txId),
    };
    const clean = await verifyBlocksThroughQscc({ from: 0, to: 5 }, qscc);
    expect(clean).toMatchObject({ blocksChecked: 6, failures: [] });
    expect(clean.checks.filter((c) => !c.performed).map((c) => [c.check, c.note])).toEqual([
      ['orderer-signature', expect.stringContaining('not checked on a Fabric channel')],
      ['block-index', expect.stringContaining('not checked on a Fabric channel')],
    ]);

    await rewriteBlock(dir, 2, (bytes) => flipText(bytes, txIds.get(2)!), true);
    const changed = await verifyBlocksThroughQscc({ from: 1, to: 3 }, qscc);
    expect(changed.failures.map((f) => [f.blockNumber, f.check, f.found])).toEqual([
      [2, 'data-hash', expect.any(String)],
      [2, 'tx-index', 'qscc GetTransactionByID does not find it'],
    ]);
  });
});

describe('verifyBlocks on the ledger’s own thread (ThreadedEmbeddedLedger)', () => {
  it('answers as in-process: every check, and a flipped byte named', async () => {
    const dir = join(root, `threaded-${copies++}`);
    const ledger = await ThreadedEmbeddedLedger.open({ dataDir: dir, sync: false });
    try {
      for (const n of [1, 2, 3]) {
        await ledger.submit({
          identity: TEST_IDENTITIES.gridAdmin,
          transaction: 'identity:RegisterParticipant',
          args: [JSON.stringify({ id: `TV-${n}`, kind: 'GENERATOR', name: `Thread ${n}`, region: '330000' })],
          transient: { creditCode: creditCode(n) },
        });
      }
      const { height, currentBlockHash } = await ledger.getChainInfo();
      const clean = await ledger.verifyBlocks({ from: 0, to: height - 1 });
      expect(clean).toMatchObject({ blocksChecked: height, failures: [], lastHeaderHash: currentBlockHash });
      expect(clean.checks.every((c) => c.performed)).toBe(true);
      await rewriteBlock(dir, 1, (bytes) => (bytes[bytes.length >> 1] ^= 0x01), false);
      const damaged = await ledger.verifyBlocks({ from: 0, to: height - 1 });
      expect(damaged.failures[0]).toMatchObject({ blockNumber: 1, check: 'record' });
    } finally {
      await ledger.close();
    }
  });
});
