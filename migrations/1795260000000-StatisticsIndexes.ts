import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes behind the regulator's statistics (`gateway/src/statistics/`), each shaped for one source of one
 * measure, read by time range:
 *
 * - `certificate_lots_final_at`: lots in a final state (REDEEMED, EXCHANGED, EXPIRED, WITHDRAWN) by the time they
 *   reached it (`updated_at`: a final lot never changes again), covering what the statistic reads, so redeemed,
 *   exchanged, expired and withdrawn certificates over a range are one index-only scan. Partial: live lots, which
 *   change all the time, are not in it.
 * - `issuances_issued_at`, `listing_sales_sold_at`, `vouchers_issued_at`: issuances, listing sales and trade
 *   attestations (the voucher is created by the attestation) by time.
 * - `certificate_lot_versions_transfers`: the lot versions written by transfers, by time (bilateral trades).
 * - `trades_rejected_at`: rejected trades by the time they were rejected.
 */
export class StatisticsIndexes1795260000000 implements MigrationInterface {
  name = 'StatisticsIndexes1795260000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX certificate_lots_final_at ON certificate_lots (updated_at)
         INCLUDE (status, project_code, owner, volume)
       WHERE status IN ('REDEEMED', 'EXCHANGED', 'EXPIRED', 'WITHDRAWN')`,
    );
    await queryRunner.query(
      `CREATE INDEX issuances_issued_at ON issuances (issued_at) INCLUDE (unit_id, certificates)`,
    );
    await queryRunner.query(
      `CREATE INDEX listing_sales_sold_at ON listing_sales (sold_at) INCLUDE (lot_id, seller, volume)`,
    );
    await queryRunner.query(`CREATE INDEX vouchers_issued_at ON vouchers (issued_at)`);
    await queryRunner.query(
      `CREATE INDEX certificate_lot_versions_transfers ON certificate_lot_versions (committed_at)
       WHERE event_name = 'LotTransferred'`,
    );
    await queryRunner.query(
      `CREATE INDEX trades_rejected_at ON trades (finished_at) WHERE state = 'REJECTED'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const index of [
      'trades_rejected_at',
      'certificate_lot_versions_transfers',
      'vouchers_issued_at',
      'listing_sales_sold_at',
      'issuances_issued_at',
      'certificate_lots_final_at',
    ]) {
      await queryRunner.query(`DROP INDEX ${index}`);
    }
  }
}
