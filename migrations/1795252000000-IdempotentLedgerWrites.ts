import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ledger writes behind an Idempotency-Key are recorded (txId and nonce) before they are submitted, and a request
 * in progress names the gateway instance running it: a retry after a crash resolves the recorded writes on the
 * ledger instead of executing them again, and takes over at once when that instance is gone.
 */
export class IdempotentLedgerWrites1795252000000 implements MigrationInterface {
  name = 'IdempotentLedgerWrites1795252000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE idempotency_keys ADD COLUMN ledger_writes jsonb NOT NULL DEFAULT '[]', ADD COLUMN owner uuid`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE idempotency_keys DROP COLUMN ledger_writes, DROP COLUMN owner`);
  }
}
