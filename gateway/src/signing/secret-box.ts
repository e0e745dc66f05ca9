import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The file in the data folder holding the generated secret key when GEC_SECRET_KEY is not set. */
export const SECRET_KEY_FILE = 'secret.key';

/**
 * Encrypts stored secrets (trading-center HMAC keys: HMAC needs the secret itself to verify, so it cannot be
 * hashed) with AES-256-GCM. The key: `GEC_SECRET_KEY` (64 hex characters or base64 of 32 bytes; any other
 * string is stretched with SHA-256), else `<dataDir>/secret.key`, generated on first start with mode 0600.
 * Several gateways sharing one database must share GEC_SECRET_KEY.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static open(dataDir: string, env: NodeJS.ProcessEnv = process.env): SecretBox {
    const configured = env.GEC_SECRET_KEY?.trim();
    if (configured) return new SecretBox(SecretBox.decodeKey(configured));
    const file = path.join(dataDir, SECRET_KEY_FILE);
    fs.mkdirSync(dataDir, { recursive: true });
    try {
      fs.writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    return new SecretBox(SecretBox.decodeKey(fs.readFileSync(file, 'utf8').trim()));
  }

  private static decodeKey(text: string): Buffer {
    if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
    const b64 = Buffer.from(text, 'base64');
    if (b64.length === 32 && /^[A-Za-z0-9+/_-]+=*$/.test(text)) return b64;
    return createHash('sha256').update(text, 'utf8').digest();
  }

  /** `v1.<iv>.<tag>.<ciphertext>` (base64url). */
  seal(plain: Buffer): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), sealed]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  open(text: string): Buffer {
    const [version, iv, tag, sealed] = text.split('.');
    if (version !== 'v1' || !iv || !tag || sealed === undefined) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]);
  }
}
