import { createPublicKey, timingSafeEqual } from 'node:crypto';
import { CREDENTIAL_CACHE_MS, ShortCache } from '../common/short-cache';
import { Inject, Injectable } from '@nestjs/common';
import { DEFAULT_IDENTITY } from '../auth/roles';
import { chaincodeRefusal } from '../common/ledger-errors';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { IdentityRef, LedgerPort } from '../ledger/port';
import { CONSORTIUM, gatewayIdentity } from '../organisation/consortium';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/config';
import { ProblemError } from '../common/problem';
import { CheckKeyDto, RegisterCheckKeyDto } from './check-keys.dto';
import { SecretBox } from './secret-box';
import { SM2_DEFAULT_ID, sm2PublicPoint } from './sm2';
import { SignatureKey, signatureVerifies } from './verify-signature';

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
  organisation: string | null;
  on_ledger_at: Date | null;
}

/** A trade-signing key as the ledger holds it (consortium:GetTradeSigningKey). */
interface LedgerKey {
  alg: string;
  status: string;
  publicKeyPem: string;
  sm2Id: string;
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
    organisation: row.on_ledger_at ? row.organisation : null,
    verifiedBy: row.alg === 'hmac-sha256' ? 'GATEWAY' : 'CHAINCODE',
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
 * Trading-center check keys (trade-signing keys) and the verification of check data: ECDSA P-256 or SM2 with
 * SM3 (public keys; the chaincode verifies every attested trade with them too, so they are registered on the
 * ledger by the trading center's own admin identity), or HMAC-SHA256 (for trials: the secret stored encrypted,
 * since HMAC needs it to verify; only the key id goes on the ledger, as the trading center's consent that this
 * gateway verifies it, and trades signed with it are marked as verified by the gateway only).
 */
@Injectable()
export class CheckKeysService {
  private readonly box: SecretBox;
  /** The identity this gateway reads the ledger with (its own organisation's client). */
  private readonly reader: IdentityRef;
  private readonly cache = new ShortCache<CheckKeyRow | undefined>(CREDENTIAL_CACHE_MS);
  /** The trading center organisation a key is registered under when the request names none. */
  private readonly tradingCenterOrganisation: string;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
  ) {
    this.box = SecretBox.open(config.dataDir);
    this.reader = gatewayIdentity(config.organisation);
    // A trading center's own gateway publishes its keys under its own organisation (a second trading center
    // that joined included); elsewhere the development consortium's trading center is the default.
    const own = config.organisation === 'all' ? undefined : CONSORTIUM[config.organisation];
    this.tradingCenterOrganisation =
      own?.role === 'TRADING_CENTER' ? own.mspId : DEFAULT_IDENTITY['trading-center'].mspId;
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
    let secret: Buffer | null = null;
    let publicKeyPem: string | null = null;
    if (body.alg === 'hmac-sha256') {
      if (!body.secret || body.publicKeyPem !== undefined || body.sm2Id !== undefined) {
        throw invalid('secret', 'hmac-sha256 needs secret (and neither publicKeyPem nor sm2Id)');
      }
      secret = checkKeySecretBytes(body.secret);
      if (secret.length < 32) throw invalid('secret', 'secret must be base64 of at least 32 bytes');
    } else {
      if (!body.publicKeyPem || body.secret !== undefined) {
        throw invalid('publicKeyPem', `${body.alg} needs publicKeyPem (and no secret)`);
      }
      if (body.alg === 'sm2-sm3' && !sm2PublicPoint(body.publicKeyPem)) {
        throw invalid('publicKeyPem', 'publicKeyPem must be an SM2 public key (SubjectPublicKeyInfo PEM)');
      }
      if (body.alg === 'ecdsa-p256-sha256') {
        if (body.sm2Id !== undefined) throw invalid('sm2Id', 'sm2Id is only for sm2-sm3 keys');
        if (!isP256(body.publicKeyPem)) {
          throw invalid(
            'publicKeyPem',
            'publicKeyPem must be an ECDSA P-256 public key (SubjectPublicKeyInfo PEM)',
          );
        }
      }
      publicKeyPem = `${body.publicKeyPem.trim().replace(/\r\n?/g, '\n')}\n`;
    }
    const sm2Id = body.alg === 'sm2-sm3' ? (body.sm2Id ?? SM2_DEFAULT_ID) : null;
    const organisation = body.organisation ?? this.tradingCenterOrganisation;

    const existing = await this.keyRow(tradingCenter, body.keyId, true);
    if (existing) {
      // The same key again: a retry (after a crash between the ledger and this table, or of a key registered
      // before keys went on the ledger) publishes it; anything else is a conflict.
      const same =
        existing.alg === body.alg &&
        (existing.organisation === null || existing.organisation === organisation) &&
        (secret
          ? existing.secret_encrypted !== null && sameBytes(this.box.open(existing.secret_encrypted), secret)
          : existing.public_key_pem?.trim() === publicKeyPem!.trim() && existing.sm2_id === sm2Id);
      if (!same || existing.on_ledger_at !== null) {
        throw new ProblemError(
          409,
          'CHECK_KEY_EXISTS',
          `trading center ${tradingCenter} already has a check key ${body.keyId}`,
        );
      }
    }
    await this.publish(organisation, body.keyId, body.alg, publicKeyPem, sm2Id);
    const rows = (await this.dataSource.query(
      `INSERT INTO trading_center_check_keys (trading_center, key_id, alg, secret_encrypted, public_key_pem, sm2_id,
         created_by, organisation, on_ledger_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
       ON CONFLICT (trading_center, key_id) DO UPDATE SET organisation = EXCLUDED.organisation, on_ledger_at = now()
         WHERE trading_center_check_keys.on_ledger_at IS NULL
       RETURNING *`,
      [
        tradingCenter,
        body.keyId,
        body.alg,
        secret ? this.box.seal(secret) : null,
        publicKeyPem,
        sm2Id,
        createdBy,
        organisation,
      ],
    )) as CheckKeyRow[];
    this.cache.delete(`${tradingCenter}\n${body.keyId}`);
    if (rows.length === 0) {
      throw new ProblemError(
        409,
        'CHECK_KEY_EXISTS',
        `trading center ${tradingCenter} already has a check key ${body.keyId}`,
      );
    }
    return toDto(rows[0]);
  }

