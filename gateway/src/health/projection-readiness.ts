/**
 * Whether the projection is close enough to the ledger for the gateway to call itself ready. Reads come from the
 * projection: a gateway replaying a long channel from block 0 answered "ready" at block 46 of 404, and the
 * requests it then served saw a ledger hundreds of blocks old.
 */

/** Blocks the projection may trail the ledger by and still be ready (a block or two are normal under load). */
export const READY_LAG_BLOCKS = 10;
/**
 * Blocks that carry no gec event (only invalidated transactions, another chaincode's, a config update) never move
 * the checkpoint, so a larger lag is taken as caught up once the checkpoint has stood still this long.
 */
export const SETTLED_MS = 3000;

export interface ProjectionReadiness {
  /** Blocks on the ledger after the one of the last projected event. */
  lagBlocks: number;
  caughtUp: boolean;
}

/** Blocks on the ledger after the block of the last projected event (every block, before the first). */
export function lagBlocks(height: number, checkpointBlock: number | undefined): number {
  return Math.max(0, height - 1 - (checkpointBlock ?? -1));
}

export function projectionReadiness(
  height: number,
  checkpointBlock: number | undefined,
  checkpointUnchangedForMs: number,
  /** This instance is applying events (a stalled projection is not a settled one). */
  applying: boolean,
): ProjectionReadiness {
  const lag = lagBlocks(height, checkpointBlock);
  return {
    lagBlocks: lag,
    caughtUp: lag <= READY_LAG_BLOCKS || (checkpointUnchangedForMs >= SETTLED_MS && !applying),
  };
}
