import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A trading center's API key may carry the URL its trades' final states are POSTed to (issue 5: "optional
 * callback URL per trading center key"); a trade's own `callbackUrl` still takes precedence.
 */
export class KeyCallbackUrl1795251000000 implements MigrationInterface {
  name = 'KeyCallbackUrl1795251000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE api_keys ADD COLUMN callback_url varchar(2048)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE api_keys DROP COLUMN callback_url`);
  }
}
