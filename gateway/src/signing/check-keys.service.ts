import { createHmac, createPublicKey, generateKeyPairSync, KeyObject, sign, timingSafeEqual, verify } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/config';
import { ProblemError } from '../common/problem';
import { CheckKeyDto, RegisterCheckKeyDto } from './check-keys.dto';
import { SecretBox } from './secret-box';

interface CheckKeyRow {
  trading_center: string;
  key_id: string;
  alg: string;
  secret_encrypted: string | null;
  public_key_pem: string | null;
  created_at: Date;
  revoked_at: Date | null;
}

/** The trading center's check data (校验相关数据): its signature over the canonical trade data. */
export interface CheckData {
  keyId: string;
  alg: string;
  signature: string;
}

export interface SignatureVerdict {
  passed: boolean;
  reason: string;
}

function toDto(row: CheckKeyRow): CheckKeyDto {
  return {
    tradingCenter: row.trading_center,
    keyId: row.key_id,
    alg: row.alg,
    createdAt: new Date(row.created_at).toISOString(),
    revokedAt: row.revoked_at ? new Date(row.revoked_at).toISOString() : null,
  };
}

/** Is SM2 with SM3 usable on this Node/OpenSSL? Checked once. */
let sm2Support: boolean | undefined;
export function sm2Available(): boolean {
  if (sm2Support === undefined) {
    try {
      // What matters is verifying with a key that arrived as PEM: on Node 20 / OpenSSL 3.0 an imported SM2 key
      // decodes as a plain EC key and SM2 signatures never verify, so the probe round-trips the public key.
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'SM2' });
      const imported = createPublicKey(publicKey.export({ type: 'spki', format: 'pem' }));
      const data = Buffer.from('probe');
      sm2Support = verify('sm3', data, imported, sign('sm3', data, privateKey));
    } catch {
      sm2Support = false;
    }
  }
  return sm2Support;
}

/**
 * Trading-center check keys and the verification of check data: HMAC-SHA256 (secret stored encrypted) or SM2
 * with SM3 (public key), both with node:crypto.
 */
@Injectable()
export class CheckKeysService {
  private readonly box: SecretBox;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.box = SecretBox.open(config.dataDir);
  }

  async register(tradingCenter: string, body: RegisterCheckKeyDto, createdBy: string): Promise<CheckKeyDto> {
    const participants = (await this.dataSource.query(`SELECT kind, status FROM participants WHERE id = $1`, [
      tradingCenter,
    ])) as Array<{ kind: string; status: string }>;
    if (participants.length === 0) {
      throw new ProblemError(404, 'PARTICIPANT_NOT_FOUND', `participant ${tradingCenter} is not registered`);
    }
    if (participants[0].kind !== 'TRADING_CENTER') {
      throw new ProblemError(
        422,
        'PARTY_KIND_NOT_PERMITTED',
        `participant ${tradingCenter} is a ${participants[0].kind}, not a TRADING_CENTER`,
      );
    }
    let secretEncrypted: string | null = null;
    let publicKeyPem: string | null = null;
    if (body.alg === 'hmac-sha256') {
      if (!body.secret || body.publicKeyPem !== undefined) {
        throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: secret', {
          errors: [{ field: 'secret', message: 'hmac-sha256 needs secret (and no publicKeyPem)' }],
        });
      }
      const secret = Buffer.from(body.secret, 'base64');
      if (secret.length < 32) {
        throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: secret', {
          errors: [{ field: 'secret', message: 'secret must be base64 of at least 32 bytes' }],
        });
      }
      secretEncrypted = this.box.seal(secret);
    } else {
      if (!sm2Available()) {
        throw new ProblemError(
          422,
          'ALGORITHM_UNAVAILABLE',
          'SM2 with SM3 is not available on this gateway: its Node/OpenSSL cannot verify SM2 signatures with an ' +
            'imported public key; use hmac-sha256',
        );
      }
      if (!body.publicKeyPem || body.secret !== undefined) {
        throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: publicKeyPem', {
          errors: [{ field: 'publicKeyPem', message: 'sm2-sm3 needs publicKeyPem (and no secret)' }],
        });
      }
      let key: KeyObject | undefined;
      try {
        key = createPublicKey(body.publicKeyPem);
      } catch {
        key = undefined;
      }
      const isSm2 =
        key !== undefined &&
        (key.asymmetricKeyType === ('sm2' as string) ||
          (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'SM2'));
      if (!key || !isSm2) {
        throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: publicKeyPem', {
          errors: [{ field: 'publicKeyPem', message: 'publicKeyPem must be an SM2 public key in PEM' }],
        });
      }
      publicKeyPem = key.export({ type: 'spki', format: 'pem' }).toString();
    }
    const inserted = (await this.dataSource.query(
      `INSERT INTO trading_center_check_keys (trading_center, key_id, alg, secret_encrypted, public_key_pem, created_by)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING *`,
      [tradingCenter, body.keyId, body.alg, secretEncrypted, publicKeyPem, createdBy],
    )) as CheckKeyRow[];
    if (inserted.length === 0) {
      throw new ProblemError(
        409,
        'CHECK_KEY_EXISTS',
        `trading center ${tradingCenter} already has a check key ${body.keyId}`,
      );
    }
    return toDto(inserted[0]);
  }

  async list(tradingCenter: string): Promise<CheckKeyDto[]> {
    const rows = (await this.dataSource.query(
      `SELECT * FROM trading_center_check_keys WHERE trading_center = $1 ORDER BY key_id`,
      [tradingCenter],
    )) as CheckKeyRow[];
    return rows.map(toDto);
  }

  /** Verify `checkData.signature` over `bytes` with the trading center's key `checkData.keyId`. */
  async verify(tradingCenter: string, checkData: CheckData, bytes: Buffer): Promise<SignatureVerdict> {
    const rows = (await this.dataSource.query(
      `SELECT * FROM trading_center_check_keys WHERE trading_center = $1 AND key_id = $2`,
      [tradingCenter, checkData.keyId],
    )) as CheckKeyRow[];
    const row = rows[0];
    if (!row) return { passed: false, reason: `trading center ${tradingCenter} has no check key ${checkData.keyId}` };
    if (row.revoked_at) return { passed: false, reason: `check key ${checkData.keyId} is revoked` };
    if (row.alg !== checkData.alg) {
      return { passed: false, reason: `check key ${checkData.keyId} is ${row.alg}, the check data says ${checkData.alg}` };
    }
    const signature = Buffer.from(checkData.signature, 'base64');
    if (signature.length === 0) return { passed: false, reason: 'the signature is empty or not base64' };
    try {
      if (row.alg === 'hmac-sha256') {
        const expected = createHmac('sha256', this.box.open(row.secret_encrypted!)).update(bytes).digest();
        const passed = expected.length === signature.length && timingSafeEqual(expected, signature);
        return { passed, reason: passed ? 'HMAC-SHA256 matches' : 'HMAC-SHA256 does not match the canonical trade data' };
      }
      if (!sm2Available()) return { passed: false, reason: 'ALGORITHM_UNAVAILABLE: SM2 is not available here' };
      const passed = verify('sm3', bytes, createPublicKey(row.public_key_pem!), signature);
      return { passed, reason: passed ? 'SM2/SM3 signature valid' : 'SM2/SM3 signature does not verify over the canonical trade data' };
    } catch (error) {
      return { passed: false, reason: `signature could not be verified: ${(error as Error).message}` };
    }
  }
}
