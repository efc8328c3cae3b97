/**
 * Which remote-write protocol a request speaks, from its headers, per the remote-write 2.0
 * spec's negotiation rules (https://prometheus.io/docs/specs/prw/remote_write_spec_2_0/,
 * "Content-Type", "Content-Encoding"): `application/x-protobuf` alone or with
 * `proto=prometheus.WriteRequest` is 1.0; `proto=io.prometheus.write.v2.Request` is 2.0, which
 * probectl answers with 415 so a Prometheus 3 sender falls back to 1.0. A missing
 * Content-Type is read as 1.0 (1.0 receivers never required it); a missing Content-Encoding
 * as snappy, as Prometheus's receiver does; anything else is 415.
 */
import { RemoteWriteError } from './errors.ts';

export const REMOTE_WRITE_V1_PROTO = 'prometheus.WriteRequest';
export const REMOTE_WRITE_V2_PROTO = 'io.prometheus.write.v2.Request';

export interface RemoteWriteHeaders {
  readonly contentType?: string | undefined;
  readonly contentEncoding?: string | undefined;
}

/** Returns `'v1'` or throws `RemoteWriteError` of kind `unsupported` (HTTP 415). */
export function checkRemoteWriteHeaders(headers: RemoteWriteHeaders): 'v1' {
  const encoding = (headers.contentEncoding ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'snappy') {
    throw new RemoteWriteError('unsupported', `Content-Encoding ${JSON.stringify(headers.contentEncoding)} is not supported; remote-write bodies must be snappy-compressed`);
  }
  const raw = (headers.contentType ?? '').trim();
  if (raw === '') return 'v1';
  const [mediaType, ...params] = raw.split(';').map((p) => p.trim());
  if ((mediaType ?? '').toLowerCase() !== 'application/x-protobuf') {
    throw new RemoteWriteError('unsupported', `Content-Type ${JSON.stringify(raw)} is not supported; send application/x-protobuf (remote-write 1.0)`);
  }
  for (const param of params) {
    const eq = param.indexOf('=');
    const key = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
    let value = eq < 0 ? '' : param.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (key !== 'proto') continue;
    if (value === REMOTE_WRITE_V1_PROTO) return 'v1';
    if (value === REMOTE_WRITE_V2_PROTO) {
      throw new RemoteWriteError('unsupported', 'remote-write 2.0 (io.prometheus.write.v2.Request) is not supported; probectl accepts remote-write 1.0 (prometheus.WriteRequest)');
    }
    throw new RemoteWriteError('unsupported', `protobuf message ${JSON.stringify(value)} is not supported; probectl accepts remote-write 1.0 (prometheus.WriteRequest)`);
  }
  return 'v1';
}
