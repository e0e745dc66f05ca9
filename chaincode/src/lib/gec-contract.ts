import { Context, Contract } from 'fabric-contract-api';
import { loadConsortium } from '../consortium/registry';
import { requireNotPaused } from '../parameters/consortium-parameters';
import { requireMember } from './access';
import { GecError } from './errors';

/**
 * Base of every gec contract.
 *
 * Contract instances are created once per chaincode process and shared by all transactions, so this class
 * (and its subclasses) must never keep per-transaction state in fields: everything a transaction needs comes
 * from its `ctx`.
 */
export abstract class GecContract extends Contract {
  /**
   * Only ACTIVE members of the consortium's on-chain registry may call anything, reads included (the registry
   * is read here, once per transaction). Every write (a function declared with `@Transaction()`, i.e. tagged
   * SUBMIT) is refused with CONSORTIUM_PAUSED while the consortium is paused, unless the contract exempts it
   * (only `parameters:Resume`).
   */
  override async beforeTransaction(ctx: Context): Promise<void> {
    const consortium = await loadConsortium(ctx);
    const fn = functionName(ctx);
    // Before the founding members are registered nobody is a member: only the registration itself may run.
    if (!consortium.initialised && this.openBeforeInitialisation(fn)) return;
    requireMember(ctx);
    if (isSubmitTransaction(this, fn) && !this.exemptFromPause(fn)) await requireNotPaused(ctx);
  }

  /** Whether `fn` of this contract may run before the consortium has members (only the registry's own). */
  protected openBeforeInitialisation(_fn: string): boolean {
    return false;
  }

  /** Whether write `fn` of this contract may run while the consortium is paused. */
  protected exemptFromPause(_fn: string): boolean {
    return false;
  }

  override async unknownTransaction(ctx: Context): Promise<void> {
    const { fcn } = ctx.stub.getFunctionAndParameters();
    throw new GecError('INVALID_ARGUMENT', `unknown transaction function ${fcn}`);
  }
}

/** The function part of `contract:Function`. */
function functionName(ctx: Context): string {
  const { fcn } = ctx.stub.getFunctionAndParameters();
  const colon = fcn.lastIndexOf(':');
  return colon < 0 ? fcn : fcn.slice(colon + 1);
}

interface TransactionMetadata {
  name: string;
  tag?: string[];
}

const reflect = Reflect as unknown as { getMetadata(key: string, target: object): unknown };

/** Whether `fn` is declared with `@Transaction()` (SUBMIT) rather than `@Transaction(false)` (EVALUATE). */
function isSubmitTransaction(contract: object, fn: string): boolean {
  const transactions = (reflect.getMetadata('fabric:transactions', contract) ?? []) as TransactionMetadata[];
  const transaction = transactions.find((t) => t.name === fn);
  // Not declared at all: unknownTransaction answers it. Declared without tags: treat as a write.
  return transaction !== undefined && (transaction.tag === undefined || transaction.tag.includes('SUBMIT'));
}
