import { readFileSync } from 'node:fs';
import { configError, type ConfigProblem } from '../config/section.ts';
import { HttpClient } from '../core/http/client.ts';
import { DeliveryEngine } from '../delivery/engine.ts';
import type { LiveStreamState } from '../delivery/metrics.ts';
import type { DeliveryRuntime } from '../delivery/operations.ts';
import type { RetryPolicy } from '../core/retry/policy.ts';
import type { IntegrationStartDeps } from '../integrations/types.ts';
import type { Db } from '../store/db.ts';
import { inSystem } from '../store/scope.ts';
import type { ConnectorConfig, InboundConfig } from './config/connectors.ts';
import type { NotifySettings } from './config/vars.ts';
import { vendorHttp } from './http.ts';
import { NotifyListener } from './listener.ts';
import { NotifyMetrics } from './metrics.ts';
import { outboxSource, type NotifyItem } from './outbox.ts';
import type { ConnectorEndpoint } from './providers/types.ts';
import { NotifySink, type LiveConnector } from './sink.ts';
import { UpdateTicker } from './updates.ts';

/** The delivery engine's consumer name for on-call mirroring (cursors, lock keys, audit actions `notify.*`). */
export const NOTIFY_CONSUMER = 'notify';

/**
 * An operator's retry of failed operations (`notify failed retry`) answers
 * within seconds: four attempts at most, backoff up to 2 s, a Retry-After up
 * to 5 s; what is still refused or unreachable stays failed.
 */
export const MANUAL_RETRY: RetryPolicy = { baseMs: 200, capMs: 2000, maxAttempts: 4, maxRetryAfterMs: 5000 };

/** What the notify routes need: the delivery runtime (every connector's stream) plus the connectors and inbound credentials. */
export interface NotifyRuntime extends DeliveryRuntime<NotifyItem> {
  readonly settings: NotifySettings;
  readonly connectors: ReadonlyMap<string, LiveConnector>;
  readonly inbound: ReadonlyMap<string, InboundConfig>;
  readonly metrics: NotifyMetrics;
  readonly listener: NotifyListener;
  /**
   * The same runtime limited to one tenant's connectors (status, failed
   * operations); `manual`: for an operator's retry, with a short bounded
   * retry policy (MANUAL_RETRY) instead of the drainers' unlimited one.
   */
  forTenant(tenant: string, connector?: string, manual?: boolean): DeliveryRuntime<NotifyItem>;
}

/** What starting needs: the integration's start dependencies (`background` false for the CLI's in-process app: routes and listener, no drainers or ticker). */
export type NotifyStartDeps = Pick<IntegrationStartDeps, 'db' | 'clock' | 'log' | 'registry' | 'secrets' | 'version' | 'background'> & Partial<Pick<IntegrationStartDeps, 'enrichers'>> & { stopGraceMs?: number };

export interface StartedNotify {
  runtime: NotifyRuntime;
  stop(): Promise<void>;
}

/**
 * Connectors and inbound credentials must name tenants that exist: checked
 * against the database at start, refused in one configuration error naming
 * each entry by position and provider.
 */
async function checkTenants(db: Db, settings: NotifySettings): Promise<void> {
  const wanted = [...new Set([...settings.connectors, ...settings.inbound].map((e) => e.tenant))];
  const found = await inSystem(db, async (tx) => new Set((await tx.query<{ id: string }>('SELECT id FROM tenants WHERE id = ANY($1::uuid[])', [wanted])).rows.map((r) => r.id)));
  const problems: ConfigProblem[] = [];
  for (const c of settings.connectors) {
    if (!found.has(c.tenant)) problems.push({ variable: 'PROBECTL_NOTIFY_CONNECTORS', problem: `entry ${c.position} (${c.provider.name}): tenant ${c.tenant} does not exist`, accepts: 'the id of an existing tenant (GET /v1/tenants)' });
  }
  for (const i of settings.inbound) {
    if (!found.has(i.tenant)) problems.push({ variable: 'PROBECTL_NOTIFY_INBOUND', problem: `entry ${i.position} "${i.id}" (${i.provider.name}): tenant ${i.tenant} does not exist`, accepts: 'the id of an existing tenant (GET /v1/tenants)' });
  }
  if (problems.length > 0) throw configError(problems);
}

