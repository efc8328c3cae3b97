import { Type } from 'typebox';
import { appendAudit } from '../audit/log.ts';
import { ProbectlError } from '../core/errors.ts';
import { retryParked } from '../delivery/operations.ts';
import type { Principal } from '../identity/permissions.ts';
import { targetTenant } from '../identity/target-tenant.ts';
import { needs, routeWith, type RouteDef } from '../integrations/route.ts';
import { IdParams, TenantQuery, Uuid } from '../integrations/schemas.ts';
import type { IntegrationRouteDeps } from '../integrations/types.ts';
import { inTenant } from '../store/scope.ts';
import { failedOperations, incidentLinks, notifyStatus, testConnector } from './admin.ts';
import { INBOUND_ID } from './config/connectors.ts';
import { INBOUND_BODY_LIMIT, inboundRoute } from './inbound/route.ts';
import { signedHeaders } from './providers/shared/signing.ts';
import type { NotifyRuntime } from './runtime.ts';

type Deps = IntegrationRouteDeps<NotifyRuntime>;
const route = routeWith<Deps>();

/** Own tenant with admin; another tenant only with provider-admin. */
function scopeTenant(deps: Deps, principal: Principal, requested: string | undefined): Promise<string> {
  return targetTenant(deps.db, principal, requested, ['admin'], 'On-call mirroring');
}

function runtimeOf(deps: Deps): NotifyRuntime {
  if (!deps.runtime) throw new ProbectlError('PROBECTL_ERR_NOTIFY_DISABLED', 'on-call mirroring is off (PROBECTL_NOTIFY_CONNECTORS is empty)');
  return deps.runtime;
}

const ConnectorId = Type.String({ pattern: '^[a-z][a-z0-9_.-]{0,63}$', description: 'A connector id from GET /v1/notify/status' });

/**
 * GET /v1/notify/status, POST /v1/notify/test, GET /v1/notify/failed,
 * POST /v1/notify/failed/retry, POST /v1/notify/sign, GET /v1/incidents/{id}/links and the inbound webhook
 * POST /ingest/itsm/{provider}/{id}.
 */
export const notifyRoutes: readonly RouteDef<Deps>[] = [
  route({
    method: 'GET', url: '/v1/notify/status', summary: 'On-call connectors of a tenant: provider, endpoint host, state, last success, failures, pause reason; its inbound webhooks', tags: ['notify'],
    access: needs('admin', 'provider-admin'),
    schema: { querystring: TenantQuery },
    handler: async ({ deps, principal, query }) => ({ body: await notifyStatus(deps.db, deps.clock, await scopeTenant(deps, principal, query.tenant), deps.runtime) }),
  }),
  route({
    method: 'POST', url: '/v1/notify/test', summary: 'Send a test open and resolve through one connector and report each vendor answer', tags: ['notify'],
    access: needs('admin', 'provider-admin'),
    schema: { body: Type.Object({ tenant: Type.Optional(Uuid), connector: ConnectorId }, { additionalProperties: false }) },
    handler: async ({ deps, principal, body }) => {
      const tenant = await scopeTenant(deps, principal, body.tenant);
      return { body: await testConnector(deps.db, deps.clock, runtimeOf(deps), tenant, body.connector, principal.actor) };
    },
  }),
  route({
    method: 'GET', url: '/v1/notify/failed', summary: 'Connector operations refused permanently, with the vendor\'s answer', tags: ['notify'],
    access: needs('admin', 'provider-admin'),
    schema: { querystring: TenantQuery },
    handler: async ({ deps, principal, query }) => ({ body: { failed: await failedOperations(deps.db, await scopeTenant(deps, principal, query.tenant), deps.runtime) } }),
  }),
  route({
    method: 'POST', url: '/v1/notify/failed/retry', summary: 'Send the failed operations again (of one connector, or all); delivered ones leave the list', tags: ['notify'],
    access: needs('admin', 'provider-admin'),
    schema: { body: Type.Object({ tenant: Type.Optional(Uuid), connector: Type.Optional(ConnectorId) }, { additionalProperties: false }) },
    handler: async ({ deps, principal, body }) => {
      const tenant = await scopeTenant(deps, principal, body.tenant);
      const runtime = runtimeOf(deps);
      if (body.connector !== undefined && runtime.connectors.get(body.connector)?.config.tenant !== tenant) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', 'no such connector in this tenant (see GET /v1/notify/status)');
      // A vendor still failing: 503 PROBECTL_ERR_DELIVERY_UNAVAILABLE from the shared operation bound.
      const r = await retryParked(deps.db, deps.clock, runtime.forTenant(tenant, body.connector, true), tenant, principal.actor);
      return { body: { retried: r.retried, delivered: r.delivered, still_failed: r.still_parked } };
    },
  }),
  route({
    method: 'POST', url: '/v1/notify/sign', summary: 'The headers that sign a body for an inbound webhook (probectl webhook sign)', tags: ['notify'],
    access: needs('admin', 'provider-admin'),
    schema: { body: Type.Object({ id: Type.String({ pattern: INBOUND_ID.source }), body: Type.String({ maxLength: INBOUND_BODY_LIMIT }) }, { additionalProperties: false }) },
    handler: async ({ deps, principal, body }) => {
      const inbound = runtimeOf(deps).inbound.get(body.id);
      // Another tenant's credential is as unknown as a missing one, unless the caller is provider-admin.
      if (!inbound || (inbound.tenant !== principal.tenantId && !principal.permissions.has('provider-admin'))) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', 'no such inbound webhook id in this tenant (see GET /v1/notify/status)');
      await scopeTenant(deps, principal, inbound.tenant);
      const bytes = Buffer.from(body.body, 'utf8');
      if (bytes.length > INBOUND_BODY_LIMIT) throw new ProbectlError('PROBECTL_ERR_VALIDATION', `body exceeds ${INBOUND_BODY_LIMIT} bytes (the inbound limit)`);
      const headers = await deps.secrets.use(inbound.secret, (s) => signedHeaders(s.toString('utf8'), bytes, deps.clock.now()));
      await inTenant(deps.db, inbound.tenant, (tx) => appendAudit(tx, deps.clock, { actor: principal.actor, action: 'notify.sign', target: `notify:inbound:${inbound.id}`, outcome: 'success', data: { bytes: bytes.length } }));
      return { body: { id: inbound.id, path: `/ingest/itsm/${inbound.provider.name}/${inbound.id}`, headers: { 'content-type': 'application/json', ...headers } } };
    },
  }),
  route({
    method: 'GET', url: '/v1/incidents/:id/links', summary: 'Where an incident is mirrored: per connector, the vendor object (dedup key, alert alias, ticket number or sys_id, message ts, issue key), its state and the status last sent', tags: ['notify'],
    access: needs('incidents-read', 'provider-admin'),
    schema: { params: IdParams, querystring: TenantQuery },
    handler: async ({ deps, principal, params, query }) => {
      const tenant = await targetTenant(deps.db, principal, query.tenant, ['incidents-read'], 'An incident\'s links');
      const links = await incidentLinks(deps.db, tenant, params.id);
      if (!links) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', 'no such incident');
      return { body: { incident_id: params.id, links } };
    },
  }),
  inboundRoute,
];
