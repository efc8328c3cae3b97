import type { Clock } from '../core/clock.ts';
import { newId } from '../core/ids.ts';
import type { TenantTx } from '../store/scope.ts';
import { getIncident } from './incidents.ts';
import { announceIncidentChange, type IncidentListener } from './listeners.ts';
import { correlationKey, maxSeverity, type Incident, type Severity, type Signal, type SignalInput } from './model.ts';

const SIGNAL_STREAM = 'signals';

export interface IngestResult {
  signal: Signal;
  incidentOpened: boolean;
}

/**
 * Stores signals in the tenant's gapless signal log and attaches each to the
 * open incident with the same correlation key that saw a signal within the
 * window, or opens a new one. The signal head's row lock serializes ingest per
 * tenant, so two concurrent signals with one key never open two incidents.
 */
export async function ingestSignals(tx: TenantTx, clock: Clock, windowMs: number, inputs: readonly SignalInput[], listeners: readonly IncidentListener[] = []): Promise<IngestResult[]> {
  if (inputs.length === 0) return [];
  const head = await tx.query<{ seq: number }>(
    `INSERT INTO stream_heads AS h (tenant_id, stream, seq) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id, stream) DO UPDATE SET seq = h.seq + $3 RETURNING seq`,
    [tx.tenantId, SIGNAL_STREAM, inputs.length],
  );
  const lastSeq = (head.rows[0] as { seq: number }).seq;
  let seq = lastSeq - inputs.length;
  const results: IngestResult[] = [];
  for (const input of inputs) {
    seq += 1;
    const now = new Date(clock.now());
    const { incidentId, opened, severityFrom } = await correlate(tx, input, now, windowMs);
    const signal: Signal = {
      id: newId(),
      seq,
      tenant: tx.tenantId,
      kind: input.kind,
      severity: input.severity,
      confidence: input.confidence,
      target: input.target,
      title: input.title,
      attributes: input.attributes ?? {},
      received_at: now.toISOString(),
      incident_id: incidentId,
    };
    await tx.query(
      `INSERT INTO signals (tenant_id, seq, id, kind, severity, confidence, target, title, attributes, received_at, incident_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [tx.tenantId, seq, signal.id, signal.kind, signal.severity, signal.confidence, signal.target, signal.title, JSON.stringify(signal.attributes), now, incidentId],
    );
    results.push({ signal, incidentOpened: opened });
    if (listeners.length > 0) {
      const incident = await getIncident(tx, incidentId) as Incident;
      await announceIncidentChange(listeners, tx, opened ? { kind: 'opened', incident, signal } : { kind: 'signal', incident, signal, severityFrom });
    }
  }
  tx.streamGrew('threat');
  return results;
}

async function correlate(tx: TenantTx, input: SignalInput, now: Date, windowMs: number): Promise<{ incidentId: string; opened: boolean; severityFrom: Severity }> {
  const { family, key } = correlationKey(input.kind, input.target);
  const since = new Date(now.getTime() - windowMs);
  const open = await tx.query<{ id: string; severity: Severity }>(
    `SELECT id, severity FROM incidents
      WHERE tenant_id = $1 AND correlation_key = $2 AND status <> 'resolved' AND last_signal_at >= $3
      ORDER BY last_signal_at DESC LIMIT 1 FOR UPDATE`,
    [tx.tenantId, key, since],
  );
  const existing = open.rows[0];
  if (existing) {
    await tx.query(
      `UPDATE incidents SET severity = $3, signal_count = signal_count + 1, last_signal_at = $4, updated_at = $4
        WHERE tenant_id = $1 AND id = $2`,
      [tx.tenantId, existing.id, maxSeverity(existing.severity, input.severity), now],
    );
    return { incidentId: existing.id, opened: false, severityFrom: existing.severity };
  }
  const id = newId();
  await tx.query(
    `INSERT INTO incidents (id, tenant_id, correlation_key, kind_family, target, title, status, severity, signal_count, opened_at, updated_at, last_signal_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, 1, $8, $8, $8)`,
    [id, tx.tenantId, key, family, input.target, input.title, input.severity, now],
  );
  return { incidentId: id, opened: true, severityFrom: input.severity };
}