function liveConnector(c: ConnectorConfig, settings: NotifySettings, caPem: string | undefined, deps: NotifyStartDeps): LiveConnector {
  const client = new HttpClient({ tls: { ca: caPem ? [caPem] : [] }, timeoutMs: settings.timeoutMs, connections: settings.concurrency });
  const secret = async (): Promise<string | undefined> => (c.secret ? deps.secrets.use(c.secret, (b) => b.toString('utf8')) : undefined);
  const param = c.provider.urlSecretParam;
  const endpoint: ConnectorEndpoint = {
    url: c.url,
    options: c.options,
    secret,
    http: vendorHttp(client, `probectl/${deps.version}`, param ? { param, endpoint: c.url, value: secret } : undefined),
    clock: deps.clock,
  };
  return { config: c, endpoint, close: () => client.close() };
}

/**
 * Starts on-call mirroring: the tenants checked, one hardened HTTPS client
 * per connector (PROBECTL_NOTIFY_CA_FILE added to the roots), the incident
 * listener writing the outbox, and — in the server — the shared delivery
 * engine draining every connector's stream (consumer `notify`) into the sink,
 * and the coalesced-update ticker.
 */
export async function startNotify(settings: NotifySettings, deps: NotifyStartDeps): Promise<StartedNotify> {
  await checkTenants(deps.db, settings);
  const caPem = settings.caFile ? readFileSync(settings.caFile, 'utf8') : undefined;
  const connectors = new Map(settings.connectors.map((c) => [c.id, liveConnector(c, settings, caPem, deps)]));
  const metrics = new NotifyMetrics(deps.registry);
  const log = deps.log;
  const sink = new NotifySink({ db: deps.db, clock: deps.clock, log, connectors, metrics, concurrency: settings.concurrency, secrets: deps.secrets, ...(deps.enrichers ? { enrichers: deps.enrichers } : {}) });
  const sources = settings.connectors.map((c) => outboxSource(c.id, c.tenant));
  const listener = new NotifyListener(settings.connectors, deps.clock, settings.updateIntervalMs);
  let engine: DeliveryEngine<NotifyItem> | undefined;
  const live = (): LiveStreamState[] => engine?.liveStates() ?? [];
  const runtime: NotifyRuntime = {
    consumer: NOTIFY_CONSUMER, sources, sink, policy: settings.retry, batchSize: settings.batchSize, live, words: metrics.delivery.words,
    settings, connectors, inbound: new Map(settings.inbound.map((i) => [i.id, i])), metrics, listener,
    forTenant: (tenant, connector, manual) => ({
      consumer: NOTIFY_CONSUMER, sink, policy: manual ? MANUAL_RETRY : settings.retry, batchSize: settings.batchSize, live, words: metrics.delivery.words,
      sources: sources.filter((s) => s.tenants?.includes(tenant) && (connector === undefined || s.stream === connector)),
    }),
  };
  if (!deps.background) return { runtime, stop: () => sink.close() };

  engine = new DeliveryEngine<NotifyItem>({
    consumer: NOTIFY_CONSUMER, db: deps.db, clock: deps.clock, log,
    settings: { batchSize: settings.batchSize, inflight: 1, pollIntervalMs: settings.pollIntervalMs, rebalanceIntervalMs: settings.rebalanceIntervalMs, retry: settings.retry, bufferItems: settings.bufferOperations },
    sources, sink, metrics: metrics.delivery, notifier: deps.db.streams, ...(deps.stopGraceMs !== undefined ? { stopGraceMs: deps.stopGraceMs } : {}),
  });
  const updating = new Set(settings.connectors.filter((c) => c.provider.updates !== false).map((c) => c.id));
  const ticker = new UpdateTicker({
    db: deps.db, clock: deps.clock, log, intervalMs: settings.updateIntervalMs, updating,
    tenants: listener.updatingTenants(), inboundTenants: [...new Set(settings.inbound.map((i) => i.tenant))],
  });
  engine.start();
  ticker.start();
  const running = engine;
  return {
    runtime,
    async stop() {
      await ticker.stop();
      await running.stop();
    },
  };
}
