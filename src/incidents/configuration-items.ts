/**
 * Configuration items (CIs) as probectl shows them beside incidents, agents
 * and connector payloads: read from the operator's CMDB (src/cmdb), never
 * stored. Defined here, in the domain layer, so the on-call mirror
 * (src/notify) can carry them without importing the CMDB integration
 * (integrations never import each other): the composition root hands the
 * CMDB's enricher to the mirror.
 */
export interface ConfigurationItem {
  /** Which CMDB answered. */
  readonly provider: 'servicenow' | 'netbox';
  /** The CMDB's id: the ServiceNow sys_id, the NetBox `<type>:<id>` (`device:12`, `vm:7`). */
  readonly id: string;
  readonly name: string;
  /** The CI class (ServiceNow `sys_class_name` display value; NetBox `device` or `virtual machine`). */
  readonly class: string;
  /** The role (NetBox device role; ServiceNow has none: null). */
  readonly role: string | null;
  /** Its IP addresses, normalised, without prefix length. */
  readonly ips: readonly string[];
  readonly fqdn: string | null;
  /** Owner or support group (display names). */
  readonly owner: string | null;
  readonly location: string | null;
  readonly status: string | null;
  /** A link into the CMDB's own UI. */
  readonly link: string;
  /** The CMDB's origin (scheme://host[:port]): a ServiceNow connector on the same instance may reference the CI by sys_id. */
  readonly origin: string;
}

/** What the CMDB said about one target: its CIs, or why there are none. */
export type CiAnswer =
  /** Looked up now or from a fresh cache entry (items may be empty: the CMDB knows no such CI). */
  | { readonly state: 'ok'; readonly items: readonly ConfigurationItem[] }
  /** The CMDB failed or timed out; the last good answer is served. `fetched_at` is when it was read (RFC 3339). */
  | { readonly state: 'stale'; readonly items: readonly ConfigurationItem[]; readonly fetched_at: string; readonly reason: string }
  /** The CMDB failed or timed out and nothing is cached. */
  | { readonly state: 'unavailable'; readonly items: readonly []; readonly reason: string }
  /** The target is not something a CMDB is asked about (a CIDR, free text): no request was made. */
  | { readonly state: 'not-a-key'; readonly items: readonly []; readonly reason: string };

/**
 * Looks up the CIs of an incident's targets for a notification, within a
 * short deadline of its own: resolves (never rejects) within that deadline,
 * with what it found (empty when the CMDB is down or slow, so a page is never
 * held back by the CMDB).
 */
export interface IncidentEnricher {
  /** `incident` names the incident the targets are of: its connectors' enrichments count as one (PROBECTL_CMDB_RATE_LIMIT). */
  configurationItems(tenant: string, targets: readonly string[], incident?: string): Promise<Enrichment>;
}

/** What an enricher found: the CIs, and when it could not ask the CMDB, why (the payload says so: "rate limited", "CMDB unavailable…"). */
export interface Enrichment {
  readonly items: readonly ConfigurationItem[];
  readonly unavailable?: string;
}
