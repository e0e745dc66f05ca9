import { CheckKeysController } from '../signing/check-keys.controller';
import { TradesController } from '../trades/trades.controller';
import { declareServedBy } from './served-by';

/**
 * `@ServedBy` of the controllers in trades/ and signing/, declared from here because those rooms were being
 * rewritten at the same time (the trade attestation signed on chain, check keys registered on the ledger). Move
 * each onto its class (`@ServedBy(...)` beside `@Controller`), then delete this file.
 *
 * - Trades: the platform (GridMSP) runs the trade pipeline (存证校验, then attestation with its own identity);
 *   trading centers post their trades to the platform's gateway, and the pipeline's rows (status, checks,
 *   evidence) live in its database only.
 * - Check keys: the trading center registers (and revokes) the key it signs trade data with, as its own
 *   organisation, on its own gateway; the list reads the same store.
 */
export function declareServedByOfTradesAndCheckKeys(): void {
  declareServedBy(TradesController, 'PLATFORM_OPERATOR');
  declareServedBy(CheckKeysController, 'TRADING_CENTER');
}
