import { insertTenant } from '../../src/identity/tenants.ts';
import type { Db } from '../../src/store/db.ts';
import { inSystem } from '../../src/store/scope.ts';

/** Creates tenants directly in the registry (no audit), for store-level tests. */
export async function makeTenants(db: Db, ...names: string[]): Promise<string[]> {
  return inSystem(db, async (tx) => {
    const ids: string[] = [];
    for (const name of names) ids.push((await insertTenant(tx, name)).id);
    return ids;
  });
}

/** A clock tests move by hand. */
export function manualClock(start = Date.parse('2026-11-23T10:00:00.000Z')) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    set(ms: number) {
      now = ms;
    },
  };
}
