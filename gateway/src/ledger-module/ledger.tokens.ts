import type { LedgerConfig } from '../ledger/factory';
import type { LedgerPort } from '../ledger/port';

/** Injection token of the LedgerPort (instrumented with metrics). */
export const LEDGER_PORT = Symbol('LEDGER_PORT');

/** Opens the ledger; the default opens the EmbeddedLedger in `<GEC_DATA_DIR>/ledger`. Tests may pass their own. */
export type LedgerFactory = (options: { dataDir: string; settings?: LedgerConfig }) => Promise<LedgerPort>;
export const LEDGER_FACTORY = Symbol('LEDGER_FACTORY');
