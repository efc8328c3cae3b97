import { Type } from 'typebox';
import { getAgent } from '../agents/registry.ts';
import { ProbectlError } from '../core/errors.ts';
import type { Principal } from '../identity/permissions.ts';
import type { CiAnswer } from '../incidents/configuration-items.ts';
import { getIncident } from '../incidents/incidents.ts';
import { needs, needsAll, routeWith, type RouteDef } from '../integrations/route.ts';
import { IdParams } from '../integrations/schemas.ts';
import type { IntegrationRouteDeps } from '../integrations/types.ts';
import { inTenant } from '../store/scope.ts';
import { cmdbKey } from './keys.ts';
import type { CmdbRuntime } from './runtime.ts';

type Deps = IntegrationRouteDeps<CmdbRuntime>;
const route = routeWith<Deps>();

/** Most distinct targets of one incident looked up (its own, then its signals' in arrival order). */
export const MAX_INCIDENT_TARGETS = 20;

const Nullable = (t: ReturnType<typeof Type.String>) => Type.Union([t, Type.Null()]);
const CiOut = Type.Object({
  provider: Type.String(), id: Type.String(), name: Type.String(), class: Type.String(), role: Nullable(Type.String()),
  ips: Type.Array(Type.String()), fqdn: Nullable(Type.String()), owner: Nullable(Type.String()), location: Nullable(Type.String()),
  status: Nullable(Type.String()), link: Type.String(), origin: Type.String(),
});
const AnswerOut = {
  state: Type.Union([Type.Literal('ok'), Type.Literal('stale'), Type.Literal('unavailable'), Type.Literal('not-a-key')], { description: 'ok: fresh; stale: the CMDB failed and the last answer is served; unavailable: the CMDB failed and nothing is cached; not-a-key: not an IP or host name, not looked up' }),
  items: Type.Array(CiOut),
  fetched_at: Type.Optional(Type.String({ description: 'stale: when the CMDB last answered (RFC 3339)' })),
  reason: Type.Optional(Type.String()),
};
const TargetOut = Type.Object({ target: Type.String(), key: Type.Optional(Type.String()), ...AnswerOut });

function runtimeOf(deps: Deps): CmdbRuntime {
  if (!deps.runtime) throw new ProbectlError('PROBECTL_ERR_CMDB_DISABLED', 'CMDB correlation is off: set PROBECTL_CMDB_PROVIDER, PROBECTL_CMDB_URL and PROBECTL_CMDB_SECRET (docs/cmdb.md)');
  return deps.runtime;
}

/** Counts a call's lookups (one per target it looks up) against the tenant's PROBECTL_CMDB_RATE_LIMIT; 429 beyond it. */
function takeRate(rt: CmdbRuntime, principal: Principal, lookups = 1): void {
  const wait = rt.rate.take(principal.tenantId, lookups);
  if (wait !== undefined) throw new ProbectlError('PROBECTL_ERR_CMDB_RATE_LIMITED', `more than ${rt.settings.ratePerMinute} CMDB lookups this minute (PROBECTL_CMDB_RATE_LIMIT); retry in ${wait} s`, { details: { retry_after_seconds: wait } });
}

/** An answer as the API shows it (the key as text). */
function shown(target: string, a: CiAnswer & { key?: { value: string } }) {
  const { key, ...rest } = a;
  return { target, ...(key ? { key: key.value } : {}), ...rest };
}

/** The worst state of several answers, for the view's summary: unavailable > stale > ok. */
function overall(answers: readonly CiAnswer[]): 'ok' | 'stale' | 'unavailable' {
  if (answers.some((a) => a.state === 'unavailable')) return 'unavailable';
  return answers.some((a) => a.state === 'stale') ? 'stale' : 'ok';
}

/**
 * CMDB correlation routes (`cmdb-read`; docs/cmdb.md). The incident and
 * agent views show the incident's targets and the agent's name, host name
 * and address, so they need `incidents-read` as well (the permission that
 * reads incidents and lists agents). Each is an audited
 * sensitive read (once per token, action and target per interval) counted
 * against the tenant's PROBECTL_CMDB_RATE_LIMIT. The lookup answers 503 when
 * the CMDB fails with nothing cached; the incident and agent views answer
 * 200 with each target marked `stale` or `unavailable` instead, so a CMDB
 * outage never fails them.
 */
