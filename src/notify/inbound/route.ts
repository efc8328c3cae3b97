import { Type } from 'typebox';
import { appendAudit } from '../../audit/log.ts';
import { ProbectlError } from '../../core/errors.ts';
import { JsonInputError, parseJsonBytes } from '../../core/json-input.ts';
import { PUBLIC, routeWith, type RouteDef } from '../../integrations/route.ts';
import type { IntegrationRouteDeps } from '../../integrations/types.ts';
import type { Db } from '../../store/db.ts';
import { inTenant } from '../../store/scope.ts';
import type { InboundConfig } from '../config/connectors.ts';
import type { NotifyRuntime } from '../runtime.ts';
import { ReplayedDelivery } from './apply.ts';
import { InboundGroupCommit } from './group-commit.ts';
import { authenticateInbound } from './auth.ts';
import { FailureAuditLimiter } from './limiter.ts';
import { parsePortable } from './portable.ts';

type Deps = IntegrationRouteDeps<NotifyRuntime>;
const route = routeWith<Deps>();

/** Inbound bodies larger than this are refused (413) unread. */
export const INBOUND_BODY_LIMIT = 256 * 1024;
/** Audit records of refused deliveries per source address per minute. */
const REFUSALS_AUDITED_PER_MINUTE = 20;

// One limiter per database handle (per running app), shared by every delivery.
const limiters = new WeakMap<Db, FailureAuditLimiter>();
function limiterOf(db: Db): FailureAuditLimiter {
  let l = limiters.get(db);
  if (!l) limiters.set(db, (l = new FailureAuditLimiter(REFUSALS_AUDITED_PER_MINUTE)));
  return l;
}

// One group commit per database handle (per running app): its clock and incident listeners are the app's.
const groupCommits = new WeakMap<Db, InboundGroupCommit>();
function groupCommitOf(deps: Deps, runtime: NotifyRuntime): InboundGroupCommit {
  let g = groupCommits.get(deps.db);
  if (!g) groupCommits.set(deps.db, (g = new InboundGroupCommit(deps.db, deps.clock, deps.incidentListeners, (n) => runtime.metrics.inboundCommits.observe(n))));
  return g;
}

const printable = (s: unknown, max: number): string => (typeof s === 'string' && /^[A-Za-z0-9_.-]*$/.test(s) ? s.slice(0, max) : '(unprintable)');

/**
 * A refused delivery: audited (rate-limited per source, counted) in the
 * credential's tenant when the id is known, else the provider tenant's chain;
 * counted; nothing else is written.
 */
async function refuse(deps: Deps, inbound: InboundConfig | undefined, params: { provider?: unknown; id?: unknown }, source: string, reason: string, result: 'rejected' | 'malformed' | 'too_large'): Promise<void> {
  deps.runtime?.metrics.inbound.inc({ provider: inbound?.provider.name ?? 'unknown', result });
  const gate = limiterOf(deps.db).admit(source, deps.clock.now());
  if (!gate.due) return;
  const id = printable(params.id, 64);
  await inTenant(deps.db, inbound?.tenant ?? deps.providerTenantId, (tx) => appendAudit(tx, deps.clock, {
    // A malformed body came with a valid credential: the inbound id is its actor; the rest are unauthenticated.
    actor: result === 'malformed' && inbound ? `inbound:${inbound.id}` : 'anonymous', action: `notify.inbound.${result}`, target: `notify:inbound:${id}`, outcome: 'denied',
    data: { inbound: id, provider: printable(params.provider, 32), source, reason, suppressed_since_last: gate.suppressed },
  })).catch((err: unknown) => deps.log.error({ err: (err as Error).message }, 'could not audit a refused inbound webhook'));
}

function notAuthenticated(): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_WEBHOOK_UNAUTHENTICATED', 'webhook refused: not authenticated for this inbound id (the reason is in probectl\'s audit log, action notify.inbound.rejected)');
}

