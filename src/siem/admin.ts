import { appendAudit } from '../audit/log.ts';
import type { Clock } from '../core/clock.ts';
import type { RetryPolicy } from '../core/retry/policy.ts';
import type { Db } from '../store/db.ts';
import { inTenant } from '../store/scope.ts';
import { endpointHost, type SiemSettings } from './config.ts';
import { deliveryRows, listParked, oldestPendingTime, parkEvent, readEvents, readEventsBySeq, streamHead, unpark, type ParkedRow, type SiemStream } from './cursor.ts';
import { deliverBatch } from './deliver.ts';
import type { Redactor } from './redact.ts';
import type { LiveStreamState } from './status.ts';
import type { Target } from './targets/types.ts';

/** What the admin operations need from the running export. */
export interface SiemRuntime {
  settings: SiemSettings;
  target: Target;
  redactor: Redactor;
  policy: RetryPolicy;
  live(): LiveStreamState[];
}

export interface StreamStatus {
  stream: SiemStream;
  cursor: number;
  head: number;
  lag_events: number;
  lag_seconds: number;
  delivered_total: number;
  parked_total: number;
  last_success_at: string | null;
  drained_here: boolean;
  paused: boolean;
  paused_reason: string | null;
  last_error: string | null;
  last_error_at: string | null;
  retries: number;
  /** Times the drainer stopped on an error and restarted (alarm when it grows). */
  failures: number;
  last_failure_at: string | null;
}

export interface SiemStatus {
  enabled: boolean;
  tenant: string;
  /** Scheme and host only: no path, no query, no token. */
  endpoint?: string;
  preset?: string;
  format?: string;
  streams: StreamStatus[];
}

/** The tenant's export status, redacted for display (endpoint host only). */
export async function siemStatus(db: Db, clock: Clock, tenantId: string, runtime: SiemRuntime | undefined): Promise<SiemStatus> {
  if (!runtime) return { enabled: false, tenant: tenantId, streams: [] };
  const live = new Map(runtime.live().filter((s) => s.tenant === tenantId).map((s) => [s.stream, s]));
  const streams = await inTenant(db, tenantId, async (tx) => {
    const rows = new Map((await deliveryRows(tx)).map((r) => [r.stream, r]));
    const out: StreamStatus[] = [];
    for (const stream of runtime.settings.streams) {
      const row = rows.get(stream);
      const cursor = row?.cursor ?? 0;
      const head = await streamHead(tx, stream);
      const oldest = await oldestPendingTime(tx, stream, cursor);
      const l = live.get(stream);
      out.push({
        stream, cursor, head, lag_events: Math.max(0, head - cursor),
        lag_seconds: oldest ? Math.max(0, Math.round((clock.now() - oldest.getTime()) / 1000)) : 0,
        delivered_total: row?.delivered_total ?? 0, parked_total: row?.parked_total ?? 0,
        last_success_at: row?.last_success_at?.toISOString() ?? null,
        drained_here: l !== undefined, paused: l?.paused ?? false, paused_reason: l?.pausedReason ?? null,
        last_error: l?.lastError ?? null, last_error_at: l?.lastErrorAt ?? null, retries: l?.retries ?? 0,
        failures: l?.failures ?? 0, last_failure_at: l?.lastFailureAt ?? null,
      });
    }
    return out;
  });
  return { enabled: true, tenant: tenantId, endpoint: endpointHost(runtime.settings.endpoint), preset: runtime.settings.preset, format: runtime.settings.format, streams };
}

export async function parkedEvents(db: Db, tenantId: string, limit = 1000): Promise<ParkedRow[]> {
  return inTenant(db, tenantId, (tx) => listParked(tx, limit));
}

/**
 * Sends the parked events again (after the operator fixed what made the SIEM
 * refuse them). Delivered ones leave the parked table; refused ones stay,
 * with the new answer and one more attempt counted.
 */
export async function retryParked(db: Db, clock: Clock, runtime: SiemRuntime, tenantId: string, actor: string): Promise<{ retried: number; delivered: number; still_parked: number }> {
  const parked = await parkedEvents(db, tenantId, 100_000);
  let delivered = 0;
  let still = 0;
  for (const stream of ['audit', 'threat'] as const) {
    const seqs = parked.filter((p) => p.stream === stream).map((p) => p.seq);
    for (let i = 0; i < seqs.length; i += runtime.settings.batchSize) {
      const chunk = seqs.slice(i, i + runtime.settings.batchSize);
      const page = await inTenant(db, tenantId, (tx) => readEventsBySeq(tx, stream, chunk, runtime.redactor));
      const refused = [...page.failed, ...(await deliverBatch(runtime.target, page.events, runtime.policy))];
      const refusedSeqs = new Set(refused.map((r) => r.seq));
      const ok = page.events.map((e) => e.seq).filter((s) => !refusedSeqs.has(s));
      await inTenant(db, tenantId, async (tx) => {
        await unpark(tx, stream, ok, clock);
        const at = new Date(clock.now());
        for (const r of refused) await parkEvent(tx, stream, r, at);
      });
      delivered += ok.length;
      still += refused.length;
    }
  }
  await inTenant(db, tenantId, (tx) => appendAudit(tx, clock, { actor, action: 'siem.parked.retry', target: 'siem', outcome: still === 0 ? 'success' : 'failure', data: { retried: parked.length, delivered, still_parked: still } }));
  return { retried: parked.length, delivered, still_parked: still };
}

export interface ReplayProgress {
  sent: number;
  total: number;
  rejected: number;
}

/**
 * Re-sends a range of a tenant's stream (for a SIEM that lost data) without
 * touching the delivery cursor. Ids are the same as the first time, so a SIEM
 * that deduplicates keeps one copy. Refused events are counted, not parked.
 */
export async function replay(db: Db, clock: Clock, runtime: SiemRuntime, tenantId: string, actor: string, range: { stream: SiemStream; from: number; to?: number | undefined }, onProgress: (p: ReplayProgress) => void): Promise<ReplayProgress> {
  const head = await inTenant(db, tenantId, (tx) => streamHead(tx, range.stream));
  const last = Math.min(range.to ?? head, head);
  const progress: ReplayProgress = { sent: 0, total: Math.max(0, last - range.from + 1), rejected: 0 };
  await inTenant(db, tenantId, (tx) => appendAudit(tx, clock, { actor, action: 'siem.replay', target: `siem:${range.stream}`, outcome: 'success', data: { from: range.from, to: last } }));
  onProgress({ ...progress });
  let after = range.from - 1;
  while (after < last) {
    const page = await inTenant(db, tenantId, (tx) => readEvents(tx, range.stream, after, Math.min(runtime.settings.batchSize, last - after), runtime.redactor));
    if (page.events.length === 0 && page.failed.length === 0) break;
    const refused = await deliverBatch(runtime.target, page.events, runtime.policy);
    progress.sent += page.events.length - refused.length;
    progress.rejected += refused.length + page.failed.length;
    after = page.last;
    onProgress({ ...progress });
  }
  return progress;
}
