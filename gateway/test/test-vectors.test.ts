/**
 * The integrator test vectors (docs/test-vectors/) against the gateway's own code: the strict JSON reader and the
 * RFC 8785 canonical form the trade service hashes and the trade verifier checks signatures over, the request
 * signing string and HMAC key of the request-signing guard, the check-key secret decoding and the signature
 * verification of check data, SM2/SM3 (Z, the digest, DER and raw signatures), and the meter-period Merkle tree
 * the period close attests. Independently of the generator: the RFC 8785 examples as the RFC prints them, and
 * OpenSSL verifying (and making) the SM2 signatures. The files must be exactly what the generator writes, so an
 * edited vector fails here.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_JSON_DEPTH } from '../src/common/json-body';
import { parseStrictJson } from '../src/common/strict-json';
import { createValidationPipe } from '../src/common/validation';
import {
  hmacSignatureHeaders,
  parseRfc3339,
  parseSignatureHeader,
  requestSigningSecretBytes,
  signingString,
} from '../src/auth/request-signing';
import { canonicalReading, merkleLeaf, merkleRoot, sha256 } from '../src/metering/merkle';
import { kwhToWh, parseIntervalStart } from '../src/metering/reading-lines';
import { checkKeySecretBytes } from '../src/signing/check-keys.service';
import { SM2_DEFAULT_ID, sm2Digest, sm2PublicPoint, sm2Z } from '../src/signing/sm2';
import { signatureVerifies, type SignatureKey } from '../src/signing/verify-signature';
import { buildTestVectors, VECTORS_DIR } from '../src/tools/test-vectors';
import { canonical, sha256Hex } from '../src/trades/trade-model';
import { SubmitTradeDto } from '../src/trades/trades.dto';

interface Sm2Vector {
  sm2Id: string;
  sm2IdHex: string;
  z: string;
  e: string;
  signatureDerBase64: string;
  signatureRawBase64: string;
  r: string;
  s: string;
}
interface Sm2KeyVector {
  privateKeyHex: string;
  publicKeyHex: string;
  privateKeyPem: string;
  publicKeyPem: string;
  sm2Id: string;
}

const read = <T>(name: string): T => JSON.parse(readFileSync(join(VECTORS_DIR, name), 'utf8')) as T;

const canonicalFile = read<{
  vectors: Array<{
    name: string;
    trade?: boolean;
    json: string;
    canonical: string;
    canonicalHex: string;
    sha256: string;
  }>;
}>('canonical-json.json');
const requestFile = read<{
  apiKeyId: string;
  hmacSha256: { secret: string; keyHex: string };
  sm2Sm3: Sm2KeyVector;
  requests: Array<{
    name: string;
    method: string;
    target: string;
    timestamp: string;
    nonce: string;
    body: string;
    bodyHex: string;
    bodySha256: string;
    signingString: string;
    signingStringHex: string;
    hmacSha256: { signature: string; header: string };
    sm2Sm3: Sm2Vector & { header: string };
  }>;
}>('request-signing.json');
const checkFile = read<{
  tradingCenter: string;
  hmacSha256: { keyId: string; secret: string; keyHex: string };
  sm2Sm3: Sm2KeyVector & { keyId: string };
  trades: Array<{
    trade: string;
    canonical: string;
    tradeDataHash: string;
    hmacSha256: {
      checkData: { keyId: string; alg: string; signature: string };
      checkDataHash: string;
      notThis: { signature: string };
      submitBody: string;
    };
    sm2Sm3: Sm2Vector & {
      checkData: { keyId: string; alg: string; signature: string };
      checkDataHash: string;
    };
    sm2Sm3WithId: Sm2Vector;
  }>;
}>('check-data.json');
const merkleFile = read<{
  periods: Array<{
    name: string;
    readingsAsSent: Array<{ meterId: string; intervalStart: string; kwh: string }>;
    leaves: Array<{
      meterId: string;
      intervalStart: string;
      kwh: string;
      wh: string;
      leafText: string;
      leaf: string;
    }>;
    levels: string[][];
    totalWh: string;
    root: string;
  }>;
}>('meter-merkle.json');

const b64 = (text: string) => Buffer.from(text, 'base64');
const parse = (text: string) => parseStrictJson(Buffer.from(text, 'utf8'), MAX_JSON_DEPTH);
const vector = (name: string) => canonicalFile.vectors.find((v) => v.name === name)!;

/** An SM2 vector as the gateway checks it: Z and the digest recomputed, both signature forms verified. */
function expectSm2(key: Sm2KeyVector, message: Buffer, v: Sm2Vector): void {
  const point = sm2PublicPoint(key.publicKeyPem)!;
  expect(point).toBeDefined();
  expect(`04${point.x.toString(16).padStart(64, '0')}${point.y.toString(16).padStart(64, '0')}`).toBe(
    key.publicKeyHex,
  );
  expect(Buffer.from(v.sm2Id, 'utf8').toString('hex')).toBe(v.sm2IdHex);
  expect(sm2Z(Buffer.from(v.sm2Id, 'utf8'), point).toString('hex')).toBe(v.z);
  expect(sm2Digest(message, point, v.sm2Id).toString('hex')).toBe(v.e);
  const sm2Key: SignatureKey = { alg: 'sm2-sm3', publicKeyPem: key.publicKeyPem, sm2Id: v.sm2Id };
  expect(signatureVerifies(sm2Key, message, b64(v.signatureDerBase64))).toBe(true);
  expect(signatureVerifies(sm2Key, message, b64(v.signatureRawBase64))).toBe(true);
  expect(b64(v.signatureRawBase64).toString('hex')).toBe(v.r + v.s);
  // And nothing else verifies: another message, another identifier.
  expect(
    signatureVerifies(sm2Key, Buffer.concat([message, Buffer.from(' ')]), b64(v.signatureDerBase64)),
  ).toBe(false);
  expect(
    signatureVerifies({ ...sm2Key, sm2Id: `${v.sm2Id}-other` }, message, b64(v.signatureDerBase64)),
  ).toBe(false);
}

