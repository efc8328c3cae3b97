/**
 * SIEM formatter throughput: the four formatters over the same events, in
 * batches of 500 as the pipeline sends them, side by side with the peer
 * libraries doing the same job in the same run:
 *  - OTLP: @opentelemetry/otlp-transformer's JsonLogsSerializer over the
 *    ReadableLogRecords an OpenTelemetry SDK would hold for these events;
 *  - ECS: the document built the way the ecs-logging libraries build it
 *    (`ecs.version` from @elastic/ecs-helpers, then JSON.stringify — helpers
 *    2.x ships no serializer of its own).
 * Formatter time only: events are mapped and redacted before the clock starts.
 */
import { createRequire } from 'node:module';
import { JsonLogsSerializer } from '@opentelemetry/otlp-transformer';
import type { AuditEvent } from '../src/audit/chain.ts';
import type { Signal } from '../src/incidents/model.ts';
import type { SiemEvent } from '../src/siem/event.ts';
import { FORMATTERS, SIEM_FORMATS } from '../src/siem/formatters/index.ts';
import { CEF_SEVERITY } from '../src/siem/formatters/cef.ts';
import { ecsAuditCategorization, ECS_VERSION, ecsThreatCategory } from '../src/siem/formatters/ecs.ts';
import { formatOptions, type FormatOptions } from '../src/siem/formatters/options.ts';
import { OTLP_SCOPE_NAME, OTLP_SEVERITY, unixNanos } from '../src/siem/formatters/otlp.ts';
import { auditToEvent, signalToEvent } from '../src/siem/mapping.ts';
import { createRedactor } from '../src/siem/redact.ts';
import { printTable } from './harness.ts';

const ecsHelpers = createRequire(import.meta.url)('@elastic/ecs-helpers') as { version: string };

const TENANT = '3b8e1f2a-4c5d-4e6f-8a9b-0c1d2e3f4a5b';
const BATCH = 500;

export function benchEvents(n: number): SiemEvent[] {
  const redactor = createRedactor();
  const out: SiemEvent[] = [];
  for (let i = 1; i <= n; i++) {
    const time = new Date(Date.UTC(2025, 0, 1) + i * 37).toISOString();
    if (i % 4 === 0) {
      const s: Signal = {
        id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, seq: i, tenant: TENANT, kind: 'ioc.match', severity: 'warning', confidence: 80,
        target: `198.51.100.${i % 250}`, title: `198.51.100.${i % 250} matches ip indicator (feed "abuse|list")`,
        attributes: { indicator: `198.51.100.${i % 250}`, indicator_type: 'ip', source: 'feed', observation: { src_ip: '10.0.0.12', port: 443, token: 'x' } },
        received_at: time, incident_id: '11111111-1111-4111-8111-111111111111',
      };
      out.push(signalToEvent(s, TENANT, { redactor }));
    } else {
      const r: AuditEvent = {
        tenant_id: TENANT, seq: i, time, actor: 'token:ops-admin', action: i % 3 === 0 ? 'auth.login' : 'config.change', target: `object:${i}`,
        outcome: i % 10 === 0 ? 'denied' : 'success', data: { i, field: 'value "quoted"', nested: { a: [1, 2, 3], password: 'p' } },
        prev_hash: 'a'.repeat(64), hash: 'b'.repeat(64),
      };
      out.push(auditToEvent(r, TENANT, { redactor }));
    }
  }
  return out;
}

/** The records an OpenTelemetry SDK logger would hold for the events (one shared resource and scope). */
function sdkRecords(events: readonly SiemEvent[], opts: FormatOptions): Parameters<typeof JsonLogsSerializer.serializeRequest>[0] {
  const resource = { attributes: { 'service.name': 'probectl', 'service.version': opts.version, 'host.name': opts.hostname, 'probectl.tenant_id': TENANT } };
  const scope = { name: OTLP_SCOPE_NAME, version: opts.version };
  return events.map((e) => {
    const n = BigInt(unixNanos(e.time));
    const hr: [number, number] = [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)];
    const attributes: Record<string, unknown> = {
      'probectl.event.id': e.id, 'probectl.category': e.category, 'probectl.action': e.action, 'probectl.actor': e.actor,
      'probectl.target': e.target, 'probectl.outcome': e.outcome, 'probectl.seq': e.seq,
      ...(e.category === 'audit'
        ? { 'probectl.audit.hash': e.hash, 'probectl.audit.prev_hash': e.prevHash }
        : { 'probectl.signal.kind': e.kind, 'probectl.signal.confidence': e.confidence, 'probectl.signal.id': e.signalId, 'probectl.incident.id': e.incidentId }),
      'probectl.attributes': e.attributes,
    };
    return {
      hrTime: hr, hrTimeObserved: hr, severityNumber: OTLP_SEVERITY[e.severity].number, severityText: OTLP_SEVERITY[e.severity].text,
      body: e.message, eventName: e.action, attributes, droppedAttributesCount: 0, resource, instrumentationScope: scope,
    };
  }) as unknown as Parameters<typeof JsonLogsSerializer.serializeRequest>[0];
}

const peerCategories = new Map<string, { category: string; type: string[] }>();

/**
 * The same ECS document assembled the way the ecs-logging libraries do it:
 * a plain object with `ecs.version` from @elastic/ecs-helpers, then
 * JSON.stringify.
 */
