export const PERMISSIONS = [
  'audit-read',
  'incidents-read',
  'incidents-write',
  'signals-write',
  'metrics-read',
  'metrics-write',
  'cmdb-read',
  'secrets-read',
  'admin',
  'provider-admin',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export function isPermission(text: string): text is Permission {
  return (PERMISSIONS as readonly string[]).includes(text);
}

/** Who is calling: always one tenant, never more. */
export interface Principal {
  readonly tenantId: string;
  readonly tokenId: string;
  readonly permissions: ReadonlySet<Permission>;
  /** Audit actor string, e.g. `token:<id>`. */
  readonly actor: string;
}

/**
 * `admin` holds every permission within its tenant; `provider-admin` (create
 * tenants and their tokens) is granted only explicitly.
 */
export function holds(principal: Pick<Principal, 'permissions'>, needed: Permission): boolean {
  if (principal.permissions.has(needed)) return true;
  return needed !== 'provider-admin' && principal.permissions.has('admin');
}
