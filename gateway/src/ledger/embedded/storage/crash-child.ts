/**
 * Crash-test child for the ledger store (used by gateway/test/ledger/storage-crash.test.ts).
 *
 *   node gateway/dist/ledger/embedded/storage/crash-child.js <dir> [maxBlocks]
 *
 * Prints `opening`, opens a LedgerStore in <dir> (recovering whatever a previous kill left), prints `open <height>`, then commits
 * deterministic blocks in a tight loop, printing each block number once `commitBlock` has resolved. The parent
 * kills it with SIGKILL at random moments. Block content depends only on the block number: each data entry is
 * the JSON of one transaction (txId, validation code, timestamp, writes, metadata writes).
 */
import { common } from '@hyperledger/fabric-protos';
import { computeBlockDataHash } from './block-hash';
import { BlockUpdate, LedgerStore, TxUpdate } from './ledger-store';

export const CRASH_NAMESPACE = 'crashcc';

export interface ChildTx {
  txId: string;
  code: number;
  seconds: number;
  nanos: number;
  writes: Array<{ key: string; value?: string; delete?: boolean }>;
  metadata: Array<{ key: string; entries: Record<string, string> }>;
}

const pad = (n: number) => String(n).padStart(8, '0');

/** The transactions of block `n` (deterministic). */
export function childTransactions(n: number): ChildTx[] {
  const seconds = 1_700_000_000 + n;
  const txs: ChildTx[] = [
    {
      txId: `tx-${n}-0`,
      code: 0,
      seconds,
      nanos: 0,
      writes: [
        { key: 'counter', value: String(n + 1) },
        { key: `blk/${pad(n)}`, value: `value-${n}` },
        { key: `\u0000blk\u0000${n % 5}\u0000${pad(n)}\u0000`, value: `composite-${n}` },
        { key: `uni/\u{1F600}/${n % 3}`, value: `emoji-${n}` },
      ],
      metadata: n % 5 === 4 ? [{ key: 'counter', entries: { VALIDATION_PARAMETER: `policy-${n}` } }] : [],
    },
    {
      txId: `tx-${n}-1`,
      code: n % 4 === 3 ? 11 : 0, // MVCC_READ_CONFLICT every 4th block: its writes must not apply
      seconds,
      nanos: 1,
      writes: [
        ...(n >= 2 ? [{ key: `blk/${pad(n - 2)}`, delete: true }] : []),
        { key: 'last', value: String(n) },
      ],
      metadata: [],
    },
  ];
  if (n % 3 === 2) {
    // Replays the txId of the previous block's first transaction: DUPLICATE_TXID, nothing applies.
    txs.push({
      txId: `tx-${n - 1}-0`,
      code: 9,
      seconds,
      nanos: 2,
      writes: [{ key: 'counter', value: 'bogus' }],
      metadata: [],
    });
  }
  return txs;
}

export function buildChildBlock(n: number, previousHash: Uint8Array): common.Block {
  const entries = childTransactions(n).map((tx) => new Uint8Array(Buffer.from(JSON.stringify(tx), 'utf8')));
  const header = new common.BlockHeader();
  header.setNumber(n);
  header.setPreviousHash(previousHash);
  header.setDataHash(computeBlockDataHash(entries));
  const data = new common.BlockData();
  data.setDataList(entries);
  const metadata = new common.BlockMetadata();
  metadata.setMetadataList([0, 1, 2, 3, 4].map(() => new Uint8Array(0)));
  const block = new common.Block();
  block.setHeader(header);
  block.setData(data);
  block.setMetadata(metadata);
  return block;
}

export function childUpdateFromBlock(block: common.Block): BlockUpdate {
  const blockNumber = block.getHeader()?.getNumber() ?? -1;
  const txs: TxUpdate[] = (block.getData()?.getDataList_asU8() ?? []).map((bytes, txNum) => {
    const tx = JSON.parse(Buffer.from(bytes).toString('utf8')) as ChildTx;
    const valid = tx.code === 0;
    return {
      txId: tx.txId,
      txNum,
      validationCode: tx.code,
      timestamp: { seconds: tx.seconds, nanos: tx.nanos },
      writes: valid
        ? tx.writes.map((w) => ({
            namespace: CRASH_NAMESPACE,
            key: w.key,
            isDelete: w.delete === true,
            value: w.delete ? undefined : Buffer.from(w.value ?? '', 'utf8'),
          }))
        : [],
      metadataWrites: valid
        ? tx.metadata.map((m) => ({
            namespace: CRASH_NAMESPACE,
            key: m.key,
            metadata: Object.fromEntries(
              Object.entries(m.entries).map(([name, value]) => [name, Buffer.from(value, 'utf8')]),
            ),
          }))
        : [],
    };
  });
  return { blockNumber, txs };
}

async function main(): Promise<void> {
  const [dir, maxArg] = process.argv.slice(2);
  if (!dir) throw new Error('usage: crash-child <dir> [maxBlocks]');
  const max = maxArg ? Number(maxArg) : 1_000_000;
  // Tells the parent that start-up work (checks, recovery, a rebuild) begins now, after module loading.
  process.stdout.write('opening\n');
  const store = await LedgerStore.open(dir, { updateFromBlock: childUpdateFromBlock });
  process.stdout.write(`open ${store.height}\n`);
  for (let n = store.height; n < max; n++) {
    const block = buildChildBlock(n, store.currentHash() ?? Buffer.alloc(0));
    await store.commitBlock(block, childUpdateFromBlock(block));
    // Pipes are written synchronously on Linux: once printed, the parent may rely on the block being durable.
    process.stdout.write(`${n}\n`);
  }
  await store.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