function ecsLoggingDoc(e: SiemEvent, opts: FormatOptions): string {
  const audit = e.category === 'audit';
  let cat = peerCategories.get(`${e.outcome}|${e.action}`);
  if (!cat) peerCategories.set(`${e.outcome}|${e.action}`, (cat = ecsAuditCategorization(e.action, e.outcome)));
  const event: Record<string, unknown> = {
    id: e.id, kind: audit ? 'event' : 'alert', category: audit ? [cat.category] : [ecsThreatCategory(e.kind)], type: audit ? cat.type : ['info'],
    action: e.action, outcome: e.outcome === 'denied' ? 'failure' : e.outcome, severity: CEF_SEVERITY[e.severity], sequence: e.seq,
    dataset: `probectl.${e.category}`, module: 'probectl',
  };
  if (audit) event.hash = e.hash;
  return JSON.stringify({
    '@timestamp': e.time,
    ecs: { version: ecsHelpers.version },
    event,
    message: e.message,
    log: { level: e.severity },
    organization: { id: e.tenant },
    user: { name: e.actor },
    observer: { vendor: 'probectl', product: 'probectl', version: opts.version, hostname: opts.hostname },
    labels: { category: e.category, target: e.target },
    probectl: {
      outcome: e.outcome,
      ...(audit ? { chain: { hash: e.hash, prev_hash: e.prevHash } } : { signal: { kind: e.kind, confidence: e.confidence, id: e.signalId, incident_id: e.incidentId } }),
      attributes: e.attributes,
    },
  });
}

function batchesOf(events: readonly SiemEvent[]): SiemEvent[][] {
  const batches: SiemEvent[][] = [];
  for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH));
  return batches;
}

/** One timed pass over every batch: events/s and bytes/event. */
function pass(batches: readonly SiemEvent[][], run: (batch: readonly SiemEvent[]) => number): { rate: number; bytes: number } {
  let done = 0;
  let bytes = 0;
  const start = process.hrtime.bigint();
  for (const b of batches) {
    bytes += run(b);
    done += b.length;
  }
  return { rate: done / (Number(process.hrtime.bigint() - start) / 1e9), bytes: bytes / done };
}

/**
 * Alternates passes of the contenders so that JIT warm-up, GC and the
 * machine's other load hit both alike, and keeps each one's median rate.
 */
function compare(batches: readonly SiemEvent[][], rounds: number, contenders: ReadonlyArray<(batch: readonly SiemEvent[]) => number>): Array<{ rate: number; bytes: number }> {
  for (const run of contenders) for (let w = 0; w < 3; w++) pass(batches, run);
  const results = contenders.map(() => [] as Array<{ rate: number; bytes: number }>);
  for (let r = 0; r < rounds; r++) contenders.forEach((run, i) => results[i]?.push(pass(batches, run)));
  return results.map((list) => {
    const sorted = [...list].sort((a, b) => a.rate - b.rate);
    return sorted[Math.floor(sorted.length / 2)] as { rate: number; bytes: number };
  });
}

export async function main(): Promise<void> {
  const opts = formatOptions({ hostname: 'bench-host', version: '0.1.0' });
  const events = benchEvents(20_000);
  const rounds = Number(process.env.PROBECTL_BENCH_ROUNDS ?? 15);
  const records = sdkRecords(events, opts);
  const recordBatches = new Map<SiemEvent, typeof records>();
  for (let i = 0; i < events.length; i += BATCH) recordBatches.set(events[i] as SiemEvent, records.slice(i, i + BATCH));

  const rows: Record<string, string | number>[] = [];
  const peers: Record<string, { name: string; run: (b: readonly SiemEvent[]) => number }> = {
    otlp: {
      name: '@opentelemetry/otlp-transformer JsonLogsSerializer',
      run: (b) => (JsonLogsSerializer.serializeRequest(recordBatches.get(b[0] as SiemEvent) ?? []) as Uint8Array).length,
    },
    ecs: {
      name: '@elastic/ecs-helpers + JSON.stringify (ecs-logging)',
      run: (b) => {
        let out = '';
        for (const e of b) out += `${ecsLoggingDoc(e, opts)}\n`;
        return Buffer.byteLength(out);
      },
    },
  };
  const batches = batchesOf(events);
  // Like for like: the ECS peer writes the very documents probectl writes (but for the ECS version helpers declares).
  const first = batches[0] as SiemEvent[];
  const same = first.every((e) => ecsLoggingDoc(e, opts).replace(`"ecs":{"version":${JSON.stringify(ecsHelpers.version)}}`, `"ecs":{"version":"${ECS_VERSION}"}`) === FORMATTERS.ecs.record(e, opts));
  if (!same) process.stderr.write('bench: the ECS peer document differs from probectl\'s; the comparison is not like for like\n');
  for (const format of SIEM_FORMATS) {
    const f = FORMATTERS[format];
    const peer = peers[format];
    const [ours, theirs] = compare(batches, rounds, [(b) => f.batch(b, opts).length, ...(peer ? [peer.run] : [])]) as [{ rate: number; bytes: number }, { rate: number } | undefined];
    rows.push({
      format,
      'probectl events/s': Math.round(ours.rate),
      'bytes/event': Math.round(ours.bytes),
      peer: peer?.name ?? '(none)',
      'peer events/s': theirs ? Math.round(theirs.rate) : '-',
      'probectl / peer': theirs ? `${(ours.rate / theirs.rate).toFixed(2)}x` : '-',
    });
  }
  printTable(`SIEM formatters: ${events.length.toLocaleString('en-US')} events in batches of ${BATCH}, median of ${rounds} alternating passes, Node ${process.version}`, rows);
}

if (import.meta.main) await main();
