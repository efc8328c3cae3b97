/**
 * Remote-write 1.0 encoding for the upstream (https://prometheus.io/docs/specs/remote_write_spec/):
 * series → protobuf `prometheus.WriteRequest` (`prompb/remote.proto`, `prompb/types.proto`,
 * written with protobufjs's Writer) → snappy block format. Pure: no I/O.
 *
 * Every series gets `tenant_id="<tenant>"` (any other `tenant_id` it carried is replaced),
 * labels are written sorted by name as the spec requires, and values are written as their
 * 64 bits: the stale marker NaN (0x7ff0000000000002) and every other NaN payload reach the
 * engine bit for bit (a JavaScript number may quiet a NaN on the way).
 */
import protobuf from 'protobufjs';
import { compressSync } from 'snappy';
import { compareUtf8 } from '../store/labels.ts';
import type { SeriesSamples } from '../store/types.ts';
import { TENANT_LABEL } from '../enforce/types.ts';

/** The headers of a remote-write 1.0 request (the spec's "MUST" headers). */
export const REMOTE_WRITE_REQUEST_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
});

/** The series with the tenant forced, labels sorted (name → value, empty values dropped). */
function labelsOf(labels: Readonly<Record<string, string>>, tenant: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(labels)) {
    if (name !== TENANT_LABEL && value !== '') out.push([name, value]);
  }
  out.push([TENANT_LABEL, tenant]);
  return out.sort((a, b) => compareUtf8(a[0], b[0]));
}

/**
 * A snappy-compressed WriteRequest of `series` for `tenant`. Values are read from each
 * series' Float64Array by their bits; timestamps are integer ms.
 */
export function encodeTenantWriteRequest(tenant: string, series: readonly SeriesSamples[]): Buffer {
  const w = protobuf.Writer.create();
  for (const s of series) {
    w.uint32((1 << 3) | 2).fork(); // WriteRequest.timeseries = 1
    for (const [name, value] of labelsOf(s.labels, tenant)) {
      w.uint32((1 << 3) | 2).fork().uint32((1 << 3) | 2).string(name).uint32((2 << 3) | 2).string(value).ldelim(); // TimeSeries.labels = 1
    }
    const raw = new Uint32Array(s.values.buffer, s.values.byteOffset, s.values.length * 2);
    for (let i = 0; i < s.values.length; i++) {
      w.uint32((2 << 3) | 2).fork(); // TimeSeries.samples = 2
      // Sample.value = 1 (double, written as its raw 64 bits), Sample.timestamp = 2 (int64).
      w.uint32((1 << 3) | 1).fixed32(raw[2 * i] as number).fixed32(raw[2 * i + 1] as number);
      w.uint32((2 << 3) | 0).int64(s.timestamps[i] as number);
      w.ldelim();
    }
    w.ldelim();
  }
  return compressSync(Buffer.from(w.finish()));
}
