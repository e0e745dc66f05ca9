/**
 * Generates the integrator test vectors in docs/test-vectors/ from fixed inputs:
 *
 *     npm run test-vectors        (node gateway/dist/tools/test-vectors.js [--check])
 *
 * The vectors are computed here from the specifications (RFC 8785 through the `canonicalize` package, SHA-256 and
 * HMAC-SHA256 from node:crypto with the key bytes spelled out, the Merkle tree written out from its definition,
 * SM2 signatures with a deterministic nonce so that the output is reproducible), not with the code paths the
 * gateway verifies with: gateway/test/test-vectors.test.ts checks the gateway's own functions against every
 * vector and that the files are exactly what this script writes.
 *
 * Every key in the output is a TEST KEY, derived from a public label: never use one for anything real.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import canonicalize from 'canonicalize';
import { SM2_DEFAULT_ID, sm2Digest, sm2PublicKeyPem, sm2Sign, sm2Z } from '../signing/sm2';

export const VECTORS_DIR = resolve(__dirname, '../../../docs/test-vectors');

/** The order n of the SM2 curve (GB/T 32918.5). */
const SM2_N = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123');

const TEST_ONLY =
  'TEST KEY: published in the gec-ledger repository, derived from a public label; never use it.';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest();
const sha256Hex = (data: string | Buffer) => sha256(data).toString('hex');
const hmacBase64 = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest('base64');
const hex32 = (x: bigint) => x.toString(16).padStart(64, '0');

function jcs(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('not canonicalizable');
  return text;
}

