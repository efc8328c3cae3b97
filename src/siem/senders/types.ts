/** A request a target built: transport-neutral bytes plus HTTP details when the transport is HTTP. */
export interface WireRequest {
  body: Buffer;
  contentType: string;
  /** Path and query relative to the endpoint's origin; defaults to the endpoint's own. */
  path?: string;
  headers?: Record<string, string>;
}

/** What the transport saw: an HTTP answer, or a failure below HTTP (never retried forever without saying why). */
export type TransportResult =
  | { kind: 'response'; status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }
  | { kind: 'failed'; reason: string };

/**
 * Transport only: delivers bytes, never formats, never loops, never
 * classifies an HTTP status (the target does that, in one place).
 */
export interface Sender {
  send(request: WireRequest, opts: { timeoutMs: number; signal?: AbortSignal | undefined }): Promise<TransportResult>;
  close(): Promise<void>;
}
