import { isIP } from 'node:net';
import { parseHostPort } from '../../core/net.ts';
import type { SiemEvent, SiemOutcome, SiemSeverity } from '../event.ts';
import { timeParts } from '../event.ts';
import type { FormatOptions } from './options.ts';

/**
 * Google SecOps Unified Data Model events (backstory.UDM, the `udm` of a
 * Chronicle API `events:import` Event). Field names are the proto names in
 * snake_case, as Google's UDM field list and examples write them (the API's
 * JSON parser takes them as well as lowerCamelCase); enums are their value
 * names; timestamps RFC 3339. The mapping is documented field by field in
 * docs/siem.md; probectl's own facts (tenant, seq, id, chain hashes,
 * attributes) are kept in `additional`.
 */

export const UDM_VENDOR = 'probectl';
export const UDM_PRODUCT = 'probectl';

/** SecurityResult.ProductSeverity. */
export const UDM_SEVERITY: Readonly<Record<SiemSeverity, string>> = Object.freeze({ info: 'INFORMATIONAL', warning: 'MEDIUM', critical: 'CRITICAL' });

/** SecurityResult.Action: what happened to the action; a detection is never an enforcement (UNKNOWN_ACTION). */
export const UDM_ACTION: Readonly<Record<SiemOutcome, string>> = Object.freeze({ success: 'ALLOW', failure: 'FAIL', denied: 'BLOCK', unknown: 'UNKNOWN_ACTION' });

const VERB_EVENT_TYPE: ReadonlyMap<string, string> = new Map(Object.entries({
  create: 'USER_RESOURCE_CREATION', add: 'USER_RESOURCE_CREATION', issue: 'USER_RESOURCE_CREATION',
  delete: 'USER_RESOURCE_DELETION', remove: 'USER_RESOURCE_DELETION', revoke: 'USER_RESOURCE_DELETION', purge: 'USER_RESOURCE_DELETION',
  update: 'USER_RESOURCE_UPDATE_CONTENT', upsert: 'USER_RESOURCE_UPDATE_CONTENT', change: 'USER_RESOURCE_UPDATE_CONTENT', set: 'USER_RESOURCE_UPDATE_CONTENT',
  rotate: 'USER_RESOURCE_UPDATE_CONTENT', load: 'USER_RESOURCE_UPDATE_CONTENT', acknowledge: 'USER_RESOURCE_UPDATE_CONTENT', resolve: 'USER_RESOURCE_UPDATE_CONTENT',
  enable: 'USER_RESOURCE_UPDATE_CONTENT', disable: 'USER_RESOURCE_UPDATE_CONTENT', retry: 'USER_RESOURCE_UPDATE_CONTENT', replay: 'USER_RESOURCE_UPDATE_CONTENT',
  grant: 'USER_RESOURCE_UPDATE_PERMISSIONS',
  read: 'USER_RESOURCE_ACCESS', get: 'USER_RESOURCE_ACCESS', list: 'USER_RESOURCE_ACCESS', verify: 'USER_RESOURCE_ACCESS', export: 'USER_RESOURCE_ACCESS',
  lookup: 'USER_RESOURCE_ACCESS', view: 'USER_RESOURCE_ACCESS', denied: 'USER_RESOURCE_ACCESS', access: 'USER_RESOURCE_ACCESS',
}));

/**
 * metadata.event_type. Audit: `auth.login`/`auth.logout` → USER_LOGIN/USER_LOGOUT;
 * otherwise by the action's last segment (create → USER_RESOURCE_CREATION,
 * delete/revoke → USER_RESOURCE_DELETION, update/upsert/… → USER_RESOURCE_UPDATE_CONTENT,
 * grant → USER_RESOURCE_UPDATE_PERMISSIONS, read/list/verify/denied/… →
 * USER_RESOURCE_ACCESS), else USER_UNCATEGORIZED. Threat: `tls.*` (a scan of a
 * service's TLS posture) → SCAN_HOST, `ioc.*` (traffic matching an indicator)
 * → SCAN_NETWORK, other kinds → SCAN_UNCATEGORIZED.
 */
export function udmEventType(event: SiemEvent): string {
  const parts = event.action.toLowerCase().split('.');
  if (event.category === 'threat') {
    if (parts[0] === 'tls') return 'SCAN_HOST';
    if (parts[0] === 'ioc') return 'SCAN_NETWORK';
    return 'SCAN_UNCATEGORIZED';
  }
  const verb = parts[parts.length - 1] ?? '';
  if (parts[0] === 'auth' && verb === 'login') return 'USER_LOGIN';
  if (parts[0] === 'auth' && verb === 'logout') return 'USER_LOGOUT';
  return VERB_EVENT_TYPE.get(verb) ?? 'USER_UNCATEGORIZED';
}