function credential(deps: Deps, params: { provider?: unknown; id?: unknown }): InboundConfig | undefined {
  const inbound = typeof params.id === 'string' ? deps.runtime?.inbound.get(params.id) : undefined;
  return inbound && inbound.provider.name === params.provider ? inbound : undefined;
}

/**
 * POST /ingest/itsm/{provider}/{id} (docs/oncall.md "Inbound webhooks"): the
 * credential is checked over the raw bytes before anything is parsed (401
 * with nothing changed otherwise, audited rate-limited); bodies over 256 KiB
 * are 413; then the portable `{"external_ref","status"}` body or the vendor's
 * own (the provider's parseInbound) is applied under the credential's tenant.
 * Unknown refs, repeated changes and events that are not mirrored answer 200
 * (so the vendor stops retrying) with what happened, and are recorded.
 */
export const inboundRoute: RouteDef<Deps> = route({
  method: 'POST', url: '/ingest/itsm/:provider/:id',
  summary: 'Inbound ITSM / on-call webhook: acknowledges or resolves the incident a vendor ref names (signed, or with the shared token)', tags: ['notify'],
  access: PUBLIC,
  schema: { params: Type.Object({ provider: Type.String({ maxLength: 64 }), id: Type.String({ maxLength: 128 }) }) },
  raw: {
    contentTypes: [], limit: INBOUND_BODY_LIMIT,
    onTooLarge: ({ deps, params, source }) => refuse(deps, credential(deps, params as never), params as never, source, `body over ${INBOUND_BODY_LIMIT} bytes`, 'too_large'),
  },
  handler: async ({ deps, params, headers, body, source }) => {
    const raw = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
    const inbound = credential(deps, params);
    const runtime = deps.runtime;
    // One answer for an unknown id and a failed check, so a caller cannot tell which ids exist; the
    // audit record (the credential's tenant, or the provider tenant for an unknown id) says which.
    if (!inbound || !runtime) {
      await refuse(deps, undefined, params, source, 'unknown inbound id or provider', 'rejected');
      throw notAuthenticated();
    }
    const auth = await authenticateInbound(inbound, raw, headers, deps.secrets, deps.clock.now());
    if (!auth.ok) {
      await refuse(deps, inbound, params, source, auth.reason, 'rejected');
      throw notAuthenticated();
    }
    if (auth.previous) runtime.metrics.inboundPreviousSecret.inc({ inbound: inbound.id });
    let parsed: unknown;
    try {
      parsed = parseJsonBytes(raw, { subject: 'webhook body' });
    } catch (err) {
      if (err instanceof JsonInputError) await refuse(deps, inbound, params, source, err.message.slice(0, 300), 'malformed');
      throw err;
    }
    const portable = parsePortable(parsed);
    const change = portable ?? inbound.provider.parseInbound?.(parsed) ?? { invalid: `not the portable {"external_ref","status"} body${inbound.provider.parseInbound ? ` nor ${inbound.provider.name}'s own webhook body` : ` (the ${inbound.provider.name} provider has no webhook body of its own: send the portable one)`}` };
    if ('invalid' in change) {
      await refuse(deps, inbound, params, source, change.invalid, 'malformed');
      throw new ProbectlError('PROBECTL_ERR_WEBHOOK_BODY', `webhook body refused: ${change.invalid}`);
    }
    let outcome;
    try {
      outcome = await groupCommitOf(deps, runtime).apply(inbound, change, auth.signature, source);
    } catch (err) {
      if (err instanceof ReplayedDelivery) {
        await refuse(deps, inbound, params, source, 'replayed signature', 'rejected');
        throw new ProbectlError('PROBECTL_ERR_WEBHOOK_UNAUTHENTICATED', 'webhook refused: replayed delivery (this signature was accepted before)');
      }
      throw err;
    }
    runtime.metrics.inbound.inc({ provider: inbound.provider.name, result: outcome.result });
    return { status: 200, body: outcome };
  },
});
