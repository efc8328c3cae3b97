import { Counter, Gauge, type Registry } from 'prom-client';
import type { SecretResolver } from './resolver.ts';

/**
 * probectl_secrets_* metrics, read from the resolver at scrape time (the same
 * counters as GET /v1/secrets/health). Labels are schemes, device-credential
 * names and identity names from the configuration — never references.
 */
export function registerSecretsMetrics(registry: Registry, resolver: SecretResolver): void {
  const registers = [registry];
  const setCounter = (c: Counter<string>, labels: Record<string, string>, value: number) => c.inc(labels, value);

  new Gauge({
    name: 'probectl_secrets_backend_configured', help: '1 when the secret backend of this scheme is configured.', labelNames: ['scheme'] as const, registers,
    collect() {
      this.reset();
      for (const s of resolver.stats()) this.set({ scheme: s.scheme }, s.configured ? 1 : 0);
    },
  });
  new Counter({
    name: 'probectl_secrets_resolves_total', help: 'Successful secret-backend fetches.', labelNames: ['scheme'] as const, registers,
    collect() {
      this.reset();
      for (const s of resolver.stats()) setCounter(this, { scheme: s.scheme }, s.resolves);
    },
  });
  new Counter({
    name: 'probectl_secrets_failures_total', help: 'Failed secret-backend fetches (unreachable, denied, not found, malformed, unconfigured).', labelNames: ['scheme'] as const, registers,
    collect() {
      this.reset();
      for (const s of resolver.stats()) setCounter(this, { scheme: s.scheme }, s.failures);
    },
  });
  new Counter({
    name: 'probectl_secrets_retries_total', help: 'Fetch attempts that failed transiently (reset, refused, timed out, 429/5xx) and were tried again within PROBECTL_SECRETS_TIMEOUT.', labelNames: ['scheme'] as const, registers,
    collect() {
      this.reset();
      for (const s of resolver.stats()) setCounter(this, { scheme: s.scheme }, s.retries);
    },
  });
  new Counter({
    name: 'probectl_secrets_cache_hits_total', help: 'Uses served from the sealed cache within a lease.', labelNames: ['scheme'] as const, registers,
    collect() {
      this.reset();
      for (const s of resolver.stats()) setCounter(this, { scheme: s.scheme }, s.cacheHits);
    },
  });
  new Gauge({
    name: 'probectl_secrets_cached_leases', help: 'Unexpired sealed values held, by scheme.', labelNames: ['scheme'] as const, registers,
    collect() {
      this.reset();
      for (const s of resolver.stats()) this.set({ scheme: s.scheme }, s.cachedLeases);
    },
  });
  new Gauge({
    name: 'probectl_secrets_last_success_timestamp_seconds', help: 'Unix time of the last successful fetch, by scheme.', labelNames: ['scheme'] as const, registers,
    collect() {
      this.reset();
      for (const s of resolver.stats()) if (s.lastOkAt !== undefined) this.set({ scheme: s.scheme }, s.lastOkAt / 1000);
    },
  });
  new Gauge({
    name: 'probectl_secrets_last_failure_timestamp_seconds', help: 'Unix time of the last failed fetch, by scheme.', labelNames: ['scheme'] as const, registers,
    collect() {
      this.reset();
      for (const s of resolver.stats()) if (s.lastErrorAt !== undefined) this.set({ scheme: s.scheme }, s.lastErrorAt / 1000);
    },
  });
  new Counter({
    name: 'probectl_secrets_device_cycles_total', help: 'Poll cycles that asked for a device credential.', labelNames: ['credential'] as const, registers,
    collect() {
      this.reset();
      for (const d of resolver.health().device_credentials) setCounter(this, { credential: d.name }, d.cycles);
    },
  });
  new Counter({
    name: 'probectl_secrets_device_cycles_skipped_total', help: 'Poll cycles skipped because the device credential could not be resolved.', labelNames: ['credential'] as const, registers,
    collect() {
      this.reset();
      for (const d of resolver.health().device_credentials) setCounter(this, { credential: d.name }, d.skipped);
    },
  });
  new Counter({
    name: 'probectl_secrets_tls_identity_reloads_total', help: 'TLS identity renewals picked up without a restart.', labelNames: ['identity'] as const, registers,
    collect() {
      this.reset();
      for (const t of resolver.health().tls_identities) setCounter(this, { identity: t.name }, t.reloads);
    },
  });
  new Counter({
    name: 'probectl_secrets_tls_identity_failures_total', help: 'TLS identity renewals refused (unparsable, or certificate and key do not match); the previous identity was kept.', labelNames: ['identity'] as const, registers,
    collect() {
      this.reset();
      for (const t of resolver.health().tls_identities) setCounter(this, { identity: t.name }, t.failures);
    },
  });
  new Gauge({
    name: 'probectl_secrets_tls_identity_not_after_timestamp_seconds', help: 'Expiry of the certificate each TLS identity serves.', labelNames: ['identity'] as const, registers,
    collect() {
      this.reset();
      for (const t of resolver.health().tls_identities) if (t.not_after) this.set({ identity: t.name }, Date.parse(t.not_after) / 1000);
    },
  });
}
