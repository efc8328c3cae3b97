import type { ConfigurationItem } from '../../incidents/configuration-items.ts';
import { boundedItem } from './bounded.ts';
import { CmdbUnavailable, type CmdbGet, type CmdbProvider } from './types.ts';

/** Most objects asked for per list request (`limit`). */
export const NETBOX_LIMIT = 10;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const nameOf = (v: unknown): string | null => text(obj(v)?.name) ?? text(obj(v)?.display);
const idOf = (v: unknown): number | undefined => {
  const id = obj(v)?.id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
};

/** `address` without its prefix length (`10.0.0.1/24` → `10.0.0.1`). */
const hostOf = (address: unknown): string | null => text(typeof address === 'string' ? address.split('/')[0] : undefined);

/** A paginated list answer: `{count, next, previous, results}`. */
function results(body: unknown, origin: string): Obj[] {
  const page = obj(body);
  if (!page || !Array.isArray(page.results) || typeof page.count !== 'number') throw new CmdbUnavailable(`${origin} answered a list without count and results`);
  // `limit` is a request, not a guarantee: never more than NETBOX_LIMIT results are read (or followed).
  return page.results.slice(0, NETBOX_LIMIT).flatMap((r) => (obj(r) ? [obj(r) as Obj] : []));
}

type Kind = 'device' | 'vm';
const PATHS: Readonly<Record<Kind, string>> = { device: 'dcim/devices', vm: 'virtualization/virtual-machines' };

function toItem(base: URL, kind: Kind, o: Obj, fqdn: string | null): ConfigurationItem | undefined {
  const id = idOf(o);
  if (id === undefined) return undefined;
  const ips = [hostOf(obj(o.primary_ip4)?.address), hostOf(obj(o.primary_ip6)?.address)].filter((x): x is string => x !== null);
  const site = nameOf(o.site);
  const location = nameOf(o.location);
  return {
    provider: 'netbox',
    id: `${kind}:${id}`,
    name: text(o.name) ?? text(o.display) ?? `${kind} ${id}`,
    class: kind === 'device' ? 'device' : 'virtual machine',
    // NetBox 4.x `role`; 3.x devices `device_role`.
    role: nameOf(o.role) ?? nameOf(o.device_role),
    ips,
    fqdn,
    owner: nameOf(o.tenant),
    location: [site, location].filter((x) => x !== null).join(' / ') || nameOf(o.cluster),
    status: text(obj(o.status)?.label) ?? text(obj(o.status)?.value),
    link: new URL(`${PATHS[kind]}/${id}/`, base).href,
    origin: base.origin,
  };
}

/**
 * NetBox over its REST API (https://netboxlabs.com/docs/netbox/en/stable/integrations/rest-api/):
 * - an IP key: `GET /api/ipam/ip-addresses/?address=<ip>`, then each address's
 *   assigned object followed to its device (`assigned_object_type`
 *   `dcim.interface` → `GET /api/dcim/devices/<id>/`) or virtual machine
 *   (`virtualization.vminterface` → `GET /api/virtualization/virtual-machines/<id>/`);
 * - a host key: `GET /api/dcim/devices/?name=<h>` and
 *   `GET /api/virtualization/virtual-machines/?name=<h>` (NetBox filters both
 *   `name`s case-insensitively, `iexact`), and for a dotted name the addresses
 *   whose `dns_name` is it, case-insensitively (`dns_name__ie`: NetBox's plain
 *   `dns_name` filter is an exact, case-sensitive match, and keys are
 *   lower-case), followed as above.
 * Lists carry `limit=10` and answer `{count, next, previous, results}`.
 */
export function netboxProvider(base: URL, get: CmdbGet): CmdbProvider {
  const api = (path: string, params: Record<string, string>): URL => {
    const url = new URL(`api/${path}/`, base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url;
  };
  const list = async (path: string, params: Record<string, string>, signal: AbortSignal) => results(await get(api(path, { ...params, limit: String(NETBOX_LIMIT) }), signal), base.origin);

  /** The devices and VMs the addresses are assigned to, each fetched once. */
  async function assigned(addresses: Obj[], signal: AbortSignal): Promise<ConfigurationItem[]> {
    const wanted = new Map<string, { kind: Kind; id: number; fqdn: string | null }>();
    for (const a of addresses) {
      const target = obj(a.assigned_object);
      const kind: Kind | undefined = a.assigned_object_type === 'dcim.interface' ? 'device' : a.assigned_object_type === 'virtualization.vminterface' ? 'vm' : undefined;
      const id = kind === 'device' ? idOf(target?.device) : kind === 'vm' ? idOf(target?.virtual_machine) : undefined;
      if (kind && id !== undefined && !wanted.has(`${kind}:${id}`)) wanted.set(`${kind}:${id}`, { kind, id, fqdn: text(a.dns_name)?.toLowerCase() ?? null });
    }
    const items = await Promise.all([...wanted.values()].map(async (w) => {
      const o = obj(await get(api(`${PATHS[w.kind]}/${w.id}`, {}), signal));
      return o ? toItem(base, w.kind, o, w.fqdn) : undefined;
    }));
    return items.filter((i): i is ConfigurationItem => i !== undefined).map(boundedItem);
  }

  return {
    name: 'netbox',
    async lookup(key, signal) {
      if (key.kind === 'ip') return assigned(await list('ipam/ip-addresses', { address: key.value }, signal), signal);
      const dotted = key.value.includes('.');
      const [devices, vms, named] = await Promise.all([
        list(PATHS.device, { name: key.value }, signal),
        list(PATHS.vm, { name: key.value }, signal),
        dotted ? list('ipam/ip-addresses', { dns_name__ie: key.value }, signal) : Promise.resolve([]),
      ]);
      const fqdn = dotted ? key.value : null;
      // NetBox ignores a query parameter it has no filter for (an older NetBox without the `ie` lookups answers
      // every address): only objects whose name or dns_name is the key, case aside, are kept.
      const is = (v: unknown): boolean => typeof v === 'string' && v.toLowerCase().replace(/\.$/, '') === key.value;
      const direct = [
        ...devices.filter((o) => is(o.name)).map((o) => toItem(base, 'device', o, fqdn)),
        ...vms.filter((o) => is(o.name)).map((o) => toItem(base, 'vm', o, fqdn)),
      ].filter((i): i is ConfigurationItem => i !== undefined);
      const seen = new Set(direct.map((i) => i.id));
      const viaDns = (await assigned(named.filter((a) => is(a.dns_name)), signal)).filter((i) => !seen.has(i.id));
      return [...direct.map(boundedItem), ...viaDns].slice(0, NETBOX_LIMIT);
    },
  };
}
