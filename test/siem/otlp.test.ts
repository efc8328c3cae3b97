import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonLogsSerializer, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import fc from 'fast-check';
import type { SiemEvent } from '../../src/siem/event.ts';
import { FORMATTERS } from '../../src/siem/formatters/index.ts';
import { unixNanos } from '../../src/siem/formatters/otlp.ts';
import { siemEvent } from './helpers/arb.ts';
import { type DecodedLog, decodeOtlpJson, hrTime, type Plain, toReadable } from './helpers/otlp.ts';
import { OPTS, stressEvents, TENANT } from './fixtures.ts';
import { parseJson } from '../../src/core/json.ts';

// The OpenTelemetry logs data model's SeverityNumber table and short names.
const SEVERITY = { info: [9, 'INFO'], warning: [13, 'WARN'], critical: [17, 'ERROR'] } as const;

/** The canonical event a decoded record describes; the inverse of the documented mapping. */
function toEvent(l: DecodedLog): Record<string, unknown> {
  const a = l.attributes;
  const severity = (Object.keys(SEVERITY) as Array<keyof typeof SEVERITY>).find((k) => SEVERITY[k][0] === l.severityNumber);
  const base = {
    id: a['probectl.event.id'], nanos: l.timeUnixNano, tenant: l.tenant, category: a['probectl.category'], action: a['probectl.action'],
    severity, actor: a['probectl.actor'], target: a['probectl.target'], outcome: a['probectl.outcome'], message: l.body,
    attributes: a['probectl.attributes'], seq: a['probectl.seq'],
  };
  return a['probectl.category'] === 'audit'
    ? { ...base, hash: a['probectl.audit.hash'], prevHash: a['probectl.audit.prev_hash'] }
    : { ...base, kind: a['probectl.signal.kind'], confidence: a['probectl.signal.confidence'], signalId: a['probectl.signal.id'], incidentId: a['probectl.incident.id'] };
}

function expectedEvent(e: SiemEvent): Record<string, unknown> {
  const { time, ...rest } = e;
  const base: Record<string, unknown> = { ...rest, nanos: unixNanos(time) };
  return base;
}

function bytes(u: Uint8Array | undefined): Buffer {
  assert.ok(u, 'the serializer produced a request');
  return Buffer.from(u);
}

const sortKeys = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

/** What an OpenTelemetry SDK logger would hold for the event, built straight from the canonical event. */
function sdkRecord(e: SiemEvent): DecodedLog {
  const nanos = unixNanos(e.time);
  const attributes: Record<string, Plain> = {
    'probectl.event.id': e.id, 'probectl.category': e.category, 'probectl.action': e.action, 'probectl.actor': e.actor,
    'probectl.target': e.target, 'probectl.outcome': e.outcome, 'probectl.seq': e.seq,
    ...(e.category === 'audit'
      ? { 'probectl.audit.hash': e.hash, 'probectl.audit.prev_hash': e.prevHash }
      : { 'probectl.signal.kind': e.kind, 'probectl.signal.confidence': e.confidence, 'probectl.signal.id': e.signalId, 'probectl.incident.id': e.incidentId }),
    'probectl.attributes': e.attributes as Plain,
  };
  return {
    tenant: e.tenant,
    resource: { 'service.name': 'probectl', 'service.version': OPTS.version, 'host.name': OPTS.hostname, 'probectl.tenant_id': e.tenant },
    scope: { name: 'probectl.siem', version: OPTS.version },
    timeUnixNano: nanos, observedTimeUnixNano: nanos, severityNumber: SEVERITY[e.severity][0], severityText: SEVERITY[e.severity][1],
    body: e.message, attributes, eventName: e.action,
  };
}

/** OTLP/JSON as the OpenTelemetry JS serializer writes it, normalised to proto3 JSON canonical form (int64 as strings, defaults omitted). */
function canonicalOtlpJson(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => canonicalOtlpJson(x));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined || (k === 'droppedAttributesCount' && x === 0)) continue;
      out[k] = canonicalOtlpJson(x, k);
    }
    return out;
  }
  return key === 'intValue' && typeof v === 'number' ? String(v) : v;
}

