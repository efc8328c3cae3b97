import type { Clock } from '../core/clock.ts';
import { streamStatuses, type StreamStatus } from '../delivery/operations.ts';
import type { Db } from '../store/db.ts';
import { endpointHost } from './config.ts';
import type { SiemRuntime } from './runtime.ts';

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
  const streams = await streamStatuses(db, clock, tenantId, runtime);
  return { enabled: true, tenant: tenantId, endpoint: endpointHost(runtime.settings.endpoint), preset: runtime.settings.preset, format: runtime.settings.format, streams };
}
