/**
 * Verification of a block range, shared by every ledger kind: each block is read, decoded, its number, data hash
 * and previous-hash link checked, then handed to the ledger's own checks (orderer signatures, indexes). What is
 * checked and how is Fabric's: data hash = SHA-256 over the block's transactions, header hash = SHA-256 of the
 * ASN.1 DER header (`block-hash.ts`), each block's previous hash = the header hash of the block before.
 *
 * Failures are collected, not thrown: a damaged block is named with the check it failed, what was expected and
 * what was found, and the walk goes on (a block whose header changed also breaks the next block's link, and that
 * is named too).
 */
import { common } from '@hyperledger/fabric-protos';
import { blockDataHash, computeBlockHeaderHash, headerFieldsOf } from './embedded/storage/block-hash';
import { summarizeEnvelope, transactionCodes } from './fabric/block-decode';
import { validationCodeName } from './fabric/errors';
import type {
  BlockRangeRequest,
  BlockRangeVerification,
  ChainCheck,
  ChainCheckSupport,
  ChainFailure,
  TransactionInfo,
} from './port';

/** One block as a ledger hands it to the walk. */
export interface ReadBlock {
  /** The block's bytes; undefined when the ledger could not produce them (a `record` failure says why). */
  bytes?: Uint8Array;
  /** What reading it found wrong (its store record, its index entry). */
  failures?: ChainFailure[];
}

export interface ChainWalkSource {
  /** Every check of CHAIN_CHECKS, and whether this ledger kind makes it. */
  checks: ChainCheckSupport[];
  read(blockNumber: number): Promise<ReadBlock>;
  /** The ledger's own checks of a decoded block (orderer signatures, transaction index). */
  inspect?(blockNumber: number, block: common.Block): Promise<ChainFailure[]>;
}

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

export function failure(
  blockNumber: number,
  check: ChainCheck,
  expected: string,
  found: string,
): ChainFailure {
  return { blockNumber, check, expected, found };
}

function decode(bytes: Uint8Array): common.Block {
  const block = common.Block.deserializeBinary(bytes);
  if (!block.getHeader()) throw new Error('it has no header');
  return block;
}

/** The header hash of block `n`, read and hashed (nothing else about it is checked); undefined if unreadable. */
async function headerHashOf(source: ChainWalkSource, n: number): Promise<Buffer | undefined> {
  try {
    const { bytes } = await source.read(n);
    return bytes ? computeBlockHeaderHash(headerFieldsOf(decode(bytes))) : undefined;
  } catch {
    return undefined;
  }
}

export async function walkBlocks(
  range: BlockRangeRequest,
  source: ChainWalkSource,
): Promise<BlockRangeVerification> {
  const failures: ChainFailure[] = [];
  let blocksChecked = 0;
  // The header hash block `n` must link to; undefined when it cannot be known (the link is then not checked).
  let linkTo: Buffer | undefined;
  if (range.from > 0) {
    linkTo =
      range.previousHash !== undefined
        ? Buffer.from(range.previousHash, 'hex')
        : await headerHashOf(source, range.from - 1);
  }
  for (let n = range.from; n <= range.to; n++) {
    const expectedLink = linkTo;
    linkTo = undefined;
    let read: ReadBlock;
    try {
      read = await source.read(n);
    } catch (err) {
      failures.push(failure(n, 'record', `block ${n} readable`, `read failed: ${(err as Error).message}`));
      continue;
    }
    failures.push(...(read.failures ?? []));
    if (!read.bytes) continue;
    blocksChecked++;
    let block: common.Block;
    try {
      block = decode(read.bytes);
    } catch (err) {
      failures.push(
        failure(n, 'decode', 'a common.Block with a header', `undecodable bytes (${(err as Error).message})`),
      );
      continue;
    }
    const fields = headerFieldsOf(block);
    if (fields.number !== n)
      failures.push(failure(n, 'number', `block ${n}`, `header says block ${fields.number}`));
    const dataHash = blockDataHash(block);
    if (!dataHash.equals(Buffer.from(fields.dataHash))) {
      failures.push(
        failure(
          n,
          'data-hash',
          `${hex(fields.dataHash)} (the data hash in the block header)`,
          `${hex(dataHash)} (SHA-256 of the block's ${block.getData()?.getDataList().length ?? 0} transaction(s))`,
        ),
      );
    }
    const previousHash = Buffer.from(fields.previousHash);
    if (n === 0) {
      if (previousHash.length !== 0) {
        failures.push(
          failure(0, 'previous-hash', 'an empty previous hash (genesis block)', hex(previousHash)),
        );
      }
    } else if (expectedLink && !expectedLink.equals(previousHash)) {
      failures.push(
        failure(
          n,
          'previous-hash',
          `${hex(expectedLink)} (the header hash of block ${n - 1})`,
          `${hex(previousHash)} (the previous hash in block ${n}'s header)`,
        ),
      );
    }
    if (source.inspect) failures.push(...(await source.inspect(n, block)));
    linkTo = computeBlockHeaderHash(fields);
  }
  return {
    from: range.from,
    to: range.to,
    blocksChecked,
    checks: source.checks.map((c) => ({ ...c })),
    failures,
    ...(linkTo ? { lastHeaderHash: hex(linkTo) } : {}),
  };
}

