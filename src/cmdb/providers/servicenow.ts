import type { ConfigurationItem } from '../../incidents/configuration-items.ts';
import type { CmdbKey } from '../keys.ts';
import { boundedItem } from './bounded.ts';
import { CmdbUnavailable, type CmdbGet, type CmdbProvider } from './types.ts';

/** The fields read (sysparm_fields): only what a CI shows. */
export const SERVICENOW_FIELDS = ['sys_id', 'name', 'sys_class_name', 'ip_address', 'fqdn', 'owned_by', 'support_group', 'location', 'install_status'] as const;
/** At most this many CIs per key (sysparm_limit). */
export const SERVICENOW_LIMIT = 10;

/** Characters a key may hold: none is an encoded-query operator or separator (`^`, `=`, `!`, `<`, `>`, `@`, space…). */
const SAFE_VALUE = /^[a-z0-9._:-]{1,253}$/;

/**
 * The encoded query of a key: one disjunction `ip_address=<k>^ORfqdn=<k>^ORname=<k>`
 * (ServiceNow encoded-query grammar: `^` AND, `^OR` OR, `^NQ` new query;
 * https://servicenow.github.io/sdk/guides/encoded-query-guide). The value is
 * a normalised key (keys.ts) and is checked again here: a value outside
 * `[a-z0-9._:-]` cannot be written, so a key can never add a clause.
 */
export function serviceNowQuery(key: CmdbKey): string {
  if (!SAFE_VALUE.test(key.value)) throw new Error('a CMDB key outside [a-z0-9._:-] reached the ServiceNow query');
  return ['ip_address', 'fqdn', 'name'].map((f) => `${f}=${key.value}`).join('^OR');
}

/** The Table API URL of a lookup (GET /api/now/table/<table>). */
export function serviceNowUrl(base: URL, table: string, key: CmdbKey): URL {
  const url = new URL(`api/now/table/${table}`, base);
  url.searchParams.set('sysparm_query', serviceNowQuery(key));
  url.searchParams.set('sysparm_fields', SERVICENOW_FIELDS.join(','));
  url.searchParams.set('sysparm_limit', String(SERVICENOW_LIMIT));
  url.searchParams.set('sysparm_display_value', 'all');
  url.searchParams.set('sysparm_exclude_reference_link', 'true');
  url.searchParams.set('sysparm_no_count', 'true');
  return url;
}

/** With sysparm_display_value=all every field is `{display_value, value}`. */
function field(record: Record<string, unknown>, name: string, which: 'value' | 'display_value'): string | null {
  const f = record[name];
  if (f && typeof f === 'object') {
    const v = (f as Record<string, unknown>)[which];
    return typeof v === 'string' && v !== '' ? v : null;
  }
  return typeof f === 'string' && f !== '' ? f : null;
}

function toItem(base: URL, table: string, r: Record<string, unknown>): ConfigurationItem | undefined {
  const id = field(r, 'sys_id', 'value');
  if (!id || !/^[0-9a-f]{32}$/.test(id)) return undefined;
  const cls = field(r, 'sys_class_name', 'value');
  const linkTable = cls && /^[a-z][a-z0-9_]{0,79}$/.test(cls) ? cls : table;
  const ip = field(r, 'ip_address', 'value');
  return {
    provider: 'servicenow',
    id,
    name: field(r, 'name', 'display_value') ?? id,
    class: field(r, 'sys_class_name', 'display_value') ?? cls ?? table,
    role: null,
    ips: ip ? [ip] : [],
    fqdn: field(r, 'fqdn', 'display_value'),
    owner: field(r, 'support_group', 'display_value') ?? field(r, 'owned_by', 'display_value'),
    location: field(r, 'location', 'display_value'),
    status: field(r, 'install_status', 'display_value'),
    link: new URL(`${linkTable}.do?sys_id=${id}`, base).href,
    origin: base.origin,
  };
}

/**
 * ServiceNow CMDB over the Table API (GET /api/now/table/<table>): one
 * request per key with the disjunction of serviceNowQuery, sysparm_fields
 * limited to SERVICENOW_FIELDS, sysparm_limit 10 and sysparm_display_value=all
 * (reference fields — owner, support group, location — read as their display
 * names, sys_class_name as both table and label). The answer is `{"result": [...]}`.
 */
export function serviceNowProvider(base: URL, table: string, get: CmdbGet): CmdbProvider {
  return {
    name: 'servicenow',
    async lookup(key, signal) {
      const body = await get(serviceNowUrl(base, table, key), signal);
      const result = (body as { result?: unknown } | null)?.result;
      if (!Array.isArray(result)) throw new CmdbUnavailable(`${base.origin} answered without a result array`);
      // sysparm_limit is a request, not a guarantee: never more than SERVICENOW_LIMIT records are read.
      return result.slice(0, SERVICENOW_LIMIT).flatMap((r) => {
        const item = r && typeof r === 'object' ? toItem(base, table, r as Record<string, unknown>) : undefined;
        return item ? [boundedItem(item)] : [];
      });
    },
  };
}
