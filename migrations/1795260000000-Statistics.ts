import { MigrationInterface, QueryRunner } from 'typeorm';

const FINAL = `('REDEEMED', 'EXCHANGED', 'EXPIRED', 'WITHDRAWN')`;

/**
 * The monthly totals counted from the projected rows, as the triggers count them: the backfill, and what a test
 * compares the trigger-kept table with. Frozen here on purpose: a migration keeps meaning what it meant when it ran.
 */
export const MONTHLY_TOTALS_FROM_ROWS = `
      SELECT to_char(f.at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS month, coalesce(u.province, '') AS province,
             coalesce(u.technology, '') AS technology, f.measure, sum(f.n) AS certificates
        FROM (
          SELECT issued_at AS at, id AS code, 'issued' AS measure, certificates AS n FROM issuances
          UNION ALL
          SELECT sold_at, lot_id, 'traded', volume FROM listing_sales
          UNION ALL
          SELECT v.issued_at, l.value->>'lotId', 'traded', (l.value->>'volume')::bigint
            FROM vouchers v CROSS JOIN LATERAL jsonb_array_elements(v.doc->'sourceLots') l
          UNION ALL
          SELECT t.committed_at, t.lot_id, 'traded', (t.doc->>'volume')::bigint
            FROM certificate_lot_versions t
            LEFT JOIN LATERAL (
              SELECT w.doc->>'owner' AS owner FROM certificate_lot_versions w
               WHERE w.lot_id = t.lot_id AND (w.block_number, w.tx_number) < (t.block_number, t.tx_number)
               ORDER BY w.block_number DESC, w.tx_number DESC LIMIT 1) giver ON true
           WHERE t.event_name = 'LotTransferred'
             AND (t.doc->>'createdTxId' = t.tx_id OR giver.owner IS DISTINCT FROM t.doc->>'owner')
          UNION ALL
          SELECT updated_at, project_code, lower(status), volume FROM certificate_lots WHERE status IN ${FINAL}
        ) f LEFT JOIN units u ON u.project_code = left(f.code, 17)
       GROUP BY 1, 2, 3, 4`;

/**
 * What the regulator's statistics (`gateway/src/statistics/`) read.
 *
 * **Monthly totals beside the projection** (as `meter_periods` keeps monthly totals beside the readings):
 * `certificate_statistics_monthly` holds, per Asia/Shanghai calendar month, province, technology and measure, the
 * certificates issued, traded, redeemed, exchanged, expired and withdrawn (province and technology are the
 * generation unit's, found by the project code every lot id and issuance id starts with; the chaincode fixes
 * both when the unit is registered and never changes them, and a unit is projected before anything it issues). Triggers on the projected tables keep it
 * in the same transaction as the rows it sums (each change subtracts the old row's part and adds the new one's),
 * so it is never stale and never differs from a count over those rows; the backfill below counts the rows already
 * there. A statistic over whole months reads these totals (at most 31 × 6 × 6 rows a month) instead of every event;
 * the part of a range that is not whole months, and groupings by participant, are counted from the rows.
 * What each measure counts (and its time):
 * - issued: `issuances` (issued_at), project code = the issuance id's first 17 characters;
 * - traded: `listing_sales` (sold_at), each source lot of a `vouchers` row (issued_at: the trade attestation), and
 *   `certificate_lot_versions` of transfers (committed_at): the lot the transfer created (split off and moved), or
 *   the whole lot when its owner changed;
 * - redeemed, exchanged, expired, withdrawn: `certificate_lots` in that final state (updated_at: when it got there;
 *   a final lot never changes again, and an action on part of a lot splits it, so the lot holds exactly those).
 * The triggers on `certificate_lots` fire only for rows in or leaving a final state, so the hot path of live lots
 * (splits, transfers, listings, custody) pays nothing.
 *
 * **Indexes** on each measure's time column, for the parts of a range counted from the rows:
 * `certificate_lots_final_at` (covering, partial to final lots), `issuances_issued_at`, `listing_sales_sold_at`,
 * `vouchers_issued_at`, `certificate_lot_versions_transfers`; and `trades_rejected_at` for rejected trades.
 */
