import { createHash } from 'node:crypto';
import { isUuid } from '../../core/ids.ts';
import { isLoopbackHost } from '../../core/net.ts';
import { SEVERITIES, type Severity } from '../../incidents/model.ts';
import type { SecretRef } from '../../secrets/ref.ts';
import { NOTIFY_PROVIDERS, providerNamed } from '../providers/registry.ts';
import type { NotifyProvider } from '../providers/types.ts';
import type { ConnectorEntry, InboundEntry, SecretField } from './entries.ts';

/** One configured connector instance (an entry of PROBECTL_NOTIFY_CONNECTORS). */
export interface ConnectorConfig {
  /**
   * Stable id: `<provider>-<10 hex>` from the tenant, the provider and the
   * vendor URL (probectl's options removed, so changing min_severity keeps
   * it); `-2`, `-3`… for further entries with the same three. The delivery
   * stream's name, shown in status, metrics and `notify failed`.
   */
  readonly id: string;
  /** The connector_name option, when given (an inbound entry may name the connector by it). */
  readonly name?: string;
  readonly position: number;
  readonly tenant: string;
  readonly provider: NotifyProvider;
  /** The vendor URL: probectl's options removed, the vendor's own query kept (passthrough providers). */
  readonly url: URL;
  /** The provider's options (min_severity excluded). */
  readonly options: Readonly<Record<string, string>>;
  readonly minSeverity: Severity;
  readonly secret: SecretRef | undefined;
  /** What logs, errors and status may show of the endpoint (provider.display). */
  readonly display: string;
}

/**
 * One inbound webhook credential (an entry of PROBECTL_NOTIFY_INBOUND). An id listed
 * twice (same tenant and provider) is a secret rotation: `secret` is the later entry's
 * (the one `POST /v1/notify/sign` signs with), `previous` the earlier one's, accepted too
 * until its entry is removed.
 */
export interface InboundConfig {
  readonly id: string;
  readonly position: number;
  readonly tenant: string;
  readonly provider: NotifyProvider;
  /**
   * The ids of the connectors (of its tenant and provider) the credential speaks for: the
   * ones named after `@` in the entry, else the tenant's only connector of the provider.
   * A delivery is matched against these connectors' links and no other's.
   */
  readonly connectors: readonly string[];
  readonly secret: SecretRef;
  readonly previous?: SecretRef;
}

export const INBOUND_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const PROVIDER_NAMES = () => NOTIFY_PROVIDERS.map((p) => p.name).join(', ');

/**
 * A provider name safe to repeat in an error (it is not a secret, but may be
 * garbage). Only for an entry whose tenant is a UUID: one whose "tenant" is
 * not may be the tail of the previous entry's secret, cut where it looked like
 * a new entry (`…,<x>|<y>|…`), so none of its fields is quoted.
 */
function shownName(text: string, tenant: string): string {
  if (!isUuid(tenant)) return '(not shown: the entry has no tenant UUID, it may be part of a secret)';
  return /^[a-z0-9_-]{1,32}$/.test(text) ? `"${text}"` : '(unprintable)';
}

function label(entry: { position: number; provider: string }, provider: NotifyProvider | undefined): string {
  return `entry ${entry.position} (${provider ? provider.name : entry.provider === '' ? 'no provider' : 'unknown provider'})`;
}

function secretProblems(field: SecretField): string[] {
  switch (field.kind) {
    case 'empty':
      return ['the secret is empty'];
    case 'malformed':
      return [`the secret is a malformed reference: ${field.problem}`];
    default:
      return [];
  }
}

/** An endpoint's transport rules: a URL, https (http only to loopback), no user:password in it. */
function endpointUrl(text: string, problems: string[]): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push('the endpoint is not a URL');
    return undefined;
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) problems.push('plain http:// is refused to a non-loopback host; use https://');
  else if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push('the endpoint must be https:// (http:// only to a loopback host)');
  if (url.username !== '' || url.password !== '') problems.push('credentials in the endpoint URL are refused; put them in the secret field');
  if (url.hash !== '') problems.push('the endpoint has a #fragment');
  return url;
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/**
 * Takes probectl's options out of the endpoint's query: min_severity and the
 * provider's own. Any other parameter stays on the URL, byte for byte (never
 * re-encoded: a Teams `sig` or a Slack token is passed on exactly as given),
 * for a passthrough provider, and is a problem for a strict one (a misspelt
 * option is never silently ignored). Values never appear in a problem.
 */
