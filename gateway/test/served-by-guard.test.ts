/**
 * The serving-organisation guard on its own: what it does with a declaration, with none, and in each mode. (The
 * three gateways on one ledger, gateway/test/single-organisation.e2e.test.ts, drive it over HTTP on every route.)
 */
import { Logger, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Public } from '../src/auth/auth.decorators';
import { ServedByGuard } from '../src/auth/served-by.guard';
import { ProblemError } from '../src/common/problem';
import type { AppConfig } from '../src/config/config';
import type { GatewayOrganisation } from '../src/organisation/consortium';
import { declareServedBy, ServedBy } from '../src/organisation/served-by';

class Market {
  @ServedBy('TRADING_CENTER')
  transfer(): void {}

  @ServedBy('ANY')
  read(): void {}

  @ServedBy('PLATFORM_OPERATOR', 'TRADING_CENTER')
  register(): void {}

  forgotten(): void {}

  @Public()
  health(): void {}
}

/** A controller declared from outside, as organisation/served-by-declarations.ts does. */
class Pipeline {
  submit(): void {}

  @ServedBy('ANY')
  overridden(): void {}
}
declareServedBy(Pipeline, 'PLATFORM_OPERATOR');

function context(controller: { prototype: object }, handler: string): ExecutionContext {
  return {
    getHandler: () => (controller.prototype as Record<string, unknown>)[handler],
    getClass: () => controller,
    switchToHttp: () => ({
      getRequest: () => ({ method: 'POST', originalUrl: `/v1/${handler}?limit=5` }),
    }),
  } as unknown as ExecutionContext;
}

const guard = (organisation: GatewayOrganisation) =>
  new ServedByGuard(new Reflector(), { organisation } as AppConfig);

function refusal(organisation: GatewayOrganisation, controller: { prototype: object }, handler: string) {
  try {
    guard(organisation).canActivate(context(controller, handler));
  } catch (error) {
    return error as ProblemError;
  }
  throw new Error(`${handler} was served by ${organisation}`);
}

describe('ServedByGuard', () => {
  // The guard logs a route that declares nothing; that is expected here.
  beforeAll(() => Logger.overrideLogger(false));

  it('serves a route at the gateway of an organisation that serves it', () => {
    expect(guard('TradingCenterMSP').canActivate(context(Market, 'transfer'))).toBe(true);
    expect(guard('GridMSP').canActivate(context(Market, 'register'))).toBe(true);
    expect(guard('TradingCenterMSP').canActivate(context(Market, 'register'))).toBe(true);
  });

  it('refuses it elsewhere with 403 SERVED_BY_OTHER_ORGANISATION, naming every gateway that serves it', () => {
    const one = refusal('GridMSP', Market, 'transfer');
    expect(one).toMatchObject({ status: 403, code: 'SERVED_BY_OTHER_ORGANISATION' });
    expect(one.detail).toBe(
      'POST /v1/transfer is served by the TradingCenterMSP gateway (trading center: the power trading center, ' +
        "电力交易中心); this gateway is GridMSP's (platform operator: the grid’s energy internet platform, " +
        '能源互联网平台)',
    );
    expect(refusal('RegulatorMSP', Market, 'register').detail).toMatch(
      /^POST \/v1\/register is served by the GridMSP gateway \(platform operator[^)]*\) or the TradingCenterMSP gateway \(trading center[^)]*\); this gateway is RegulatorMSP's \(regulator: 监管方, reads only\)$/,
    );
  });

  it('serves ANY route everywhere, and everything in the development consortium', () => {
    for (const organisation of ['GridMSP', 'TradingCenterMSP', 'RegulatorMSP', 'all'] as const) {
      expect(guard(organisation).canActivate(context(Market, 'read'))).toBe(true);
    }
    expect(guard('all').canActivate(context(Market, 'transfer'))).toBe(true);
  });

  it('refuses a route that declares nothing, in every mode: forgetting is never an open door', () => {
    for (const organisation of ['GridMSP', 'all'] as const) {
      expect(refusal(organisation, Market, 'forgotten')).toMatchObject({
        status: 403,
        code: 'SERVED_BY_UNDECLARED',
      });
    }
    expect(guard('RegulatorMSP').canActivate(context(Market, 'health'))).toBe(true);
  });

  it('takes a declaration made from outside the class, and a handler’s own over it', () => {
    expect(guard('GridMSP').canActivate(context(Pipeline, 'submit'))).toBe(true);
    expect(refusal('TradingCenterMSP', Pipeline, 'submit').code).toBe('SERVED_BY_OTHER_ORGANISATION');
    expect(guard('RegulatorMSP').canActivate(context(Pipeline, 'overridden'))).toBe(true);
  });
});
