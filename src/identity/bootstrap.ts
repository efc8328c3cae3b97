import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Clock } from '../core/clock.ts';
import type { Db } from '../store/db.ts';
import { inSystem } from '../store/scope.ts';
import { createTenant, issueToken, type AuditAppender } from './admin.ts';
import { PERMISSIONS } from './permissions.ts';
import { providerTenant, type Tenant } from './tenants.ts';

const BOOTSTRAP_LOCK_KEY = 7_233_105_120;

export interface BootstrapResult {
  provider: Tenant;
  /**
   * Where the admin token was written: set on the first start, and again on
   * every start after it until one of them served (a first start that failed
   * later, e.g. on an unreachable integration, announces it again).
   */
  adminTokenFile?: string;
  /** True when this call created the tenant and the token. */
  created?: boolean;
}

/** The marker kept next to the admin token file until a server has announced it (see announcedAdminToken). */
export const unannounced = (adminTokenPath: string): string => `${adminTokenPath}.unannounced`;

/** Called once a server serves and has logged the first-start guidance: later starts are restarts. */
export function announcedAdminToken(adminTokenPath: string): void {
  rmSync(unannounced(adminTokenPath), { force: true });
}

/**
 * On first start with an empty database: the default (provider) tenant and a
 * token holding every permission, written to a 0600 file. The token itself is
 * never printed or logged.
 */
export async function bootstrap(db: Db, clock: Clock, opts: { tenantName: string; adminTokenPath: string; audit: AuditAppender }): Promise<BootstrapResult> {
  const readProvider = () => inSystem(db, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_KEY]);
    return providerTenant(tx);
  });
  const existing = await readProvider();
  if (existing) {
    const pending = existsSync(unannounced(opts.adminTokenPath)) && existsSync(opts.adminTokenPath);
    return pending ? { provider: existing, adminTokenFile: opts.adminTokenPath } : { provider: existing };
  }
  // The marker before anything is created: a start that stops (fails, crashes) anywhere after
  // this still leaves the guidance to the next start; one that cannot write it has created nothing.
  // Created anew (never through whatever stands at that path, e.g. a planted symlink).
  rmSync(unannounced(opts.adminTokenPath), { force: true });
  writeFileSync(unannounced(opts.adminTokenPath), '', { mode: 0o600, flag: 'wx' });
  const ctx = { db, clock, audit: opts.audit };
  let provider: Tenant;
  try {
    provider = await createTenant(ctx, undefined, opts.tenantName, true);
  } catch (err) {
    // Another replica bootstrapped at the same moment: use its provider tenant.
    const winner = await readProvider();
    if (winner) return { provider: winner };
    throw err;
  }
  const { token } = await issueToken(ctx, { tenantId: provider.id, name: 'system:bootstrap' }, provider.id, { name: 'bootstrap-admin', permissions: PERMISSIONS });
  const tmp = `${opts.adminTokenPath}.${process.pid}.tmp`;
  writeFileSync(tmp, `${token}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, opts.adminTokenPath);
  return { provider, adminTokenFile: opts.adminTokenPath, created: true };
}

/** Quotes a word for a POSIX shell when it needs it, in single quotes (which JSON log lines leave unescaped). */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The one command that reaches the API after a first start: curl listing the
 * tenants, trusting `caFile` when given, with the admin token read from its
 * file at run time — the token itself is never part of the text. Written
 * without double quotes (curl's --oauth2-bearer sends `Authorization: Bearer`),
 * so it can be copied straight out of a JSON log line.
 *
 * @param url the API's base URL, e.g. `https://127.0.0.1:8443`
 * @param adminTokenFile where bootstrap wrote the admin token
 * @param caFile the certificate to trust (the generated self-signed one), if any
 */
export function firstRequestCommand(opts: { url: string; adminTokenFile: string; caFile?: string | undefined }): string {
  return [
    'curl',
    ...(opts.caFile ? ['--cacert', shellWord(opts.caFile)] : []),
    '--oauth2-bearer', `$(cat ${shellWord(opts.adminTokenFile)})`,
    shellWord(`${opts.url}/v1/tenants`),
  ].join(' ');
}
