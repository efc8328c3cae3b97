import type { Logger } from 'pino';
import type { ServerSettings } from './config.ts';
import type { Clock } from '../core/clock.ts';
import type { IngestDeps } from '../incidents/ingest.ts';
import type { Db } from '../store/db.ts';
import type { SensitiveReads } from '../audit/sensitive-reads.ts';
import type { SecretResolver } from '../secrets/resolver.ts';
import type { IntegrationRuntime } from '../integrations/types.ts';
import type { AuditAppender } from '../identity/admin.ts';
import type { Authenticator } from './auth.ts';
import type { Metrics } from './metrics.ts';

/** Everything a route handler may use; built once by the service. */
export interface AppDeps {
  /** The server's own settings (PROBECTL_LISTEN, PROBECTL_BODY_LIMIT, …). */
  config: ServerSettings;
  db: Db;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  auth: Authenticator;
  sensitiveReads: SensitiveReads;
  /** audit/log.ts appendAudit, handed to the identity functions (which do not import the audit chain). */
  audit: AuditAppender;
  providerTenantId: string;
  ingest: IngestDeps;
  /** Resolves secret references at use time; its health() backs GET /v1/secrets/health. */
  secrets: SecretResolver;
  /** The started integrations (those that are on), by name; their routes get their own runtime. */
  integrations: ReadonlyMap<string, IntegrationRuntime<unknown>>;
  /** Readiness beyond the database (migrations applied). */
  isReady(): Promise<boolean>;
  /**
   * Set when the startup probe (store/sealed.ts probeSealedKeys) found stored
   * values sealed with a key that is neither PROBECTL_ENCRYPTION_KEY nor
   * PROBECTL_ENCRYPTION_KEY_PREVIOUS: /readyz then answers not ready, naming the key ids.
   */
  encryptionProblem?: string | undefined;
}
