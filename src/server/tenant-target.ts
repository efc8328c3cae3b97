import { ProbectlError } from '../core/errors.ts';
import { holds, type Permission, type Principal } from '../identity/permissions.ts';

/**
 * The tenant a request acts on. A tenant named in a body or query is a
 * target the caller must be entitled to, never a source of identity: its own
 * tenant needs one of `own`; any other tenant needs provider-admin.
 */
export function targetTenant(principal: Principal, requested: string | undefined, own: readonly Permission[], what: string): string {
  const tenant = (requested ?? principal.tenantId).toLowerCase();
  if (tenant !== principal.tenantId) {
    if (!holds(principal, 'provider-admin')) throw new ProbectlError('PROBECTL_ERR_FORBIDDEN', `${what} of another tenant needs the provider-admin permission`);
  } else if (!own.some((p) => holds(principal, p))) {
    throw new ProbectlError('PROBECTL_ERR_FORBIDDEN', `${what} needs the ${own.join(' or ')} permission`);
  }
  return tenant;
}
