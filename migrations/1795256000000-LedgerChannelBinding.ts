import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The channel a database projects, named by its genesis block (the data hash in block 0's header, unique to the
 * channel's creation). A gateway started on a database that projects another channel (a re-created channel of
 * the same name, another network) refuses to start instead of serving rows the ledger does not hold.
 */
export class LedgerChannelBinding1795256000000 implements MigrationInterface {
  name = 'LedgerChannelBinding1795256000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE ledger_channel (
        name              varchar(64) PRIMARY KEY,
        genesis_data_hash char(64) NOT NULL,
        recorded_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `COMMENT ON TABLE ledger_channel IS 'the channel this database projects, by the data hash of its genesis block'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ledger_channel`);
  }
}
