import { AsyncLocalStorage } from 'node:async_hooks';

/** One ledger write of a request, recorded before it was submitted. */
export interface JournaledWrite {
  txId: string;
  /** The proposal's nonce, base64: with the same identity it makes the same txId again. */
  nonce: string;
  /** `Contract:Function`, for people reading the journal. */
  transaction: string;
}

/**
 * Where a request's ledger writes are recorded before they are submitted, so that a retry of the request (after a
 * crash, on any instance) resolves each earlier write by its transaction id instead of executing it again.
 */
export interface WriteJournal {
  /** Writes recorded by earlier attempts of this request, by position (0: the request's first write). */
  readonly earlier: readonly JournaledWrite[];
  /** Durably record the write at `position` (replacing an earlier attempt's entry) before it is submitted. */
  record(position: number, write: JournaledWrite): Promise<void>;
}

interface Scope {
  journal: WriteJournal;
  next: number;
}

const scopes = new AsyncLocalStorage<Scope>();

/** Run `work` with every ledger write it submits recorded in `journal` first. */
export function withWriteJournal<T>(journal: WriteJournal, work: () => Promise<T>): Promise<T> {
  return scopes.run({ journal, next: 0 }, work);
}

/**
 * The journal of the request this code runs for and the position of the write about to be made (writes are
 * numbered in the order the request makes them, which a retry of the same request repeats), or undefined outside
 * a journaled request.
 */
export function nextJournaledWrite(): { journal: WriteJournal; position: number } | undefined {
  const scope = scopes.getStore();
  if (!scope) return undefined;
  return { journal: scope.journal, position: scope.next++ };
}