export const cmdbRoutes: readonly RouteDef<Deps>[] = [
  route({
    method: 'GET', url: '/v1/cmdb/lookup', summary: 'The CMDB\'s configuration items for an IP address, host name, FQDN or URL', tags: ['cmdb'], access: needs('cmdb-read'),
    schema: {
      querystring: Type.Object({ key: Type.String({ minLength: 1, maxLength: 512, description: 'An IPv4/IPv6 address, a host name or FQDN, or a URL naming one' }) }, { additionalProperties: false }),
      response: { 200: TargetOut },
    },
    handler: async ({ deps, principal, query }) => {
      const rt = runtimeOf(deps);
      const key = cmdbKey(query.key);
      if (!key) throw new ProbectlError('PROBECTL_ERR_CMDB_KEY_INVALID', 'key is not an IP address, a host name, an FQDN or a URL naming one; nothing was looked up');
      takeRate(rt, principal);
      const answer = await rt.lookup.lookup(query.key);
      await inTenant(deps.db, principal.tenantId, (tx) => deps.sensitiveReads.record(tx, principal, 'cmdb.lookup', `cmdb:${key.value}`, { state: answer.state, items: answer.items.length }));
      if (answer.state === 'unavailable') throw new ProbectlError('PROBECTL_ERR_CMDB_UNAVAILABLE', `CMDB unavailable: ${answer.reason}; nothing is cached for ${key.value}`);
      return { body: shown(query.key, answer) };
    },
  }),
  route({
    method: 'GET', url: '/v1/incidents/:id/cis', summary: 'The configuration items of an incident\'s target and its signals\' targets (needs cmdb-read and incidents-read)', tags: ['cmdb'], access: needsAll('cmdb-read', 'incidents-read'),
    schema: {
      params: IdParams,
      response: { 200: Type.Object({ incident_id: Type.String(), cmdb: Type.Union([Type.Literal('ok'), Type.Literal('stale'), Type.Literal('unavailable')]), targets: Type.Array(TargetOut) }) },
    },
    handler: async ({ deps, principal, params }) => {
      const targets = await inTenant(deps.db, principal.tenantId, async (tx) => {
        const incident = await getIncident(tx, params.id);
        if (!incident) return undefined;
        const res = await tx.query<{ target: string }>(
          'SELECT target FROM (SELECT target, min(seq) AS first FROM signals WHERE tenant_id = $1 AND incident_id = $2 GROUP BY target) t ORDER BY first LIMIT $3',
          [tx.tenantId, incident.id, MAX_INCIDENT_TARGETS]);
        return [...new Set([incident.target, ...res.rows.map((r) => r.target)])].slice(0, MAX_INCIDENT_TARGETS);
      });
      if (!targets) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', 'no such incident');
      const rt = runtimeOf(deps);
      takeRate(rt, principal, targets.length);
      const answers = await Promise.all(targets.map((t) => rt.lookup.lookup(t)));
      await inTenant(deps.db, principal.tenantId, (tx) => deps.sensitiveReads.record(tx, principal, 'cmdb.incident.read', `incident:${params.id}`, { targets: targets.length }));
      return { body: { incident_id: params.id, cmdb: overall(answers), targets: answers.map((a, i) => shown(targets[i] as string, a)) } };
    },
  }),
  route({
    method: 'GET', url: '/v1/agents/:id/ci', summary: 'The configuration items of an agent (by its host name and address; needs cmdb-read and incidents-read)', tags: ['cmdb'], access: needsAll('cmdb-read', 'incidents-read'),
    schema: {
      params: IdParams,
      response: { 200: Type.Object({ agent_id: Type.String(), name: Type.String(), cmdb: Type.Union([Type.Literal('ok'), Type.Literal('stale'), Type.Literal('unavailable')]), targets: Type.Array(TargetOut) }) },
    },
    handler: async ({ deps, principal, params }) => {
      const agent = await inTenant(deps.db, principal.tenantId, (tx) => getAgent(tx, params.id));
      if (!agent) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', 'no such agent');
      const rt = runtimeOf(deps);
      const targets = [agent.hostname, agent.address].filter((t): t is string => t !== null);
      takeRate(rt, principal, targets.length);
      const answers = await Promise.all(targets.map((t) => rt.lookup.lookup(t)));
      await inTenant(deps.db, principal.tenantId, (tx) => deps.sensitiveReads.record(tx, principal, 'cmdb.agent.read', `agent:${agent.id}`, { targets: targets.length }));
      return { body: { agent_id: agent.id, name: agent.name, cmdb: overall(answers), targets: answers.map((a, i) => shown(targets[i] as string, a)) } };
    },
  }),
];
