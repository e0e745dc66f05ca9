import { DelegatingLedger } from '../ledger/delegating-ledger';
import {
  isPrepared,
  type LedgerPort,
  type PreparedTransaction,
  type PrepareOptions,
  type SubmittedTransaction,
  type TransactionRequest,
} from '../ledger/port';
import type { HeldIdentities } from './held-identities';

/** A request named an identity this gateway does not hold (mapped once, in common/problem.filter.ts, to 403). */
export class IdentityNotHeldError extends Error {
  override readonly name = 'IdentityNotHeldError';
  constructor(
    readonly mspId: string,
    readonly identityName: string,
    readonly organisation: string,
  ) {
    super(
      mspId === organisation
        ? `this gateway holds no identity ${mspId}/${identityName} (not in its wallet)`
        : `this gateway is ${organisation}'s and holds ${organisation} identities only; it cannot act as ` +
            `${mspId}/${identityName} (use a key with a ${organisation} identity, or ${mspId}'s gateway)`,
    );
  }
}

/**
 * The ledger port of a single-organisation gateway: every proposal is signed by one of its organisation's
 * identities, or refused before anything is signed. On Fabric its wallet holds nothing else anyway; on the
 * embedded ledger, whose CA enrols the whole consortium in one process, this is what keeps the gateway to its
 * own organisation (an API key stored before the gateway became single-organisation may still name another).
 */
export class OrganisationLedger extends DelegatingLedger {
  constructor(
    ledger: LedgerPort,
    private readonly held: HeldIdentities,
  ) {
    super(ledger);
  }

  override prepare(request: TransactionRequest, options?: PrepareOptions): PreparedTransaction {
    this.requireHeld(request);
    return super.prepare(request, options);
  }

  override submit(request: TransactionRequest | PreparedTransaction): Promise<SubmittedTransaction> {
    try {
      this.requireHeld(isPrepared(request) ? request.request : request);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return super.submit(request);
  }

  override evaluate(request: TransactionRequest): Promise<Uint8Array> {
    try {
      this.requireHeld(request);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return super.evaluate(request);
  }

  private requireHeld(request: TransactionRequest): void {
    if (!this.held.find(request.identity)) {
      throw new IdentityNotHeldError(request.identity.mspId, request.identity.name, this.held.organisation);
    }
  }
}
