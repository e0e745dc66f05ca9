import { CanActivate, ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PUBLIC_KEY } from './auth.decorators';
import type { HttpRequest } from '../common/http';
import { ProblemError } from '../common/problem';
import { APP_CONFIG, type AppConfig } from '../config/config';
import {
  CONSORTIUM,
  describeGatewayOf,
  describeThisGateway,
  memberPlaying,
} from '../organisation/consortium';
import { SERVED_BY_KEY, type Server } from '../organisation/served-by';

/**
 * Answers a route another organisation's gateway serves with 403 SERVED_BY_OTHER_ORGANISATION, naming that
 * gateway: this one holds no identity the ledger would accept for it, and sending it on would only fail later
 * with a ledger error that does not say where to go. Runs after the API-key guard (registered after it in
 * AuthModule), so an unknown key is told so first. Public pages (health, metrics, voucher verification) are
 * served everywhere; any other endpoint that declares no `@ServedBy` is refused: forgetting is never an open
 * door.
 */
@Injectable()
export class ServedByGuard implements CanActivate {
  private readonly logger = new Logger('ServedByGuard');

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const servers = this.reflector.getAllAndOverride<Server[] | undefined>(SERVED_BY_KEY, targets);
    if (!servers || servers.length === 0) {
      this.logger.error(
        `${context.getClass().name}.${context.getHandler().name} declares no @ServedBy: refused`,
      );
      throw new ProblemError(
        403,
        'SERVED_BY_UNDECLARED',
        'this endpoint does not say which organisation’s gateway serves it',
      );
    }
    const organisation = this.config.organisation;
    if (organisation === 'all' || servers.includes('ANY')) return true;
    if (servers.includes(CONSORTIUM[organisation].role)) return true;
    const request = context.switchToHttp().getRequest<HttpRequest>();
    const path = request.originalUrl.split('?')[0];
    const where = servers
      .filter((server): server is Exclude<Server, 'ANY'> => server !== 'ANY')
      .map((role) => describeGatewayOf(memberPlaying(role).mspId))
      .join(' or ');
    throw new ProblemError(
      403,
      'SERVED_BY_OTHER_ORGANISATION',
      `${request.method ?? 'GET'} ${path} is served by ${where}; this gateway is ${describeThisGateway(organisation)}`,
    );
  }
}
