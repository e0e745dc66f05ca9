import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The trade pipeline claims outbox rows in batches with a lease (owner instance, until) instead of holding a row
 * lock and a transaction across the ledger round trip. A lease of an instance that is gone (its liveness lock
 * released) or past its time can be taken over; hot keys of leased rows keep other trades on the same
 * buyer-month, seller-month or lot waiting, on every instance.
 */
export class TradeOutboxLeases1795253000000 implements MigrationInterface {
  name = 'TradeOutboxLeases1795253000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE trade_outbox ADD COLUMN lease_owner uuid, ADD COLUMN lease_until timestamptz`,
    );
    await queryRunner.query(
      `CREATE INDEX trade_outbox_leased ON trade_outbox (lease_owner) WHERE lease_owner IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX trade_outbox_leased`);
    await queryRunner.query(`ALTER TABLE trade_outbox DROP COLUMN lease_owner, DROP COLUMN lease_until`);
  }
}