/** A test SM2 key pair: d from SHA-256 of a public label. */
function sm2TestKey(label: string) {
  const d = (BigInt(`0x${sha256Hex(`gec-ledger test vector: ${label}`)}`) % (SM2_N - 1n)) + 1n;
  const publicKeyPem = sm2PublicKeyPem(d);
  const spki = Buffer.from(publicKeyPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const point = spki.subarray(spki.length - 65); // 04 ‖ x ‖ y
  // PKCS#8 PrivateKeyInfo { 0, { id-ecPublicKey, sm2 }, ECPrivateKey { 1, d, [1] publicKey } }, as `openssl
  // genpkey -algorithm SM2` writes it.
  const ecPrivateKey = Buffer.concat([
    Buffer.from('306b0201010420', 'hex'),
    Buffer.from(hex32(d), 'hex'),
    Buffer.from('a144034200', 'hex'),
    point,
  ]);
  const pkcs8 = Buffer.concat([
    Buffer.from('308187020100301306072a8648ce3d020106082a811ccf5501822d046d', 'hex'),
    ecPrivateKey,
  ]);
  const privateKeyPem =
    `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n')}\n` +
    '-----END PRIVATE KEY-----\n';
  return {
    d,
    publicPoint: {
      x: BigInt(`0x${point.subarray(1, 33).toString('hex')}`),
      y: BigInt(`0x${point.subarray(33).toString('hex')}`),
    },
    vector: {
      testOnly: TEST_ONLY,
      privateKeyHex: hex32(d),
      publicKeyHex: point.toString('hex'),
      privateKeyPem,
      publicKeyPem,
    },
  };
}

type Sm2Key = ReturnType<typeof sm2TestKey>;

/**
 * An SM2/SM3 signature of `message` with a deterministic nonce (k from HMAC-SHA256 of the key and the message),
 * so the files are reproducible. Real signers use a random k: their signatures differ and must only verify.
 */
function sm2Vector(key: Sm2Key, message: Buffer, sm2Id: string) {
  const seed = createHmac('sha256', Buffer.from(hex32(key.d), 'hex'))
    .update(Buffer.concat([Buffer.from(`${sm2Id}\n`, 'utf8'), message]))
    .digest();
  let counter = 0;
  const nonce = () => {
    const block = createHmac('sha256', seed).update(String(counter++)).digest();
    return (BigInt(`0x${Buffer.concat([seed, block]).toString('hex')}`) % (SM2_N - 1n)) + 1n;
  };
  const der = sm2Sign(message, key.d, sm2Id, nonce);
  // DER SEQUENCE { INTEGER r, INTEGER s } → r and s as 32-byte big-endian.
  const rLength = der[3];
  const r = BigInt(`0x${der.subarray(4, 4 + rLength).toString('hex')}`);
  const s = BigInt(`0x${der.subarray(6 + rLength).toString('hex')}`);
  return {
    sm2Id,
    sm2IdHex: Buffer.from(sm2Id, 'utf8').toString('hex'),
    z: sm2Z(Buffer.from(sm2Id, 'utf8'), key.publicPoint).toString('hex'),
    e: sm2Digest(message, key.publicPoint, sm2Id).toString('hex'),
    signatureDerBase64: der.toString('base64'),
    signatureRawBase64: Buffer.from(hex32(r) + hex32(s), 'hex').toString('base64'),
    r: hex32(r),
    s: hex32(s),
  };
}

// ---------------------------------------------------------------------------------------------------------
// RFC 8785 canonical JSON

interface CanonicalInput {
  name: string;
  note: string;
  /** The JSON text exactly as a client sends it. */
  json: string;
  /** A trade (`trade` of POST /v1/trades) the gateway accepts as it is. */
  trade?: true;
}

const TRADE_GREEN_POWER = `{
  "tradeId": "T-2026-10-0001",
  "kind": "GREEN_POWER",
  "seller": "GEN-HB-002",
  "buyer": "CON-SH-002",
  "volumeKwh": 50000,
  "priceFen": 2250000,
  "currency": "CNY",
  "deliveryStart": "2026-10-01T00:00:00+08:00",
  "deliveryEnd": "2026-11-01T00:00:00+08:00",
  "sellerUnitIds": ["UNIT-HB-SOLAR-01"],
  "buyerMeterIds": ["MTR-SH-0101"],
  "lots": [{ "lotId": "P13070020240000182026100000005ST", "volume": 50 }]
}`;

const CANONICAL_INPUTS: CanonicalInput[] = [
  {
    name: 'trade-green-power',
    note: 'A GREEN_POWER trade shaped as in the trade walkthrough (docs/trade-walkthrough.md): 50 certificates of one lot.',
    json: TRADE_GREEN_POWER,
    trade: true,
  },
  {
    name: 'trade-green-power-profile',
    note:
      'A GREEN_POWER trade with an interval profile, keys in no particular order, numbers written as 12.50, 1E1 and ' +
      '-0 (canonical: 12.5, 10 and 0), kWh also as decimal strings (kept as strings), a \\u escape in an id ' +
      '(canonical: the character itself).',
    json: `{"volumeKwh":10000,"tradeId":"T-2026-10-\\u0050001","seller":"GEN-ZJ-001","buyer":"CON-ZJ-001",
 "kind":"GREEN_POWER","priceFen":450000.0,"currency":"CNY",
 "deliveryEnd":"2026-11-01T00:00:00+08:00","deliveryStart":"2026-10-01T00:00:00+08:00",
 "buyerMeterIds":["M-CON-ZJ-001"],"sellerUnitIds":["U-GEN-ZJ-001","U-GEN-ZJ-001.B"],
 "profile":[{"kwh":12.50,"intervalStart":"2026-10-01T00:00:00+08:00"},
            {"intervalStart":"2026-10-01T00:15:00+08:00","kwh":"7.125"},
            {"intervalStart":"2026-10-01T00:30:00+08:00","kwh":-0},
            {"intervalStart":"2026-10-01T00:45:00+08:00","kwh":1E1},
            {"intervalStart":"2026-10-01T01:00:00+08:00","kwh":"0.100"}],
 "lots":[{"volume":10,"lotId":"P33090020240000102026100000001WT"}]}`,
    trade: true,
  },
  {
    name: 'trade-certificate-only-two-months',
    note: 'A CERTIFICATE_ONLY trade over two delivery months (UTC offset written as Z), two lots, one taken whole.',
    json: `{
  "tradeId": "T-2026-Q4-CO-7",
  "kind": "CERTIFICATE_ONLY",
  "seller": "GEN-HB-001",
  "buyer": "CON-SH-001",
  "volumeKwh": 30000,
  "priceFen": 45000,
  "currency": "CNY",
  "deliveryStart": "2026-09-30T16:00:00Z",
  "deliveryEnd": "2026-11-30T16:00:00Z",
  "sellerUnitIds": ["UNIT-HB-WIND-01"],
  "buyerMeterIds": ["MTR-SH-0001", "MTR-SH-0002"],
  "lots": [
    { "lotId": "P13070020240000172026090000101WT" },
    { "lotId": "P13070020240000172026080000001WT", "volume": 20 }
  ]
}`,
    trade: true,
  },
  {
    name: 'rfc8785-example',
    note: 'RFC 8785 section 3.2.2: number serialization, string escaping, whitespace and key order.',
    json: `{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
  "literals": [null, true, false]
}`,
  },
  {
    name: 'rfc8785-sorting',
    note:
      'RFC 8785 section 3.2.3: keys sorted by their UTF-16 code units (not by code points: the emoji U+1F600, ' +
      'surrogates D83D DE00, sorts before U+FB33).',
    json: `{
  "\\u20ac": "Euro Sign",
  "\\r": "Carriage Return",
  "\\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\\ud83d\\ude00": "Emoji: Grinning Face",
  "\\u0080": "Control",
  "\\u00f6": "Latin Small Letter O With Diaeresis"
}`,
  },
  {
    name: 'numbers',
    note:
      'ECMAScript number serialization (RFC 8785 section 3.2.2.3): 1e21 and up in exponent form with "+", ' +
      'below 1e-6 in exponent form, -0 as 0, trailing zeros dropped, integers beyond 2^53 rounded to the nearest ' +
      'double (9007199254740993 is 9007199254740992).',
    json:
      '{"a": 1e21, "b": 1E20, "c": 0.1, "d": -0, "e": 1e-7, "f": 0.000001, "g": 5e-324, ' +
      '"h": 1.7976931348623157e308, "i": 9007199254740993, "j": -1.5e-10, "k": 100.0, "l": 0.30000000000000004, ' +
      '"m": 123456789012345680000, "n": -1e+21}',
  },
  {
    name: 'strings',
    note:
      'String escaping (RFC 8785 section 3.2.2.2): only " and \\\\ and the controls below U+0020 are escaped, ' +
      'as \\b \\t \\n \\f \\r or \\u00xx with lower-case hex; / , DEL, U+2028, U+2029, Chinese and emoji are ' +
      'written as UTF-8.',
    json:
      '{"controls": "nul\\u0000 bs\\b tab\\t nl\\n ff\\f cr\\r us\\u001F esc\\u001b", ' +
      '"quotes": "\\"quoted\\" back\\\\slash solidus\\/ /", "del": "\\u007f", "separators": "\\u2028 \\u2029", ' +
      '"zh": "张家口某风电有限公司 \\u7eff\\u8bc1", "emoji": "\\ud83d\\ude00 😀"}',
  },
  {
    name: 'nested-ordering',
    note:
      'Keys sorted at every level; arrays keep their order; "" < "10" < "9" < "A" < "a" < "z" (code units, ' +
      'not numeric order); empty objects and arrays; Chinese keys by their UTF-16 code units (名 U+540D < 地 ' +
      'U+5730).',
    json:
      '{"z": {"b": [{"y": 1, "x": 2}, [3, {"d": 4, "c": 5}]], "a": {"d": null, "c": true}}, "a": [], "A": {}, ' +
      '"10": 1, "9": 2, "": "empty key", "地区": "310000", "名称": "上海某制造有限公司", "name": "Shanghai"}',
  },
];

// ---------------------------------------------------------------------------------------------------------
// The Merkle root of a meter period

interface ReadingInput {
  meterId: string;
  intervalStart: string;
  kwh: string;
}

/** kWh (decimal, ≤ 3 decimals) → integer Wh, written out. */
function wh(kwh: string): string {
  const [whole, fraction = ''] = kwh.split('.');
  return (BigInt(whole) * 1000n + BigInt((fraction + '000').slice(0, 3))).toString();
}

function merkleVector(name: string, note: string, readings: ReadingInput[]) {
  const leaves = readings
    .map((r) => {
      const at = new Date(r.intervalStart);
      const leafText = `${r.meterId}|${at.toISOString()}|${wh(r.kwh)}`;
      return {
        ...r,
        wh: wh(r.kwh),
        leafText,
        leaf: sha256Hex(Buffer.from(leafText, 'utf8')),
        at: at.getTime(),
      };
    })
    .sort((a, b) => a.at - b.at);
  const levels: string[][] = [leaves.map((l) => l.leaf)];
  while (levels[levels.length - 1].length > 1) {
    const level = levels[levels.length - 1];
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i];
      const right = level[i + 1] ?? left;
      next.push(sha256Hex(Buffer.from(left + right, 'hex')));
    }
    levels.push(next);
  }
  return {
    name,
    note,
    readingsAsSent: readings,
    leaves: leaves.map(({ meterId, intervalStart, kwh, wh: w, leafText, leaf }) => ({
      meterId,
      intervalStart,
      kwh,
      wh: w,
      leafText,
      leaf,
    })),
    levels,
    totalWh: leaves.reduce((sum, l) => sum + BigInt(l.wh), 0n).toString(),
    root: levels[levels.length - 1][0],
  };
}

