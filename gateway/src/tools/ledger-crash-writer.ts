/**
 * Fault-test driver: opens the embedded ledger on a folder and registers participants as fast as it can,
 * several in flight, printing one JSON line per committed transaction. The fault test kills it with
 * SIGKILL at arbitrary moments and checks what a restart finds. Usage: node ledger-crash-writer.js <dataDir> <prefix>
 */
import { EmbeddedLedger } from '../ledger/embedded/embedded-ledger';

async function main(): Promise<void> {
  const [dataDir, prefix] = process.argv.slice(2);
  if (!dataDir || !prefix) throw new Error('usage: ledger-crash-writer <dataDir> <prefix>');
  const ledger = await EmbeddedLedger.open({ dataDir, batch: { batchTimeoutMs: 2 } });
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  let n = 0;
  const worker = async () => {
    for (;;) {
      const id = `${prefix}-${n++}`;
      const result = await ledger.submit({
        identity: { mspId: 'GridMSP', name: 'admin' },
        transaction: 'identity:RegisterParticipant',
        args: [JSON.stringify({ id, kind: 'GENERATOR', name: `Wind farm ${id}`, region: '150000' })],
        transient: { creditCode: `91150000${String(n).padStart(9, '0')}X` },
      });
      process.stdout.write(JSON.stringify({ id, txId: result.txId, block: result.blockNumber }) + '\n');
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
