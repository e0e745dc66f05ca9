import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read model of the certificate lifecycle, projected from the chaincode's events: generation units, meter
 * attestations (and every version), issuances, certificate lots (serial ranges, and every version of each lot),
 * listings and their sales, redemptions and exchanges (and the serial ranges they consumed).
 *
 * Each table keeps the columns the API filters and sorts on, plus `doc`: the object exactly as the ledger holds
 * it (events carry full objects), so an answer from the projection is the ledger's object. Volumes (certificate
 * counts, fen) are bigint; energy in Wh is numeric (exact).
 */
export class CertificateLifecycle1763720000000 implements MigrationInterface {
  name = 'CertificateLifecycle1763720000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE units (
        id            varchar(64) PRIMARY KEY,
        owner         varchar(64) NOT NULL,
        project_code  char(17) NOT NULL UNIQUE,
        technology    varchar(16) NOT NULL,
        province      char(6) NOT NULL,
        status        varchar(16) NOT NULL,
        updated_at    timestamptz NOT NULL,
        updated_tx_id varchar(64) NOT NULL,
        block_number  bigint NOT NULL,
        doc           jsonb NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX units_owner_id ON units (owner, id)`);
    await queryRunner.query(`CREATE INDEX units_status_id ON units (status, id)`);

    await queryRunner.query(`
      CREATE TABLE ledger_meter_attestations (
        meter_id     varchar(64) NOT NULL,
        period       char(7) NOT NULL,
        version      integer NOT NULL,
        total_wh     numeric(30, 0) NOT NULL,
        attested_at  timestamptz NOT NULL,
        tx_id        varchar(64) NOT NULL,
        block_number bigint NOT NULL,
        doc          jsonb NOT NULL,
        PRIMARY KEY (meter_id, period)
      )`);
    await queryRunner.query(
      `CREATE INDEX ledger_meter_attestations_period ON ledger_meter_attestations (period, meter_id)`,
    );
    await queryRunner.query(`
      CREATE TABLE ledger_meter_attestation_versions (
        meter_id        varchar(64) NOT NULL,
        period          char(7) NOT NULL,
        version         integer NOT NULL,
        total_wh        numeric(30, 0) NOT NULL,
        digest          char(64) NOT NULL,
        reason          text NOT NULL,
        attested_at     timestamptz NOT NULL,
        attested_by_msp varchar(64) NOT NULL,
        tx_id           varchar(64) NOT NULL,
        block_number    bigint,
        PRIMARY KEY (meter_id, period, version)
      )`);

    await queryRunner.query(`
      CREATE TABLE issuances (
        id               varchar(32) PRIMARY KEY,
        unit_id          varchar(64) NOT NULL,
        production_month char(7) NOT NULL,
        certificates     bigint NOT NULL,
        lot_id           varchar(32) NOT NULL,
        issued_at        timestamptz NOT NULL,
        updated_at       timestamptz NOT NULL,
        updated_tx_id    varchar(64) NOT NULL,
        block_number     bigint NOT NULL,
        doc              jsonb NOT NULL,
        UNIQUE (unit_id, production_month)
      )`);
    await queryRunner.query(`CREATE INDEX issuances_month_unit ON issuances (production_month, unit_id)`);

    await queryRunner.query(`
      CREATE TABLE certificate_lots (
        id                 char(32) PRIMARY KEY,
        project_code       char(17) NOT NULL,
        production_month   char(7) NOT NULL,
        sequence_start     integer NOT NULL,
        sequence_end       integer NOT NULL CHECK (sequence_end >= sequence_start),
        volume             bigint NOT NULL CHECK (volume > 0),
        unit_id            varchar(64) NOT NULL,
        owner              varchar(64) NOT NULL,
        status             varchar(16) NOT NULL,
        expires_at         timestamptz NOT NULL,
        parent_lot_id      varchar(32) NOT NULL,
        updated_at         timestamptz NOT NULL,
        updated_tx_id      varchar(64) NOT NULL,
        block_number       bigint NOT NULL,
        doc                jsonb NOT NULL
      )`);
    await queryRunner.query(
      `COMMENT ON INDEX certificate_lots_pkey IS 'lot id = the first serial of the lot when it was created'`,
    );
    // "Which lot holds serial S": the first lot of S's unit code and month whose range ends at or after S.
    await queryRunner.query(
      `CREATE INDEX certificate_lots_serial ON certificate_lots (project_code, production_month, sequence_end)`,
    );
    await queryRunner.query(`CREATE INDEX certificate_lots_owner ON certificate_lots (owner, status, id)`);
    await queryRunner.query(
      `CREATE INDEX certificate_lots_unit ON certificate_lots (unit_id, production_month, id)`,
    );
    await queryRunner.query(`CREATE INDEX certificate_lots_status ON certificate_lots (status, id)`);
    await queryRunner.query(`CREATE INDEX certificate_lots_month ON certificate_lots (production_month, id)`);
    await queryRunner.query(
      `CREATE INDEX certificate_lots_live_expiry ON certificate_lots (expires_at)
       WHERE status IN ('ACTIVE', 'LISTED')`,
    );
    await queryRunner.query(`
      CREATE TABLE certificate_lot_versions (
        lot_id       char(32) NOT NULL,
        tx_id        varchar(64) NOT NULL,
        block_number bigint NOT NULL,
        tx_number    integer NOT NULL,
        event_name   varchar(128) NOT NULL,
        committed_at timestamptz NOT NULL,
        doc          jsonb NOT NULL,
        PRIMARY KEY (lot_id, tx_id)
      )`);
    await queryRunner.query(
      `CREATE INDEX certificate_lot_versions_order ON certificate_lot_versions (lot_id, block_number, tx_number)`,
    );

    await queryRunner.query(`
      CREATE TABLE listings (
        id             varchar(64) PRIMARY KEY,
        lot_id         char(32) NOT NULL,
        seller         varchar(64) NOT NULL,
        status         varchar(16) NOT NULL,
        volume         bigint NOT NULL,
        sold_volume    bigint NOT NULL,
        unit_price_fen bigint NOT NULL,
        listed_at      timestamptz NOT NULL,
        updated_at     timestamptz NOT NULL,
        updated_tx_id  varchar(64) NOT NULL,
        block_number   bigint NOT NULL,
        doc            jsonb NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX listings_status_id ON listings (status, id)`);
    await queryRunner.query(`CREATE INDEX listings_seller_id ON listings (seller, id)`);
    await queryRunner.query(`
      CREATE TABLE listing_sales (
        tx_id          varchar(64) PRIMARY KEY,
        listing_id     varchar(64) NOT NULL,
        lot_id         char(32) NOT NULL,
        seller         varchar(64) NOT NULL,
        buyer          varchar(64) NOT NULL,
        volume         bigint NOT NULL,
        unit_price_fen bigint NOT NULL,
        amount_fen     bigint NOT NULL,
        sold_at        timestamptz NOT NULL,
        block_number   bigint NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX listing_sales_listing ON listing_sales (listing_id, sold_at)`);

    for (const kind of ['redemption', 'exchange']) {
      await queryRunner.query(`
        CREATE TABLE ${kind}s (
          id           varchar(64) PRIMARY KEY,
          owner        varchar(64) NOT NULL,
          volume       bigint NOT NULL,
          consumed_at  timestamptz NOT NULL,
          tx_id        varchar(64) NOT NULL,
          block_number bigint NOT NULL,
          doc          jsonb NOT NULL
        )`);
      await queryRunner.query(`CREATE INDEX ${kind}s_owner_id ON ${kind}s (owner, id)`);
      await queryRunner.query(`
        CREATE TABLE ${kind}_ranges (
          ${kind}_id   varchar(64) NOT NULL REFERENCES ${kind}s (id),
          lot_id       char(32) NOT NULL,
          serial_start char(32) NOT NULL,
          serial_end   char(32) NOT NULL,
          volume       bigint NOT NULL,
          PRIMARY KEY (${kind}_id, lot_id)
        )`);
      await queryRunner.query(`CREATE INDEX ${kind}_ranges_lot ON ${kind}_ranges (lot_id)`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'exchange_ranges',
      'exchanges',
      'redemption_ranges',
      'redemptions',
      'listing_sales',
      'listings',
      'certificate_lot_versions',
      'certificate_lots',
      'issuances',
      'ledger_meter_attestation_versions',
      'ledger_meter_attestations',
      'units',
    ]) {
      await queryRunner.query(`DROP TABLE ${table}`);
    }
  }
}
