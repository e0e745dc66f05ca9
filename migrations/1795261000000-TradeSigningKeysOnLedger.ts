import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Check keys become trade-signing keys on the ledger (issue 15): the chaincode verifies the trading center's
 * signature itself. A key now names the trading center organisation (MSP id) it is registered under on the
 * ledger, and when it was published there; ECDSA P-256 keys join HMAC and SM2. Keys registered before this
 * migration have no `organisation`: they are not on the ledger, and trades signed with them are refused by the
 * chaincode until the key is registered again (the same request publishes it; see CheckKeysService.register).
 */
export class TradeSigningKeysOnLedger1795261000000 implements MigrationInterface {
  name = 'TradeSigningKeysOnLedger1795261000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE trading_center_check_keys
        DROP CONSTRAINT IF EXISTS trading_center_check_keys_alg_check,
        DROP CONSTRAINT IF EXISTS trading_center_check_keys_check,
        ALTER COLUMN alg TYPE varchar(32),
        ADD COLUMN organisation varchar(64),
        ADD COLUMN on_ledger_at timestamptz,
        ADD CONSTRAINT trading_center_check_keys_alg_check
          CHECK (alg IN ('hmac-sha256', 'sm2-sm3', 'ecdsa-p256-sha256')),
        ADD CONSTRAINT trading_center_check_keys_material_check
          CHECK ((alg = 'hmac-sha256' AND secret_encrypted IS NOT NULL)
              OR (alg IN ('sm2-sm3', 'ecdsa-p256-sha256') AND public_key_pem IS NOT NULL))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM trading_center_check_keys WHERE alg = 'ecdsa-p256-sha256'`);
    await queryRunner.query(`
      ALTER TABLE trading_center_check_keys
        DROP CONSTRAINT trading_center_check_keys_material_check,
        DROP CONSTRAINT trading_center_check_keys_alg_check,
        DROP COLUMN on_ledger_at,
        DROP COLUMN organisation,
        ALTER COLUMN alg TYPE varchar(16),
        ADD CONSTRAINT trading_center_check_keys_alg_check CHECK (alg IN ('hmac-sha256', 'sm2-sm3')),
        ADD CONSTRAINT trading_center_check_keys_check
          CHECK ((alg = 'hmac-sha256' AND secret_encrypted IS NOT NULL)
              OR (alg = 'sm2-sm3' AND public_key_pem IS NOT NULL))`);
  }
}
