/**
 * The trade benchmark's load generator, in its own process (the gateway's CPU is not shared with it): POSTs
 * prepared trades to `/v1/trades` with autocannon at a fixed overall rate (or as fast as the connections allow),
 * each request signed (X-Gec-Signature, HMAC-SHA256) and carrying its own Idempotency-Key.
 *
 *   node gateway/dist/bench/trade-load.js JOB.json RESULT.json
 *
 * JOB: { url, apiKey, signing: { keyId, secret }, rate (0: no limit), connections, trades: [{ tradeId, body }] }
 * RESULT: { sent: { tradeId: epoch ms the request was written }, statuses: { status: count }, errors, seconds }
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { hmacSignatureHeaders } from '../auth/request-signing';

interface Job {
  url: string;
  apiKey: string;
  signing: { keyId: string; secret: string };
  rate: number;
  connections: number;
  trades: Array<{ tradeId: string; body: string }>;
}

function main(): void {
  const [jobFile, resultFile] = process.argv.slice(2);
  if (!jobFile || !resultFile) throw new Error('usage: trade-load.js JOB.json RESULT.json');
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as Job;
  const sent: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  let next = 0;
  const started = performance.now();
  const instance = autocannon(
    {
      url: job.url,
      connections: Math.min(job.connections, job.trades.length),
      amount: job.trades.length,
      ...(job.rate > 0 ? { overallRate: job.rate } : {}),
      timeout: 60,
      requests: [
        {
          method: 'POST',
          path: '/v1/trades',
          setupRequest: (request) => {
            const trade = job.trades[next++ % job.trades.length];
            sent[trade.tradeId] = performance.timeOrigin + performance.now();
            return {
              ...request,
              method: 'POST',
              path: '/v1/trades',
              body: trade.body,
              headers: {
                'content-type': 'application/json',
                'x-api-key': job.apiKey,
                'idempotency-key': `bench-${trade.tradeId}`,
                ...hmacSignatureHeaders({
                  method: 'POST',
                  target: '/v1/trades',
                  body: trade.body,
                  keyId: job.signing.keyId,
                  secret: job.signing.secret,
                }),
              },
            };
          },
          onResponse: (status) => {
            statuses[status] = (statuses[status] ?? 0) + 1;
          },
        },
      ],
    },
    (error, result) => {
      if (error) throw error;
      writeFileSync(
        resultFile,
        JSON.stringify({
          sent,
          statuses,
          errors: result.errors + result.timeouts,
          seconds: (performance.now() - started) / 1000,
        }),
      );
    },
  );
  process.once('SIGTERM', () => instance.stop());
}

main();
