import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first schema: API keys, the participant projection, the event-projection checkpoint and log, and
 * idempotency records.
 */
export class InitialSchema1763712000000 implements MigrationInterface {
  name = 'InitialSchema1763712000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE api_keys (
        id            uuid PRIMARY KEY,
        label         varchar(200) NOT NULL,
        role          varchar(32) NOT NULL
                      CHECK (role IN ('admin', 'trading-center', 'energy-platform', 'regulator')),
        acts_for      varchar(64) NOT NULL,
        msp_id        varchar(64) NOT NULL,
        identity_name varchar(64) NOT NULL,
        key_hash      char(64) NOT NULL UNIQUE,
        key_prefix    varchar(16) NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        created_by    uuid REFERENCES api_keys (id),
        revoked_at    timestamptz,
        revoked_by    uuid REFERENCES api_keys (id)
      )`);
    await queryRunner.query(
      `COMMENT ON COLUMN api_keys.key_hash IS 'hex SHA-256 of the key; the key itself is never stored'`,
    );

    await queryRunner.query(`
      CREATE TABLE participants (
        id                varchar(64) PRIMARY KEY,
        kind              varchar(32) NOT NULL,
        name              text NOT NULL,
        region            varchar(6) NOT NULL,
        status            varchar(16) NOT NULL,
        status_reason     text,
        registered_by_msp varchar(64) NOT NULL,
        registered_by     text NOT NULL,
        registered_at     timestamptz NOT NULL,
        registered_tx_id  varchar(64) NOT NULL,
        updated_at        timestamptz NOT NULL,
        updated_tx_id     varchar(64) NOT NULL,
        block_number      bigint NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX participants_kind_id ON participants (kind, id)`);
    await queryRunner.query(`CREATE INDEX participants_status_id ON participants (status, id)`);

    await queryRunner.query(`
      CREATE TABLE ledger_checkpoints (
        name         varchar(64) PRIMARY KEY,
        block_number bigint NOT NULL,
        tx_id        varchar(64) NOT NULL,
        updated_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE projected_events (
        tx_id        varchar(64) PRIMARY KEY,
        block_number bigint NOT NULL,
        tx_number    integer NOT NULL,
        event_name   varchar(128) NOT NULL,
        outcome      varchar(16) NOT NULL CHECK (outcome IN ('APPLIED', 'IGNORED', 'MALFORMED')),
        projected_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX projected_events_block ON projected_events (block_number, tx_number)`,
    );

    await queryRunner.query(`
      CREATE TABLE idempotency_keys (
        api_key_id   uuid NOT NULL REFERENCES api_keys (id),
        key          varchar(255) NOT NULL,
        method       varchar(8) NOT NULL,
        path         text NOT NULL,
        request_hash char(64) NOT NULL,
        state        varchar(16) NOT NULL CHECK (state IN ('IN_PROGRESS', 'COMPLETED')),
        status_code  integer,
        response     jsonb,
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (api_key_id, key)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE idempotency_keys`);
    await queryRunner.query(`DROP TABLE projected_events`);
    await queryRunner.query(`DROP TABLE ledger_checkpoints`);
    await queryRunner.query(`DROP TABLE participants`);
    await queryRunner.query(`DROP TABLE api_keys`);
  }
}