/** SecurityResult.ProductConfidence from a 0–100 confidence: below 34 LOW, below 67 MEDIUM, else HIGH. */
export function udmConfidence(confidence: number): string {
  if (confidence < 34) return 'LOW_CONFIDENCE';
  if (confidence < 67) return 'MEDIUM_CONFIDENCE';
  return 'HIGH_CONFIDENCE';
}

/** SecurityResult.category: audit authentication failures, denials; threat IOC matches. Empty when none applies. */
function categories(event: SiemEvent): string[] {
  if (event.category === 'threat') return event.kind.startsWith('ioc.') ? ['NETWORK_SUSPICIOUS'] : [];
  if (event.outcome === 'failure' || event.outcome === 'denied') return event.action.startsWith('auth.') ? ['AUTH_VIOLATION'] : event.outcome === 'denied' ? ['ACL_VIOLATION'] : [];
  return [];
}

const DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/**
 * A threat target as a UDM Noun: `host:port` or `[v6]:port` → hostname or ip
 * plus port; a bare address → ip (an IPv6 zone is not part of a UDM address:
 * it stays in `additional.probectl_target`); a host name → hostname; anything
 * else → resource.name.
 */
function threatTarget(target: string): Record<string, unknown> {
  const hp = parseHostPort(target);
  const host = hp ? hp.host : target;
  const port = hp ? { port: hp.port } : {};
  const bare = host.split('%')[0] as string;
  if (isIP(bare) !== 0) return { ip: [bare], ...port };
  if (DOMAIN.test(host)) return { hostname: host, ...port };
  return { resource: { name: target } };
}

function nonEmpty(key: string, value: string): Record<string, string> {
  return value === '' ? {} : { [key]: value };
}

/** The UDM event object for one canonical event (see docs/siem.md, "udm"). */
export function udmObject(event: SiemEvent, opts: FormatOptions): Record<string, unknown> {
  const eventType = udmEventType(event);
  const t = timeParts(event.time);
  const probectlHost = { hostname: opts.hostname, application: 'probectl' };
  const metadata = {
    product_log_id: event.id,
    event_timestamp: t.fraction === '' ? `${t.wholeSeconds}Z` : `${t.wholeSeconds}.${t.fraction}Z`,
    event_type: eventType,
    vendor_name: UDM_VENDOR,
    product_name: UDM_PRODUCT,
    product_version: opts.version,
    product_event_type: event.action === '' ? '-' : event.action,
    ...nonEmpty('description', event.message),
  };
  const result: Record<string, unknown> = {
    severity: UDM_SEVERITY[event.severity],
    severity_details: event.severity,
    action: [UDM_ACTION[event.outcome]],
    action_details: event.outcome,
  };
  const cats = categories(event);
  if (cats.length > 0) result.category = cats;
  result.category_details = [event.category === 'threat' ? event.kind : event.action];
  result.summary = event.message;
  const additional: Record<string, unknown> = {
    probectl_tenant: event.tenant,
    probectl_event_id: event.id,
    probectl_seq: String(event.seq),
    probectl_category: event.category,
    probectl_outcome: event.outcome,
    probectl_actor: event.actor,
    probectl_target: event.target,
  };

  if (event.category === 'threat') {
    result.confidence = udmConfidence(event.confidence);
    result.confidence_score = event.confidence;
    result.confidence_details = `${event.confidence}/100`;
    result.rule_name = event.kind;
    result.threat_id = event.signalId;
    additional.probectl_signal_id = event.signalId;
    additional.probectl_incident_id = event.incidentId;
    additional.probectl_confidence = event.confidence;
    additional.probectl_attributes = event.attributes;
    // probectl scanned or matched: it is the acting entity, the finding's subject the target.
    return { metadata, principal: probectlHost, target: threatTarget(event.target), security_result: [result], additional };
  }

  const user = event.actor === '' ? {} : { user: { userid: event.actor } };
  const login = eventType === 'USER_LOGIN' || eventType === 'USER_LOGOUT';
  additional.probectl_hash = event.hash;
  additional.probectl_prev_hash = event.prevHash;
  additional.probectl_attributes = event.attributes;
  return {
    metadata,
    // The actor acted on a probectl resource (a login: on probectl itself, as that user); probectl recorded it.
    principal: event.actor === '' ? probectlHost : user,
    target: login ? { ...user, ...probectlHost } : { ...probectlHost, ...(event.target === '' ? {} : { resource: { name: event.target } }) },
    observer: probectlHost,
    ...(login ? { extensions: { auth: { type: 'MACHINE', mechanism: ['NETWORK'], auth_details: 'probectl API token', outcome: event.outcome === 'success' ? 'SUCCESS' : 'FAILURE' } } } : {}),
    security_result: [result],
    additional,
  };
}

/** One UDM event as JSON text (one line). */
export function udmRecord(event: SiemEvent, opts: FormatOptions): string {
  return JSON.stringify(udmObject(event, opts));
}
