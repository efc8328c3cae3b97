import { ProbectlError } from '../core/errors.ts';
import { requireTenant } from './admin.ts';
import { holds, type Permission, type Principal } from './permissions.ts';
import type { Db } from '../store/db.ts';

/**
 * The tenant a request acts on. A tenant named in a body or query is a
 * target the caller must be entitled to, never a source of identity: its own
 * tenant needs one of `own`; any other tenant needs provider-admin, and must
 * exist (404 otherwise; only a provider-admin ever learns whether it does).
 */
export async function targetTenant(db: Db, principal: Principal, requested: string | undefined, own: readonly Permission[], what: string): Promise<string> {
  const tenant = (requested ?? principal.tenantId).toLowerCase();
  if (tenant !== principal.tenantId) {
    if (!holds(principal, 'provider-admin')) throw new ProbectlError('PROBECTL_ERR_FORBIDDEN', `${what} of another tenant needs the provider-admin permission`);
    await requireTenant({ db }, tenant);
  } else if (!own.some((p) => holds(principal, p))) {
    throw new ProbectlError('PROBECTL_ERR_FORBIDDEN', `${what} needs the ${own.join(' or ')} permission`);
  }
  return tenant;
}
