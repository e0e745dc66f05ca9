/**
 * Documentation that integrators paste into a shell (the README's worked example, the trade walkthrough), run as
 * pasted: the ```bash blocks of a markdown file (or of one of its sections), in order, with bash against a live
 * gateway (codeBlocks reads blocks of another language, such as the walkthrough's TypeScript client section). Only the address changes: the documents say `GEC=http://127.0.0.1:3000`, the test's gateway listens
 * on a free port.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

/** The ```bash blocks of `file` (from `heading` to the next `## ` heading when given), joined in order. */
export async function bashBlocks(
  file: string,
  heading?: string,
): Promise<{ script: string; blocks: number }> {
  return codeBlocks(file, 'bash', heading);
}

/** The ```<language> blocks of `file` (from `heading` to the next `## ` heading when given), joined in order. */
export async function codeBlocks(
  file: string,
  language: string,
  heading?: string,
): Promise<{ script: string; blocks: number }> {
  let text = await readFile(file, 'utf8');
  if (heading !== undefined) {
    const from = text.indexOf(heading);
    if (from < 0) throw new Error(`${file} has no "${heading}"`);
    const to = text.indexOf('\n## ', from);
    text = text.slice(from, to < 0 ? undefined : to);
  }
  const blocks = [...text.matchAll(new RegExp(`\`\`\`${language}\n([\\s\\S]*?)\`\`\``, 'g'))].map(
    (m) => m[1],
  );
  return { script: blocks.join('\n'), blocks: blocks.length };
}

/** Runs `script` (with `epilogue` appended) in `cwd`, pointed at the gateway on `port`; its output. */
export async function runPasted(
  script: string,
  options: { port: number; cwd: string; epilogue?: string },
): Promise<{ stdout: string; stderr: string }> {
  const pointed = script.replace('GEC=http://127.0.0.1:3000', `GEC=http://127.0.0.1:${options.port}`);
  if (!pointed.includes(`GEC=http://127.0.0.1:${options.port}`)) {
    throw new Error('the script does not set GEC=http://127.0.0.1:3000 where the documentation says it does');
  }
  return promisify(execFile)('bash', ['-c', pointed + (options.epilogue ?? '')], {
    cwd: options.cwd,
    env: { ...process.env, LC_ALL: 'C.UTF-8' },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 120_000,
  });
}
