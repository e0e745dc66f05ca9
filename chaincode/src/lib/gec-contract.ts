import { Context, Contract } from 'fabric-contract-api';
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
  /** Only members of the consortium may call anything, reads included. */
  override async beforeTransaction(ctx: Context): Promise<void> {
    requireMember(ctx);
  }

  override async unknownTransaction(ctx: Context): Promise<void> {
    const { fcn } = ctx.stub.getFunctionAndParameters();
    throw new GecError('INVALID_ARGUMENT', `unknown transaction function ${fcn}`);
  }
}
