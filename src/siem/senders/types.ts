/** A request a target built: transport-neutral bytes plus HTTP details when the transport is HTTP. */
export interface WireRequest {
  body: Buffer;
  contentType: string;
  /** Path and query relative to the endpoint's origin; defaults to the endpoint's own. */
  path?: string;
  headers?: Record<string, string>;
}

/**
 * What the transport saw, whatever it is: `answered` by an HTTP receiver
 * (status, headers, body), `sent` over a transport that never answers (RFC 5425
 * syslog: the bytes were accepted and the connection stayed healthy), or
 * `failed` below the protocol (never retried forever without saying why).
 */
export type TransportResult =
  | { kind: 'answered'; status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }
  | { kind: 'sent' }
  /** `alarm`: a failure that will not heal without the operator (TLS verification); still retried. */
  | { kind: 'failed'; reason: string; alarm?: boolean };

/**
 * Transport only: delivers bytes, never formats, never loops, never
 * classifies an HTTP status (the target does that, in one place).
 */
export interface Sender {
  send(request: WireRequest, opts: { timeoutMs: number; signal?: AbortSignal | undefined }): Promise<TransportResult>;
  /** A renewed client certificate (or CA bundle) for connections made from now on. */
  setTls?(tls: SenderTls): void;
  close(): Promise<void>;
}

export interface SenderTls {
  ca?: string[] | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}
