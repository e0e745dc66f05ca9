import { CREDENTIAL_CACHE_MS, ShortCache } from '../common/short-cache';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/config';
import { ProblemError } from '../common/problem';
import { CheckKeyDto, RegisterCheckKeyDto } from './check-keys.dto';
import { SecretBox } from './secret-box';
import { SM2_DEFAULT_ID, sm2PublicPoint } from './sm2';
import { signatureVerifies } from './verify-signature';

/** The HMAC-SHA256 key of an hmac-sha256 check key: the base64-DECODED bytes of the secret, not its text. */
export function checkKeySecretBytes(secretBase64: string): Buffer {
  return Buffer.from(secretBase64, 'base64');
}

interface CheckKeyRow {
  trading_center: string;
  key_id: string;
  alg: string;
  secret_encrypted: string | null;
  public_key_pem: string | null;
  sm2_id: string | null;
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

function invalid(field: string, message: string): ProblemError {
  return new ProblemError(400, 'VALIDATION_FAILED', `the request is invalid: ${field}`, {
    errors: [{ field, message }],
  });
}

/**
 * Trading-center check keys and the verification of check data: HMAC-SHA256 (node:crypto; the secret stored
 * encrypted, since HMAC needs it to verify) or SM2 with SM3 (public key; verified by `sm2.ts`, because Node's
 * OpenSSL cannot verify SM2 with an imported public key).
 */
@Injectable()
export class CheckKeysService {
  private readonly box: SecretBox;
  private readonly cache = new ShortCache<CheckKeyRow | undefined>(CREDENTIAL_CACHE_MS);

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
      if (!body.secret || body.publicKeyPem !== undefined || body.sm2Id !== undefined) {
        throw invalid('secret', 'hmac-sha256 needs secret (and neither publicKeyPem nor sm2Id)');
      }
      const secret = checkKeySecretBytes(body.secret);
      if (secret.length < 32) throw invalid('secret', 'secret must be base64 of at least 32 bytes');
      secretEncrypted = this.box.seal(secret);
    } else {
      if (!body.publicKeyPem || body.secret !== undefined) {
        throw invalid('publicKeyPem', 'sm2-sm3 needs publicKeyPem (and no secret)');
      }
      if (!sm2PublicPoint(body.publicKeyPem)) {
        throw invalid('publicKeyPem', 'publicKeyPem must be an SM2 public key (SubjectPublicKeyInfo PEM)');
      }
      publicKeyPem = body.publicKeyPem.trim();
    }
    const inserted = (await this.dataSource.query(
      `INSERT INTO trading_center_check_keys (trading_center, key_id, alg, secret_encrypted, public_key_pem, sm2_id,
         created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING *`,
      [
        tradingCenter,
        body.keyId,
        body.alg,
        secretEncrypted,
        publicKeyPem,
        body.alg === 'sm2-sm3' ? (body.sm2Id ?? SM2_DEFAULT_ID) : null,
        createdBy,
      ],
    )) as CheckKeyRow[];
    this.cache.delete(`${tradingCenter}\n${body.keyId}`);
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

  /** Revoke a check key: trades whose check data name it are rejected from now on (signature check). */
  async revoke(tradingCenter: string, keyId: string): Promise<CheckKeyDto> {
    const rows = (await this.dataSource.query(
      `UPDATE trading_center_check_keys SET revoked_at = coalesce(revoked_at, now())
       WHERE trading_center = $1 AND key_id = $2 RETURNING *`,
      [tradingCenter, keyId],
    )) as [CheckKeyRow[], number];
    this.cache.delete(`${tradingCenter}\n${keyId}`);
    if (rows[0].length === 0) {
      throw new ProblemError(
        404,
        'CHECK_KEY_NOT_FOUND',
        `trading center ${tradingCenter} has no check key ${keyId}`,
      );
    }
    return toDto(rows[0][0]);
  }

  /** Verify `checkData.signature` over `bytes` with the trading center's key `checkData.keyId`. */
  /**
   * The stored key, read at most once a second per key: the trade pipeline verifies hundreds of trades a second
   * with a few keys. A key revoked or replaced on any instance is refused here within a second; on this
   * instance at once (`register` and `revoke` drop the entry).
   */
  private keyRow(tradingCenter: string, keyId: string): Promise<CheckKeyRow | undefined> {
    return this.cache.get(`${tradingCenter}\n${keyId}`, async () => {
      const rows = (await this.dataSource.query(
        `SELECT * FROM trading_center_check_keys WHERE trading_center = $1 AND key_id = $2`,
        [tradingCenter, keyId],
      )) as CheckKeyRow[];
      return rows[0];
    });
  }

  async verify(tradingCenter: string, checkData: CheckData, bytes: Buffer): Promise<SignatureVerdict> {
    const row = await this.keyRow(tradingCenter, checkData.keyId);
    if (!row) {
      return { passed: false, reason: `trading center ${tradingCenter} has no check key ${checkData.keyId}` };
    }
    if (row.revoked_at) return { passed: false, reason: `check key ${checkData.keyId} is revoked` };
    if (row.alg !== checkData.alg) {
      return {
        passed: false,
        reason: `check key ${checkData.keyId} is ${row.alg}, the check data says ${checkData.alg}`,
      };
    }
    const signature = Buffer.from(checkData.signature, 'base64');
    if (signature.length === 0) return { passed: false, reason: 'the signature is empty or not base64' };
    try {
      if (row.alg === 'hmac-sha256') {
        const secret = this.box.open(row.secret_encrypted!);
        const passed = signatureVerifies({ alg: 'hmac-sha256', secret }, bytes, signature);
        return {
          passed,
          reason: passed ? 'HMAC-SHA256 matches' : 'HMAC-SHA256 does not match the canonical trade data',
        };
      }
      const passed = signatureVerifies(
        { alg: 'sm2-sm3', publicKeyPem: row.public_key_pem!, sm2Id: row.sm2_id },
        bytes,
        signature,
      );
      return {
        passed,
        reason: passed
          ? 'SM2/SM3 signature valid'
          : 'SM2/SM3 signature does not verify over the canonical trade data',
      };
    } catch (error) {
      return { passed: false, reason: `signature could not be verified: ${(error as Error).message}` };
    }
  }
}
