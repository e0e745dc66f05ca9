/** What every benchmark needs of its machine: a free port, unique participants, and CPU time read per process. */
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';

const CREDIT_CODE_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CREDIT_CODE_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** A valid unified social credit code (GB 32100, mod-31 check character) derived from `n`. */
export function creditCode(n: number): string {
  const body = `91330000${String(n % 1_000_000_000).padStart(9, '0')}`;
  const sum = [...body].reduce((t, ch, i) => t + CREDIT_CODE_CHARSET.indexOf(ch) * CREDIT_CODE_WEIGHTS[i], 0);
  return body + CREDIT_CODE_CHARSET[(31 - (sum % 31)) % 31];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * CPU seconds (user + system) of the embedded PostgreSQL, from /proc: its postmaster with the children it has
 * reaped (a connection's backend ends with it) and every live child. Null for an external server.
 */
export function postgresCpuSeconds(postmasterPidFile: string | undefined): number | null {
  if (!postmasterPidFile) return null;
  let postmaster: number;
  try {
    postmaster = Number.parseInt(readFileSync(postmasterPidFile, 'utf8').split('\n')[0], 10);
  } catch {
    return null;
  }
  const ticks = 100; // USER_HZ on Linux
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(entry);
      if (pid === postmaster) {
        total += fields.slice(11, 15).reduce((sum, field) => sum + Number(field), 0) / ticks;
      } else if (Number(fields[1]) === postmaster) {
        total += (Number(fields[11]) + Number(fields[12])) / ticks;
      }
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** CPU seconds (user + system) of this process, every thread included. */
export function gatewayCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/**
 * CPU seconds (user + system) of each live thread of this process, by its operating-system thread id (Linux
 * /proc/self/task; empty elsewhere). The main thread's id is the process id. Event-loop utilization cannot
 * stand in for this: it counts a thread blocked in a system call, or waiting for a core the machine's other
 * work holds, as busy.
 */
export function threadCpuSeconds(): Map<number, number> {
  const ticks = 100; // USER_HZ on Linux
  const threads = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/task');
  } catch {
    return threads;
  }
  for (const entry of entries) {
    try {
      // Fields after the command (which may hold spaces): state is field 3, utime 14 and stime 15.
      const stat = readFileSync(`/proc/self/task/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / ticks);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return threads;
}

/** Counts ECDSA signs and verifications made by this process (the embedded ledger's peers, orderer, clients). */
export function signatureCounter() {
  const counts = { sign: 0, verify: 0 };
  // The module object itself (compiled named imports read `node_crypto_1.sign` at each call), not a copy.
  const mutable = require('node:crypto') as Record<'sign' | 'verify', (...args: unknown[]) => unknown>; // eslint-disable-line @typescript-eslint/no-require-imports
  const original = { sign: mutable.sign, verify: mutable.verify };
  mutable.sign = (...args: unknown[]) => {
    counts.sign++;
    return original.sign(...args);
  };
  mutable.verify = (...args: unknown[]) => {
    counts.verify++;
    return original.verify(...args);
  };
  return {
    snapshot: () => ({ ...counts }),
    restore: () => Object.assign(mutable, original),
  };
}
