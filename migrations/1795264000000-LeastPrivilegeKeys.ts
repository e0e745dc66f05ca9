import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Least privilege for stored API keys (issue 15): a key that is not an admin key no longer runs as an admin
 * identity. Until now every trading-center key defaulted to TradingCenterMSP/admin; from now on no non-admin
 * key may name an admin identity (auth/key-identity.ts refuses new ones).
 *
 * Why move the keys rather than refuse to start: the integrations behind them (a trading center's ERP, the
 * platform) keep their key and signing secret, so nothing has to be reissued to another organisation, and the
 * operations those roles exist for (transfers, listings, sales, redemptions, exchanges, custody, trades; meter
 * data) are allowed to the client identities by the chaincode. Refusing to start would stop the consortium's
 * gateway over a change the operator wants anyway, with no way to fix it through the API. What the keys lose is
 * what the chaincode allows admins only (registering participants and units, and their status): an admin key
 * does that, until the chaincode lets the trading center's client identity register market participants.
 * Admin keys are untouched.
 *
 * The client identities are the consortium's enrolment names (network/scripts/enroll.sh, the embedded ledger):
 * GridMSP/platform, TradingCenterMSP/trading, RegulatorMSP/regulator.
 */
export class LeastPrivilegeKeys1795264000000 implements MigrationInterface {
  name = 'LeastPrivilegeKeys1795264000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      UPDATE api_keys
         SET identity_name = CASE msp_id
               WHEN 'GridMSP' THEN 'platform'
               WHEN 'TradingCenterMSP' THEN 'trading'
               WHEN 'RegulatorMSP' THEN 'regulator'
             END
       WHERE role <> 'admin'
         AND identity_name = 'admin'
         AND msp_id IN ('GridMSP', 'TradingCenterMSP', 'RegulatorMSP')`);
  }

  async down(): Promise<void> {
    // Nothing to undo: which keys ran as an admin before is not known any more, and giving admin identities
    // back to application keys is the privilege this migration exists to take away.
  }
}
