import { MigrationInterface, QueryRunner } from 'typeorm';
import { MONTHLY_TOTALS_FROM_ROWS } from './1795260000000-Statistics';

const FINAL = `('REDEEMED', 'EXCHANGED', 'EXPIRED', 'WITHDRAWN')`;

/**
 * The monthly totals per participant counted from the projected rows, as the triggers count them: the backfill, and
 * what a test compares the trigger-kept table with. The participant of each measure is the statistics' own
 * (`gateway/src/statistics/certificate-statistics.ts`): the unit's owner for issued certificates; the seller for
 * traded ones (listing sales, vouchers' source lots; for a transfer, the owner of the lot a part was split off
 * from, or the lot's previous owner when it moved whole); the holder of final lots. Frozen here on purpose.
 */
export const PARTICIPANT_TOTALS_FROM_ROWS = `
      SELECT to_char(f.at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS month, coalesce(f.participant, '') AS participant,
             coalesce(u.province, '') AS province, coalesce(u.technology, '') AS technology, f.measure,
             sum(f.n) AS certificates
        FROM (
          SELECT i.issued_at AS at, i.id AS code, owner.owner AS participant, 'issued' AS measure, i.certificates AS n
            FROM issuances i LEFT JOIN units owner ON owner.id = i.unit_id
          UNION ALL
          SELECT sold_at, lot_id, seller, 'traded', volume FROM listing_sales
          UNION ALL
          SELECT v.issued_at, l.value->>'lotId', v.seller, 'traded', (l.value->>'volume')::bigint
            FROM vouchers v CROSS JOIN LATERAL jsonb_array_elements(v.doc->'sourceLots') l
          UNION ALL
          SELECT t.committed_at, t.lot_id, coalesce(parent.doc->>'owner', giver.owner), 'traded',
                 (t.doc->>'volume')::bigint
            FROM certificate_lot_versions t
            LEFT JOIN certificate_lot_versions parent
              ON t.doc->>'createdTxId' = t.tx_id AND parent.lot_id = t.doc->>'parentLotId' AND parent.tx_id = t.tx_id
            LEFT JOIN LATERAL (
              SELECT w.doc->>'owner' AS owner FROM certificate_lot_versions w
               WHERE w.lot_id = t.lot_id AND (w.block_number, w.tx_number) < (t.block_number, t.tx_number)
               ORDER BY w.block_number DESC, w.tx_number DESC LIMIT 1) giver ON t.doc->>'createdTxId' <> t.tx_id
           WHERE t.event_name = 'LotTransferred'
             AND (t.doc->>'createdTxId' = t.tx_id OR giver.owner IS DISTINCT FROM t.doc->>'owner')
          UNION ALL
          SELECT updated_at, project_code, owner, lower(status), volume FROM certificate_lots WHERE status IN ${FINAL}
        ) f LEFT JOIN units u ON u.project_code = left(f.code, 17)
       GROUP BY 1, 2, 3, 4, 5`;

/**
 * Monthly totals per participant, for the statistics grouped by participant (`groupBy=month,participant`).
 *
 * `certificate_statistics_monthly` (migration Statistics) answers whole months by province and technology from at
 * most 31 × 6 × 6 rows a month, but it keeps no participant, so a statistic by participant counted every event of
 * the range from the rows: with 1 M lots, half a million events a year, 7 to 10 s (bench:audit). This adds
 * `certificate_statistics_monthly_participant`: the same totals with the participant as well (month, participant,
 * province, technology, measure), kept the same way: triggers of their own on the same projected tables, in the
 * same transactions as the rows they count (each change takes the old row's part out and puts the new one's in),
 * so never stale; the backfill counts the rows already there. Its size grows with the participants active in a
 * month (a few tens of thousands of rows a month at the seeded scale), not with the lots.
 *
 * The participant of a transfer's split-off lot is the owner of the lot it was split from in the same
 * transaction: both versions are written by one statement, and row triggers run once that statement has written
 * all its rows, so the parent's version is there to read.
 *
 * `certificate_statistics_recount()` now recounts both tables (the seeding script calls it after a bulk load made
 * with the triggers off).
 */
