import { Readable } from 'node:stream';
import { Type } from 'typebox';
import { ProbectlError } from '../core/errors.ts';
import { parkedItems, replay, retryParked } from '../delivery/operations.ts';
import type { Principal } from '../identity/permissions.ts';
import { targetTenant } from '../identity/target-tenant.ts';
import { needs, routeWith, type RouteDef } from '../integrations/route.ts';
import { Seq, TenantQuery, Uuid } from '../integrations/schemas.ts';
import type { IntegrationRouteDeps } from '../integrations/types.ts';
import { siemStatus } from './admin.ts';
import { SIEM_CONSUMER, type SiemRuntime } from './runtime.ts';

type Deps = IntegrationRouteDeps<SiemRuntime>;
const route = routeWith<Deps>();

/** Own tenant with admin; another tenant only with provider-admin. */
function scopeTenant(deps: Deps, principal: Principal, requested: string | undefined): Promise<string> {
  return targetTenant(deps.db, principal, requested, ['admin'], 'SIEM export');
}

function runtimeOf(deps: Deps): SiemRuntime {
  if (!deps.runtime) throw new ProbectlError('PROBECTL_ERR_SIEM_DISABLED', 'SIEM export is off (PROBECTL_SIEM_ENABLED=false)');
  return deps.runtime;
}


/** GET /v1/siem/status, /v1/siem/parked; POST /v1/siem/parked/retry, /v1/siem/replay (NDJSON progress). */
export const siemRoutes: readonly RouteDef<Deps>[] = [
  route({
    method: 'GET', url: '/v1/siem/status', summary: 'SIEM export status per stream: cursor, lag, delivered, parked, pauses (endpoint host only)', tags: ['siem'],
    access: needs('admin', 'provider-admin'),
    schema: { querystring: TenantQuery },
    handler: async ({ deps, principal, query }) => ({ body: await siemStatus(deps.db, deps.clock, await scopeTenant(deps, principal, query.tenant), deps.runtime) }),
  }),
  route({
    method: 'GET', url: '/v1/siem/parked', summary: 'Events the SIEM refused permanently, with its answer', tags: ['siem'],
    access: needs('admin', 'provider-admin'),
    schema: { querystring: TenantQuery },
    handler: async ({ deps, principal, query }) => {
      const rows = await parkedItems(deps.db, SIEM_CONSUMER, await scopeTenant(deps, principal, query.tenant));
      return { body: { parked: rows.map((r) => ({ ...r, parked_at: r.parked_at.toISOString() })) } };
    },
  }),
  route({
    method: 'POST', url: '/v1/siem/parked/retry', summary: 'Send the parked events again', tags: ['siem'],
    access: needs('admin', 'provider-admin'),
    schema: { body: Type.Object({ tenant: Type.Optional(Uuid) }, { additionalProperties: false }) },
    handler: async ({ deps, principal, body }) => {
      const tenant = await scopeTenant(deps, principal, body.tenant);
      return { body: await retryParked(deps.db, deps.clock, runtimeOf(deps), tenant, principal.actor) };
    },
  }),
  route({
    method: 'POST', url: '/v1/siem/replay', summary: 'Re-send a range of a stream (progress as NDJSON lines); the cursor does not move', tags: ['siem'],
    access: needs('admin', 'provider-admin'),
    schema: {
      body: Type.Object({
        tenant: Type.Optional(Uuid),
        stream: Type.Optional(Type.Enum(['audit', 'threat'])),
        from: Seq(1),
        to: Type.Optional(Seq(1)),
      }, { additionalProperties: false }),
    },
    handler: async ({ deps, principal, body, signal }) => {
      const tenant = await scopeTenant(deps, principal, body.tenant);
      const runtime = runtimeOf(deps);
      if (body.to !== undefined && body.to < body.from) throw new ProbectlError('PROBECTL_ERR_VALIDATION', 'to must not be below from');
      const exported = runtime.sources.map((s) => s.stream);
      if (!exported.includes(body.stream ?? 'audit')) throw new ProbectlError('PROBECTL_ERR_VALIDATION', `stream ${body.stream ?? 'audit'} is not exported (PROBECTL_SIEM_STREAMS=${exported.join(',')})`);
      // The replay starts before the answer does, so a refusal (another replay of this stream running, an
      // unknown tenant) is a JSON error with its status; once it runs, progress streams as NDJSON lines, and
      // a client that goes away cancels it before its next batch.
      const lines: string[] = [];
      let notify: (() => void) | undefined;
      let finished = false;
      let started!: () => void;
      const running = new Promise<void>((resolve) => {
        started = resolve;
      });
      const cancel = new AbortController();
      signal.addEventListener('abort', () => cancel.abort(), { once: true });
      const job = replay(deps.db, deps.clock, runtime, tenant, principal.actor, { stream: body.stream ?? 'audit', from: body.from, to: body.to }, (p) => {
        lines.push(`${JSON.stringify(p)}\n`);
        started();
        notify?.();
      }, cancel.signal);
      const done = job.then((p) => {
        lines.push(`${JSON.stringify({ ...p, done: true })}\n`);
      }, (err: unknown) => {
        lines.push(`${JSON.stringify({ done: true, error: (err as Error).message })}\n`);
      }).finally(() => {
        finished = true;
        notify?.();
      });
      await Promise.race([running, job]);
      const stream = Readable.from((async function* () {
        try {
          for (;;) {
            while (lines.length > 0) yield lines.shift() as string;
            if (finished) break;
            await new Promise<void>((resolve) => {
              notify = resolve;
            });
          }
          await done;
        } finally {
          cancel.abort();
        }
      })());
      // The answer's stream closes when it was sent in full or when the client went away: either way the replay is over.
      stream.once('close', () => cancel.abort());
      return { body: stream, contentType: 'application/x-ndjson' };
    },
  }),
];
