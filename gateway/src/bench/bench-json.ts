/**
 * `--json FILE` of every benchmark: `{ ledger, machine, results: [{ name, value, unit }] }`, so that runs can be
 * compared by tools (names are stable; values are numbers).
 */
import { writeFile } from 'node:fs/promises';
import { machineNote } from './readme-table';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

export async function benchJson(file: string, ledger: string, results: BenchResult[]): Promise<void> {
  const rounded = results.map((r) => ({ ...r, value: Math.round(r.value * 1000) / 1000 }));
  await writeFile(file, `${JSON.stringify({ ledger, machine: machineNote(), results: rounded }, null, 2)}\n`);
  console.log(`results written to ${file}`);
}