// ---------------------------------------------------------------------------------------------------------

/** The vector files: name → exact content. */
export function buildTestVectors(): Record<string, string> {
  const canonical = CANONICAL_INPUTS.map((input) => {
    const text = jcs(JSON.parse(input.json));
    return {
      name: input.name,
      note: input.note,
      ...(input.trade ? { trade: true } : {}),
      json: input.json,
      canonical: text,
      canonicalHex: Buffer.from(text, 'utf8').toString('hex'),
      sha256: sha256Hex(Buffer.from(text, 'utf8')),
    };
  });
  const checkSecret = sha256('gec-ledger test vector: check key secret (32 bytes)');
  const walkthroughTrade = canonical.find((c) => c.name === 'trade-green-power')!;

  // Request signing.
  const requestKey = sm2TestKey('request-signing SM2 private key');
  const hmacSecret = `gecs_${sha256(`gec-ledger test vector: request-signing secret`).toString('base64url')}`;
  const apiKeyId = '5f0c6a3e-8b1d-4c2a-9e7f-1a2b3c4d5e6f';
  const tradeBody = JSON.stringify({
    trade: JSON.parse(TRADE_GREEN_POWER) as unknown,
    checkData: {
      keyId: 'tc-2026-01',
      alg: 'hmac-sha256',
      signature: hmacBase64(checkSecret, Buffer.from(walkthroughTrade.canonical, 'utf8')),
    },
  });
  const requests = [
    {
      name: 'register-participant',
      note: 'A JSON body with Chinese text: the body hash is over its UTF-8 bytes exactly as sent.',
      method: 'POST',
      target: '/v1/participants',
      timestamp: '2026-11-21T16:00:00+08:00',
      nonce: '3f9c2a61d0b84e57a1c6e2f4b7d90a13',
      body: '{"id":"CON-SH-002","kind":"CONSUMER","name":"上海某制造有限公司","region":"310000","creditCode":"91310115MA1K4B3X76"}',
    },
    {
      name: 'meter-readings-csv-with-query',
      note:
        'The request target is the path and the query exactly as sent (percent-encoding included, not decoded, ' +
        'not re-ordered); a CSV body with CRLF line ends is hashed as it is.',
      method: 'POST',
      target: '/v1/meter-readings?mode=atomic&correction=true&reason=%E8%A1%A8%E8%AE%A1%E6%A0%A1%E5%87%86',
      timestamp: '2026-11-21T08:00:00.123Z',
      nonce: 'nonce_~.+/=-0123',
      body: 'meterId,intervalStart,kwh\r\nMTR-HB-0001,2026-10-01T00:00:00+08:00,100.000\r\nMTR-HB-0001,2026-10-01T01:00:00+08:00,99.5\r\n',
    },
    {
      name: 'delete-without-body',
      note: 'No body: the hash of the empty string. The method is written in capitals.',
      method: 'DELETE',
      target: `/v1/api-keys/${apiKeyId}`,
      timestamp: '2026-11-21T16:00:00+08:00',
      nonce: 'a1b2c3d4e5f60718',
      body: '',
    },
    {
      name: 'submit-trade',
      note: 'POST /v1/trades: the body is signed as sent (its check data signs the canonical trade, separately).',
      method: 'POST',
      target: '/v1/trades',
      timestamp: '2026-11-21T16:00:05+08:00',
      nonce: 'b7e2c1d0-5a4f-4e3d-9c8b-7a6f5e4d3c2b',
      body: tradeBody,
    },
  ].map((r) => {
    const body = Buffer.from(r.body, 'utf8');
    const bodySha256 = sha256Hex(body);
    const signingString = [r.method, r.target, r.timestamp, r.nonce, bodySha256].join('\n');
    const message = Buffer.from(signingString, 'utf8');
    const hmac = hmacBase64(Buffer.from(hmacSecret, 'utf8'), message);
    const sm2 = sm2Vector(requestKey, message, SM2_DEFAULT_ID);
    return {
      ...r,
      bodyHex: body.toString('hex'),
      bodySha256,
      signingString,
      signingStringHex: message.toString('hex'),
      hmacSha256: {
        signature: hmac,
        header: `keyId=${apiKeyId}, alg=hmac-sha256, sig=${hmac}`,
      },
      sm2Sm3: { ...sm2, header: `keyId=${apiKeyId}, alg=sm2-sm3, sig=${sm2.signatureDerBase64}` },
    };
  });
  const requestSigning = {
    description:
      'Request signing (X-Gec-Timestamp, X-Gec-Nonce, X-Gec-Signature): see README.md in this folder. ' +
      'Generated by gateway/src/tools/test-vectors.ts; do not edit.',
    apiKeyId,
    hmacSha256: {
      testOnly: TEST_ONLY,
      secret: hmacSecret,
      keyBytes: 'the UTF-8 bytes of `secret` exactly as shown at key creation (not base64-decoded)',
      keyHex: Buffer.from(hmacSecret, 'utf8').toString('hex'),
    },
    sm2Sm3: { ...requestKey.vector, sm2Id: SM2_DEFAULT_ID },
    requests,
  };

  // Check data over the canonical trade.
  const checkKey = sm2TestKey('check-data SM2 private key');
  const tradeVectors = canonical.filter((c) => c.trade);
  const checks = tradeVectors.map((t) => {
    const bytes = Buffer.from(t.canonical, 'utf8');
    const hmacCheckData = {
      keyId: 'tc-2026-01',
      alg: 'hmac-sha256',
      signature: hmacBase64(checkSecret, bytes),
    };
    const sm2 = sm2Vector(checkKey, bytes, SM2_DEFAULT_ID);
    const sm2CheckData = { keyId: 'tc-sm2-01', alg: 'sm2-sm3', signature: sm2.signatureDerBase64 };
    const sm2Custom = sm2Vector(checkKey, bytes, 'TC-HEBEI');
    return {
      trade: t.name,
      canonical: t.canonical,
      tradeDataHash: t.sha256,
      hmacSha256: {
        checkData: hmacCheckData,
        checkDataHash: sha256Hex(jcs(hmacCheckData)),
        notThis: {
          why: 'keyed with the UTF-8 bytes of the base64 text instead of the decoded bytes: the gateway rejects it',
          signature: hmacBase64(Buffer.from(checkSecret.toString('base64'), 'utf8'), bytes),
        },
        submitBody: jcs({ trade: JSON.parse(t.json) as unknown, checkData: hmacCheckData }),
      },
      sm2Sm3: { ...sm2, checkData: sm2CheckData, checkDataHash: sha256Hex(jcs(sm2CheckData)) },
      sm2Sm3WithId: sm2Custom,
    };
  });
  const checkData = {
    description:
      'Check data (校验相关数据): the trading center signs the RFC 8785 canonical bytes of `trade` with its check ' +
      'key. See README.md in this folder. Generated by gateway/src/tools/test-vectors.ts; do not edit.',
    tradingCenter: 'TC-HEBEI',
    hmacSha256: {
      testOnly: TEST_ONLY,
      keyId: 'tc-2026-01',
      secret: checkSecret.toString('base64'),
      keyBytes: 'the base64-DECODED bytes of `secret` (32 bytes), not its text',
      keyHex: checkSecret.toString('hex'),
      register: { keyId: 'tc-2026-01', alg: 'hmac-sha256', secret: checkSecret.toString('base64') },
    },
    sm2Sm3: {
      ...checkKey.vector,
      keyId: 'tc-sm2-01',
      sm2Id: SM2_DEFAULT_ID,
      register: { keyId: 'tc-sm2-01', alg: 'sm2-sm3', publicKeyPem: checkKey.vector.publicKeyPem },
      registerWithId: {
        keyId: 'tc-sm2-02',
        alg: 'sm2-sm3',
        publicKeyPem: checkKey.vector.publicKeyPem,
        sm2Id: 'TC-HEBEI',
      },
    },
    trades: checks,
  };

  const merkle = {
    description:
      'The Merkle root a meter period is attested with (`digest` of GET /v1/meter-attestations/{meterId}/{period}). ' +
      'See README.md in this folder. Generated by gateway/src/tools/test-vectors.ts; do not edit.',
    periods: [
      merkleVector(
        'five-readings',
        'Five 15-minute readings of one meter, sent out of order (the tree orders them by interval start); five ' +
          'leaves: the last node of an odd level is paired with itself.',
        [
          { meterId: 'MTR-HB-0001', intervalStart: '2026-10-01T00:30:00+08:00', kwh: '62.5' },
          { meterId: 'MTR-HB-0001', intervalStart: '2026-10-01T00:00:00+08:00', kwh: '100.000' },
          { meterId: 'MTR-HB-0001', intervalStart: '2026-10-01T00:15:00+08:00', kwh: '0' },
          { meterId: 'MTR-HB-0001', intervalStart: '2026-10-01T01:00:00+08:00', kwh: '1234.567' },
          { meterId: 'MTR-HB-0001', intervalStart: '2026-09-30T16:45:00Z', kwh: '0.001' },
        ],
      ),
      merkleVector('one-reading', 'A single reading: the root is its leaf.', [
        { meterId: 'MTR-SH-0101', intervalStart: '2026-10-31T23:45:00+08:00', kwh: '7.25' },
      ]),
    ],
  };

  const canonicalFile = {
    description:
      'RFC 8785 (JSON Canonicalization Scheme) canonical bytes and their SHA-256. `json` is the text as sent, ' +
      '`canonical` its canonical form (as a JSON string here), `canonicalHex` the exact UTF-8 bytes. See README.md ' +
      'in this folder. Generated by gateway/src/tools/test-vectors.ts; do not edit.',
    vectors: canonical,
  };

  const file = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return {
    'canonical-json.json': file(canonicalFile),
    'request-signing.json': file(requestSigning),
    'check-data.json': file(checkData),
    'meter-merkle.json': file(merkle),
  };
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const files = buildTestVectors();
  let stale = 0;
  for (const [name, content] of Object.entries(files)) {
    const path = join(VECTORS_DIR, name);
    if (check) {
      const current = await readFile(path, 'utf8').catch(() => '');
      if (current !== content) {
        stale++;
        process.stderr.write(`${path} differs from what the generator writes\n`);
      }
    } else {
      await writeFile(path, content);
      process.stdout.write(`wrote ${path}\n`);
    }
  }
  if (stale > 0) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
