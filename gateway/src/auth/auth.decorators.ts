import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiRoles } from '../common/openapi';
import type { Principal, Role } from './roles';

export const ROLES_KEY = 'gec:roles';
export const PUBLIC_KEY = 'gec:public';

/**
 * The roles allowed to call an endpoint. Every endpoint declares its roles (or is `@Public()`); the same
 * declaration documents them in OpenAPI, so what the guard enforces and what integrators read cannot differ.
 */
export const Roles = (...roles: Role[]) => applyDecorators(SetMetadata(ROLES_KEY, roles), ApiRoles(...roles));

/** An endpoint that needs no API key (health, metrics, docs). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export interface AuthenticatedRequest {
  principal?: Principal;
}

/** The authenticated caller. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => {
    const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
    if (!principal) throw new Error('no principal on the request: is the endpoint @Public()?');
    return principal;
  },
);
