import { isIP } from 'node:net';
import { newId } from '../core/ids.ts';
import type { Severity } from '../incidents/model.ts';
import type { TenantTx } from '../store/scope.ts';

export type IndicatorKind = 'ip' | 'cidr' | 'domain';

export interface IndicatorInput {
  value: string;
  confidence: number;
  source: string;
  severity?: Severity | undefined;
}

export interface Indicator {
  id: string;
  kind: IndicatorKind;
  value: string;
  confidence: number;
  severity: Severity;
  source: string;
  origin: string;
  created_at: string;
}

const DOMAIN_RE = /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

/**
 * 4 or 6 for an address PostgreSQL's inet accepts, else 0. Node's isIP also
 * accepts IPv6 zone ids (`fe80::1%eth0`), which inet refuses.
 */
export function plainIpFamily(text: string): 0 | 4 | 6 {
  return text.includes('%') ? 0 : (isIP(text) as 0 | 4 | 6);
}

/** Classifies and normalizes an indicator value; undefined when it is none of IP, CIDR, domain. */
export function classifyIndicator(raw: string): { kind: IndicatorKind; value: string; net: string | null } | undefined {
  const text = raw.trim().toLowerCase();
  if (plainIpFamily(text)) return { kind: 'ip', value: text, net: text };
  const slash = text.indexOf('/');
  if (slash > 0) {
    const addr = text.slice(0, slash);
    const bits = text.slice(slash + 1);
    const family = plainIpFamily(addr);
    const max = family === 4 ? 32 : 128;
    if (family && /^\d{1,3}$/.test(bits) && Number(bits) <= max) return { kind: 'cidr', value: text, net: text };
    return undefined;
  }
  const domain = text.replace(/\.$/, '');
  if (DOMAIN_RE.test(domain)) return { kind: 'domain', value: domain, net: null };
  return undefined;
}

/** Default severity from confidence when an indicator names none. */
export function severityForConfidence(confidence: number): Severity {
  if (confidence >= 80) return 'critical';
  if (confidence >= 50) return 'warning';
  return 'info';
}

/**
 * Inserts or updates indicators from one origin (`api`, `file:<path>`). The
 * caller has validated every value; an unclassifiable one is an error here.
 * With `replace`, indicators of that origin not in the list are removed.
 */
export async function upsertIndicators(tx: TenantTx, origin: string, items: readonly IndicatorInput[], now: Date, replace = false): Promise<Indicator[]> {
  const out: Indicator[] = [];
  for (const item of items) {
    const c = classifyIndicator(item.value);
    if (!c) throw new TypeError('unclassifiable indicator');
    const severity = item.severity ?? severityForConfidence(item.confidence);
    // The cidr column normalizes host bits away: cidr '10.0.0.1/8' is refused, so mask first.
    const res = await tx.query<{ id: string; created_at: Date }>(
      `INSERT INTO indicators (id, tenant_id, kind, value, net, confidence, severity, source, origin, created_at)
       VALUES ($1, $2, $3, $4, CASE WHEN $5::text IS NULL THEN NULL ELSE network($5::inet)::cidr END, $6, $7, $8, $9, $10)
       ON CONFLICT (tenant_id, kind, value) DO UPDATE SET confidence = EXCLUDED.confidence, severity = EXCLUDED.severity, source = EXCLUDED.source
       RETURNING id, created_at`,
      [newId(), tx.tenantId, c.kind, c.value, c.net, item.confidence, severity, item.source, origin, now],
    );
    const row = res.rows[0] as { id: string; created_at: Date };
    out.push({ id: row.id, kind: c.kind, value: c.value, confidence: item.confidence, severity, source: item.source, origin, created_at: row.created_at.toISOString() });
  }
  if (replace) {
    await tx.query('DELETE FROM indicators WHERE tenant_id = $1 AND origin = $2 AND NOT (id = ANY($3::uuid[]))', [tx.tenantId, origin, out.map((i) => i.id)]);
  }
  return out;
}

interface IndicatorRow { id: string; kind: IndicatorKind; value: string; confidence: number; severity: Severity; source: string; origin: string; created_at: Date }
const toIndicator = (r: IndicatorRow): Indicator => ({ ...r, created_at: r.created_at.toISOString() });
const COLUMNS = 'id, kind, value, confidence, severity, source, origin, created_at';

export async function listIndicators(tx: TenantTx, limit: number, afterValue?: string): Promise<Indicator[]> {
  const res = await tx.query<IndicatorRow>(
    `SELECT ${COLUMNS} FROM indicators WHERE tenant_id = $1 AND value > $2 ORDER BY value LIMIT $3`, [tx.tenantId, afterValue ?? '', limit]);
  return res.rows.map(toIndicator);
}

export async function deleteIndicator(tx: TenantTx, id: string): Promise<Indicator | undefined> {
  const res = await tx.query<IndicatorRow>(`DELETE FROM indicators WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`, [tx.tenantId, id]);
  const row = res.rows[0];
  return row ? toIndicator(row) : undefined;
}

export interface IndicatorHit {
  indicator: Indicator;
  observed: string;
}

/** Indicators of the tenant hit by any of these IPs (exact or inside a CIDR). */
export async function matchIps(tx: TenantTx, ips: readonly string[]): Promise<IndicatorHit[]> {
  if (ips.length === 0) return [];
  const res = await tx.query<IndicatorRow & { observed: string }>(
    `SELECT ${COLUMNS.split(', ').map((c) => `i.${c}`).join(', ')}, host(o.ip) AS observed
       FROM indicators i JOIN unnest($2::inet[]) AS o(ip) ON i.net >>= o.ip
      WHERE i.tenant_id = $1 AND i.kind IN ('ip', 'cidr')`,
    [tx.tenantId, ips],
  );
  return res.rows.map((r) => ({ indicator: toIndicator(r), observed: r.observed }));
}

/** Indicators of the tenant hit by these domains: the domain itself or any parent domain. */
export async function matchDomains(tx: TenantTx, domains: readonly string[]): Promise<IndicatorHit[]> {
  const suffixToObserved = new Map<string, string[]>();
  for (const d of domains) {
    const labels = d.toLowerCase().replace(/\.$/, '').split('.');
    for (let i = 0; i < labels.length - 1; i++) {
      const suffix = labels.slice(i).join('.');
      suffixToObserved.set(suffix, [...(suffixToObserved.get(suffix) ?? []), d]);
    }
  }
  if (suffixToObserved.size === 0) return [];
  const res = await tx.query<IndicatorRow>(
    `SELECT ${COLUMNS} FROM indicators WHERE tenant_id = $1 AND kind = 'domain' AND value = ANY($2::text[])`,
    [tx.tenantId, [...suffixToObserved.keys()]],
  );
  return res.rows.flatMap((r) => (suffixToObserved.get(r.value) ?? []).map((observed) => ({ indicator: toIndicator(r), observed })));
}