/**
 * The checks a Fabric peer's system chaincode (qscc) allows: blocks by number, transactions by id. The peer's
 * block file and block index are not visible to a client, and the orderer signature needs the orderer
 * organisations' MSP from the channel configuration, which this gateway does not decode for Fabric channels.
 */
export const QSCC_CHECKS: ChainCheckSupport[] = [
  {
    check: 'record',
    performed: true,
    note: 'qscc GetBlockByNumber answers the block (the peer checks its own block files; their bytes are not visible to a client)',
  },
  { check: 'decode', performed: true },
  { check: 'number', performed: true },
  { check: 'data-hash', performed: true },
  { check: 'previous-hash', performed: true },
  {
    check: 'orderer-signature',
    performed: false,
    note:
      'not checked on a Fabric channel: it needs the orderer organisations’ MSP from the channel configuration ' +
      'block, which this gateway does not decode; the peer verified every block’s orderer signature when it ' +
      'received the block from the ordering service',
  },
  {
    check: 'block-index',
    performed: false,
    note:
      'not checked on a Fabric channel: the peer’s block index is not readable through qscc (that ' +
      'GetBlockByNumber answers block n itself is the `number` check)',
  },
  {
    check: 'tx-index',
    performed: true,
    note: 'qscc GetTransactionByID and GetBlockByTxID for every transaction of the block',
  },
];

/** Transactions of a block checked at once against the peer's transaction index. */
const TX_LOOKUPS_IN_FLIGHT = 8;

/** Verify a range on a ledger reached through qscc (the Fabric adapters). */
export function verifyBlocksThroughQscc(
  range: BlockRangeRequest,
  ledger: {
    getBlock(n: number): Promise<Uint8Array | undefined>;
    getTransaction(txId: string): Promise<TransactionInfo | undefined>;
  },
): Promise<BlockRangeVerification> {
  return walkBlocks(range, {
    checks: QSCC_CHECKS,
    read: async (n) => {
      const bytes = await ledger.getBlock(n);
      return bytes
        ? { bytes }
        : {
            failures: [
              failure(n, 'record', `block ${n} from qscc GetBlockByNumber`, 'the peer has no such block'),
            ],
          };
    },
    inspect: async (n, block) => {
      const codes = transactionCodes(block);
      const txs = (block.getData()?.getDataList_asU8() ?? []).map((envelope, txNumber) => {
        try {
          return { txId: summarizeEnvelope(envelope).txId, txNumber };
        } catch {
          return { txId: '', txNumber };
        }
      });
      const failures: ChainFailure[] = [];
      const pending = txs.filter((tx) => tx.txId !== '');
      while (pending.length > 0) {
        const batch = pending.splice(0, TX_LOOKUPS_IN_FLIGHT);
        const found = await Promise.all(
          batch.map((tx) => ledger.getTransaction(tx.txId).catch(() => undefined)),
        );
        batch.forEach((tx, i) => {
          const at = found[i];
          const code = validationCodeName(codes[tx.txNumber] ?? 255);
          const expected = `${tx.txId} at block ${n} tx ${tx.txNumber} ${code}`;
          if (!at) {
            failures.push(failure(n, 'tx-index', expected, 'qscc GetTransactionByID does not find it'));
            return;
          }
          const here = at.blockNumber === n && at.txNumber === tx.txNumber && at.validationCode === code;
          const duplicate = code === 'DUPLICATE_TXID' && at.blockNumber <= n;
          if (!here && !duplicate) {
            failures.push(
              failure(
                n,
                'tx-index',
                expected,
                `block ${at.blockNumber} tx ${at.txNumber} ${at.validationCode}`,
              ),
            );
          }
        });
      }
      return failures;
    },
  });
}
