import type { Logger } from 'pino';
import { appendAudit } from '../audit/log.ts';
import type { Clock } from '../core/clock.ts';
import { OncePerInterval } from '../core/once-per-interval.ts';
import { oneLine } from '../core/text.ts';
import type { SinkOutcome } from '../delivery/outcome.ts';
import type { Sink } from '../delivery/types.ts';
import type { IncidentEnricher } from '../incidents/configuration-items.ts';
import { getIncident, resolvedIncidents } from '../incidents/incidents.ts';
import type { SecretResolver } from '../secrets/resolver.ts';
import type { Db } from '../store/db.ts';
import { inTenant, type TenantTx } from '../store/scope.ts';
import type { ConnectorConfig } from './config/connectors.ts';
import { connectorLinks, recordOpenEnded, recordOpens, recordSkippedStatus, refOf, type Link } from './links.ts';
import type { NotifyMetrics } from './metrics.ts';
import { doneSeqs, enqueue, markDone, type NotifyItem } from './outbox.ts';
import type { ConnectorEndpoint, ExternalRef, Operation, OperationResult } from './providers/types.ts';
import { incidentView } from './view.ts';

/** A configured connector with what it calls its vendor through. */
export interface LiveConnector {
  readonly config: ConnectorConfig;
  readonly endpoint: ConnectorEndpoint;
  close(): Promise<void>;
}

export interface NotifySinkDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  connectors: ReadonlyMap<string, LiveConnector>;
  metrics: NotifyMetrics;
  /** Incidents of one connector handled at once (PROBECTL_NOTIFY_CONCURRENCY). */
  concurrency: number;
  secrets: SecretResolver;
  /**
   * Enrichers of new incidents (the CMDB's configuration items), read when an
   * open is sent; each answers within its own short deadline and never fails
   * the open. Filled in by the composition root as integrations start.
   */
  enrichers?: readonly IncidentEnricher[];
}

/** An operation the vendor acknowledged in this attempt (with the ref an open recorded), not yet written down. */
interface Finished {
  readonly item: NotifyItem;
  readonly ref?: ExternalRef;
}

/** The database failed while recording an operation: retried, never a reason to park it. */
class StoreTrouble extends Error {}

type ItemResult =
  | { kind: 'done' }
  | { kind: 'retry'; reason: string; retryAfterMs?: number | undefined }
  | { kind: 'paused'; reason: string }
  | { kind: 'rejected'; reason: string; status?: number | undefined };

const PAUSE_AUDIT_INTERVAL_MS = 600_000;

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The delivery engine's sink for on-call connectors: a batch is operations of
 * one connector (its stream), grouped by incident; incidents go concurrently
 * (up to `concurrency`), one incident's operations strictly in order, each
 * stopping at the first that must wait. Per operation:
 *
 * - open: nothing if the link already has its ref; else the provider's lookup
 *   (an object a lost answer or a crash left behind is adopted), else the
 *   open; the ref is recorded with the operation's completion in one
 *   transaction. A permanent refusal marks the link failed (and the
 *   operation is parked by the engine: status, metric, audit, `notify failed`).
 * - update / acknowledge / resolve: sent with the recorded ref; when the open
 *   never succeeded, recorded as skipped with the reason (and sent later if
 *   a retried open succeeds).
 *
 * The operations each attempt finished are written down together (refs and
 * completions, one transaction) before the attempt returns, so a batch sent
 * again (a retry after part of it failed) skips them; a crash before that
 * commit sends at most that batch again, which the providers' idempotency
 * absorbs (dedup key, alias, lookup, Idempotency-Key). Outcomes: paused when
 * the vendor refuses the credential (the secret is re-resolved for the next
 * attempt; audited once per connector per 10 minutes), partial otherwise.
 */
export class NotifySink implements Sink<NotifyItem> {
  private readonly deps: NotifySinkDeps;
  private readonly pauseAudit = new OncePerInterval(PAUSE_AUDIT_INTERVAL_MS);

  constructor(deps: NotifySinkDeps) {
    this.deps = deps;
  }

