/**
 * NetBox stand-in: the REST API read side used for CMDB correlation.
 *
 * Followed (https://netboxlabs.com/docs/netbox/en/stable/integrations/rest-api/):
 * - authentication: `Authorization: Token <40 hex>` (v1 tokens) or, NetBox
 *   4.5+, `Authorization: Bearer nbt_<key>.<token>` (v2 tokens); without a
 *   valid token 403 `{"detail": "Authentication credentials were not
 *   provided."}` / `{"detail": "Invalid token"}`; a write with a read-only
 *   token 403;
 * - lists `GET /api/<app>/<model>/` answer `{count, next, previous, results}`
 *   with `limit` (default 50) and `offset`; objects `GET /api/<app>/<model>/<id>/`;
 *   a path without its trailing slash is redirected (301) as Django's APPEND_SLASH does;
 * - `ipam/ip-addresses/?address=` matches the host part of `address` whatever
 *   the mask; `?dns_name=` (exact, case-sensitive: `dns_name` is a plain
 *   filterset field) and `?dns_name__ie=` (NetBox's case-insensitive exact
 *   lookup expression); each address carries `assigned_object_type`
 *   (`dcim.interface` | `virtualization.vminterface`), `assigned_object_id`
 *   and a nested `assigned_object` (`device` or `virtual_machine` brief);
 * - devices and virtual machines: `?name=` matches case-insensitively (the
 *   DeviceFilterSet and VirtualMachineFilterSet declare
 *   `name = MultiValueCharFilter(lookup_expr='iexact')`);
 *   objects carry `name`, `role` (4.x), `site`, `location`,
 *   `status` `{value, label}`, `tenant`, `primary_ip4`, `primary_ip6`.
 * Stand-in choices: an unknown query parameter is answered 400 (strict); a
 * non-JSON Accept gets the browsable API's HTML; `latencyMs` delays every
 * answer; faults through `inject()`.
 */
import { isIP } from 'node:net';
import { schemeToken, StandIn, type VendorReply, type VendorRequest } from '../../notify/servers/harness.ts';

export interface NbObject { id: number; name: string; role?: string; site?: string; status?: string; tenant?: string; primary_ip4?: string; primary_ip6?: string }
export interface NbAddress { id: number; address: string; dns_name?: string; assigned?: { type: 'device' | 'vm'; id: number } }

const ALLOWED: Record<string, string[]> = {
  'ipam/ip-addresses': ['address', 'dns_name', 'dns_name__ie', 'limit', 'offset'],
  'dcim/devices': ['name', 'limit', 'offset'],
  'virtualization/virtual-machines': ['name', 'limit', 'offset'],
};

function canonicalIp(text: string): string {
  const host = text.split('/')[0] as string;
  return isIP(host) === 6 ? new URL(`http://[${host}]/`).hostname.slice(1, -1) : host;
}

export class NetBox {
  readonly standIn: StandIn;
  readonly devices: NbObject[] = [];
  readonly vms: NbObject[] = [];
  readonly addresses: NbAddress[] = [];
  latencyMs = 0;
  readonly tokens: string[];

  private constructor(standIn: StandIn, tokens: string[]) {
    this.standIn = standIn;
    this.tokens = tokens;
  }

  static async start(tokens = ['0123456789abcdef0123456789abcdef01234567', 'nbt_AbCdEf012345.0123456789abcdefghijklmnopqrstuvwxyzABCD']): Promise<NetBox> {
    let self: NetBox | undefined;
    const standIn = await StandIn.start({ name: 'netbox', handle: (req) => (self as NetBox).handle(req), errorReply: (status) => ({ status, body: { detail: `error ${status}` } }) });
    self = new NetBox(standIn, tokens);
    return self;
  }

  get url(): string {
    return this.standIn.url;
  }

  close(): Promise<void> {
    return this.standIn.close();
  }

  private authed(req: VendorRequest): VendorReply | undefined {
    const v1 = schemeToken(req, 'Token');
    const v2 = schemeToken(req, 'Bearer');
    if (v1 === undefined && v2 === undefined) return { status: 403, body: { detail: 'Authentication credentials were not provided.' } };
    if (v2 !== undefined && !v2.startsWith('nbt_')) return { status: 403, body: { detail: 'Invalid v2 token' } };
    if (v1 !== undefined && !/^[0-9a-f]{40}$/i.test(v1)) return { status: 403, body: { detail: 'Invalid v1 token' } };
    if (!this.tokens.includes((v1 ?? v2) as string)) return { status: 403, body: { detail: 'Invalid token' } };
    return undefined;
  }

  private brief(kind: 'device' | 'vm', id: number): Record<string, unknown> | undefined {
    const o = (kind === 'device' ? this.devices : this.vms).find((x) => x.id === id);
    const path = kind === 'device' ? 'dcim/devices' : 'virtualization/virtual-machines';
    return o ? { id: o.id, url: `${this.url}/api/${path}/${o.id}/`, display: o.name, name: o.name } : undefined;
  }