  /**
   * Make sure the key is on the ledger. Already there (registered at the trading center's own gateway, or by an
   * earlier attempt that committed): it must be the same key, and nothing is submitted; this is how the
   * platform's gateway, which verifies trades but cannot sign as the trading center, takes the key (and an HMAC
   * trial key's secret, once the trading center consented on the ledger). Not there: registered with the trading
   * center organisation's own admin identity, which only its gateway (or the development consortium) holds.
   */
  private async publish(
    organisation: string,
    keyId: string,
    alg: string,
    publicKeyPem: string | null,
    sm2Id: string | null,
  ): Promise<void> {
    const onLedger = await this.ledgerKey(organisation, keyId);
    if (onLedger) {
      const same =
        onLedger.alg === alg &&
        onLedger.status === 'ACTIVE' &&
        onLedger.publicKeyPem.trim() === (publicKeyPem ?? '').trim() &&
        onLedger.sm2Id === (sm2Id ?? '');
      if (!same) {
        throw new ProblemError(
          409,
          'CHECK_KEY_EXISTS',
          `trading center organisation ${organisation} has another trade-signing key ${keyId} on the ledger ` +
            `(${onLedger.alg}, ${onLedger.status})`,
        );
      }
      return;
    }
    const request = { keyId, alg, ...(publicKeyPem ? { publicKeyPem } : {}), ...(sm2Id ? { sm2Id } : {}) };
    try {
      await this.ledger.submit({
        identity: { mspId: organisation, name: 'admin' },
        transaction: 'consortium:RegisterTradeSigningKey',
        args: [JSON.stringify(request)],
      });
    } catch (error) {
      if (error instanceof Error && error.name === 'IdentityNotHeldError') {
        throw new ProblemError(
          409,
          'CHECK_KEY_NOT_ON_LEDGER',
          `trade-signing key ${keyId} of ${organisation} is not on the ledger, and only ${organisation}'s own ` +
            `gateway can register it there: register it at that gateway first, then here`,
        );
      }
      throw error;
    }
  }

  /** The trade-signing key as the ledger holds it, or undefined. */
  private async ledgerKey(organisation: string, keyId: string): Promise<LedgerKey | undefined> {
    try {
      const bytes = await this.ledger.evaluate({
        identity: this.reader,
        transaction: 'consortium:GetTradeSigningKey',
        args: [JSON.stringify({ mspId: organisation, keyId })],
      });
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as LedgerKey;
    } catch (error) {
      if (chaincodeRefusal(error)?.code === 'TRADE_SIGNING_KEY_NOT_FOUND') return undefined;
      throw error;
    }
  }