export class Statistics1795260000000 implements MigrationInterface {
  name = 'Statistics1795260000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX certificate_lots_final_at ON certificate_lots (updated_at)
         INCLUDE (status, project_code, owner, volume) WHERE status IN ${FINAL}`,
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

    await queryRunner.query(`
      CREATE TABLE certificate_statistics_monthly (
        month        char(7) NOT NULL,
        province     varchar(6) NOT NULL,
        technology   varchar(16) NOT NULL,
        measure      varchar(16) NOT NULL
                     CHECK (measure IN ('issued', 'traded', 'redeemed', 'exchanged', 'expired', 'withdrawn')),
        certificates bigint NOT NULL,
        PRIMARY KEY (month, province, technology, measure)
      )`);
    await queryRunner.query(
      `COMMENT ON TABLE certificate_statistics_monthly IS 'certificates per Asia/Shanghai month, province, technology and measure; kept by triggers on the projected tables in their own transactions'`,
    );
    await queryRunner.query(`
      CREATE FUNCTION certificate_statistics_add(at timestamptz, measure text, code text, n bigint) RETURNS void
      LANGUAGE sql AS $$
        INSERT INTO certificate_statistics_monthly AS s (month, province, technology, measure, certificates)
        SELECT to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), coalesce(u.province, ''),
               coalesce(u.technology, ''), measure, n
          FROM (SELECT left(code, 17) AS project_code) c LEFT JOIN units u ON u.project_code = c.project_code
        ON CONFLICT (month, province, technology, measure)
        DO UPDATE SET certificates = s.certificates + EXCLUDED.certificates
      $$`);

    // One function per table: the old row's part out, the new row's part in.
    await queryRunner.query(`
      CREATE FUNCTION certificate_statistics_issuances() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP <> 'INSERT' THEN
          PERFORM certificate_statistics_add(OLD.issued_at, 'issued', OLD.id, -OLD.certificates);
        END IF;
        IF TG_OP <> 'DELETE' THEN
          PERFORM certificate_statistics_add(NEW.issued_at, 'issued', NEW.id, NEW.certificates);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION certificate_statistics_sales() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP <> 'INSERT' THEN
          PERFORM certificate_statistics_add(OLD.sold_at, 'traded', OLD.lot_id, -OLD.volume);
        END IF;
        IF TG_OP <> 'DELETE' THEN
          PERFORM certificate_statistics_add(NEW.sold_at, 'traded', NEW.lot_id, NEW.volume);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION certificate_statistics_vouchers() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE lot jsonb;
      BEGIN
        IF TG_OP <> 'INSERT' THEN
          FOR lot IN SELECT value FROM jsonb_array_elements(OLD.doc->'sourceLots') LOOP
            PERFORM certificate_statistics_add(OLD.issued_at, 'traded', lot->>'lotId', -(lot->>'volume')::bigint);
          END LOOP;
        END IF;
        IF TG_OP <> 'DELETE' THEN
          FOR lot IN SELECT value FROM jsonb_array_elements(NEW.doc->'sourceLots') LOOP
            PERFORM certificate_statistics_add(NEW.issued_at, 'traded', lot->>'lotId', (lot->>'volume')::bigint);
          END LOOP;
        END IF;
        RETURN NULL;
      END $$`);
    // Versions are only ever inserted (the projector's ON CONFLICT DO NOTHING): a transfer's moved lot counts.
    await queryRunner.query(`
      CREATE FUNCTION certificate_statistics_transfers() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE giver text;
      BEGIN
        IF NEW.doc->>'createdTxId' IS DISTINCT FROM NEW.tx_id THEN
          SELECT w.doc->>'owner' INTO giver FROM certificate_lot_versions w
           WHERE w.lot_id = NEW.lot_id AND (w.block_number, w.tx_number) < (NEW.block_number, NEW.tx_number)
           ORDER BY w.block_number DESC, w.tx_number DESC LIMIT 1;
          IF giver IS NOT DISTINCT FROM NEW.doc->>'owner' THEN
            RETURN NULL; -- the lot a part was split off from: it stayed with its holder
          END IF;
        END IF;
        PERFORM certificate_statistics_add(NEW.committed_at, 'traded', NEW.lot_id, (NEW.doc->>'volume')::bigint);
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION certificate_statistics_lots() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP <> 'INSERT' AND OLD.status IN ${FINAL} THEN
          PERFORM certificate_statistics_add(OLD.updated_at, lower(OLD.status), OLD.project_code, -OLD.volume);
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.status IN ${FINAL} THEN
          PERFORM certificate_statistics_add(NEW.updated_at, lower(NEW.status), NEW.project_code, NEW.volume);
        END IF;
        RETURN NULL;
      END $$`);

    const triggers: Array<[table: string, fn: string, when: Record<'INSERT' | 'UPDATE' | 'DELETE', string>]> =
      [
        [
          'issuances',
          'certificate_statistics_issuances',
          {
            INSERT: 'true',
            UPDATE:
              'OLD.certificates IS DISTINCT FROM NEW.certificates OR OLD.issued_at IS DISTINCT FROM NEW.issued_at',
            DELETE: 'true',
          },
        ],
        [
          'listing_sales',
          'certificate_statistics_sales',
          {
            INSERT: 'true',
            UPDATE:
              '(OLD.sold_at, OLD.lot_id, OLD.volume) IS DISTINCT FROM (NEW.sold_at, NEW.lot_id, NEW.volume)',
            DELETE: 'true',
          },
        ],
        [
          'vouchers',
          'certificate_statistics_vouchers',
          {
            INSERT: 'true',
            UPDATE:
              "OLD.issued_at IS DISTINCT FROM NEW.issued_at OR OLD.doc->'sourceLots' IS DISTINCT FROM NEW.doc->'sourceLots'",
            DELETE: 'true',
          },
        ],
        [
          'certificate_lots',
          'certificate_statistics_lots',
          {
            INSERT: `NEW.status IN ${FINAL}`,
            UPDATE:
              `(OLD.status IN ${FINAL} OR NEW.status IN ${FINAL}) AND (OLD.status, OLD.volume, OLD.updated_at, ` +
              `OLD.project_code) IS DISTINCT FROM (NEW.status, NEW.volume, NEW.updated_at, NEW.project_code)`,
            DELETE: `OLD.status IN ${FINAL}`,
          },
        ],
      ];
    for (const [table, fn, when] of triggers) {
      for (const [op, condition] of Object.entries(when)) {
        await queryRunner.query(
          `CREATE TRIGGER certificate_statistics_${op.toLowerCase()} AFTER ${op} ON ${table}
           FOR EACH ROW WHEN (${condition}) EXECUTE FUNCTION ${fn}()`,
        );
      }
    }
    await queryRunner.query(
      `CREATE TRIGGER certificate_statistics_insert AFTER INSERT ON certificate_lot_versions
       FOR EACH ROW WHEN (NEW.event_name = 'LotTransferred') EXECUTE FUNCTION certificate_statistics_transfers()`,
    );

    // Counts the monthly totals afresh from the rows: the backfill now, and after a bulk load made with the
    // triggers disabled (the seeding script), or whenever an operator wants them recounted.
    await queryRunner.query(`
      CREATE FUNCTION certificate_statistics_recount() RETURNS void LANGUAGE sql AS $$
        DELETE FROM certificate_statistics_monthly;
        INSERT INTO certificate_statistics_monthly (month, province, technology, measure, certificates)
        ${MONTHLY_TOTALS_FROM_ROWS};
      $$`);
    await queryRunner.query(`SELECT certificate_statistics_recount()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'issuances',
      'listing_sales',
      'vouchers',
      'certificate_lots',
      'certificate_lot_versions',
    ]) {
      for (const op of ['insert', 'update', 'delete']) {
        await queryRunner.query(`DROP TRIGGER IF EXISTS certificate_statistics_${op} ON ${table}`);
      }
    }
    for (const fn of ['issuances', 'sales', 'vouchers', 'transfers', 'lots']) {
      await queryRunner.query(`DROP FUNCTION certificate_statistics_${fn}()`);
    }
    await queryRunner.query(`DROP FUNCTION certificate_statistics_recount()`);
    await queryRunner.query(`DROP FUNCTION certificate_statistics_add(timestamptz, text, text, bigint)`);
    await queryRunner.query(`DROP TABLE certificate_statistics_monthly`);
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