function takeOptions(url: URL, provider: NotifyProvider, problems: string[]): { options: Record<string, string>; minSeverity: Severity; name: string | undefined } {
  const specs = new Map(provider.options.map((o) => [o.name, o]));
  const options: Record<string, string> = {};
  let minSeverity = provider.defaultMinSeverity;
  let connectorName: string | undefined;
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const part of url.search.slice(1).split('&').filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    const name = decoded(eq < 0 ? part : part.slice(0, eq));
    const value = decoded(eq < 0 ? '' : part.slice(eq + 1));
    if (!COMMON_OPTIONS.includes(name) && !specs.has(name)) {
      if (provider.passthroughQuery) kept.push(part);
      else {
        const shown = /^[A-Za-z0-9_.-]{1,40}$/.test(name) ? `"${name}"` : '(unprintable name)';
        problems.push(`unknown option ${shown} in the endpoint's query; ${provider.name} takes ${[...COMMON_OPTIONS, ...specs.keys()].join(', ')}`);
      }
      continue;
    }
    if (seen.has(name)) {
      problems.push(`option ${name} is given more than once`);
      continue;
    }
    seen.add(name);
    if (name === 'min_severity') {
      if ((SEVERITIES as readonly string[]).includes(value)) minSeverity = value as Severity;
      else problems.push(`option min_severity is not one of ${SEVERITIES.join(', ')}`);
      continue;
    }
    if (name === 'connector_name') {
      if (CONNECTOR_NAME.test(value)) connectorName = value;
      else problems.push('option connector_name must be 1 to 40 lower-case letters, digits, "_", "." or "-", starting with a letter or digit');
      continue;
    }
    const spec = specs.get(name) as NonNullable<ReturnType<typeof specs.get>>;
    try {
      options[name] = spec.parse ? spec.parse(value) : value;
    } catch (err) {
      problems.push(`option ${name}: ${(err as Error).message}; accepted: ${spec.accepts}`);
    }
  }
  url.search = kept.join('&');
  return { options, minSeverity, name: connectorName };
}

/** Options every provider takes: the severity floor, and a name that fixes the connector's id. */
const COMMON_OPTIONS: readonly string[] = ['min_severity', 'connector_name'];
const CONNECTOR_NAME = /^[a-z0-9][a-z0-9_.-]{0,39}$/;

/**
 * The connector id: `<provider>-<10 hex>` of SHA-256 over tenant, provider and
 * either the connector_name option (stable whatever the order of entries or the
 * URL) or the vendor URL (probectl's options removed).
 */
function connectorIdBase(tenant: string, provider: string, url: URL, name: string | undefined): string {
  const identity = name === undefined ? url.href : `name:${name}`;
  return `${provider}-${createHash('sha256').update(`${tenant}|${provider}|${identity}`).digest('hex').slice(0, 10)}`;
}

/**
 * Validates every connector entry; pushes one problem per bad entry (naming it
 * by position and provider, never echoing its secret or the URL's query
 * values) and returns the connectors of the good ones.
 */