  async attempt(items: readonly NotifyItem[], signal: AbortSignal | undefined): Promise<SinkOutcome> {
    const first = items[0];
    if (!first) return { kind: 'ok' };
    const live = this.deps.connectors.get(first.connector);
    if (!live) return { kind: 'paused', reason: `connector ${first.connector} is not configured` };
    const incidents = [...new Set(items.map((i) => i.incidentId))];
    // A pager's opens: which of their incidents are resolved already (see NotifyProvider.pages).
    const opening = live.config.provider.pages ? [...new Set(items.filter((i) => i.action === 'open').map((i) => i.incidentId))] : [];
    let state: { links: Map<string, Link>; done: Set<number>; resolved: Set<string> };
    try {
      state = await this.store(first.tenant, async (tx) => ({
        links: await connectorLinks(tx, first.connector, incidents),
        done: await doneSeqs(tx, first.connector, items.map((i) => i.seq)),
        resolved: opening.length === 0 ? new Set<string>() : await resolvedIncidents(tx, opening),
      }));
    } catch (err) {
      return { kind: 'retryable', reason: (err as Error).message };
    }
    const { links, done, resolved } = state;
    const groups = new Map<string, number[]>();
    items.forEach((item, i) => groups.set(item.incidentId, [...(groups.get(item.incidentId) ?? []), i]));
    const results: ItemResult[] = [];
    const finished: Finished[] = [];
    let thrown: unknown;
    await pool([...groups.values()], this.deps.concurrency, async (indexes) => {
      for (let k = 0; k < indexes.length; k++) {
        const i = indexes[k] as number;
        const item = items[i] as NotifyItem;
        let result: ItemResult;
        try {
          result = done.has(item.seq) ? { kind: 'done' } : await this.run(live, item, links, finished, signal, resolved);
        } catch (err) {
          thrown ??= err;
          return;
        }
        results[i] = result;
        if (result.kind === 'retry' || result.kind === 'paused') {
          // Later operations of this incident wait for this one.
          for (const j of indexes.slice(k + 1)) results[j] = { kind: 'retry', reason: `waiting for an earlier operation of incident ${item.incidentId}` };
          return;
        }
      }
    });
    // What the vendors acknowledged is recorded even when another operation failed, so it is not sent again.
    try {
      await this.record(live, first.tenant, finished);
    } catch (err) {
      // Not recorded: the batch goes again (the providers' idempotency absorbs what was already done).
      return { kind: 'retryable', reason: (err as Error).message };
    }
    // The database failing is a reason to try again later, never to park an operation (only a provider failing on it is).
    if (thrown instanceof StoreTrouble) return { kind: 'retryable', reason: thrown.message };
    if (thrown !== undefined) throw thrown;
    return aggregate(results);
  }

  /** A transaction of the tenant's; a failure is a StoreTrouble (retried), not an error of the operation. */
  private async store<T>(tenant: string, fn: (tx: TenantTx) => Promise<T>): Promise<T> {
    try {
      return await inTenant(this.deps.db, tenant, fn);
    } catch (err) {
      throw new StoreTrouble(`on-call mirror: the database failed (${(err as Error).message.slice(0, 300)}); trying again`);
    }
  }

  /**
   * One transaction for a batch's finished operations: the refs of the opens
   * and every completion. A crash before it commits sends them again (at
   * most the batch in flight), which the providers' idempotency absorbs.
   */
  private async record(live: LiveConnector, tenant: string, finished: readonly Finished[]): Promise<void> {
    if (finished.length === 0) return;
    const { clock } = this.deps;
    const connector = live.config.id;
    await this.store(tenant, async (tx) => {
      const skipped = await recordOpens(tx, clock, connector, finished.flatMap((f) => (f.ref ? [{ incidentId: f.item.incidentId, ref: f.ref }] : [])));
      await markDone(tx, clock, connector, finished.map((f) => f.item.seq), 'sent', null);
      // A status skipped while the open was failing is sent now that it succeeded.
      for (const s of skipped) {
        const incident = await getIncident(tx, s.incident_id);
        if (incident) await enqueue(tx, clock, [{ connector, action: s.skipped_status === 'resolved' ? 'resolve' : 'acknowledge', incident: incidentView(incident, tx.tenantId) }]);
      }
    });
    for (const f of finished) this.count(live, f.item, 'sent');
  }

