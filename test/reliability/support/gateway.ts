/**
 * The compiled gateway (`gateway/dist/main.js`) as a child process for the reliability stages. Unlike the e2e
 * helper (gateway/test/support/gateway-process.ts) it reads the log line by line as it arrives and keeps only
 * the tail: a stage logs thousands of trades, and re-scanning the whole output on every chunk would cost the
 * test process more CPU than the gateway it is testing.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { exited, GATEWAY_MAIN } from '../../../gateway/test/support/gateway-process';
import { track } from './stage';

const TAIL_CHARS = 20_000;

export interface Gateway {
  child: ChildProcess;
  readyMs: number;
  /** The last lines it wrote (for failure messages). */
  tail(): string;
  /** Resolves with the first line (from now on) matching `pattern`. */
  nextLine(pattern: RegExp): Promise<string>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM and wait; the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Spawn the gateway with `env` over this process's environment; resolves once it logs that it is ready.
 * `onLine` sees every line it writes, from the first.
 */
export function spawnGateway(env: Record<string, string>, onLine?: (line: string) => void): Promise<Gateway> {
  if (!existsSync(GATEWAY_MAIN)) throw new Error(`${GATEWAY_MAIN} is missing: run \`npm run build\` first`);
  const started = performance.now();
  const child = track(
    spawn(process.execPath, [GATEWAY_MAIN], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let tail = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  let ready: ((line: string) => void) | undefined;
  const partial = { stdout: '', stderr: '' };
  const line = (text: string) => {
    onLine?.(text);
    if (ready && /"msg":"ready in \d+ ms/.test(text)) ready(text);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].pattern.test(text)) waiters.splice(i, 1)[0].resolve(text);
    }
  };
  const reader = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-TAIL_CHARS);
    const lines = (partial[stream] + text).split('\n');
    partial[stream] = lines.pop() ?? '';
    for (const l of lines) line(l);
  };
  child.stdout!.on('data', reader('stdout'));
  child.stderr!.on('data', reader('stderr'));
  const gateway = (readyMs: number): Gateway => ({
    child,
    readyMs,
    tail: () => tail,
    nextLine: (pattern) => new Promise((resolve) => waiters.push({ pattern, resolve })),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited(child);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited(child);
    },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway not ready within 90 s:\n${tail}`));
    }, 90_000);
    ready = () => {
      ready = undefined;
      clearTimeout(timer);
      resolve(gateway(performance.now() - started));
    };
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (ready) reject(new Error(`gateway exited (${code ?? signal}) before it was ready:\n${tail}`));
    });
  });
}
