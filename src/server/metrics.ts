import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The process's own metrics; one registry per process (tests build several). */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({ name: 'probectl_http_requests_total', help: 'HTTP requests by route, method and status code.', labelNames: ['route', 'method', 'status'] as const, registers: [this.registry] });
  readonly httpDuration = new Histogram({ name: 'probectl_http_request_duration_seconds', help: 'HTTP request latency.', labelNames: ['route', 'method'] as const, buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry] });
  readonly authOutcomes = new Counter({ name: 'probectl_auth_total', help: 'Authentication and authorization outcomes.', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly auditAppends = new Counter({ name: 'probectl_audit_appends_total', help: 'Audit records appended through the API.', registers: [this.registry] });
  readonly signalsIngested = new Counter({ name: 'probectl_signals_ingested_total', help: 'Threat signals stored, by tenant and kind family.', labelNames: ['tenant', 'family'] as const, registers: [this.registry] });
  readonly incidentsOpened = new Counter({ name: 'probectl_incidents_opened_total', help: 'Incidents opened by the correlator.', labelNames: ['tenant'] as const, registers: [this.registry] });
  readonly postureChecks = new Counter({ name: 'probectl_tls_posture_checks_total', help: 'TLS posture checks by result (ok, findings, unreachable, error).', labelNames: ['result'] as const, registers: [this.registry] });
  readonly iocFileLoads = new Counter({ name: 'probectl_ioc_file_loads_total', help: 'Indicator file loads by result (ok, error).', labelNames: ['result'] as const, registers: [this.registry] });
  readonly dbUp = new Gauge({ name: 'probectl_database_up', help: '1 when the database answered the last readiness check.', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'probectl_process_' });
  }
}