export class StatisticsByParticipant1795265300000 implements MigrationInterface {
  name = 'StatisticsByParticipant1795265300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE certificate_statistics_monthly_participant (
        month        char(7) NOT NULL,
        participant  varchar(64) NOT NULL,
        province     varchar(6) NOT NULL,
        technology   varchar(16) NOT NULL,
        measure      varchar(16) NOT NULL
                     CHECK (measure IN ('issued', 'traded', 'redeemed', 'exchanged', 'expired', 'withdrawn')),
        certificates bigint NOT NULL,
        PRIMARY KEY (month, participant, province, technology, measure)
      )`);
    await queryRunner.query(
      `COMMENT ON TABLE certificate_statistics_monthly_participant IS 'certificates per Asia/Shanghai month, participant, province, technology and measure; kept by triggers on the projected tables in their own transactions'`,
    );
    await queryRunner.query(`
      CREATE FUNCTION certificate_participant_statistics_add(at timestamptz, measure text, code text,
                                                             participant text, n bigint) RETURNS void
      LANGUAGE sql AS $$
        INSERT INTO certificate_statistics_monthly_participant AS s
               (month, participant, province, technology, measure, certificates)
        SELECT to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), coalesce(participant, ''),
               coalesce(u.province, ''), coalesce(u.technology, ''), measure, n
          FROM (SELECT left(code, 17) AS project_code) c LEFT JOIN units u ON u.project_code = c.project_code
        ON CONFLICT (month, participant, province, technology, measure)
        DO UPDATE SET certificates = s.certificates + EXCLUDED.certificates
      $$`);

    await queryRunner.query(`
      CREATE FUNCTION certificate_participant_statistics_issuances() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP <> 'INSERT' THEN
          PERFORM certificate_participant_statistics_add(OLD.issued_at, 'issued', OLD.id,
            (SELECT owner FROM units WHERE id = OLD.unit_id), -OLD.certificates);
        END IF;
        IF TG_OP <> 'DELETE' THEN
          PERFORM certificate_participant_statistics_add(NEW.issued_at, 'issued', NEW.id,
            (SELECT owner FROM units WHERE id = NEW.unit_id), NEW.certificates);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION certificate_participant_statistics_sales() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP <> 'INSERT' THEN
          PERFORM certificate_participant_statistics_add(OLD.sold_at, 'traded', OLD.lot_id, OLD.seller, -OLD.volume);
        END IF;
        IF TG_OP <> 'DELETE' THEN
          PERFORM certificate_participant_statistics_add(NEW.sold_at, 'traded', NEW.lot_id, NEW.seller, NEW.volume);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION certificate_participant_statistics_vouchers() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE lot jsonb;
      BEGIN
        IF TG_OP <> 'INSERT' THEN
          FOR lot IN SELECT value FROM jsonb_array_elements(OLD.doc->'sourceLots') LOOP
            PERFORM certificate_participant_statistics_add(OLD.issued_at, 'traded', lot->>'lotId', OLD.seller,
              -(lot->>'volume')::bigint);
          END LOOP;
        END IF;
        IF TG_OP <> 'DELETE' THEN
          FOR lot IN SELECT value FROM jsonb_array_elements(NEW.doc->'sourceLots') LOOP
            PERFORM certificate_participant_statistics_add(NEW.issued_at, 'traded', lot->>'lotId', NEW.seller,
              (lot->>'volume')::bigint);
          END LOOP;
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION certificate_participant_statistics_transfers() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE seller text;
      BEGIN
        IF NEW.doc->>'createdTxId' IS DISTINCT FROM NEW.tx_id THEN
          SELECT w.doc->>'owner' INTO seller FROM certificate_lot_versions w
           WHERE w.lot_id = NEW.lot_id AND (w.block_number, w.tx_number) < (NEW.block_number, NEW.tx_number)
           ORDER BY w.block_number DESC, w.tx_number DESC LIMIT 1;
          IF seller IS NOT DISTINCT FROM NEW.doc->>'owner' THEN
            RETURN NULL; -- the lot a part was split off from: it stayed with its holder
          END IF;
        ELSE
          -- Split off and moved: sold by the holder of the lot it was split from, in the same transaction.
          SELECT p.doc->>'owner' INTO seller FROM certificate_lot_versions p
           WHERE p.lot_id = NEW.doc->>'parentLotId' AND p.tx_id = NEW.tx_id;
        END IF;
        PERFORM certificate_participant_statistics_add(NEW.committed_at, 'traded', NEW.lot_id, seller,
          (NEW.doc->>'volume')::bigint);
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION certificate_participant_statistics_lots() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP <> 'INSERT' AND OLD.status IN ${FINAL} THEN
          PERFORM certificate_participant_statistics_add(OLD.updated_at, lower(OLD.status), OLD.project_code,
            OLD.owner, -OLD.volume);
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.status IN ${FINAL} THEN
          PERFORM certificate_participant_statistics_add(NEW.updated_at, lower(NEW.status), NEW.project_code,
            NEW.owner, NEW.volume);
        END IF;
        RETURN NULL;
      END $$`);

    const triggers: Array<[table: string, fn: string, when: Record<'INSERT' | 'UPDATE' | 'DELETE', string>]> =
      [
        [
          'issuances',
          'certificate_participant_statistics_issuances',
          {
            INSERT: 'true',
            UPDATE:
              '(OLD.certificates, OLD.issued_at, OLD.unit_id) IS DISTINCT FROM (NEW.certificates, NEW.issued_at, NEW.unit_id)',
            DELETE: 'true',
          },
        ],
        [
          'listing_sales',
          'certificate_participant_statistics_sales',
          {
            INSERT: 'true',
            UPDATE:
              '(OLD.sold_at, OLD.lot_id, OLD.volume, OLD.seller) IS DISTINCT FROM (NEW.sold_at, NEW.lot_id, NEW.volume, NEW.seller)',
            DELETE: 'true',
          },
        ],
        [
          'vouchers',
          'certificate_participant_statistics_vouchers',
          {
            INSERT: 'true',
            UPDATE:
              "(OLD.issued_at, OLD.seller, OLD.doc->'sourceLots') IS DISTINCT FROM (NEW.issued_at, NEW.seller, NEW.doc->'sourceLots')",
            DELETE: 'true',
          },
        ],
        [
          'certificate_lots',
          'certificate_participant_statistics_lots',
          {
            INSERT: `NEW.status IN ${FINAL}`,
            UPDATE:
              `(OLD.status IN ${FINAL} OR NEW.status IN ${FINAL}) AND (OLD.status, OLD.volume, OLD.updated_at, ` +
              `OLD.project_code, OLD.owner) IS DISTINCT FROM (NEW.status, NEW.volume, NEW.updated_at, ` +
              `NEW.project_code, NEW.owner)`,
            DELETE: `OLD.status IN ${FINAL}`,
          },
        ],
      ];
    for (const [table, fn, when] of triggers) {
      for (const [op, condition] of Object.entries(when)) {
        await queryRunner.query(
          `CREATE TRIGGER certificate_participant_statistics_${op.toLowerCase()} AFTER ${op} ON ${table}
           FOR EACH ROW WHEN (${condition}) EXECUTE FUNCTION ${fn}()`,
        );
      }
    }
    await queryRunner.query(
      `CREATE TRIGGER certificate_participant_statistics_insert AFTER INSERT ON certificate_lot_versions
       FOR EACH ROW WHEN (NEW.event_name = 'LotTransferred')
       EXECUTE FUNCTION certificate_participant_statistics_transfers()`,
    );

    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION certificate_statistics_recount() RETURNS void LANGUAGE sql AS $$
        DELETE FROM certificate_statistics_monthly;
        INSERT INTO certificate_statistics_monthly (month, province, technology, measure, certificates)
        ${MONTHLY_TOTALS_FROM_ROWS};
        DELETE FROM certificate_statistics_monthly_participant;
        INSERT INTO certificate_statistics_monthly_participant
               (month, participant, province, technology, measure, certificates)
        ${PARTICIPANT_TOTALS_FROM_ROWS};
      $$`);
    await queryRunner.query(`
      INSERT INTO certificate_statistics_monthly_participant
             (month, participant, province, technology, measure, certificates)
      ${PARTICIPANT_TOTALS_FROM_ROWS}`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION certificate_statistics_recount() RETURNS void LANGUAGE sql AS $$
        DELETE FROM certificate_statistics_monthly;
        INSERT INTO certificate_statistics_monthly (month, province, technology, measure, certificates)
        ${MONTHLY_TOTALS_FROM_ROWS};
      $$`);
    for (const table of [
      'issuances',
      'listing_sales',
      'vouchers',
      'certificate_lots',
      'certificate_lot_versions',
    ]) {
      for (const op of ['insert', 'update', 'delete']) {
        await queryRunner.query(
          `DROP TRIGGER IF EXISTS certificate_participant_statistics_${op} ON ${table}`,
        );
      }
    }
    for (const fn of ['issuances', 'sales', 'vouchers', 'transfers', 'lots']) {
      await queryRunner.query(`DROP FUNCTION certificate_participant_statistics_${fn}()`);
    }
    await queryRunner.query(
      `DROP FUNCTION certificate_participant_statistics_add(timestamptz, text, text, text, bigint)`,
    );
    await queryRunner.query(`DROP TABLE certificate_statistics_monthly_participant`);
  }
}
