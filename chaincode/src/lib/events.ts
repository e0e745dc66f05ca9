import { Context } from 'fabric-contract-api';
import { canonicalJsonBytes } from './canonical-json';

/**
 * Chaincode events. Fabric keeps only the last `setEvent` of a transaction, so each state-changing
 * transaction emits exactly one event describing the whole change; a second emit in the same transaction is a
 * programming error and fails loudly instead of silently replacing the first.
 */

// Keyed by the transaction's stub (one per transaction), so nothing is kept on the shared contract instance
// and entries vanish with the transaction.
const emitted = new WeakMap<Context['stub'], string>();

export function emitEvent(ctx: Context, name: string, payload: unknown): void {
  const previous = emitted.get(ctx.stub);
  if (previous !== undefined) {
    throw new Error(`event ${name} would replace ${previous}: a transaction emits exactly one event`);
  }
  emitted.set(ctx.stub, name);
  ctx.stub.setEvent(name, canonicalJsonBytes(payload));
}