export function connectorConfigs(entries: readonly ConnectorEntry[], push: (problem: string) => void): ConnectorConfig[] {
  const out: ConnectorConfig[] = [];
  const ids = new Map<string, number>();
  for (const entry of entries) {
    const provider = providerNamed(entry.provider);
    const problems = [...entry.problems];
    if (!isUuid(entry.tenant)) problems.push('the tenant is not a UUID');
    if (!provider) problems.push(entry.provider === '' ? `no provider (providers: ${PROVIDER_NAMES()})` : `unknown provider ${shownName(entry.provider, entry.tenant)} (providers: ${PROVIDER_NAMES()})`);
    const url = entry.endpoint === '' ? (problems.push('no endpoint'), undefined) : endpointUrl(entry.endpoint, problems);
    problems.push(...secretProblems(entry.secret));
    let taken: { options: Record<string, string>; minSeverity: Severity; name: string | undefined } | undefined;
    if (provider && url) {
      taken = takeOptions(url, provider, problems);
      if (problems.length === 0) problems.push(...(provider.validate?.(url, taken.options, entry.secret.kind === 'ref') ?? []));
    }
    if (problems.length > 0 || !provider || !url || !taken) {
      for (const p of problems) push(`${label(entry, provider)}: ${p}`);
      continue;
    }
    const tenant = entry.tenant.toLowerCase();
    const base = connectorIdBase(tenant, provider.name, url, taken.name);
    const n = (ids.get(base) ?? 0) + 1;
    ids.set(base, n);
    if (taken.name !== undefined && n > 1) {
      push(`${label(entry, provider)}: connector_name "${taken.name}" is given to another ${provider.name} entry of this tenant`);
      continue;
    }
    out.push(Object.freeze({
      id: n === 1 ? base : `${base}-${n}`, ...(taken.name === undefined ? {} : { name: taken.name }), position: entry.position, tenant, provider, url,
      options: Object.freeze(taken.options), minSeverity: taken.minSeverity,
      secret: entry.secret.kind === 'ref' ? entry.secret.ref : undefined, display: provider.display(url),
    }));
  }
  // An inbound entry names a connector by connector_name or id: a name that is another connector's id names two.
  const taken = new Set(out.map((c) => `${c.tenant}|${c.provider.name}|${c.id}`));
  return out.filter((c) => {
    if (c.name === undefined || c.name === c.id || !taken.has(`${c.tenant}|${c.provider.name}|${c.name}`)) return true;
    push(`entry ${c.position} (${c.provider.name}): connector_name "${c.name}" is the id of another ${c.provider.name} connector of this tenant; choose another name`);
    return false;
  });
}

/** A connector as an inbound entry names it: a connector_name, or a connector id. */
const CONNECTOR_REF = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** The tenant's connectors of one provider, as an error lists them: ids, and names where given. */
function listed(connectors: readonly ConnectorConfig[]): string {
  return connectors.map((c) => (c.name === undefined ? c.id : `${c.id} "${c.name}"`)).join(', ');
}

/**
 * The connectors an inbound entry speaks for (sorted ids), or problems: the
 * ones it names after `@` (by connector_name or id, each naming exactly one
 * connector of its tenant and provider); with none named, the tenant's only
 * connector of the provider — with two or more, it cannot be told which
 * (one Jira site's webhook would act on the other site's issue keys), and the
 * entry must name them. `quotable`: the entry's own text may be repeated.
 */
function boundConnectors(entry: InboundEntry, mine: readonly ConnectorConfig[], provider: string, quotable: boolean, problems: string[]): string[] {
  if (entry.connectors === undefined) {
    if (mine.length === 1) return [(mine[0] as ConnectorConfig).id];
    problems.push(`tenant ${entry.tenant.toLowerCase()} has ${mine.length} ${provider} connectors (${listed(mine)}): name the one(s) this credential speaks for after the provider, ${provider}@<connector_name or id>[+<another>] (docs/oncall.md "Inbound webhooks")`);
    return [];
  }
  const ids = new Set<string>();
  for (const ref of entry.connectors) {
    const matches = mine.filter((c) => c.name === ref || c.id === ref);
    const shown = quotable ? `"${ref}"` : '(not shown)';
    if (matches.length === 1) ids.add((matches[0] as ConnectorConfig).id);
    else if (matches.length === 0) problems.push(`no ${provider} connector of tenant ${entry.tenant.toLowerCase()} has the connector_name or id ${shown} (its ${provider} connectors: ${listed(mine)})`);
    else problems.push(`${shown} names more than one ${provider} connector (${listed(matches)}): name it by id`);
  }
  return [...ids].sort();
}

/**
 * Validates every inbound entry against the connectors: a well-formed id, a
 * UUID tenant, a known provider that has a connector of that tenant, a
 * non-empty secret, the connectors it speaks for (boundConnectors). An id may
 * be listed twice with the same tenant, provider and connectors — a secret
 * rotation (InboundConfig.previous) — and no more.
 */
