import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Request signing of integrations (docs/api.md, "request signing").
 *
 * - `api_keys.require_signature`: whether state-changing requests of the key must carry `X-Gec-Signature`.
 *   Keys that exist before this migration keep working unsigned (false): an integration cannot sign before
 *   it has a signing key; rotate them to new keys (signed by default for trading-center and energy-platform).
 * - `api_key_signing_keys`: at most one key per algorithm and API key: the HMAC-SHA256 secret (encrypted with
 *   the secret box, AES-256-GCM, since HMAC needs the secret to verify) or the SM2 public key (PEM) and its
 *   distinguishing identifier.
 * - `api_key_nonces`: nonces seen per key while a request carrying them could still be accepted
 *   (`expires_at`); shared by every gateway instance on the database, pruned once expired.
 */
export class RequestSigning1795250000000 implements MigrationInterface {
  name = 'RequestSigning1795250000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE api_keys ADD COLUMN require_signature boolean NOT NULL DEFAULT false`,
    );
    await queryRunner.query(`
      CREATE TABLE api_key_signing_keys (
        api_key_id        uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
        alg               varchar(16) NOT NULL CHECK (alg IN ('hmac-sha256', 'sm2-sm3')),
        secret_encrypted  text,
        public_key_pem    text,
        sm2_id            varchar(64),
        created_at        timestamptz NOT NULL DEFAULT now(),
        created_by        uuid,
        PRIMARY KEY (api_key_id, alg),
        CHECK ((alg = 'hmac-sha256' AND secret_encrypted IS NOT NULL)
            OR (alg = 'sm2-sm3' AND public_key_pem IS NOT NULL))
      )`);
    await queryRunner.query(`
      CREATE TABLE api_key_nonces (
        api_key_id  uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
        nonce       varchar(128) NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        expires_at  timestamptz NOT NULL,
        PRIMARY KEY (api_key_id, nonce)
      )`);
    await queryRunner.query(`CREATE INDEX api_key_nonces_expires_at ON api_key_nonces (expires_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE api_key_nonces`);
    await queryRunner.query(`DROP TABLE api_key_signing_keys`);
    await queryRunner.query(`ALTER TABLE api_keys DROP COLUMN require_signature`);
  }
}
