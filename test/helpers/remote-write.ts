import { compressSync } from 'snappy';
import { WriteRequestType } from '../../src/federation/remote-write/schema.ts';
import { staleMarker } from '../../src/federation/stale.ts';
import type { TestApp } from './app.ts';

/** One series to remote-write: labels in the order sent, samples as [ms, value | 'stale']. */
export interface WireSeriesSpec {
  readonly labels: ReadonlyArray<readonly [string, string]> | Readonly<Record<string, string>>;
  readonly samples: ReadonlyArray<readonly [number, number | 'stale']>;
}

/** A remote-write 1.0 body: protobuf WriteRequest, snappy block format (the stale marker made at encode time, bit-exact). */
export function encodeWriteRequest(series: readonly WireSeriesSpec[]): Buffer {
  const msg = WriteRequestType.fromObject({
    timeseries: series.map((s) => ({
      labels: (Array.isArray(s.labels) ? s.labels : Object.entries(s.labels)).map(([name, value]) => ({ name: Buffer.from(name), value: Buffer.from(value) })),
      samples: s.samples.map(([timestamp, value]) => ({ timestamp, value: value === 'stale' ? staleMarker() : value })),
    })),
  });
  return compressSync(Buffer.from(WriteRequestType.encode(msg).finish()));
}

export const REMOTE_WRITE_HEADERS = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };

/** POSTs series to /v1/prometheus/write with the token. */
export function remoteWrite(app: TestApp, token: string, series: readonly WireSeriesSpec[]) {
  return app.request('POST', '/v1/prometheus/write', { token, rawBody: encodeWriteRequest(series), headers: REMOTE_WRITE_HEADERS });
}

/** A form-encoded POST body (Grafana's default method). */
export function form(params: Record<string, string | readonly string[]>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of typeof v === 'string' ? [v] : v) p.append(k, x);
  return p.toString();
}

export const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * Whether `text` (a Prometheus API answer or exposition) holds the sample value `value` as a
 * number of its own — not inside a longer one, as a timestamp such as 1796142420 holds 4242 —
 * for tests that look for another tenant's values in an answer.
 */
export function holdsNumber(text: string, value: number): boolean {
  return new RegExp(`(?<![\\d.])${String(value).replace('.', '\\.')}(?![\\d.]*\\d)`).test(text);
}

/**
 * Label sets for requests of a sender catching up (one series per sample, label sets repeated):
 * one label set in three byte forms (two label orders, and with a `tenant_id` of its own, which
 * the tenant replaces), and two others, one with an empty value (dropped).
 */
export const CATCH_UP_LABEL_SETS: ReadonlyArray<ReadonlyArray<readonly [string, string]>> = [
  [['__name__', 'up'], ['job', 'a']],
  [['job', 'a'], ['__name__', 'up']],
  [['__name__', 'up'], ['job', 'a'], ['tenant_id', 'x']],
  [['__name__', 'up'], ['job', 'b']],
  [['__name__', 'down'], ['job', 'a'], ['zone', '']],
];