export function inboundConfigs(entries: readonly InboundEntry[], connectors: readonly ConnectorConfig[], connectorsValid: boolean, push: (problem: string) => void): InboundConfig[] {
  const out: InboundConfig[] = [];
  // Per id: the first entry's tenant and provider, how often it is listed, and where its config is in `out`.
  const seen = new Map<string, { tenant: string; provider: string; count: number; at?: number }>();
  for (const entry of entries) {
    const provider = providerNamed(entry.provider);
    const problems = [...entry.problems];
    // As for connectors: an entry without a tenant UUID may be the tail of the previous entry's secret, its id too.
    const quotable = isUuid(entry.tenant);
    const tenant = entry.tenant.toLowerCase();
    const first = seen.get(entry.id);
    if (!INBOUND_ID.test(entry.id)) problems.push('the id must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit');
    else if (first && (first.tenant !== tenant || first.provider !== entry.provider)) {
      problems.push(quotable ? `duplicate inbound id "${entry.id}" with another tenant or provider (an id is listed twice only to rotate its secret)` : 'duplicate inbound id with another tenant or provider');
    } else if (first && first.count >= 2) problems.push(quotable ? `inbound id "${entry.id}" listed more than twice (a rotation keeps the new secret and the previous one)` : 'inbound id listed more than twice');
    if (first) first.count++;
    else seen.set(entry.id, { tenant, provider: entry.provider, count: 1 });
    if (!quotable) problems.push('the tenant is not a UUID');
    // An entry with no secret field (fewer than three ":") may hold its secret where the provider
    // and its connectors go (`<id>:<tenant>:<secret>`, the provider forgotten): neither is quoted.
    const namesQuotable = quotable && entry.secret.kind !== 'absent';
    if (!provider) problems.push(entry.provider === '' ? `no provider (providers: ${PROVIDER_NAMES()})` : `unknown provider ${namesQuotable ? shownName(entry.provider, entry.tenant) : '(not shown: the entry has no secret field, this may be the secret)'} (providers: ${PROVIDER_NAMES()})`);
    if (entry.secret.kind === 'absent' && entry.problems.length === 0) problems.push('no secret');
    problems.push(...secretProblems(entry.secret));
    // Only meaningful once the connectors themselves are valid (a bad connector entry is reported on its own).
    const listOk = entry.connectors === undefined || (entry.connectors.length > 0 && entry.connectors.every((c) => CONNECTOR_REF.test(c)));
    if (!listOk) problems.push('after "@" in the provider field come connector names or ids (1 to 64 lower-case letters, digits, "_", "." or "-"), several joined by "+"');
    let bound: string[] = [];
    if (provider && isUuid(entry.tenant) && connectorsValid && listOk) {
      const mine = connectors.filter((c) => c.tenant === tenant && c.provider.name === provider.name);
      if (mine.length === 0) problems.push(`tenant ${tenant} has no ${provider.name} connector in PROBECTL_NOTIFY_CONNECTORS`);
      else bound = boundConnectors(entry, mine, provider.name, namesQuotable, problems);
    }
    const where = `entry ${entry.position}${quotable && INBOUND_ID.test(entry.id) ? ` "${entry.id}"` : ''} (${provider ? provider.name : 'unknown provider'})`;
    if (problems.length > 0 || !provider || entry.secret.kind !== 'ref') {
      for (const p of problems) push(`${where}: ${p}`);
      continue;
    }
    const mine = seen.get(entry.id);
    const earlier = mine?.at === undefined ? undefined : out[mine.at];
    if (earlier && JSON.stringify(earlier.secret) === JSON.stringify(entry.secret.ref)) {
      push(`${where}: inbound id "${entry.id}" listed twice with the same secret (list an id twice only to rotate its secret: the new one after the old one)`);
      continue;
    }
    if (earlier && earlier.connectors.join('+') !== bound.join('+')) {
      push(`${where}: inbound id "${entry.id}" listed twice for other connectors (${earlier.connectors.join(', ')}, then ${bound.join(', ')}); a rotation keeps them`);
      continue;
    }
    // A second entry: its secret is the current one; the earlier one's stays accepted during the rotation.
    const config = Object.freeze({ id: entry.id, position: entry.position, tenant, provider, connectors: Object.freeze(bound), secret: entry.secret.ref, ...(earlier ? { previous: earlier.secret } : {}) });
    if (mine?.at !== undefined) out[mine.at] = config;
    else {
      if (mine) mine.at = out.length;
      out.push(config);
    }
  }
  return out;
}
