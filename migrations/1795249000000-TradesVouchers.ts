import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Trades from the power trading center, their verification (存证校验) and commit, and the vouchers (绿电凭证).
 *
 * - `trading_center_check_keys`: the keys a trading center signs its check data with. HMAC secrets are kept
 *   encrypted (AES-256-GCM under GEC_SECRET_KEY, or the key file in the data folder), SM2 keys as public PEM.
 * - `trades`: one row per trade, written at once when the trading center posts it. It is the durable record
 *   of the request (trade JSON, canonical hash, check data, idempotency key, body hash), of the state
 *   (RECEIVED → VERIFYING → REJECTED | COMMITTING → COMMITTED), of every check with its inputs and result, and
 *   of the ledger transaction (the txId is stored BEFORE the transaction is submitted).
 * - `trade_outbox`: the work still to do. A worker claims a row with `SELECT … FOR UPDATE SKIP LOCKED` and
 *   keeps that row lock (its transaction open) while it works on the trade, so two gateways on one database
 *   never work on the same trade; a worker that dies loses its connection and the lock goes with it. The row
 *   is deleted when the trade reaches a final state. `hot_keys` (buyer-month, seller-month) are taken as
 *   transaction-scoped advisory locks by the claimer, so trades on one hot key go one at a time in claim order.
 * - `trade_transactions`: every transaction id prepared for a trade, by which gateway instance, and what became of
 *   it (audit of retries and of the work sharing between instances).
 * - `vouchers`: the read model of the custody contract, projected from TradeAttested / Voucher* events.
 */
export class TradesVouchers1795249000000 implements MigrationInterface {
  name = 'TradesVouchers1795249000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE trading_center_check_keys (
        trading_center    varchar(64) NOT NULL,
        key_id            varchar(64) NOT NULL,
        alg               varchar(16) NOT NULL CHECK (alg IN ('hmac-sha256', 'sm2-sm3')),
        secret_encrypted  text,
        public_key_pem    text,
        sm2_id            varchar(64),
        created_at        timestamptz NOT NULL DEFAULT now(),
        created_by        uuid,
        revoked_at        timestamptz,
        PRIMARY KEY (trading_center, key_id),
        CHECK ((alg = 'hmac-sha256' AND secret_encrypted IS NOT NULL)
            OR (alg = 'sm2-sm3' AND public_key_pem IS NOT NULL))
      )`);

    await queryRunner.query(`
      CREATE TABLE trades (
        trade_id              varchar(64) PRIMARY KEY,
        trading_center        varchar(64) NOT NULL,
        api_key_id            uuid NOT NULL,
        idempotency_key       varchar(255) NOT NULL,
        request_hash          char(64) NOT NULL,
        msp_id                varchar(64) NOT NULL,
        identity_name         varchar(128) NOT NULL,
        state                 varchar(16) NOT NULL
                              CHECK (state IN ('RECEIVED', 'VERIFYING', 'REJECTED', 'COMMITTING', 'COMMITTED')),
        kind                  varchar(16) NOT NULL,
        seller                varchar(64) NOT NULL,
        buyer                 varchar(64) NOT NULL,
        volume_kwh            bigint NOT NULL,
        delivery_start        timestamptz NOT NULL,
        delivery_end          timestamptz NOT NULL,
        trade                 jsonb NOT NULL,
        trade_data_hash       char(64) NOT NULL,
        check_data            jsonb NOT NULL,
        check_data_hash       char(64) NOT NULL,
        callback_url          text,
        checks                jsonb NOT NULL DEFAULT '[]',
        allocation            jsonb,
        meter_evidence        jsonb,
        meter_evidence_digest char(64),
        failure_code          varchar(64),
        failure_detail        text,
        voucher_id            varchar(64),
        tx_id                 varchar(64),
        block_number          bigint,
        validation_code       varchar(32),
        committed_at          timestamptz,
        attempts              integer NOT NULL DEFAULT 0,
        received_at           timestamptz NOT NULL DEFAULT now(),
        updated_at            timestamptz NOT NULL DEFAULT now(),
        verified_at           timestamptz,
        finished_at           timestamptz,
        callback_state        varchar(16) CHECK (callback_state IN ('PENDING', 'DELIVERED', 'FAILED')),
        callback_attempts     integer NOT NULL DEFAULT 0,
        callback_next_at      timestamptz,
        callback_last_error   text,
        UNIQUE (api_key_id, idempotency_key)
      )`);
    await queryRunner.query(`CREATE INDEX trades_state ON trades (state, received_at, trade_id)`);
    await queryRunner.query(`CREATE INDEX trades_seller ON trades (seller, state, delivery_start)`);
    await queryRunner.query(`CREATE INDEX trades_buyer ON trades (buyer, state, delivery_start)`);
    await queryRunner.query(`CREATE INDEX trades_received ON trades (received_at, trade_id)`);
    await queryRunner.query(
      `CREATE INDEX trades_callbacks ON trades (callback_next_at) WHERE callback_state = 'PENDING'`,
    );

    await queryRunner.query(`
      CREATE TABLE trade_outbox (
        seq           bigserial PRIMARY KEY,
        trade_id      varchar(64) NOT NULL UNIQUE REFERENCES trades (trade_id),
        hot_keys      text[] NOT NULL,
        available_at  timestamptz NOT NULL DEFAULT now(),
        attempts      integer NOT NULL DEFAULT 0,
        last_error    text,
        created_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX trade_outbox_available ON trade_outbox (available_at, seq)`);

    await queryRunner.query(`
      CREATE TABLE trade_transactions (
        tx_id        varchar(64) PRIMARY KEY,
        trade_id     varchar(64) NOT NULL REFERENCES trades (trade_id),
        instance     varchar(64) NOT NULL,
        prepared_at  timestamptz NOT NULL DEFAULT now(),
        outcome      varchar(32),
        detail       text,
        resolved_at  timestamptz
      )`);
    await queryRunner.query(
      `CREATE INDEX trade_transactions_trade ON trade_transactions (trade_id, prepared_at)`,
    );

    await queryRunner.query(`
      CREATE TABLE vouchers (
        id                varchar(64) PRIMARY KEY,
        consumer          varchar(64) NOT NULL,
        seller            varchar(64) NOT NULL,
        trade_id          varchar(64) NOT NULL UNIQUE,
        trade_kind        varchar(16) NOT NULL,
        volume_kwh        bigint NOT NULL,
        period_start      timestamptz NOT NULL,
        period_end        timestamptz NOT NULL,
        status            varchar(16) NOT NULL,
        issued_at         timestamptz NOT NULL,
        issued_tx_id      varchar(64) NOT NULL,
        issued_block      bigint NOT NULL,
        updated_at        timestamptz NOT NULL,
        updated_tx_id     varchar(64) NOT NULL,
        block_number      bigint NOT NULL,
        doc               jsonb NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX vouchers_consumer ON vouchers (consumer, status, id)`);
    await queryRunner.query(`CREATE INDEX vouchers_status ON vouchers (status, id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE vouchers`);
    await queryRunner.query(`DROP TABLE trade_transactions`);
    await queryRunner.query(`DROP TABLE trade_outbox`);
    await queryRunner.query(`DROP TABLE trades`);
    await queryRunner.query(`DROP TABLE trading_center_check_keys`);
  }
}
