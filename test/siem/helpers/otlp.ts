import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';

/** What the OpenTelemetry JS serializers take: the SDK's ReadableLogRecord. */
export type ReadableLogRecord = Parameters<typeof ProtobufLogsSerializer.serializeRequest>[0][number];

export type Plain = null | boolean | number | string | Plain[] | { [k: string]: Plain };

export interface DecodedLog {
  tenant: string;
  resource: Record<string, Plain>;
  scope: { name: string; version: string };
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: Plain;
  attributes: Record<string, Plain>;
  eventName: string | undefined;
}

function fail(path: string, why: string): never {
  throw new Error(`OTLP/JSON ${path}: ${why}`);
}

function onlyKeys(obj: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) fail(path, 'must be an object');
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(path, `unknown field ${k} (OTLP/JSON uses lowerCamelCase proto field names)`);
  return obj as Record<string, unknown>;
}

function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, 'must be an array');
  return v;
}

const ANY_KEYS = ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'];

/** AnyValue per the proto3 JSON mapping: one oneof member; int64 as a decimal string; empty = unset. */
export function decodeAnyValue(v: unknown, path: string): Plain {
  const o = onlyKeys(v, path, ANY_KEYS);
  const keys = Object.keys(o);
  if (keys.length === 0) return null;
  if (keys.length > 1) fail(path, 'AnyValue is a oneof: more than one member set');
  const k = keys[0] as string;
  const x = o[k];
  switch (k) {
    case 'stringValue': if (typeof x !== 'string') fail(path, 'stringValue must be a string'); return x;
    case 'boolValue': if (typeof x !== 'boolean') fail(path, 'boolValue must be a boolean'); return x;
    case 'intValue': {
      if (typeof x !== 'string' || !/^-?(0|[1-9]\d*)$/.test(x)) fail(path, 'intValue (int64) must be a decimal string');
      const n = Number(x);
      if (!Number.isSafeInteger(n)) fail(path, 'intValue outside the exact range');
      return n;
    }
    case 'doubleValue': if (typeof x !== 'number') fail(path, 'doubleValue must be a number'); return x;
    case 'arrayValue': {
      const a = onlyKeys(x, `${path}.arrayValue`, ['values']);
      return arr(a.values ?? [], `${path}.arrayValue.values`).map((e, i) => decodeAnyValue(e, `${path}.arrayValue.values[${i}]`));
    }
    case 'kvlistValue': {
      const l = onlyKeys(x, `${path}.kvlistValue`, ['values']);
      return decodeKeyValues(l.values ?? [], `${path}.kvlistValue.values`);
    }
    default: fail(path, 'bytesValue is never produced by probectl');
  }
}

export function decodeKeyValues(v: unknown, path: string): Record<string, Plain> {
  const out: Record<string, Plain> = {};
  arr(v, path).forEach((kv, i) => {
    const o = onlyKeys(kv, `${path}[${i}]`, ['key', 'value']);
    if (typeof o.key !== 'string') fail(`${path}[${i}].key`, 'must be a string');
    if (Object.hasOwn(out, o.key)) fail(`${path}[${i}]`, `duplicate key ${o.key}`);
    // A "__proto__" key is data: define it, never let it set the prototype (as JSON.parse and the redactor do).
    Object.defineProperty(out, o.key, { value: o.value === undefined ? null : decodeAnyValue(o.value, `${path}[${i}].value`), enumerable: true, writable: true, configurable: true });
  });
  return out;
}

const NANOS = /^(0|[1-9]\d*)$/;

/** Strictly decodes an ExportLogsServiceRequest in OTLP/JSON; any unknown field or wrong JSON type throws. */
export function decodeOtlpJson(body: unknown): DecodedLog[] {
  const req = onlyKeys(body, '$', ['resourceLogs']);
  const out: DecodedLog[] = [];
  arr(req.resourceLogs, '$.resourceLogs').forEach((rl, i) => {
    const p = `$.resourceLogs[${i}]`;
    const r = onlyKeys(rl, p, ['resource', 'scopeLogs', 'schemaUrl']);
    const res = onlyKeys(r.resource, `${p}.resource`, ['attributes', 'droppedAttributesCount']);
    const resource = decodeKeyValues(res.attributes ?? [], `${p}.resource.attributes`);
    const tenant = resource['probectl.tenant_id'];
    if (typeof tenant !== 'string') fail(`${p}.resource`, 'probectl.tenant_id missing');
    arr(r.scopeLogs, `${p}.scopeLogs`).forEach((sl, j) => {
      const sp = `${p}.scopeLogs[${j}]`;
      const s = onlyKeys(sl, sp, ['scope', 'logRecords', 'schemaUrl']);
      const sc = onlyKeys(s.scope, `${sp}.scope`, ['name', 'version', 'attributes', 'droppedAttributesCount']);
      arr(s.logRecords, `${sp}.logRecords`).forEach((lr, k) => {
        const lp = `${sp}.logRecords[${k}]`;
        const l = onlyKeys(lr, lp, ['timeUnixNano', 'observedTimeUnixNano', 'severityNumber', 'severityText', 'body', 'attributes',
          'droppedAttributesCount', 'flags', 'traceId', 'spanId', 'eventName']);
        for (const f of ['timeUnixNano', 'observedTimeUnixNano'] as const) {
          if (typeof l[f] !== 'string' || !NANOS.test(l[f])) fail(`${lp}.${f}`, 'fixed64 must be a decimal string');
        }
        if (typeof l.severityNumber !== 'number' || !Number.isInteger(l.severityNumber) || l.severityNumber < 1 || l.severityNumber > 24) {
          fail(`${lp}.severityNumber`, 'must be an integer enum value 1..24');
        }
        if (typeof l.severityText !== 'string') fail(`${lp}.severityText`, 'must be a string');
        if (l.eventName !== undefined && typeof l.eventName !== 'string') fail(`${lp}.eventName`, 'must be a string');
        out.push({
          tenant, resource, scope: { name: String(sc.name), version: String(sc.version) },
          timeUnixNano: l.timeUnixNano as string, observedTimeUnixNano: l.observedTimeUnixNano as string,
          severityNumber: l.severityNumber, severityText: l.severityText,
          body: l.body === undefined ? null : decodeAnyValue(l.body, `${lp}.body`),
          attributes: decodeKeyValues(l.attributes ?? [], `${lp}.attributes`),
          eventName: l.eventName as string | undefined,
        });
      });
    });
  });
  return out;
}

export function hrTime(nanos: string): [number, number] {
  const n = BigInt(nanos);
  return [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)];
}

/**
 * The SDK records an OpenTelemetry logger would hold for these logs. Records
 * of one tenant share one resource and one scope object, which is how the
 * serializers group them into ResourceLogs and ScopeLogs.
 */
export function toReadable(logs: Array<Omit<DecodedLog, 'scope'> & { scope: { name: string; version: string } }>): ReadableLogRecord[] {
  const resources = new Map<string, { attributes: Record<string, Plain>; scope: { name: string; version: string } }>();
  return logs.map((l) => {
    let shared = resources.get(l.tenant);
    if (!shared) resources.set(l.tenant, (shared = { attributes: l.resource, scope: { ...l.scope } }));
    return {
      hrTime: hrTime(l.timeUnixNano),
      hrTimeObserved: hrTime(l.observedTimeUnixNano),
      severityNumber: l.severityNumber,
      severityText: l.severityText,
      body: l.body,
      eventName: l.eventName,
      attributes: l.attributes,
      droppedAttributesCount: 0,
      resource: shared,
      instrumentationScope: shared.scope,
    } as unknown as ReadableLogRecord;
  });
}
