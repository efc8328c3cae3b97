import type { Logger } from 'pino';
import type { Config } from '../config/load.ts';
import type { Clock } from '../core/clock.ts';
import type { IngestDeps } from '../incidents/ingest.ts';
import type { Db } from '../store/db.ts';
import type { SensitiveReads } from '../audit/sensitive-reads.ts';
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
  /** Readiness beyond the database (migrations applied). */
  isReady(): Promise<boolean>;
}
