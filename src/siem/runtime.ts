import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../core/clock.ts';
import { DeliveryEngine, type EngineSettings } from '../delivery/engine.ts';
import { DeliveryMetrics, type LiveStreamState } from '../delivery/metrics.ts';
import type { DeliveryRuntime } from '../delivery/operations.ts';
import type { SecretResolver } from '../secrets/resolver.ts';
import { TlsIdentity } from '../secrets/tls-identity.ts';
import type { Db } from '../store/db.ts';
import type { SiemSettings } from './config.ts';
import type { SiemEvent } from './event.ts';
import { formatOptions } from './formatters/options.ts';
import { createRedactor, type Redactor } from './redact.ts';
import { siemSource } from './sources.ts';
import { buildTarget } from './targets/build.ts';
import type { Target } from './targets/types.ts';

/** The delivery engine's consumer name for SIEM export (cursors, lock keys, audit actions `siem.*`). */
export const SIEM_CONSUMER = 'siem';

/** What the SIEM operations (status, parked, replay) need: the delivery runtime plus the export's settings. */
export interface SiemRuntime extends DeliveryRuntime<SiemEvent> {
  settings: SiemSettings;
  target: Target;
  redactor: Redactor;
}

export interface SiemExport {
  runtime: SiemRuntime;
  engine: DeliveryEngine<SiemEvent>;
  stop(): Promise<void>;
}

/** The ingest token for one request, resolved at use time and never kept as plaintext. */
export function tokenResolver(secrets: SecretResolver) {
  return (ref: Parameters<SecretResolver['use']>[0]) => secrets.use(ref, (plaintext) => plaintext.toString('utf8'));
}

/** The format options every formatter gets: the real host name and this build's version. */
export function siemFormatOptions(settings: SiemSettings, version: string) {
  return formatOptions({ hostname: hostname(), version, syslogPen: settings.syslogPen, syslogFacility: settings.syslogFacility });
}

/** probectl_siem_* metrics. */
export function siemMetrics(registry: Registry): DeliveryMetrics {
  return new DeliveryMetrics(registry, 'probectl_siem', { title: 'SIEM export', items: 'Events', receiver: 'the SIEM' });
}

/** How the engine drains for SIEM export, from PROBECTL_SIEM_*. */
export function siemEngineSettings(settings: SiemSettings): EngineSettings {
  return {
    batchSize: settings.batchSize, inflight: settings.inflight, pollIntervalMs: settings.pollIntervalMs,
    rebalanceIntervalMs: settings.rebalanceIntervalMs, retry: settings.retry, bufferItems: settings.bufferEvents,
  };
}

/** The SIEM runtime over a target: the audit and threat sources the settings name, redacted with PROBECTL_SIEM_REDACT_KEYS. */
export function siemRuntime(settings: SiemSettings, target: Target, live: () => LiveStreamState[] = () => []): SiemRuntime {
  const redactor = createRedactor(settings.redactKeys);
  return {
    consumer: SIEM_CONSUMER, settings, target, redactor, sink: target, policy: settings.retry, batchSize: settings.batchSize, live,
    sources: settings.streams.map((stream) => siemSource(stream, redactor)),
  };
}

/**
 * Starts SIEM export (only called when PROBECTL_SIEM_ENABLED=true): the
 * shared delivery engine draining each tenant's audit chain and signal log
 * into the configured target. A client certificate for mutual TLS is a
 * reloadable identity: renewed in place, it applies to the next connections
 * without a restart; a broken renewal keeps the previous one and shows in the
 * secrets health.
 */
export async function startSiemExport(settings: SiemSettings, deps: { db: Db; clock: Clock; log: Logger; registry: Registry; secrets: SecretResolver; version: string; reloadIntervalMs?: number; stopGraceMs?: number; target?: Target }): Promise<SiemExport> {
  const target = deps.target ?? buildTarget(settings, siemFormatOptions(settings, deps.version), tokenResolver(deps.secrets));
  let identity: TlsIdentity | undefined;
  if (settings.clientCertFile && settings.clientKeyFile) {
    identity = await TlsIdentity.load({
      name: 'siem-client', cert: { file: settings.clientCertFile }, key: { file: settings.clientKeyFile },
      resolver: deps.secrets, clock: deps.clock, ...(deps.reloadIntervalMs ? { intervalMs: deps.reloadIntervalMs } : {}),
    });
    identity.onChange((m) => target.sender.setTls?.({ cert: m.cert, key: m.key }));
    identity.start();
  }
  let engine: DeliveryEngine<SiemEvent> | undefined;
  const runtime = siemRuntime(settings, target, () => engine?.liveStates() ?? []);
  engine = new DeliveryEngine<SiemEvent>({
    consumer: SIEM_CONSUMER, db: deps.db, clock: deps.clock, log: deps.log.child({ component: 'siem' }),
    settings: siemEngineSettings(settings), sources: runtime.sources, sink: target, metrics: siemMetrics(deps.registry),
    notifier: deps.db.streams, ...(deps.stopGraceMs !== undefined ? { stopGraceMs: deps.stopGraceMs } : {}),
  });
  engine.start();
  const running = engine;
  return {
    runtime,
    engine: running,
    async stop() {
      await identity?.stop();
      await running.stop();
    },
  };
}