describe('test vectors (docs/test-vectors)', () => {
  it('are exactly what the generator writes from its fixed inputs (an edited vector fails here)', () => {
    const generated = buildTestVectors();
    const present = readdirSync(VECTORS_DIR)
      .filter((name) => name.endsWith('.json'))
      .sort();
    expect(present).toEqual(Object.keys(generated).sort());
    for (const [name, content] of Object.entries(generated)) {
      expect({ name, content: readFileSync(join(VECTORS_DIR, name), 'utf8') }).toEqual({ name, content });
    }
  });

  describe('RFC 8785 canonical JSON', () => {
    it.each(canonicalFile.vectors.map((v) => [v.name, v] as const))(
      '%s: read strictly, canonicalized and hashed as the gateway does',
      (_name, v) => {
        const text = canonical(parse(v.json));
        expect(text).toBe(v.canonical);
        expect(Buffer.from(text, 'utf8').toString('hex')).toBe(v.canonicalHex);
        expect(sha256Hex(text)).toBe(v.sha256);
        // Canonical text is a fixed point.
        expect(canonical(parse(text))).toBe(text);
      },
    );

    it('match the RFC 8785 examples as the RFC prints them', () => {
      expect(vector('rfc8785-example').canonical).toBe(
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
          '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
      );
      // Section 3.2.3's order; escapes here so that no editor normalizes the characters.
      expect(vector('rfc8785-sorting').canonical).toBe(
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
          '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
      );
      expect(vector('numbers').canonical).toBe(
        '{"a":1e+21,"b":100000000000000000000,"c":0.1,"d":0,"e":1e-7,"f":0.000001,"g":5e-324,' +
          '"h":1.7976931348623157e+308,"i":9007199254740992,"j":-1.5e-10,"k":100,"l":0.30000000000000004,' +
          '"m":123456789012345680000,"n":-1e+21}',
      );
      expect(vector('strings').canonical).toBe(
        '{"controls":"nul\\u0000 bs\\b tab\\t nl\\n ff\\f cr\\r us\\u001f esc\\u001b","del":"\u007f",' +
          '"emoji":"😀 😀","quotes":"\\"quoted\\" back\\\\slash solidus/ /","separators":"\u2028 \u2029",' +
          '"zh":"张家口某风电有限公司 绿证"}',
      );
    });

    it('the sample trades are trades the gateway accepts (POST /v1/trades validation)', async () => {
      const trades = canonicalFile.vectors.filter((v) => v.trade);
      expect(trades.length).toBeGreaterThanOrEqual(3);
      const pipe = createValidationPipe();
      for (const v of trades) {
        const body = {
          trade: parse(v.json),
          checkData: { keyId: 'tc-2026-01', alg: 'hmac-sha256', signature: 'AAAA' },
        };
        await expect(pipe.transform(body, { type: 'body', metatype: SubmitTradeDto })).resolves.toBeDefined();
      }
    });
  });

  describe('request signing', () => {
    const hmacKey: SignatureKey = {
      alg: 'hmac-sha256',
      secret: requestSigningSecretBytes(requestFile.hmacSha256.secret),
    };

    it('the HMAC key is the UTF-8 bytes of the secret as shown', () => {
      expect(requestSigningSecretBytes(requestFile.hmacSha256.secret).toString('hex')).toBe(
        requestFile.hmacSha256.keyHex,
      );
    });

    it.each(requestFile.requests.map((r) => [r.name, r] as const))(
      '%s: body hash, signing string, HMAC-SHA256 and SM2/SM3 as the guard computes and verifies them',
      (_name, r) => {
        const body = Buffer.from(r.body, 'utf8');
        expect(body.toString('hex')).toBe(r.bodyHex);
        expect(sha256Hex(body)).toBe(r.bodySha256);
        expect(parseRfc3339(r.timestamp)).toBeDefined();
        const text = signingString(r.method, r.target, r.timestamp, r.nonce, r.bodySha256);
        expect(text).toBe(r.signingString);
        const message = Buffer.from(text, 'utf8');
        expect(message.toString('hex')).toBe(r.signingStringHex);

        const headers = hmacSignatureHeaders({
          method: r.method,
          target: r.target,
          body: r.body,
          keyId: requestFile.apiKeyId,
          secret: requestFile.hmacSha256.secret,
          timestamp: r.timestamp,
          nonce: r.nonce,
        });
        expect(headers['X-Gec-Signature']).toBe(r.hmacSha256.header);
        expect(parseSignatureHeader(r.hmacSha256.header)).toEqual({
          keyId: requestFile.apiKeyId,
          alg: 'hmac-sha256',
          sig: r.hmacSha256.signature,
        });
        expect(signatureVerifies(hmacKey, message, b64(r.hmacSha256.signature))).toBe(true);
        expect(signatureVerifies(hmacKey, Buffer.from(`${text}\n`), b64(r.hmacSha256.signature))).toBe(false);

        expect(parseSignatureHeader(r.sm2Sm3.header)).toEqual({
          keyId: requestFile.apiKeyId,
          alg: 'sm2-sm3',
          sig: r.sm2Sm3.signatureDerBase64,
        });
        expectSm2(requestFile.sm2Sm3, message, r.sm2Sm3);
      },
    );

    it('the trade submission it signs carries check data that verifies', () => {
      const submit = requestFile.requests.find((r) => r.name === 'submit-trade')!;
      const body = parse(submit.body) as { trade: unknown; checkData: { signature: string } };
      const secret = checkKeySecretBytes(checkFile.hmacSha256.secret);
      expect(
        signatureVerifies(
          { alg: 'hmac-sha256', secret },
          Buffer.from(canonical(body.trade), 'utf8'),
          b64(body.checkData.signature),
        ),
      ).toBe(true);
    });
  });

  describe('check data over the canonical trade', () => {
    it('the HMAC key is the base64-decoded secret (32 bytes)', () => {
      const secret = checkKeySecretBytes(checkFile.hmacSha256.secret);
      expect(secret.toString('hex')).toBe(checkFile.hmacSha256.keyHex);
      expect(secret.length).toBe(32);
    });

    it.each(checkFile.trades.map((t) => [t.trade, t] as const))(
      '%s: HMAC-SHA256 and SM2/SM3 check data verify as the trade verifier verifies them',
      (name, t) => {
        expect(t.canonical).toBe(vector(name).canonical);
        const submitted = parse(t.hmacSha256.submitBody) as { trade: unknown; checkData: unknown };
        expect(canonical(submitted.trade)).toBe(t.canonical);
        expect(canonical(submitted.checkData)).toBe(canonical(t.hmacSha256.checkData));
        const bytes = Buffer.from(canonical(submitted.trade), 'utf8');
        expect(sha256Hex(bytes)).toBe(t.tradeDataHash);
        expect(sha256Hex(canonical(t.hmacSha256.checkData))).toBe(t.hmacSha256.checkDataHash);
        expect(sha256Hex(canonical(t.sm2Sm3.checkData))).toBe(t.sm2Sm3.checkDataHash);

        const secret = checkKeySecretBytes(checkFile.hmacSha256.secret);
        const hmac = { alg: 'hmac-sha256', secret } as const;
        expect(signatureVerifies(hmac, bytes, b64(t.hmacSha256.checkData.signature))).toBe(true);
        expect(signatureVerifies(hmac, bytes, b64(t.hmacSha256.notThis.signature))).toBe(false);
        expect(
          signatureVerifies(
            { alg: 'hmac-sha256', secret: Buffer.from(checkFile.hmacSha256.secret, 'utf8') },
            bytes,
            b64(t.hmacSha256.notThis.signature),
          ),
        ).toBe(true);

        expect(t.sm2Sm3.sm2Id).toBe(SM2_DEFAULT_ID);
        expect(t.sm2Sm3.checkData.signature).toBe(t.sm2Sm3.signatureDerBase64);
        expectSm2(checkFile.sm2Sm3, bytes, t.sm2Sm3);
        expectSm2(checkFile.sm2Sm3, bytes, t.sm2Sm3WithId);
        expect(t.sm2Sm3WithId.sm2Id).not.toBe(SM2_DEFAULT_ID);
        expect(
          signatureVerifies(
            { alg: 'sm2-sm3', publicKeyPem: checkFile.sm2Sm3.publicKeyPem },
            bytes,
            b64(t.sm2Sm3WithId.signatureDerBase64),
          ),
        ).toBe(false);
      },
    );
  });

  describe('SM2 with OpenSSL (an independent implementation)', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'gec-vectors-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const cases = () => [
      ...requestFile.requests.map((r) => ({
        key: requestFile.sm2Sm3,
        message: Buffer.from(r.signingString, 'utf8'),
        v: r.sm2Sm3,
      })),
      ...checkFile.trades.flatMap((t) => [
        { key: checkFile.sm2Sm3, message: Buffer.from(t.canonical, 'utf8'), v: t.sm2Sm3 },
        { key: checkFile.sm2Sm3, message: Buffer.from(t.canonical, 'utf8'), v: t.sm2Sm3WithId },
      ]),
    ];

    it('the key pairs are SM2 key pairs OpenSSL reads: the private key gives the public key', () => {
      for (const key of [requestFile.sm2Sm3, checkFile.sm2Sm3]) {
        writeFileSync(join(dir, 'key.pem'), key.privateKeyPem);
        const text = openssl(['pkey', '-in', 'key.pem', '-text', '-noout']).toString();
        const hexOf = (label: string) =>
          (new RegExp(`${label}:\\s*\\n([\\s0-9a-f:]+)`).exec(text)?.[1] ?? '').replace(/[\s:]/g, '');
        expect(hexOf('priv').padStart(64, '0')).toBe(key.privateKeyHex);
        expect(hexOf('pub')).toBe(key.publicKeyHex);
        expect(openssl(['pkey', '-in', 'key.pem', '-pubout']).toString().trim()).toBe(
          key.publicKeyPem.trim(),
        );
      }
    });

    it('OpenSSL verifies every SM2 signature of the vectors (SM3, the distinguishing identifier)', () => {
      for (const { key, message, v } of cases()) {
        writeFileSync(join(dir, 'pub.pem'), key.publicKeyPem);
        writeFileSync(join(dir, 'message'), message);
        writeFileSync(join(dir, 'sig.der'), b64(v.signatureDerBase64));
        const verify = (id: string) =>
          openssl([
            'pkeyutl',
            '-verify',
            '-pubin',
            '-inkey',
            'pub.pem',
            '-rawin',
            '-in',
            'message',
            '-digest',
            'sm3',
            '-pkeyopt',
            `distid:${id}`,
            '-sigfile',
            'sig.der',
          ]).toString();
        expect(verify(v.sm2Id)).toContain('Signature Verified Successfully');
        expect(() => verify(`${v.sm2Id}x`)).toThrow();
      }
    });

    it('a signature OpenSSL makes with the vector key (random k) verifies in the gateway', () => {
      for (const { key, message, v } of cases().slice(0, 3)) {
        writeFileSync(join(dir, 'key.pem'), key.privateKeyPem);
        writeFileSync(join(dir, 'message'), message);
        const signature = openssl([
          'pkeyutl',
          '-sign',
          '-inkey',
          'key.pem',
          '-rawin',
          '-in',
          'message',
          '-digest',
          'sm3',
          '-pkeyopt',
          `distid:${v.sm2Id}`,
        ]);
        expect(signature.toString('base64')).not.toBe(v.signatureDerBase64);
        expect(
          signatureVerifies(
            { alg: 'sm2-sm3', publicKeyPem: key.publicKeyPem, sm2Id: v.sm2Id },
            message,
            signature,
          ),
        ).toBe(true);
      }
    });
  });

  describe('meter-period Merkle root', () => {
    it.each(merkleFile.periods.map((p) => [p.name, p] as const))(
      '%s: leaves, levels and root as the period close computes them from the readings as sent',
      (_name, p) => {
        const now = Date.now();
        const readings = p.readingsAsSent.map((r) => {
          const wh = kwhToWh(r.kwh);
          const at = parseIntervalStart(r.intervalStart, now);
          if (!('wh' in wh) || !('ms' in at)) throw new Error(`reading ${JSON.stringify(r)} is refused`);
          return { meterId: r.meterId, intervalStart: new Date(at.ms), wh: wh.wh, sent: r };
        });
        const ordered = [...readings].sort((a, b) => a.intervalStart.getTime() - b.intervalStart.getTime());
        expect(ordered.map((r) => r.sent)).toEqual(
          p.leaves.map(({ meterId, intervalStart, kwh }) => ({ meterId, intervalStart, kwh })),
        );
        expect(ordered.map((r) => String(r.wh))).toEqual(p.leaves.map((l) => l.wh));
        expect(ordered.map((r) => canonicalReading(r))).toEqual(p.leaves.map((l) => l.leafText));
        expect(ordered.map((r) => merkleLeaf(r).toString('hex'))).toEqual(p.leaves.map((l) => l.leaf));
        expect(p.levels[0]).toEqual(p.leaves.map((l) => l.leaf));
        for (let i = 1; i < p.levels.length; i++) {
          const below = p.levels[i - 1];
          expect(p.levels[i]).toEqual(
            p.levels[i].map((_, j) =>
              sha256(Buffer.from(below[2 * j] + (below[2 * j + 1] ?? below[2 * j]), 'hex')).toString('hex'),
            ),
          );
          expect(p.levels[i].length).toBe(Math.ceil(below.length / 2));
        }
        expect(p.levels[p.levels.length - 1]).toEqual([p.root]);
        expect(merkleRoot(readings)).toBe(p.root);
        expect(readings.reduce((sum, r) => sum + BigInt(r.wh), 0n).toString()).toBe(p.totalWh);
      },
    );
  });
});
