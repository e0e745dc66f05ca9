/**
 * Check-data signatures: SM2 with SM3 verified against signatures made by the OpenSSL 3 command line (so the
 * verifier is checked against another implementation, not only against its own signer), and the AES-GCM box
 * that keeps HMAC secrets.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretBox, SECRET_KEY_FILE } from '../src/signing/secret-box';
import { SM2_DEFAULT_ID, sm2PublicKeyPem, sm2PublicPoint, sm2Sign, sm2Verify } from '../src/signing/sm2';

// `openssl genpkey -algorithm SM2`; `openssl dgst -sm3 -sign key [-sigopt distid:1234567812345678]` of "hello sm2".
const OPENSSL_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAECyp/LzbAfUDz966CFJTI6Ezt5ROj
zbZZbbe3DVTr2Ye5jcVwmixZJ4uG/yZWC/l/FYgk9DmJzMbDNutoRlo2mw==
-----END PUBLIC KEY-----
`;
const MESSAGE = Buffer.from('hello sm2');
const SIGNATURE_DEFAULT_ID = Buffer.from(
  '3045022100d5ee83045b58d5866857ca7bc73d93dbdaf3b830c9197dfa6420787298bff65b022016eaf8b7bce4612a8da943c6b6111792' +
    '42f8ea86fa4f95d89e117c8b3fff2862',
  'hex',
);
const SIGNATURE_EMPTY_ID = Buffer.from(
  '3046022100f423a9bfa81156045154cd65c764961f9ccceb43cbc861ca71adab06dcc5067c02210098e6300c9f35be6c50f75de012d48f' +
    'd3d4975e6dcbb76f93f2b3461562e16166',
  'hex',
);

describe('SM2 with SM3', () => {
  const point = sm2PublicPoint(OPENSSL_PUBLIC_KEY)!;

  it('verifies an OpenSSL signature with the default distinguishing id 1234567812345678', () => {
    expect(point).toBeDefined();
    expect(sm2Verify(MESSAGE, SIGNATURE_DEFAULT_ID, point)).toBe(true);
    expect(sm2Verify(MESSAGE, SIGNATURE_DEFAULT_ID, point, '')).toBe(false);
  });

  it('verifies an OpenSSL signature made with an empty distinguishing id when told so', () => {
    expect(sm2Verify(MESSAGE, SIGNATURE_EMPTY_ID, point, '')).toBe(true);
    expect(sm2Verify(MESSAGE, SIGNATURE_EMPTY_ID, point)).toBe(false);
  });

  it('refuses a changed message, a changed signature and another key', () => {
    expect(sm2Verify(Buffer.from('hello sm3'), SIGNATURE_DEFAULT_ID, point)).toBe(false);
    const changed = Buffer.from(SIGNATURE_DEFAULT_ID);
    changed[10] ^= 1;
    expect(sm2Verify(MESSAGE, changed, point)).toBe(false);
    const other = sm2PublicPoint(sm2PublicKeyPem(12345678901234567890n))!;
    expect(sm2Verify(MESSAGE, SIGNATURE_DEFAULT_ID, other)).toBe(false);
    expect(sm2Verify(MESSAGE, Buffer.from('not a signature'), point)).toBe(false);
  });

  it('round-trips with the signer used by tests and tools', () => {
    const d = BigInt(`0x${randomBytes(31).toString('hex')}`) + 1n;
    const pem = sm2PublicKeyPem(d);
    const key = sm2PublicPoint(pem)!;
    const signature = sm2Sign(MESSAGE, d);
    expect(sm2Verify(MESSAGE, signature, key, SM2_DEFAULT_ID)).toBe(true);
    expect(sm2Verify(Buffer.from('x'), signature, key)).toBe(false);
  });

  it('recognises only SM2 public keys', () => {
    expect(sm2PublicPoint('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')).toBeUndefined();
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(sm2PublicPoint(publicKey.export({ type: 'spki', format: 'pem' }).toString())).toBeUndefined();
  });
});

describe('the secret box', () => {
  let dir: string;
  const saved = process.env.GEC_SECRET_KEY;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gec-secret-'));
    delete process.env.GEC_SECRET_KEY;
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
    if (saved === undefined) delete process.env.GEC_SECRET_KEY;
    else process.env.GEC_SECRET_KEY = saved;
  });

  it('generates its key on first start into the data folder, mode 0600, and keeps it', async () => {
    const box = SecretBox.open(dir, {});
    const sealed = box.seal(Buffer.from('secret'));
    expect(sealed).not.toContain(Buffer.from('secret').toString('base64url'));
    expect((await stat(join(dir, SECRET_KEY_FILE))).mode & 0o777).toBe(0o600);
    const again = SecretBox.open(dir, {});
    expect(again.open(sealed).toString()).toBe('secret');
    expect((await readFile(join(dir, SECRET_KEY_FILE), 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('uses GEC_SECRET_KEY when set, and refuses a tampered secret', () => {
    const env = { GEC_SECRET_KEY: randomBytes(32).toString('hex') };
    const box = SecretBox.open(dir, env);
    const sealed = box.seal(Buffer.from('hmac secret'));
    expect(SecretBox.open(dir, env).open(sealed).toString()).toBe('hmac secret');
    expect(() =>
      SecretBox.open(dir, { GEC_SECRET_KEY: randomBytes(32).toString('hex') }).open(sealed),
    ).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('x').toString('base64url') + parts[3].slice(2);
    expect(() => box.open(parts.join('.'))).toThrow();
  });
});
