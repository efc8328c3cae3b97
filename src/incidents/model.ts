export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const INCIDENT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

export interface SignalInput {
  kind: string;
  severity: Severity;
  confidence: number;
  target: string;
  title: string;
  attributes?: Record<string, unknown>;
}

export interface Signal {
  id: string;
  seq: number;
  tenant: string;
  kind: string;
  severity: Severity;
  confidence: number;
  target: string;
  title: string;
  attributes: Record<string, unknown>;
  received_at: string;
  incident_id: string;
}

export interface Incident {
  id: string;
  tenant: string;
  correlation_key: string;
  kind_family: string;
  target: string;
  title: string;
  status: IncidentStatus;
  severity: Severity;
  signal_count: number;
  opened_at: string;
  updated_at: string;
  last_signal_at: string;
  acknowledged_at: string | null;
  resolved_at: string | null;
}

/** kind family + target: `tls.expired` and `tls.expiring` on one endpoint correlate. */
export function correlationKey(kind: string, target: string): { family: string; key: string } {
  const family = kind.split('.')[0] as string;
  return { family, key: `${family}|${target.trim().toLowerCase()}` };
}