  /** The trading center organisation a stored key is registered under on the ledger (null: not on it). */
  async organisationOf(tradingCenter: string, keyId: string): Promise<string | null> {
    const row = await this.keyRow(tradingCenter, keyId);
    return row?.on_ledger_at ? row.organisation : null;
  }

  async list(tradingCenter: string): Promise<CheckKeyDto[]> {
    const rows = (await this.dataSource.query(
      `SELECT * FROM trading_center_check_keys WHERE trading_center = $1 ORDER BY key_id`,
      [tradingCenter],
    )) as CheckKeyRow[];
    return rows.map(toDto);
  }

  /**
   * Revoke a check key: trades whose check data name it are rejected from now on, by this gateway's signature
   * check and by the chaincode (the key is REVOKED on the ledger; trades attested before keep their proof).
   */
  async revoke(tradingCenter: string, keyId: string): Promise<CheckKeyDto> {
    const row = await this.keyRow(tradingCenter, keyId, true);
    if (row?.on_ledger_at && row.organisation && !row.revoked_at) {
      try {
        await this.ledger.submit({
          identity: { mspId: row.organisation, name: 'admin' },
          transaction: 'consortium:EndTradeSigningKey',
          args: [
            JSON.stringify({
              keyId,
              reason: `revoked through the gateway for ${tradingCenter}`,
              revoked: true,
            }),
          ],
        });
      } catch (error) {
        // Already ended on the ledger (an earlier attempt committed), or this gateway cannot sign for the
        // trading center (the platform's gateway: it stops accepting the key here; the trading center's own
        // gateway revokes it on the ledger).
        const ended = chaincodeRefusal(error)?.code === 'TRADE_SIGNING_KEY_NOT_VALID';
        if (!ended && !(error instanceof Error && error.name === 'IdentityNotHeldError')) throw error;
      }
    }
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
  private keyRow(tradingCenter: string, keyId: string, fresh = false): Promise<CheckKeyRow | undefined> {
    const read = async () => {
      const rows = (await this.dataSource.query(
        `SELECT * FROM trading_center_check_keys WHERE trading_center = $1 AND key_id = $2`,
        [tradingCenter, keyId],
      )) as CheckKeyRow[];
      return rows[0];
    };
    return fresh ? read() : this.cache.get(`${tradingCenter}\n${keyId}`, read);
  }

  async verify(tradingCenter: string, checkData: CheckData, bytes: Buffer): Promise<SignatureVerdict> {
    const row = await this.keyRow(tradingCenter, checkData.keyId);
    if (!row) {
      return { passed: false, reason: `trading center ${tradingCenter} has no check key ${checkData.keyId}` };
    }
    if (row.revoked_at) return { passed: false, reason: `check key ${checkData.keyId} is revoked` };
    if (!row.on_ledger_at) {
      // The chaincode verifies against the ledger's copy: a key that is not there would be refused on chain.
      return {
        passed: false,
        reason: `check key ${checkData.keyId} is not registered on the ledger: register it again to publish it`,
      };
    }
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
          reason: passed
            ? 'HMAC-SHA256 matches (verified by this gateway only: the ledger cannot check an HMAC)'
            : 'HMAC-SHA256 does not match the canonical trade data',
        };
      }
      const name = row.alg === 'sm2-sm3' ? 'SM2/SM3' : 'ECDSA P-256';
      const key: SignatureKey =
        row.alg === 'sm2-sm3'
          ? { alg: 'sm2-sm3', publicKeyPem: row.public_key_pem!, sm2Id: row.sm2_id }
          : { alg: 'ecdsa-p256-sha256', publicKeyPem: row.public_key_pem! };
      const passed = signatureVerifies(key, bytes, signature);
      return {
        passed,
        reason: passed
          ? `${name} signature valid (verified again by the chaincode on every endorsing peer)`
          : `${name} signature does not verify over the canonical trade data`,
      };
    } catch (error) {
      return { passed: false, reason: `signature could not be verified: ${(error as Error).message}` };
    }
  }
}

function isP256(pem: string): boolean {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  } catch {
    return false;
  }
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
