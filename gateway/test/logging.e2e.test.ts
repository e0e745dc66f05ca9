/**
 * The logs are an audit trail an operator can keep: each request's line names the API key (id, role, whom it acts
 * for) and never carries a key or secret, even one pasted into the URL; start-up says what matters rather than
 * every route Nest mapped. Checked on the real process output (`gateway/dist/main.js`, as `npm start` runs it).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { redactedUrl } from '../src/common/logging';
import {
  gatewayProcessEnv,
  startGatewayProcess,
  stopAll,
  type GatewayProcess,
} from './support/gateway-process';
import { tempDir } from './support/harness';

interface LogLine {
  msg?: string;
  level?: number;
  context?: string;
  req?: { url?: string; method?: string };
  apiKeyId?: string;
  role?: string;
  actsFor?: string;
}

describe('redactedUrl', () => {
  it.each([
    ['/v1/lots?owner=CON-1&limit=5', '/v1/lots?owner=CON-1&limit=5'],
    ['/v1/lots?api_key=abc&owner=CON-1', '/v1/lots?api_key=[redacted]&owner=CON-1'],
    ['/v1/lots?X-API-Key=abc', '/v1/lots?X-API-Key=[redacted]'],
    [
      '/v1/lots?token=t&secret=s&password=p&sig=x',
      '/v1/lots?token=[redacted]&secret=[redacted]&password=[redacted]&sig=[redacted]',
    ],
    ['/v1/lots?%6B%65%79=abc', '/v1/lots?%6B%65%79=[redacted]'],
    ['/v1/lots?q=gec_AAAAAAAAAAAAAAAA', '/v1/lots?q=gec_[redacted]'],
    ['/v1/participants/gec_AAAAAAAAAAAAAAAA', '/v1/participants/gec_[redacted]'],
    ['/v1/lots?owner=%E0%A4%A', '/v1/lots?owner=%E0%A4%A'],
  ])('%s → %s', (url, logged) => expect(redactedUrl(url)).toBe(logged));
});

describe('request and start-up logs', () => {
  let dataDir: string;
  let gateway: GatewayProcess | undefined;
  let base: string;

  beforeAll(async () => {
    dataDir = await tempDir('gec-logging-');
    const env = await gatewayProcessEnv(dataDir);
    base = `http://127.0.0.1:${env.PORT}`;
    gateway = await startGatewayProcess(env);
  }, 90000);

  afterAll(async () => {
    await stopAll(gateway ? [gateway.child] : [], dataDir);
    await rm(dataDir, { recursive: true, force: true });
  });

  const lines = (): LogLine[] =>
    gateway!
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);

  it('names the API key of every request and never logs a key, even one put in the URL', async () => {
    const key = /gec_[A-Za-z0-9_-]+/.exec(await readFile(join(dataDir, 'first-admin-key.txt'), 'utf8'))![0];
    const answer = await fetch(`${base}/v1/participants?limit=2&api_key=${key}`, {
      headers: { 'X-API-Key': key },
    });
    // Refused (no such parameter), and logged like any request.
    expect(answer.status).toBe(400);
    const unknown = await fetch(`${base}/v1/participants/${key}`, { headers: { 'X-API-Key': key } });
    expect(unknown.status).toBe(404);
    await fetch(`${base}/v1/participants`, { headers: { 'X-API-Key': 'gec_not_a_real_key_at_all' } });
    // The response lines are written when the responses finish.
    for (
      let i = 0;
      i < 100 && lines().filter((l) => l.req?.url?.startsWith('/v1/participants')).length < 3;
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const requests = lines().filter((l) => l.req?.url?.startsWith('/v1/participants'));
    expect(requests.map((l) => l.req!.url)).toEqual([
      '/v1/participants?limit=2&api_key=[redacted]',
      '/v1/participants/gec_[redacted]',
      '/v1/participants',
    ]);
    const keyId = requests[0].apiKeyId;
    expect(keyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(requests[0]).toMatchObject({ role: 'admin', actsFor: expect.any(String) });
    expect(requests[1]).toMatchObject({ apiKeyId: keyId, role: 'admin' });
    // An unknown key authenticates no one: the line names no key.
    expect(requests[2].apiKeyId).toBeUndefined();
    expect(gateway!.output()).not.toContain(key);
    expect(gateway!.output()).not.toContain('gec_not_a_real_key_at_all');
  });

  it('keeps Nest’s module and route mapping lines out of the info log', () => {
    const info = lines().filter((l) => (l.level ?? 0) >= 30);
    expect(
      info.filter((l) =>
        /Mapped \{|RoutesResolver|RouterExplorer|dependencies initialized/.test(
          `${l.context ?? ''} ${l.msg ?? ''}`,
        ),
      ),
    ).toEqual([]);
    expect(info.some((l) => /ready in \d+ ms/.test(l.msg ?? ''))).toBe(true);
    expect(info.length).toBeLessThan(40);
  });
});
