import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { ROLE_ADMIN, requireMember, requireWriter } from '../lib/access';
import { emitEvent } from '../lib/events';
import { GecError } from '../lib/errors';
import { GecContract } from '../lib/gec-contract';
import { putJson } from '../lib/state';
import { txTime } from '../lib/time';
import { optionalInteger, parseRequest, requireText } from '../lib/validate';
import { ConsortiumParameters, MAX_SEQUENCE, parametersKey, readParameters } from './consortium-parameters';

export const PARAMETERS_CHANGED_EVENT = 'ParametersChanged';
export const CONSORTIUM_PAUSED_EVENT = 'ConsortiumPaused';
export const CONSORTIUM_RESUMED_EVENT = 'ConsortiumResumed';

/** Consortium admins: `gec.role` admin of GridMSP or TradingCenterMSP (also through the Fabric CLI). */
export const CONSORTIUM_ADMINS = {
  orgs: ['PLATFORM_OPERATOR', 'TRADING_CENTER'],
  roles: [ROLE_ADMIN],
} as const;

const REASON_MAX = 256;

@Info({
  title: 'parameters',
  description:
    'Consortium parameters: certificate validity, transfer size limits, pause and resume of all writes',
})
export class ParametersContract extends GecContract {
  constructor() {
    super('parameters');
  }

  /** Resume must run while paused: it is the one write exempt from the pause. */
  protected override exemptFromPause(fn: string): boolean {
    return fn === 'Resume';
  }

  /** The parameters in force; any member. */
  @Transaction(false)
  @Returns('ConsortiumParameters')
  async GetParameters(ctx: Context): Promise<ConsortiumParameters> {
    requireMember(ctx);
    return readParameters(ctx);
  }

  /**
   * Change parameters. `request`: `{ validityMonths? (1-600), issuanceWindowMonths? (1-599, below
   * validityMonths), minTransferVolume? (>=1), maxTransferVolume? (<= 9,999,999), reason }`; at least one
   * parameter. Consortium admins only.
   */
  @Transaction()
  @Returns('ConsortiumParameters')
  async SetParameters(ctx: Context, request: string): Promise<ConsortiumParameters> {
    const caller = requireWriter(ctx, CONSORTIUM_ADMINS);
    const fields = parseRequest(request, [
      'validityMonths',
      'issuanceWindowMonths',
      'minTransferVolume',
      'maxTransferVolume',
      'reason',
    ]);
    const reason = requireText(fields.reason, 'reason', REASON_MAX);
    const current = await readParameters(ctx);
    const validityMonths = optionalInteger(fields.validityMonths, 'validityMonths', {
      min: 1,
      max: 600,
      fallback: current.validityMonths,
    });
    const issuanceWindowMonths = optionalInteger(fields.issuanceWindowMonths, 'issuanceWindowMonths', {
      min: 1,
      max: 599,
      fallback: current.issuanceWindowMonths,
    });
    const minTransferVolume = optionalInteger(fields.minTransferVolume, 'minTransferVolume', {
      min: 1,
      max: MAX_SEQUENCE,
      fallback: current.minTransferVolume,
    });
    const maxTransferVolume = optionalInteger(fields.maxTransferVolume, 'maxTransferVolume', {
      min: 1,
      max: MAX_SEQUENCE,
      fallback: current.maxTransferVolume,
    });
    if (
      fields.validityMonths === undefined &&
      fields.issuanceWindowMonths === undefined &&
      fields.minTransferVolume === undefined &&
      fields.maxTransferVolume === undefined
    ) {
      throw new GecError(
        'INVALID_ARGUMENT',
        'request must set at least one of validityMonths, issuanceWindowMonths, minTransferVolume, maxTransferVolume',
      );
    }
    // Issuance that late would create certificates already expired (or expiring in the month they are born).
    if (issuanceWindowMonths >= validityMonths) {
      throw new GecError(
        'INVALID_ARGUMENT',
        `issuanceWindowMonths ${issuanceWindowMonths} must be below validityMonths ${validityMonths}, so that no certificate is issued expired`,
      );
    }
    if (minTransferVolume > maxTransferVolume) {
      throw new GecError(
        'INVALID_ARGUMENT',
        `minTransferVolume ${minTransferVolume} must not exceed maxTransferVolume ${maxTransferVolume}`,
      );
    }
    const updated = Object.assign(new ConsortiumParameters(), current, {
      validityMonths,
      issuanceWindowMonths,
      minTransferVolume,
      maxTransferVolume,
      updatedBy: caller.id,
      updatedByMsp: caller.mspId,
      updatedAt: txTime(ctx),
      updatedTxId: ctx.stub.getTxID(),
    });
    await putJson(ctx, parametersKey(ctx), updated);
    emitEvent(ctx, PARAMETERS_CHANGED_EVENT, { parameters: updated, previous: current, reason });
    return updated;
  }

  /**
   * Pause every write of every contract. `request`: `{ reason }`. Consortium admins only. While paused, this
   * call itself is refused with CONSORTIUM_PAUSED (it is a write).
   */
  @Transaction()
  @Returns('ConsortiumParameters')
  async Pause(ctx: Context, request: string): Promise<ConsortiumParameters> {
    const caller = requireWriter(ctx, CONSORTIUM_ADMINS);
    const fields = parseRequest(request, ['reason']);
    const reason = requireText(fields.reason, 'reason', REASON_MAX);
    const current = await readParameters(ctx);
    const now = txTime(ctx);
    const txId = ctx.stub.getTxID();
    const updated = Object.assign(new ConsortiumParameters(), current, {
      paused: true,
      pausedBy: caller.id,
      pausedByMsp: caller.mspId,
      pausedAt: now,
      pauseReason: reason,
      pausedTxId: txId,
      updatedBy: caller.id,
      updatedByMsp: caller.mspId,
      updatedAt: now,
      updatedTxId: txId,
    });
    await putJson(ctx, parametersKey(ctx), updated);
    emitEvent(ctx, CONSORTIUM_PAUSED_EVENT, { parameters: updated, reason });
    return updated;
  }

  /** Resume writes. `request`: `{ reason }`. Consortium admins only; NOT_PAUSED when not paused. */
  @Transaction()
  @Returns('ConsortiumParameters')
  async Resume(ctx: Context, request: string): Promise<ConsortiumParameters> {
    const caller = requireWriter(ctx, CONSORTIUM_ADMINS);
    const fields = parseRequest(request, ['reason']);
    const reason = requireText(fields.reason, 'reason', REASON_MAX);
    const current = await readParameters(ctx);
    if (!current.paused) throw new GecError('NOT_PAUSED', 'the consortium is not paused');
    const now = txTime(ctx);
    const updated = Object.assign(new ConsortiumParameters(), current, {
      paused: false,
      pausedBy: '',
      pausedByMsp: '',
      pausedAt: '',
      pauseReason: '',
      pausedTxId: '',
      updatedBy: caller.id,
      updatedByMsp: caller.mspId,
      updatedAt: now,
      updatedTxId: ctx.stub.getTxID(),
    });
    await putJson(ctx, parametersKey(ctx), updated);
    emitEvent(ctx, CONSORTIUM_RESUMED_EVENT, {
      parameters: updated,
      reason,
      pause: {
        pausedBy: current.pausedBy,
        pausedByMsp: current.pausedByMsp,
        pausedAt: current.pausedAt,
        pauseReason: current.pauseReason,
        pausedTxId: current.pausedTxId,
      },
    });
    return updated;
  }
}
