import { chainHash, GENESIS_HASH } from '../../src/audit/chain.ts';
import type { Db } from '../../src/store/db.ts';
import { inTenant } from '../../src/store/scope.ts';

/**
 * Appends `n` valid audit records to a tenant's chain in bulk (for large
 * delivery tests and benchmarks): the same canonical hashing as appendAudit,
 * rows inserted thousands at a time through the tenant scope.
 */
export async function seedAuditChain(db: Db, tenantId: string, n: number, opts: { chunk?: number; start?: number } = {}): Promise<void> {
  const chunk = opts.chunk ?? 5000;
  let { seq, hash } = await inTenant(db, tenantId, async (tx) => {
    const head = await tx.query<{ seq: number; hash: string | null }>(`SELECT seq, hash FROM stream_heads WHERE tenant_id = $1 AND stream = 'audit'`, [tenantId]);
    return { seq: head.rows[0]?.seq ?? 0, hash: head.rows[0]?.hash ?? GENESIS_HASH };
  });
  const base = opts.start ?? Date.parse('2026-11-23T00:00:00.000Z');
  for (let done = 0; done < n; done += chunk) {
    const cols: unknown[][] = [[], [], [], [], [], [], [], [], []];
    for (let i = 0; i < Math.min(chunk, n - done); i++) {
      seq += 1;
      const record = {
        tenant_id: tenantId, seq, time: new Date(base + seq).toISOString(), actor: 'token:seed', action: 'config.change',
        target: `object:${seq}`, outcome: 'success' as const, data: { seq, field: 'value', password: 'hunter2', nested: { list: [1, 2, 3] } },
      };
      const next = chainHash(record, hash);
      const values = [seq, record.time, record.actor, record.action, record.target, record.outcome, JSON.stringify(record.data), hash, next];
      values.forEach((v, k) => (cols[k] as unknown[]).push(v));
      hash = next;
    }
    await inTenant(db, tenantId, async (tx) => {
      await tx.query(
        `INSERT INTO audit_events (tenant_id, seq, time, actor, action, target, outcome, data, prev_hash, hash)
         SELECT $1, s, t, a, ac, tg, o, d::jsonb, p, h
           FROM unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[]) AS u(s, t, a, ac, tg, o, d, p, h)`,
        [tenantId, ...cols],
      );
      await tx.query(
        `INSERT INTO stream_heads (tenant_id, stream, seq, prev_hash, hash) VALUES ($1, 'audit', $2, $3, $4)
         ON CONFLICT (tenant_id, stream) DO UPDATE SET seq = EXCLUDED.seq, prev_hash = EXCLUDED.prev_hash, hash = EXCLUDED.hash`,
        [tenantId, seq, cols[7]?.at(-1), hash],
      );
    });
  }
}

/** An open critical incident of `tenant` (target core-sw-1) written straight into the table; returns its id. */
export async function seedIncident(db: Db, tenant: string): Promise<string> {
  const id = crypto.randomUUID();
  const now = new Date();
  await inTenant(db, tenant, (tx) => tx.query(
    `INSERT INTO incidents (id, tenant_id, correlation_key, kind_family, target, title, status, severity, signal_count, opened_at, updated_at, last_signal_at)
     VALUES ($1, $2, $3, 'link', 'core-sw-1', 't', 'open', 'critical', 1, $4, $4, $4)`, [id, tenant, `link|${id}`, now]));
  return id;
}
