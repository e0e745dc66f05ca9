/**
 * Benchmarks write their rows into the README's benchmark table, between `<!-- bench:<name>:begin -->` and
 * `<!-- bench:<name>:end -->`, so the table always shows what the scripts last measured on this machine.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { resolve } from 'node:path';

export const README = resolve(__dirname, '../../../README.md');

/** "2 cores, Node v20…, 2026-11-21": the machine column of every row. */
export function machineNote(): string {
  return `${cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

/** Replace the rows between the markers; says so on stdout, and why not when the markers are missing. */
export async function writeBenchmarkRows(name: string, rows: string[], readme = README): Promise<void> {
  let text: string;
  try {
    text = await readFile(readme, 'utf8');
  } catch {
    console.log(`no README at ${readme}; rows not written`);
    return;
  }
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) {
    console.log(`README has no ${begin} … ${end} markers; rows not written`);
    return;
  }
  text = text.slice(0, from + begin.length) + '\n' + rows.join('\n') + '\n' + text.slice(to);
  await writeFile(readme, text);
  console.log(`README benchmark table updated (${name})`);
}
