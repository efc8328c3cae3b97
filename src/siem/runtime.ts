import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../core/clock.ts';
import type { SecretResolver } from '../secrets/resolver.ts';
import type { Db } from '../store/db.ts';
import type { SiemRuntime } from './admin.ts';
import type { SiemSettings } from './config.ts';
import { formatOptions } from './formatters/options.ts';
import { Forwarder } from './forwarder.ts';
import { createRedactor } from './redact.ts';
import { SiemMetrics } from './status.ts';
import { buildTarget } from './targets/index.ts';
import { TlsIdentity } from '../secrets/tls-identity.ts';

export interface SiemExport {
  runtime: SiemRuntime;
  forwarder: Forwarder;
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

/**
 * Starts SIEM export (only called when PROBECTL_SIEM_ENABLED=true). A client
 * certificate for mutual TLS is a reloadable identity: renewed in place, it
 * applies to the next connections without a restart; a broken renewal keeps
 * the previous one and shows in the secrets health.
 */
export async function startSiemExport(settings: SiemSettings, deps: { db: Db; clock: Clock; log: Logger; registry: Registry; secrets: SecretResolver; version: string; reloadIntervalMs?: number }): Promise<SiemExport> {
  const target = buildTarget(settings, siemFormatOptions(settings, deps.version), tokenResolver(deps.secrets));
  let identity: TlsIdentity | undefined;
  if (settings.clientCertFile && settings.clientKeyFile) {
    identity = await TlsIdentity.load({
      name: 'siem-client', cert: { file: settings.clientCertFile }, key: { file: settings.clientKeyFile },
      resolver: deps.secrets, clock: deps.clock, ...(deps.reloadIntervalMs ? { intervalMs: deps.reloadIntervalMs } : {}),
    });
    identity.onChange((m) => target.sender.setTls?.({ cert: m.cert, key: m.key }));
    identity.start();
  }
  const redactor = createRedactor(settings.redactKeys);
  const forwarder = new Forwarder({ db: deps.db, clock: deps.clock, log: deps.log.child({ component: 'siem' }), settings, target, redactor, metrics: new SiemMetrics(deps.registry) });
  forwarder.start();
  return {
    runtime: { settings, target, redactor, policy: settings.retry, live: () => forwarder.liveStates() },
    forwarder,
    async stop() {
      await identity?.stop();
      await forwarder.stop();
    },
  };
}
