import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { HttpRequest as Request } from '../common/http';
import { ProblemError } from '../common/problem';
import { AuthenticatedRequest, PUBLIC_KEY, ROLES_KEY } from './auth.decorators';
import { ApiKeysService } from './api-keys.service';
import { RateLimiter } from './rate-limiter';
import { RequestSigningService, SIGNED_STREAM_KEY } from './request-signing';
import type { Role } from './roles';

export const API_KEY_HEADER = 'x-api-key';
/** Where @nestjs/swagger's @ApiOperation keeps its options (its DECORATORS.API_OPERATION). */
const API_OPERATION_METADATA = 'swagger/apiOperation';

/**
 * The global guard: a request needs a valid, unrevoked API key (401 otherwise), within the key's rate limit
 * (429 otherwise), whose role is one the endpoint declares (403 otherwise), and, for a state-changing request
 * of a key that must sign, a valid request signature (401 SIGNATURE_*; see request-signing.ts). An endpoint
 * that declares nothing is refused: forgetting is never an open door. One guard, so the order is fixed.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly logger = new Logger('ApiKeyGuard');

  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly rateLimiter: RateLimiter,
    private readonly signing: RequestSigningService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (!roles || roles.length === 0) {
      this.logger.error(`${context.getClass().name}.${context.getHandler().name} declares no roles: refused`);
      throw new ProblemError(403, 'ROLE_NOT_ALLOWED', 'this endpoint is not open to any role');
    }
    const request = context.switchToHttp().getRequest<Request & AuthenticatedRequest>();
    const header = request.headers[API_KEY_HEADER];
    const key = Array.isArray(header) ? header[0] : header;
    if (!key) {
      throw new ProblemError(401, 'API_KEY_MISSING', 'send your API key in the X-API-Key header');
    }
    const principal = await this.apiKeys.authenticate(key);
    if (!principal) throw new ProblemError(401, 'API_KEY_INVALID', 'the API key is unknown or revoked');
    request.principal = principal;
    // For the regulator audit log: which documented operation this request is, refused or not.
    const operation = this.reflector.get<{ operationId?: string } | undefined>(
      API_OPERATION_METADATA,
      context.getHandler(),
    );
    (request as { operationId?: string }).operationId = operation?.operationId;
    this.rateLimiter.take(principal.keyId, request.method ?? 'GET');
    if (!roles.includes(principal.role)) {
      throw new ProblemError(
        403,
        'ROLE_NOT_ALLOWED',
        `role ${principal.role} may not call this endpoint (allowed: ${roles.join(', ')})`,
      );
    }
    const streamed = this.reflector.getAllAndOverride<boolean>(SIGNED_STREAM_KEY, targets) === true;
    await this.signing.verify(request, principal, streamed);
    return true;
  }
}
