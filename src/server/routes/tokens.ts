import { Type } from 'typebox';
import { ProbectlError } from '../../core/errors.ts';
import { issueToken, revokeTokenOf, tokenList } from '../../identity/admin.ts';
import { holds, type Principal } from '../../identity/permissions.ts';
import { targetTenant } from '../../identity/target-tenant.ts';
import { findTokenTenant } from '../../identity/tokens.ts';
import { inSystem } from '../../store/scope.ts';
import type { AppDeps } from '../deps.ts';
import { needs, route, type RouteDef } from '../route.ts';
import { IdParams, Name, Permission, TenantQuery, Uuid } from '../schemas.ts';

const TokenOut = Type.Object({
  id: Uuid, tenant: Uuid, name: Type.String(), permissions: Type.Array(Type.String()), created_at: Type.String(),
  created_by: Type.String(), revoked_at: Type.Union([Type.String(), Type.Null()]),
});

/** A tenant's admin manages its own tenant's tokens; reaching into another tenant takes provider-admin. */
function tokensOf(deps: AppDeps, principal: Principal, requested: string | undefined): Promise<string> {
  return targetTenant(deps.db, principal, requested, ['admin', 'provider-admin'], 'managing tokens');
}

export const tokenRoutes: RouteDef[] = [
  route({
    method: 'POST', url: '/v1/tokens', summary: 'Create an API token (shown once)', tags: ['identity'], access: needs('admin', 'provider-admin'),
    schema: {
      body: Type.Object({
        tenant: Type.Optional(Uuid),
        permissions: Type.Array(Permission, { minItems: 1, maxItems: 10, uniqueItems: true }),
        name: Type.Optional(Name),
      }, { additionalProperties: false }),
      response: { 201: Type.Object({ id: Uuid, token: Type.String() }) },
    },
    handler: async ({ deps, principal, body }) => {
      const tenant = await tokensOf(deps, principal, body.tenant);
      if (body.permissions.includes('provider-admin') && !holds(principal, 'provider-admin')) {
        throw new ProbectlError('PROBECTL_ERR_FORBIDDEN', 'only a provider-admin may grant provider-admin');
      }
      if (body.permissions.includes('provider-admin') && tenant !== deps.providerTenantId) {
        throw new ProbectlError('PROBECTL_ERR_VALIDATION', 'provider-admin reaches every tenant: it is granted only to tokens of the provider tenant');
      }
      const created = await issueToken(deps, { tenantId: principal.tenantId, name: principal.actor }, tenant, {
        name: body.name ?? 'api-token',
        permissions: body.permissions,
      });
      return { status: 201, body: created };
    },
  }),
  route({
    method: 'GET', url: '/v1/tokens', summary: 'List a tenant\'s tokens (never their values)', tags: ['identity'], access: needs('admin', 'provider-admin'),
    schema: {
      querystring: TenantQuery,
      response: { 200: Type.Object({ tokens: Type.Array(TokenOut) }) },
    },
    handler: async ({ deps, principal, query }) => ({ body: { tokens: await tokenList(deps, await tokensOf(deps, principal, query.tenant)) } }),
  }),
  route({
    method: 'DELETE', url: '/v1/tokens/:id', summary: 'Revoke a token', tags: ['identity'], access: needs('admin', 'provider-admin'),
    schema: { params: IdParams, response: { 200: Type.Object({ id: Uuid, revoked: Type.Literal(true), changed: Type.Boolean() }) } },
    handler: async ({ deps, principal, params }) => {
      let tenant = principal.tenantId;
      if (holds(principal, 'provider-admin')) {
        tenant = (await inSystem(deps.db, (tx) => findTokenTenant(tx, params.id))) ?? principal.tenantId;
      }
      await tokensOf(deps, principal, tenant);
      const { changed } = await revokeTokenOf(deps, { tenantId: principal.tenantId, name: principal.actor }, tenant, params.id);
      return { body: { id: params.id, revoked: true, changed } };
    },
  }),
];