  private async run(live: LiveConnector, item: NotifyItem, links: Map<string, Link>, finished: Finished[], signal: AbortSignal | undefined, resolved: ReadonlySet<string>): Promise<ItemResult> {
    const { provider } = live.config;
    const link = links.get(item.incidentId);
    const op = (ref: ExternalRef | undefined, incident = item.incident): Operation => ({ action: item.action, incident, ref, idempotencyKey: item.id, ...(item.update ? { update: item.update } : {}) });
    const opened = async (ref: ExternalRef): Promise<ItemResult> => {
      const unusable = refProblem(ref);
      // The vendor acted, but what it answered cannot be recorded: failed (visible, retried by an operator), never
      // a commit failing on every attempt, which would stall the connector and ask the vendor again and again.
      if (unusable) return this.notOk(live, item, links, { kind: 'permanent', reason: `${provider.name} answered an unusable reference for the incident (${unusable}); nothing recorded` });
      finished.push({ item, ref });
      // Later operations of this incident in the batch use the ref at once.
      if (link) Object.assign(link, { state: 'open', ref_id: ref.id, ref_keys: [ref.id, ...(ref.aliases ?? [])], ref_data: ref.data ?? null, failure: null });
      return { kind: 'done' };
    };
    if (item.action === 'open') {
      if (link?.state === 'open') {
        finished.push({ item });
        return { kind: 'done' };
      }
      // A pager is never made to wake someone for an incident that is over (see the resolve below).
      if (resolved.has(item.incidentId)) return this.skip(live, item, 'the incident was resolved before the page could be sent: nobody was paged', true);
      if (provider.lookup) {
        const found = await provider.lookup(item.incident, live.endpoint, signal);
        if (found.kind === 'found') return await opened(found.ref);
        if (found.kind !== 'none') return this.notOk(live, item, links, found);
      }
      const r = await provider.perform(op(undefined, await this.enriched(item)), live.endpoint, signal);
      if (r.kind === 'ok') return await opened(r.ref ?? { id: item.incident.key });
      return this.notOk(live, item, links, r);
    }
    // A pager's resolve whose open was not recorded (skipped because the incident was over first, or still
    // unanswered) goes out by the incident key, its dedup key / alias: it closes the alert a trigger whose
    // answer was lost may have opened, and is a no-op at the vendor otherwise. Never after an open refused for good.
    const byKey = provider.pages === true && item.action === 'resolve' && (link?.state === 'pending' || link?.state === 'skipped');
    if (!byKey && (!link || link.state !== 'open')) {
      return this.skip(live, item, link?.state === 'failed' ? `the open failed permanently: ${link.failure ?? 'refused'}` : 'the open never succeeded');
    }
    const r = await provider.perform(op(byKey ? { id: item.incident.key } : refOf(link as Link)), live.endpoint, signal);
    if (r.kind === 'ok') {
      finished.push({ item });
      return { kind: 'done' };
    }
    return this.notOk(live, item, links, r);
  }

  /** The open's incident with its configuration items when an enricher found some in time; as it was otherwise. */
  private async enriched(item: NotifyItem): Promise<NotifyItem['incident']> {
    const enricher = this.deps.enrichers?.[0];
    if (!enricher) return item.incident;
    try {
      const found = await enricher.configurationItems(item.tenant, [item.incident.target], item.incidentId);
      return {
        ...item.incident,
        ...(found.items.length > 0 ? { cis: found.items } : {}),
        ...(found.unavailable !== undefined ? { cisUnavailable: found.unavailable } : {}),
      };
    } catch (err) {
      this.deps.log.warn({ tenant: item.tenant, incident: item.incidentId, err: (err as Error).message }, 'on-call mirror: configuration items not added');
      return item.incident;
    }
  }

  private count(live: LiveConnector, item: NotifyItem, outcome: 'sent' | 'skipped' | 'failed' | 'retried' | 'paused'): void {
    this.deps.metrics.operations.inc({ tenant: item.tenant, connector: live.config.id, provider: live.config.provider.name, action: item.action, outcome });
  }

  /** Marks the operation skipped with the reason (audited); `openSkipped`: a pager's open, and its link reads `skipped`. */
  private async skip(live: LiveConnector, item: NotifyItem, reason: string, openSkipped = false): Promise<ItemResult> {
    const { clock } = this.deps;
    await this.store(item.tenant, async (tx) => {
      await markDone(tx, clock, item.connector, [item.seq], 'skipped', reason);
      if (openSkipped) await recordOpenEnded(tx, clock, item.connector, item.incidentId, 'skipped', reason);
      if (item.action === 'acknowledge' || item.action === 'resolve') await recordSkippedStatus(tx, item.connector, item.incidentId, item.action === 'resolve' ? 'resolved' : 'acknowledged');
      await appendAudit(tx, clock, {
        actor: 'system:notify', action: 'notify.skipped', target: `notify:${item.connector}`, outcome: 'failure',
        data: { connector: item.connector, provider: live.config.provider.name, incident: item.incidentId, action: item.action, seq: item.seq, reason: reason.slice(0, 500) },
      });
    });
    this.count(live, item, 'skipped');
    this.deps.log.warn({ tenant: item.tenant, connector: item.connector, incident: item.incidentId, action: item.action, reason }, 'on-call mirror: operation skipped');
    return { kind: 'done' };
  }

