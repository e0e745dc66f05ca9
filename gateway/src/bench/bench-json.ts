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

/** A wrong setting or argument of a benchmark: printed as its message, without a stack. */
export class BenchError extends Error {}

/** An integer setting from the environment, `fallback` when unset or blank, refused outside min..max. */
export function setting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BenchError(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

/** The file of `--json FILE` on the command line, if given. */
export function jsonFileArgument(argv: string[] = process.argv): string | undefined {
  const at = argv.indexOf('--json');
  if (at < 0) return undefined;
  const file = argv[at + 1];
  if (!file) throw new BenchError('--json needs a file name');
  return file;
}

/**
 * Run a benchmark's `main` as the process: exit 0 when it ends, 1 when it fails, printing a BenchError's message
 * alone (a refused setting or setup step says what is wrong) and any other error with its stack.
 */
export function runBench(name: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(
        `${name} bench failed: ${err instanceof Error ? (err instanceof BenchError ? err.message : err.stack) : err}`,
      );
      process.exit(1);
    },
  );
}