describe('OTLP/HTTP JSON logs', () => {
  const events = stressEvents();
  const body = FORMATTERS.otlp.batch(events, OPTS);
  const json = parseJson(body.toString('utf8')) as unknown;

  it('is one ExportLogsServiceRequest with every event as a LogRecord of one resource and scope', () => {
    const req = json as { resourceLogs: Array<{ scopeLogs: Array<{ logRecords: unknown[] }> }> };
    assert.equal(req.resourceLogs.length, 1);
    assert.equal(req.resourceLogs[0]?.scopeLogs.length, 1);
    assert.equal(req.resourceLogs[0]?.scopeLogs[0]?.logRecords.length, events.length);
    assert.equal(FORMATTERS.otlp.contentType, 'application/json');
  });

  it('decodes strictly and without loss: every canonical field comes back', () => {
    const logs = decodeOtlpJson(json);
    assert.equal(logs.length, events.length);
    logs.forEach((l, i) => {
      const e = events[i] as SiemEvent;
      assert.deepEqual(sortKeys(toEvent(l)), sortKeys(expectedEvent(e)));
      assert.equal(l.tenant, TENANT);
      assert.deepEqual(l.resource, { 'service.name': 'probectl', 'service.version': OPTS.version, 'host.name': OPTS.hostname, 'probectl.tenant_id': TENANT });
      assert.equal(l.observedTimeUnixNano, l.timeUnixNano);
      assert.deepEqual([l.severityNumber, l.severityText], SEVERITY[e.severity]);
      assert.equal(l.eventName, e.action);
    });
  });

  it('timeUnixNano is a decimal string with full nanosecond precision', () => {
    const logs = decodeOtlpJson(json);
    const nano = logs.find((l) => l.timeUnixNano.endsWith('123456789'));
    assert.equal(nano?.timeUnixNano, '1740834000123456789');
    assert.deepEqual(hrTime('1740834000123456789'), [1740834000, 123456789]);
    assert.equal(unixNanos('1970-01-01T00:00:00Z'), '0');
    assert.equal(unixNanos('2025-03-01T12:00:00.5Z'), '1740830400500000000');
  });

  it('attributes keep their types: int64 strings, doubles, booleans, null, arrays and nested maps', () => {
    const rec = (json as { resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Array<{ attributes: Array<{ key: string; value: unknown }> }> }> }> })
      .resourceLogs[0]?.scopeLogs[0]?.logRecords[3];
    const data = rec?.attributes.find((a) => a.key === 'probectl.attributes')?.value as { kvlistValue: { values: Array<{ key: string; value: unknown }> } };
    const byKey = new Map(data.kvlistValue.values.map((kv) => [kv.key, kv.value]));
    assert.deepEqual(byKey.get('count'), { intValue: '3' });
    assert.deepEqual(byKey.get('ratio'), { doubleValue: 0.25 });
    assert.deepEqual(byKey.get('negative'), { intValue: '-7' });
    assert.deepEqual(byKey.get('flag'), { boolValue: true });
    assert.deepEqual(byKey.get('nothing'), {});
    assert.deepEqual(byKey.get('list'), { arrayValue: { values: [{ intValue: '1' }, { stringValue: 'two' }, { arrayValue: { values: [{ intValue: '3' }] } }, { kvlistValue: { values: [{ key: 'four', value: { intValue: '4' } }] } }] } });
    assert.deepEqual(byKey.get('ssn'), { stringValue: '[redacted]' });
  });

  it('the OpenTelemetry protobuf serializer encodes the decoded records to the same bytes as the SDK records built from the events', () => {
    const fromOurs = bytes(ProtobufLogsSerializer.serializeRequest(toReadable(decodeOtlpJson(json))));
    const fromSdk = bytes(ProtobufLogsSerializer.serializeRequest(toReadable(events.map(sdkRecord))));
    assert.ok(fromOurs.length > 1000);
    assert.ok(fromOurs.equals(fromSdk), 'protobuf encodings differ');
  });

  it('equals, field for field, the OTLP/JSON the OpenTelemetry JSON serializer writes for the same records', () => {
    const official = parseJson(bytes(JsonLogsSerializer.serializeRequest(toReadable(events.map(sdkRecord)))).toString('utf8')) as unknown;
    assert.deepEqual(canonicalOtlpJson(json), canonicalOtlpJson(official));
  });

  it('groups a mixed batch into one ResourceLogs per tenant, keeping order within each', () => {
    const other = { ...(events[0] as SiemEvent), tenant: 'tenant-two', seq: 99 };
    const mixed = [events[0], other, events[1]] as SiemEvent[];
    const logs = decodeOtlpJson(parseJson(FORMATTERS.otlp.batch(mixed, OPTS).toString('utf8')));
    assert.deepEqual(logs.map((l) => [l.tenant, l.attributes['probectl.seq']]), [[TENANT, 1], [TENANT, 2], ['tenant-two', 99]]);
    assert.equal((parseJson(FORMATTERS.otlp.batch(mixed, OPTS).toString('utf8')) as { resourceLogs: unknown[] }).resourceLogs.length, 2);
  });

  it('property: arbitrary events decode without loss and match the OpenTelemetry serializers', () => {
    fc.assert(fc.property(fc.array(siemEvent, { minLength: 1, maxLength: 4 }), (batch) => {
      const ours = parseJson(FORMATTERS.otlp.batch(batch, OPTS).toString('utf8')) as unknown;
      const logs = decodeOtlpJson(ours);
      const byTenant = [...new Set(batch.map((e) => e.tenant))].flatMap((t) => batch.filter((e) => e.tenant === t));
      logs.forEach((l, i) => assert.deepEqual(sortKeys(toEvent(l)), sortKeys(expectedEvent(byTenant[i] as SiemEvent))));
      const official = parseJson(bytes(JsonLogsSerializer.serializeRequest(toReadable(byTenant.map(sdkRecord)))).toString('utf8')) as unknown;
      assert.deepEqual(canonicalOtlpJson(ours), canonicalOtlpJson(official));
    }), { numRuns: 200 });
  });
});
