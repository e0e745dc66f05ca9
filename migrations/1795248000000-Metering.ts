import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Meter data from the energy internet platform.
 *
 * - `meters`: the registry (GENERATION meters of a unit, CONSUMPTION meters of a consumer), with the interval
 *   grid of each meter.
 * - `meter_readings`: the CURRENT value of every interval, in integer Wh, PARTITIONED BY RANGE (interval_start)
 *   with one partition per Asia/Shanghai calendar month (= one metering period, so closing, completeness and
 *   Merkle roots read a single partition, and old months can be detached or archived whole). Partitions are
 *   created by the gateway, on demand and ahead of time, with `meter_readings_ensure_partition(month)`
 *   (idempotent, serialised by an advisory lock). Primary key (meter_id, interval_start): every hot read
 *   (idempotency check, completeness, totals, Merkle root, trade verification) is a PK range scan of current
 *   values, without a "latest version" sub-query. BRIN on interval_start for time-range scans across meters
 *   (readings arrive roughly in time order, so the BRIN stays tight and costs almost nothing to maintain).
 * - `meter_reading_versions`: superseded values (a correction moves the old row here before replacing it).
 *   Corrections are rare, so this table is small and unpartitioned; PK (meter_id, interval_start, version).
 * - `meter_periods`: the monthly totals beside the readings (total Wh and number of intervals, maintained in
 *   the same transaction as the readings), the period's status (OPEN, CLOSED) and attestation version. Its row
 *   is also the lock that serialises ingestion into a period with the closing of that period.
 * - `meter_attestations`: every attestation version committed on the ledger, with its proof.
 */
export class Metering1795248000000 implements MigrationInterface {
  name = 'Metering1795248000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE meters (
        id               varchar(64) PRIMARY KEY,
        kind             varchar(16) NOT NULL CHECK (kind IN ('GENERATION', 'CONSUMPTION')),
        owner            varchar(64) NOT NULL,
        unit_id          varchar(64),
        interval_minutes smallint NOT NULL DEFAULT 15
                         CHECK (interval_minutes IN (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)),
        registered_at    timestamptz NOT NULL DEFAULT now(),
        registered_by    uuid REFERENCES api_keys (id),
        CHECK ((kind = 'GENERATION' AND unit_id IS NOT NULL) OR (kind = 'CONSUMPTION' AND unit_id IS NULL))
      )`);
    await queryRunner.query(`CREATE INDEX meters_owner ON meters (owner, id)`);
    await queryRunner.query(`CREATE INDEX meters_unit ON meters (unit_id, id) WHERE unit_id IS NOT NULL`);

    await queryRunner.query(`
      CREATE TABLE meter_readings (
        meter_id       varchar(64) NOT NULL,
        interval_start timestamptz NOT NULL,
        wh             bigint NOT NULL CHECK (wh >= 0),
        version        integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        reason         text,
        received_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (meter_id, interval_start)
      ) PARTITION BY RANGE (interval_start)`);
    await queryRunner.query(
      `CREATE INDEX meter_readings_interval_start_brin ON meter_readings USING brin (interval_start)`,
    );
    await queryRunner.query(
      `COMMENT ON TABLE meter_readings IS 'current interval readings in Wh; one partition per Asia/Shanghai month'`,
    );

    // Creates the partition of `month` (the first day of an Asia/Shanghai calendar month) unless it exists.
    // The advisory lock makes concurrent calls from several gateways safe; the check before it keeps the
    // common case (partition exists) lock-free.
    await queryRunner.query(`
      CREATE FUNCTION meter_readings_ensure_partition(month date) RETURNS text
      LANGUAGE plpgsql AS $$
      DECLARE
        part_name text := 'meter_readings_' || to_char(month, 'YYYYMM');
        from_ts timestamptz := (date_trunc('month', month)::timestamp AT TIME ZONE INTERVAL '+08:00');
        to_ts timestamptz := ((date_trunc('month', month) + INTERVAL '1 month')::timestamp
                              AT TIME ZONE INTERVAL '+08:00');
      BEGIN
        IF to_regclass(part_name) IS NOT NULL THEN
          RETURN part_name;
        END IF;
        PERFORM pg_advisory_xact_lock(hashtext('meter_readings_ensure_partition'));
        IF to_regclass(part_name) IS NULL THEN
          EXECUTE format('CREATE TABLE %I PARTITION OF meter_readings FOR VALUES FROM (%L) TO (%L)',
                         part_name, from_ts, to_ts);
        END IF;
        RETURN part_name;
      END $$`);

    await queryRunner.query(`
      CREATE TABLE meter_reading_versions (
        meter_id       varchar(64) NOT NULL,
        interval_start timestamptz NOT NULL,
        version        integer NOT NULL,
        wh             bigint NOT NULL,
        reason         text,
        received_at    timestamptz NOT NULL,
        superseded_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (meter_id, interval_start, version)
      )`);

    await queryRunner.query(`
      CREATE TABLE meter_periods (
        meter_id           varchar(64) NOT NULL REFERENCES meters (id),
        period             char(7) NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
        total_wh           bigint NOT NULL DEFAULT 0,
        reading_count      integer NOT NULL DEFAULT 0,
        status             varchar(8) NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'CLOSED')),
        attested_version   integer NOT NULL DEFAULT 0,
        correction_reason  text,
        updated_at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (meter_id, period)
      )`);
    await queryRunner.query(
      `COMMENT ON TABLE meter_periods IS 'monthly totals of the current readings, status and attestation version'`,
    );

    await queryRunner.query(`
      CREATE TABLE meter_attestations (
        meter_id        varchar(64) NOT NULL REFERENCES meters (id),
        period          char(7) NOT NULL,
        version         integer NOT NULL,
        total_wh        bigint NOT NULL,
        reading_count   integer NOT NULL,
        digest          char(64) NOT NULL,
        reason          text,
        tx_id           varchar(64) NOT NULL,
        block_number    bigint NOT NULL,
        validation_code varchar(32) NOT NULL,
        committed_at    timestamptz NOT NULL,
        closed_by       uuid REFERENCES api_keys (id),
        PRIMARY KEY (meter_id, period, version)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE meter_attestations`);
    await queryRunner.query(`DROP TABLE meter_periods`);
    await queryRunner.query(`DROP TABLE meter_reading_versions`);
    await queryRunner.query(`DROP FUNCTION meter_readings_ensure_partition(date)`);
    await queryRunner.query(`DROP TABLE meter_readings`);
    await queryRunner.query(`DROP TABLE meters`);
  }
}