  private async notOk(live: LiveConnector, item: NotifyItem, links: Map<string, Link>, result: Exclude<OperationResult, { kind: 'ok' }>): Promise<ItemResult> {
    // A vendor's words go into the links, the outbox, the parked table, status and the audit log: one printable line
    // the database stores (a NUL from a vendor would otherwise fail every commit and stall the connector).
    const r = { ...result, reason: oneLine(result.reason, 1000) };
    switch (r.kind) {
      case 'retryable':
        this.count(live, item, 'retried');
        return { kind: 'retry', reason: r.reason, retryAfterMs: r.retryAfterMs };
      case 'paused':
        this.count(live, item, 'paused');
        await this.paused(live, item, r.reason);
        return { kind: 'paused', reason: r.reason };
      case 'permanent': {
        if (item.action === 'open') {
          await this.store(item.tenant, (tx) => recordOpenEnded(tx, this.deps.clock, item.connector, item.incidentId, 'failed', r.reason));
          const link = links.get(item.incidentId);
          if (link) Object.assign(link, { state: 'failed', failure: r.reason });
        }
        this.count(live, item, 'failed');
        return { kind: 'rejected', reason: r.reason, status: r.status };
      }
    }
  }

  /** The credential may have been rotated: forget it so the next attempt resolves it again; audit the pause now and then. */
  private async paused(live: LiveConnector, item: NotifyItem, reason: string): Promise<void> {
    if (live.config.secret) this.deps.secrets.forget(live.config.secret);
    const gate = this.pauseAudit.check(live.config.id, this.deps.clock.now());
    if (!gate.due) return;
    await inTenant(this.deps.db, item.tenant, (tx) => appendAudit(tx, this.deps.clock, {
      actor: 'system:notify', action: 'notify.paused', target: `notify:${live.config.id}`, outcome: 'failure',
      data: { connector: live.config.id, provider: live.config.provider.name, endpoint: live.config.display, reason: reason.slice(0, 500), pauses_not_audited: gate.skipped },
    })).catch((err: unknown) => this.deps.log.error({ connector: live.config.id, err: (err as Error).message }, 'could not audit a connector pause'));
  }

  async close(): Promise<void> {
    await Promise.all([...this.deps.connectors.values()].map((c) => c.close()));
  }
}

const REF_TEXT = /^[^\u0000-\u001f\u007f]{1,256}$/;

/**
 * Why a vendor's reference cannot be recorded (it is stored, indexed and
 * matched against inbound webhooks): ids and aliases 1 to 256 printable
 * characters, at most 16 aliases, at most 16 data values of at most 1,024
 * printable characters; undefined when it can. Never quotes the values.
 */
export function refProblem(ref: ExternalRef): string | undefined {
  const text = (v: unknown, max: number) => typeof v === 'string' && v.isWellFormed() && [...v].length <= max && (max === 256 ? REF_TEXT.test(v) : !/[\u0000-\u001f\u007f]/.test(v));
  if (!text(ref.id, 256)) return 'its id is not 1 to 256 printable characters';
  if ((ref.aliases ?? []).length > 16 || !(ref.aliases ?? []).every((a) => a === '' || text(a, 256))) return 'an alias is not 1 to 256 printable characters, or there are more than 16';
  const data = Object.entries(ref.data ?? {});
  if (data.length > 16 || !data.every(([k, v]) => text(k, 256) && text(v, 1024))) return 'its data is not at most 16 printable values of at most 1,024 characters';
  return undefined;
}

function aggregate(results: readonly ItemResult[]): SinkOutcome {
  const paused = results.find((r) => r.kind === 'paused');
  if (paused?.kind === 'paused') return { kind: 'paused', reason: paused.reason };
  const rejected: number[] = [];
  const retry: number[] = [];
  let retryReason = '';
  let retryAfterMs: number | undefined;
  results.forEach((r, i) => {
    if (r.kind === 'rejected') rejected.push(i);
    if (r.kind === 'retry') {
      retry.push(i);
      if (retryReason === '' || retryReason.startsWith('waiting for')) retryReason = r.reason;
      if (r.retryAfterMs !== undefined) retryAfterMs = Math.max(retryAfterMs ?? 0, r.retryAfterMs);
    }
  });
  if (rejected.length === 0 && retry.length === 0) return { kind: 'ok' };
  return {
    kind: 'partial',
    rejected: rejected.map((index) => {
      const r = results[index] as Extract<ItemResult, { kind: 'rejected' }>;
      return { index, status: r.status, reason: r.reason, response: '' };
    }),
    retry, retryReason, retryAfterMs,
  };
}
