/**
 * An HTTP proxy on 127.0.0.1 in front of a live gateway, passing requests through untouched, except the next
 * ones a test arms a fault for:
 * - `lose-answer`: the request reaches the gateway and runs there; its answer is read and thrown away, and the
 *   client's connection is cut (a response lost on the way back, after a timeout or a reset);
 * - `unavailable`: answered 503 DATABASE_UNAVAILABLE with Retry-After, as the gateway answers while PostgreSQL is
 *   away, without reaching the gateway.
 * Deterministic: a fault applies to the next matching request, whatever the timing.
 */
import {
  createServer,
  request as forward,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = { kind: 'lose-answer' } | { kind: 'unavailable'; retryAfter: string };

interface Armed {
  method: string;
  path: RegExp;
  fault: Fault;
}

export interface FaultProxy {
  url: string;
  /** The next request matching `method` and `path` meets `fault` (once). */
  arm(method: string, path: RegExp, fault: Fault): void;
  /** Requests seen, in order: `METHOD /path?query`, and what each met. */
  seen: Array<{ request: string; fault?: Fault['kind'] }>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { port: number }): Promise<FaultProxy> {
  const armed: Armed[] = [];
  const seen: FaultProxy['seen'] = [];

  const pass = (req: IncomingMessage, res: ServerResponse, loseAnswer: boolean) => {
    const upstream = forward(
      { host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if (loseAnswer) {
          answer.resume();
          answer.on('end', () => res.socket?.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  };

  const server: Server = createServer((req, res) => {
    const index = armed.findIndex((a) => a.method === req.method && a.path.test(req.url ?? ''));
    const fault = index >= 0 ? armed.splice(index, 1)[0].fault : undefined;
    seen.push({ request: `${req.method} ${req.url}`, fault: fault?.kind });
    if (fault?.kind === 'unavailable') {
      req.resume();
      res.writeHead(503, { 'Content-Type': 'application/problem+json', 'Retry-After': fault.retryAfter });
      res.end(
        JSON.stringify({
          type: 'urn:gec-ledger:problem:database-unavailable',
          title: 'Database unavailable',
          status: 503,
          detail:
            'the database is unavailable for the moment; retry shortly (a write with the same Idempotency-Key)',
          code: 'DATABASE_UNAVAILABLE',
          instance: req.url,
        }),
      );
      return;
    }
    pass(req, res, fault?.kind === 'lose-answer');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arm: (method, path, fault) => armed.push({ method, path, fault }),
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
