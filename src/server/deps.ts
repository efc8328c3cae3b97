import type { Logger } from 'pino';
import type { Config } from '../config/load.ts';
import type { Clock } from '../core/clock.ts';
import type { IngestDeps } from '../incidents/ingest.ts';
import type { Db } from '../store/db.ts';
import type { SensitiveReads } from '../audit/sensitive-reads.ts';
import type { SecretResolver } from '../secrets/resolver.ts';
import type { SiemRuntime } from '../siem/runtime.ts';
import type { Authenticator } from './auth.ts';
import type { Metrics } from './metrics.ts';

/** Everything a route handler may use; built once by the service. */
export interface AppDeps {
  config: Config;
  db: Db;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  auth: Authenticator;
  sensitiveReads: SensitiveReads;
  providerTenantId: string;
  ingest: IngestDeps;
  /** Resolves secret references at use time; its health() backs GET /v1/secrets/health. */
  secrets: SecretResolver;
  /** The running SIEM export; undefined while PROBECTL_SIEM_ENABLED is false. */
  siem: SiemRuntime | undefined;
  /** Readiness beyond the database (migrations applied). */
  isReady(): Promise<boolean>;
}
