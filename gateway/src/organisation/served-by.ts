import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import type { ConsortiumRole } from './consortium';

export const SERVED_BY_KEY = 'gec:served-by';

/** A part of the consortium whose gateway serves a route, or ANY: every gateway does. */
export type Server = ConsortiumRole | 'ANY';

/**
 * Which organisation's gateway serves an endpoint, by the part it plays (PLATFORM_OPERATOR = GridMSP,
 * TRADING_CENTER = TradingCenterMSP, REGULATOR = RegulatorMSP): a route whose ledger transaction the chaincode
 * lets only organisation X sign is served by X's gateway, which holds X's identities; reads of what every
 * gateway projects from the ledger are served by ANY; reads of what one organisation keeps off-chain (meter
 * readings at the platform, the trade pipeline's rows) by that organisation's. Every endpoint declares it (or is
 * `@Public()`); the same declaration is published in OpenAPI as `x-gec-served-by`, so what the guard enforces
 * and what integrators read cannot differ. The parts, not MSP ids, are published: a second trading center
 * joins under an MSP id of its own and serves the same routes.
 */
export const ServedBy = (...servers: [Server, ...Server[]]) =>
  applyDecorators(SetMetadata(SERVED_BY_KEY, servers), ApiExtension('x-gec-served-by', servers));

/**
 * The declaration of a whole controller, made from outside it: for the controllers of rooms another change
 * holds at the moment (trades/, signing/), until the declaration moves onto the class itself.
 */
export function declareServedBy(
  controller: abstract new (...args: never[]) => unknown,
  ...servers: [Server, ...Server[]]
): void {
  ServedBy(...servers)(controller);
}
