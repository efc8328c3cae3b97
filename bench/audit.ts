/**
 * Audit append and page-read throughput on the embedded database and on
 * PostgreSQL. Appends each run in their own transaction (as an API change
 * does); concurrency spreads them over tenants, as real traffic does.
 */
import { appendAudit, pageAudit, MAX_AUDIT_PAGE } from '../src/audit/log.ts';
import { systemClock } from '../src/core/clock.ts';
import { inTenant } from '../src/store/scope.ts';
import { insertTenant } from '../src/identity/tenants.ts';
import { inSystem } from '../src/store/scope.ts';
import type { Db } from '../src/store/db.ts';
import { benchDatabases, printTable, timed } from './harness.ts';

const entry = (i: number) => ({ actor: 'token:bench', action: 'config.change', target: `object:${i}`, outcome: 'success' as const, data: { i, field: 'value', nested: { a: [1, 2, 3] } } });

async function tenants(db: Db, n: number, prefix: string): Promise<string[]> {
  return inSystem(db, async (tx) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await insertTenant(tx, `${prefix}-${i}-${Date.now()}`)).id);
    return ids;
  });
}

async function appendRun(db: Db, ids: string[], perTenant: number, perTx = 1): Promise<number> {
  const { seconds } = await timed(() => Promise.all(ids.map(async (id) => {
    for (let i = 0; i < perTenant; i += perTx) {
      await inTenant(db, id, async (tx) => {
        for (let k = 0; k < perTx; k++) await appendAudit(tx, systemClock, entry(i + k));
      });
    }
  })));
  return seconds;
}

export async function main(): Promise<void> {
  const rows: Record<string, string | number>[] = [];
  for (const target of await benchDatabases(32)) {
    const { db } = target;
    const total = target.name === 'pglite' ? 4000 : 40_000;
    for (const concurrency of target.name === 'pglite' ? [1] : [1, 32]) {
      const ids = await tenants(db, concurrency, `append-${concurrency}`);
      // Warm-up (untimed): connections opened, statements prepared, heads created.
      await appendRun(db, ids, 20);
      const perTenant = Math.floor((concurrency === 1 ? total / 4 : total) / concurrency);
      const seconds = await appendRun(db, ids, perTenant);
      const n = perTenant * concurrency;
      rows.push({ driver: target.name, operation: `append, 1 tx each, ${concurrency} tenant(s) in parallel`, events: n, seconds, 'events/s': Math.round(n / seconds) });
      if (concurrency > 1) {
        const batched = await appendRun(db, ids, perTenant, 10);
        rows.push({ driver: target.name, operation: `append, 10 per tx, ${concurrency} tenant(s) in parallel`, events: n, seconds: batched, 'events/s': Math.round(n / batched) });
      }
    }
    const [reader] = await tenants(db, 1, 'reader');
    const fill = 100_000;
    await timed(async () => {
      for (let done = 0; done < fill; done += 1000) {
        await inTenant(db, reader as string, async (tx) => {
          for (let i = 0; i < 1000; i++) await appendAudit(tx, systemClock, entry(done + i));
        });
      }
    });
    for (let round = 0; round < 2; round++) {
      const { result: n, seconds } = await timed(async () => {
        let after = 0;
        let count = 0;
        for (;;) {
          const page = await inTenant(db, reader as string, (tx) => pageAudit(tx, after, MAX_AUDIT_PAGE));
          if (page.length === 0) return count;
          count += page.length;
          after = page[page.length - 1]!.seq;
        }
      });
      if (round === 1) rows.push({ driver: target.name, operation: `page reads, ${MAX_AUDIT_PAGE}/page`, events: n, seconds, 'events/s': Math.round(n / seconds) });
    }
    await target.close();
  }
  printTable('Audit log: append and page-read throughput', rows);
}

if (import.meta.main) await main();
