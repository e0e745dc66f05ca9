import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The regulator audit log: one row per request made with a regulator's API key (who: key id, role, whom it acts
 * for; what: method, path with query, operationId; when; result: status and problem code). Append-only in the
 * database itself: a trigger refuses every UPDATE, DELETE and TRUNCATE, whoever connects.
 */
export class RegulatorAuditLog1795259000000 implements MigrationInterface {
  name = 'RegulatorAuditLog1795259000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE regulator_audit_log (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        received_at  timestamptz NOT NULL,
        answered_at  timestamptz NOT NULL,
        request_id   varchar(128) NOT NULL,
        api_key_id   uuid NOT NULL,
        role         varchar(32) NOT NULL,
        acts_for     varchar(64),
        method       varchar(8) NOT NULL,
        path         text NOT NULL,
        operation_id varchar(128),
        status       integer NOT NULL CHECK (status BETWEEN 100 AND 599),
        problem_code varchar(64)
      )`);
    await queryRunner.query(
      `CREATE INDEX regulator_audit_log_received ON regulator_audit_log (received_at, id)`,
    );
    await queryRunner.query(`CREATE INDEX regulator_audit_log_key ON regulator_audit_log (api_key_id, id)`);
    await queryRunner.query(`
      CREATE FUNCTION regulator_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'regulator_audit_log is append-only: % refused', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER regulator_audit_log_no_change BEFORE UPDATE OR DELETE ON regulator_audit_log
      FOR EACH ROW EXECUTE FUNCTION regulator_audit_log_append_only()`);
    await queryRunner.query(`
      CREATE TRIGGER regulator_audit_log_no_truncate BEFORE TRUNCATE ON regulator_audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION regulator_audit_log_append_only()`);
    await queryRunner.query(
      `COMMENT ON TABLE regulator_audit_log IS 'every request of a regulator key: who, what, when, result; append-only (triggers refuse UPDATE, DELETE, TRUNCATE)'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE regulator_audit_log`);
    await queryRunner.query(`DROP FUNCTION regulator_audit_log_append_only()`);
  }
}
