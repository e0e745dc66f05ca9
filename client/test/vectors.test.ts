/**
 * The client's canonical form, request signatures and check data agree byte for byte with docs/test-vectors/ (the
 * files integrators in any language check against, generated from the gateway's own code). SM2 is the injected
 * signer's job; here the gateway's test signer plays it, and the gateway's verifier checks what the client built.
 */
import fc from 'fast-check';
import jcs from 'canonicalize';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  canonicalBytes,
  canonicalize,
  canonicalSha256,
  hmacCheckSigner,
  hmacRequestSigner,
  signatureHeaders,
  signingString,
  signTrade,
  type Signer,
} from '@gec-ledger/client';
import { sm2Sign, sm2Verify } from '../../gateway/src/signing/sm2';

type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const vectors = (name: string) =>
  JSON.parse(readFileSync(resolve(__dirname, '../../docs/test-vectors', name), 'utf8')) as Loose;

const canonical = vectors('canonical-json.json');
const requests = vectors('request-signing.json');
const checkData = vectors('check-data.json');

const point = (publicKeyHex: string) => ({
  x: BigInt(`0x${publicKeyHex.slice(2, 66)}`),
  y: BigInt(`0x${publicKeyHex.slice(66)}`),
});

/** An SM2 signer as an integrator injects one: here the gateway's test signer with the vector's test key. */
const sm2Signer = (keyId: string, privateKeyHex: string, sm2Id?: string): Signer => ({
  keyId,
  alg: 'sm2-sm3',
  sign: (message) => sm2Sign(Buffer.from(message), BigInt(`0x${privateKeyHex}`), sm2Id),
});

describe('RFC 8785 canonical form (canonical-json.json)', () => {
  it.each((canonical.vectors as Loose[]).map((v) => [v.name, v] as [string, Loose]))(
    '%s',
    (_name, vector) => {
      const value = JSON.parse(vector.json);
      expect(canonicalize(value)).toBe(vector.canonical);
      expect(canonicalBytes(value).toString('hex')).toBe(vector.canonicalHex);
      expect(canonicalSha256(value)).toBe(vector.sha256);
    },
  );

  it('agrees with the canonicalize package on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'grapheme' }), (value) => {
        expect(canonicalize(value)).toBe(jcs(value));
      }),
      { numRuns: 500 },
    );
  });

  it('canonicalizes what is sent: undefined members left out, dates as JSON writes them', () => {
    expect(canonicalize({ b: 1, a: undefined, c: new Date('2026-10-01T00:00:00+08:00') })).toBe(
      '{"b":1,"c":"2026-09-30T16:00:00.000Z"}',
    );
  });

  it('refuses what RFC 8785 cannot carry instead of signing it', () => {
    expect(() => canonicalize({ name: 'bad \ud800 surrogate' })).toThrow(/lone surrogate/);
    expect(() => canonicalize({ ['\udc00']: 1 })).toThrow(/lone surrogate/);
    expect(() => canonicalize({ volume: 10n })).toThrow(TypeError);
    expect(() => canonicalize(undefined)).toThrow(/no JSON form/);
  });
});

describe('request signing (request-signing.json)', () => {
  it.each((requests.requests as Loose[]).map((r) => [r.name, r] as [string, Loose]))(
    '%s',
    async (_name, request) => {
      const body = Buffer.from(request.bodyHex, 'hex');
      expect(signingString(request.method, request.target, request.timestamp, request.nonce, body)).toBe(
        request.signingString,
      );
      const input = {
        method: request.method,
        target: request.target,
        body,
        timestamp: request.timestamp,
        nonce: request.nonce,
      };

      const hmac = await signatureHeaders(
        hmacRequestSigner(requests.apiKeyId, requests.hmacSha256.secret),
        input,
      );
      expect(hmac).toEqual({
        'X-Gec-Timestamp': request.timestamp,
        'X-Gec-Nonce': request.nonce,
        'X-Gec-Signature': request.hmacSha256.header,
      });

      // SM2 signatures are randomized: the client's must verify, not match the file's.
      const key = requests.sm2Sm3;
      const sm2 = await signatureHeaders(sm2Signer(requests.apiKeyId, key.privateKeyHex), input);
      const match = /^keyId=(\S+), alg=sm2-sm3, sig=(\S+)$/.exec(sm2['X-Gec-Signature']);
      expect(match?.[1]).toBe(requests.apiKeyId);
      const message = Buffer.from(request.signingString, 'utf8');
      expect(sm2Verify(message, Buffer.from(match![2], 'base64'), point(key.publicKeyHex))).toBe(true);
    },
  );

  it('keys HMAC with the UTF-8 bytes of the secret as shown', () => {
    expect(Buffer.from(requests.hmacSha256.secret, 'utf8').toString('hex')).toBe(requests.hmacSha256.keyHex);
  });
});

describe('check data (check-data.json)', () => {
  const trades = new Map<string, unknown>(
    canonical.vectors
      .filter((v: { trade?: boolean }) => v.trade)
      .map((v: { name: string; json: string }) => [v.name, JSON.parse(v.json)]),
  );

  it.each((checkData.trades as Loose[]).map((t) => [t.trade, t] as [string, Loose]))(
    '%s',
    async (name, expected) => {
      const trade = trades.get(name);
      expect(canonicalize(trade)).toBe(expected.canonical);
      expect(canonicalSha256(trade)).toBe(expected.tradeDataHash);

      const hmac = checkData.hmacSha256;
      const signed = await signTrade(trade, hmacCheckSigner(hmac.keyId, hmac.secret));
      expect(signed).toEqual(expected.hmacSha256.checkData);
      expect(signed.signature).not.toBe(expected.hmacSha256.notThis.signature);
      expect(canonicalSha256(signed)).toBe(expected.hmacSha256.checkDataHash);

      const sm2 = checkData.sm2Sm3;
      for (const [variant, sm2Id] of [
        ['sm2Sm3', undefined],
        ['sm2Sm3WithId', 'TC-HEBEI'],
      ] as const) {
        const bySm2 = await signTrade(trade, sm2Signer(sm2.keyId, sm2.privateKeyHex, sm2Id));
        expect({ keyId: bySm2.keyId, alg: bySm2.alg }).toEqual({ keyId: sm2.keyId, alg: 'sm2-sm3' });
        const signature = Buffer.from(bySm2.signature, 'base64');
        expect(sm2Verify(canonicalBytes(trade), signature, point(sm2.publicKeyHex), sm2Id)).toBe(true);
        expect(expected[variant].sm2Id).toBe(sm2Id ?? '1234567812345678');
      }
    },
  );

  it('refuses a check key shorter than 32 bytes', () => {
    expect(() => hmacCheckSigner('k', Buffer.alloc(31).toString('base64'))).toThrow(/31 bytes/);
  });
});
