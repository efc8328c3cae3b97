import type { Keyring } from '../core/envelope.ts';
import { ProbectlError } from '../core/errors.ts';
import { isUuid } from '../core/ids.ts';
import type { Db, OwnerTx, QueryResult, Row } from './db.ts';

export const APP_ROLE = 'probectl_app';

/**
 * A transaction bound to one tenant: the database role is probectl_app and the
 * row-level-security setting names the tenant, so every statement sees and
 * writes only that tenant's rows whatever its WHERE clause says.
 */
export interface TenantTx {
  readonly tenantId: string;
  /** The database's keyring (store/sealed.ts seals and opens encrypted columns with it). */
  readonly keyring: Keyring | undefined;
  /** Whether a plaintext value (from before encryption) in a sealed column still reads (Db.legacyPlaintext). */
  readonly plaintextAccepted: boolean;
  query<R = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Runs fn once the transaction has committed (never if it rolls back). */
  afterCommit(fn: () => void): void;
  /** Announces, once the transaction has committed, that this tenant's `stream` grew (wakes its drainers). */
  streamGrew(stream: string): void;
}

/**
 * The owner's explicit cross-tenant scope, for the few things that need it: the
 * tenant registry and token lookup. `asTenant` runs tenant work inside the same
 * transaction (so a tenant's creation and its audit record commit together).
 */
export interface SystemTx {
  readonly system: true;
  query<R = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  asTenant<T>(tenantId: string, fn: (tx: TenantTx) => Promise<T>): Promise<T>;
}

function checkedTenant(tenantId: string): string {
  if (typeof tenantId !== 'string' || !isUuid(tenantId)) {
    throw new ProbectlError('PROBECTL_ERR_TENANT_SCOPE', 'tenant scope requires a tenant UUID');
  }
  return tenantId.toLowerCase();
}

/** Options of a tenant transaction. */
export interface TenantScopeOptions {
  /**
   * Plan every statement of the transaction for its parameter values
   * (`plan_cache_mode = force_custom_plan`, set with the scope, no extra round trip)
   * instead of letting PostgreSQL reuse a generic plan of a named statement after five
   * runs. For statements whose cost depends on their arrays and time windows (the
   * metrics store: its federation read took 30–50 ms with the cached plan, 3 ms planned
   * each time, bench/federation.ts).
   */
  readonly customPlans?: boolean;
}

/** The scope setup statement; the tenant is a validated UUID, so inlining it is safe. */
function tenantScopeSql(tenant: string, options?: TenantScopeOptions): string {
  const plans = options?.customPlans ? ", set_config('plan_cache_mode', 'force_custom_plan', true)" : '';
  return `SELECT set_config('role', '${APP_ROLE}', true), set_config('probectl.tenant_id', '${tenant}', true), set_config('probectl.scope', '', true)${plans}`;
}

function tenantTx(db: Db, tx: OwnerTx, tenant: string, hooks: Array<() => void>): TenantTx {
  const grew = new Set<string>();
  return {
    tenantId: tenant,
    keyring: db.keyring,
    plaintextAccepted: db.legacyPlaintext?.has(tenant) ?? false,
    query: (sql, params) => tx.query(sql, params),
    afterCommit: (hook) => void hooks.push(hook),
    streamGrew(stream) {
      if (grew.has(stream)) return;
      grew.add(stream);
      hooks.push(() => db.streams.notify(tenant, stream));
    },
  };
}

async function enterTenant(db: Db, tx: OwnerTx, tenantId: string, hooks: Array<() => void>): Promise<TenantTx> {
  const tenant = checkedTenant(tenantId);
  await tx.query(tenantScopeSql(tenant));
  return tenantTx(db, tx, tenant, hooks);
}

function runHooks(hooks: Array<() => void>): void {
  for (const hook of hooks) hook();
}

/** The only way product code reads or writes tenant data. */
export async function inTenant<T>(db: Db, tenantId: string, fn: (tx: TenantTx) => Promise<T>, options?: TenantScopeOptions): Promise<T> {
  const tenant = checkedTenant(tenantId);
  const hooks: Array<() => void> = [];
  const result = await db.transaction((tx) => fn(tenantTx(db, tx, tenant, hooks)), { begin: tenantScopeSql(tenant, options) });
  runHooks(hooks);
  return result;
}

export async function inSystem<T>(db: Db, fn: (tx: SystemTx) => Promise<T>): Promise<T> {
  const hooks: Array<() => void> = [];
  const result = await db.transaction(async (tx) => {
    const enterSystem = () => tx.query("SELECT set_config('role', 'none', true), set_config('probectl.tenant_id', '', true), set_config('probectl.scope', 'system', true)");
    await enterSystem();
    return fn({
      system: true,
      query: (sql, params) => tx.query(sql, params),
      async asTenant(tenantId, inner) {
        const scoped = await enterTenant(db, tx, tenantId, hooks);
        const result = await inner(scoped);
        await enterSystem();
        return result;
      },
    });
  });
  runHooks(hooks);
  return result;
}
