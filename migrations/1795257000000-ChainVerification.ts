import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How far the gateway has verified the ledger's chain (block data hashes, previous-hash links, orderer signatures,
 * the block and transaction indexes): the last verified block and its header hash, so each start and each
 * scheduled run continues from there (linking the next block to that hash) instead of reading the whole chain
 * again; and where the re-verification of already verified blocks (a bounded part per run) continues.
 */
export class ChainVerification1795257000000 implements MigrationInterface {
  name = 'ChainVerification1795257000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE chain_verification (
        name             varchar(64) PRIMARY KEY,
        verified_block   bigint NOT NULL CHECK (verified_block >= 0),
        verified_hash    char(64) NOT NULL,
        verified_at      timestamptz NOT NULL DEFAULT now(),
        sweep_next_block bigint NOT NULL DEFAULT 0 CHECK (sweep_next_block >= 0),
        swept_at         timestamptz
      )`);
    await queryRunner.query(
      `COMMENT ON TABLE chain_verification IS 'the last ledger block whose chain this gateway verified, and its header hash'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE chain_verification`);
  }
}