  private render(kind: 'device' | 'vm', o: NbObject): Record<string, unknown> {
    const ip = (a: string | undefined, family: number) => (a ? { id: 1, family: { value: family, label: `IPv${family}` }, address: a, display: a } : null);
    const nested = (name: string | undefined) => (name ? { id: 1, name, slug: name.toLowerCase(), display: name } : null);
    return {
      id: o.id, name: o.name, display: o.name, role: nested(o.role), site: nested(o.site), tenant: nested(o.tenant),
      ...(kind === 'vm' ? { cluster: nested('cluster-1') } : { location: null }),
      status: { value: (o.status ?? 'active').toLowerCase(), label: o.status ?? 'Active' },
      primary_ip4: ip(o.primary_ip4, 4), primary_ip6: ip(o.primary_ip6, 6), primary_ip: ip(o.primary_ip4 ?? o.primary_ip6, o.primary_ip4 ? 4 : 6),
    };
  }

  private renderAddress(a: NbAddress): Record<string, unknown> {
    const target = a.assigned ? this.brief(a.assigned.type, a.assigned.id) : undefined;
    return {
      id: a.id, address: a.address, display: a.address, dns_name: a.dns_name ?? '', status: { value: 'active', label: 'Active' },
      assigned_object_type: a.assigned ? (a.assigned.type === 'device' ? 'dcim.interface' : 'virtualization.vminterface') : null,
      assigned_object_id: a.assigned ? 1000 + a.id : null,
      assigned_object: a.assigned && target ? { id: 1000 + a.id, name: 'eth0', display: 'eth0', [a.assigned.type === 'device' ? 'device' : 'virtual_machine']: target } : null,
    };
  }

  private async handle(req: VendorRequest): Promise<VendorReply> {
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const denied = this.authed(req);
    if (denied) return denied;
    if (req.method !== 'GET') return { status: 403, body: { detail: 'You do not have permission to perform this action.' } };
    if (!String(req.headers.accept ?? '').includes('application/json')) return { status: 200, headers: { 'content-type': 'text/html' }, body: '<html>browsable API</html>' };
    const m = /^\/api\/(ipam\/ip-addresses|dcim\/devices|virtualization\/virtual-machines)\/(?:(\d+)\/)?$/.exec(req.path);
    if (!m) {
      if (/^\/api\/.*[^/]$/.test(req.path)) return { status: 301, headers: { location: `${req.path}/` } };
      return { status: 404, body: { detail: 'Not found.' } };
    }
    const model = m[1] as string;
    const kind = model === 'dcim/devices' ? 'device' : 'vm';
    if (m[2] !== undefined) {
      if (req.url.search !== '') return { status: 400, body: { detail: 'no query on an object' } };
      const id = Number(m[2]);
      if (model === 'ipam/ip-addresses') {
        const a = this.addresses.find((x) => x.id === id);
        return a ? { status: 200, body: this.renderAddress(a) } : { status: 404, body: { detail: 'No IPAddress matches the given query.' } };
      }
      const o = (kind === 'device' ? this.devices : this.vms).find((x) => x.id === id);
      return o ? { status: 200, body: this.render(kind, o) } : { status: 404, body: { detail: 'Not found.' } };
    }
    for (const k of req.query.keys()) if (!(ALLOWED[model] ?? []).includes(k)) return { status: 400, body: { [k]: ['Unknown filter'] } };
    const limit = Number(req.query.get('limit') ?? '50');
    const offset = Number(req.query.get('offset') ?? '0');
    if (!Number.isInteger(limit) || limit < 0 || !Number.isInteger(offset) || offset < 0) return { status: 400, body: { detail: 'Invalid limit or offset' } };
    let all: Record<string, unknown>[];
    if (model === 'ipam/ip-addresses') {
      const address = req.query.get('address');
      const dns = req.query.get('dns_name');
      const dnsIe = req.query.get('dns_name__ie');
      all = this.addresses
        .filter((a) => address === null || canonicalIp(a.address) === canonicalIp(address))
        .filter((a) => dns === null || (a.dns_name ?? '') === dns)
        .filter((a) => dnsIe === null || (a.dns_name ?? '').toLowerCase() === dnsIe.toLowerCase())
        .map((a) => this.renderAddress(a));
    } else {
      const name = req.query.get('name');
      all = (kind === 'device' ? this.devices : this.vms).filter((o) => name === null || o.name.toLowerCase() === name.toLowerCase()).map((o) => this.render(kind, o));
    }
    const page = all.slice(offset, offset + (limit || 50));
    const link = (o: number) => {
      const u = new URL(req.url.pathname + req.url.search, this.url);
      u.searchParams.set('offset', String(o));
      return u.href;
    };
    return { status: 200, body: { count: all.length, next: offset + page.length < all.length ? link(offset + page.length) : null, previous: offset > 0 ? link(Math.max(0, offset - (limit || 50))) : null, results: page } };
  }
}
