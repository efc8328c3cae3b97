import type { SiemEvent, SiemOutcome } from '../event.ts';
import { timeParts } from '../event.ts';
import { CEF_SEVERITY } from './cef.ts';
import type { FormatOptions } from './options.ts';

/** The ECS release the documents conform to; every field used is checked against the 9.x field reference. */
export const ECS_VERSION = '9.0.0';

// ECS expected event.type values per event.category (from the ECS field reference).
const EXPECTED_TYPES: Readonly<Record<string, readonly string[]>> = {
  api: ['access', 'admin', 'allowed', 'change', 'creation', 'deletion', 'denied', 'end', 'info', 'start', 'user'],
  authentication: ['start', 'end', 'info'],
  configuration: ['access', 'change', 'creation', 'deletion', 'info'],
  iam: ['admin', 'change', 'creation', 'deletion', 'group', 'info', 'user'],
  intrusion_detection: ['allowed', 'denied', 'info'],
  vulnerability: ['info'],
};

const CATEGORY_BY_PREFIX: ReadonlyMap<string, string> = new Map(Object.entries({
  auth: 'authentication', login: 'authentication', logout: 'authentication', session: 'authentication',
  token: 'iam', tenant: 'iam', user: 'iam', role: 'iam', permission: 'iam', permissions: 'iam', group: 'iam', account: 'iam',
  config: 'configuration', settings: 'configuration', indicator: 'configuration', indicators: 'configuration',
  incident: 'configuration', connector: 'configuration', connectors: 'configuration', siem: 'configuration', notify: 'configuration',
}));

const TYPE_BY_VERB: ReadonlyMap<string, string> = new Map(Object.entries({
  login: 'start', start: 'start', logout: 'end', end: 'end',
  create: 'creation', add: 'creation', issue: 'creation',
  delete: 'deletion', remove: 'deletion', revoke: 'deletion', purge: 'deletion',
  update: 'change', upsert: 'change', change: 'change', set: 'change', rotate: 'change', load: 'change',
  acknowledge: 'change', resolve: 'change', enable: 'change', disable: 'change',
  read: 'access', get: 'access', list: 'access', verify: 'access', export: 'access', lookup: 'access',
  denied: 'denied',
}));

/**
 * event.category and event.type of an audit action, from its first segment
 * (the subject) and last segment (the verb): `auth.login` → authentication/start,
 * `token.revoke` → iam/deletion, `indicators.upsert` → configuration/change,
 * `access.denied` → api/denied. A type the category does not expect becomes `info`.
 */
export function ecsAuditCategorization(action: string, outcome: SiemOutcome): { category: string; type: string[] } {
  const parts = action.toLowerCase().split('.');
  const category = CATEGORY_BY_PREFIX.get(parts[0] ?? '') ?? 'api';
  const expected = EXPECTED_TYPES[category] as readonly string[];
  const types: string[] = [];
  const verbType = TYPE_BY_VERB.get(parts[parts.length - 1] ?? '');
  if (verbType && expected.includes(verbType)) types.push(verbType);
  if (outcome === 'denied' && expected.includes('denied') && !types.includes('denied')) types.push('denied');
  if (types.length === 0) types.push(category === 'configuration' ? 'change' : 'info');
  return { category, type: types };
}

/** Threat signals: TLS posture findings are scan results (vulnerability), everything else an intrusion detection. */
export function ecsThreatCategory(kind: string): string {
  return kind.startsWith('tls.') ? 'vulnerability' : 'intrusion_detection';
}

const ECS_OUTCOME: Readonly<Record<SiemOutcome, 'success' | 'failure' | 'unknown'>> = { success: 'success', failure: 'failure', denied: 'failure', unknown: 'unknown' };

const q = JSON.stringify;
const CATEGORIZATION_CACHE: Readonly<Record<SiemOutcome, Map<string, string>>> = { success: new Map(), failure: new Map(), denied: new Map(), unknown: new Map() };
const OBSERVER_CACHE = new WeakMap<FormatOptions, string>();

/** `"category":[…],"type":[…]` of an audit action, cached: actions repeat. */
function auditCategorizationJson(action: string, outcome: SiemOutcome): string {
  const cache = CATEGORIZATION_CACHE[outcome];
  let json = cache.get(action);
  if (json === undefined) {
    const c = ecsAuditCategorization(action, outcome);
    json = `"category":[${q(c.category)}],"type":${q(c.type)}`;
    if (cache.size >= 4096) cache.clear();
    cache.set(action, json);
  }
  return json;
}

function observerJson(opts: FormatOptions): string {
  let json = OBSERVER_CACHE.get(opts);
  if (json === undefined) {
    json = `"observer":{"vendor":"probectl","product":"probectl","version":${q(opts.version)},"hostname":${q(opts.hostname)}}`;
    OBSERVER_CACHE.set(opts, json);
  }
  return json;
}

/**
 * One ECS document on one line (JSON escapes every control character):
 * @timestamp, ecs.version, event.{id,kind,category,type,action,outcome,
 * severity,sequence,dataset,module,hash}, message, log.level,
 * organization.id, user.name, observer.*, labels.{category,target} and
 * probectl.{outcome,chain|signal,attributes}. Built as text: the fields are
 * fixed, and this is faster than assembling and serialising an object.
 */
export function ecsRecord(event: SiemEvent, opts: FormatOptions): string {
  timeParts(event.time);
  const audit = event.category === 'audit';
  const categorization = audit
    ? auditCategorizationJson(event.action, event.outcome)
    : `"category":["${ecsThreatCategory(event.kind)}"],"type":["info"]`;
  const detail = audit
    ? `"chain":{"hash":${q(event.hash)},"prev_hash":${q(event.prevHash)}}`
    : `"signal":{"kind":${q(event.kind)},"confidence":${event.confidence},"id":${q(event.signalId)},"incident_id":${q(event.incidentId)}}`;
  return `{"@timestamp":${q(event.time)},"ecs":{"version":"${ECS_VERSION}"},"event":{"id":${q(event.id)},"kind":"${audit ? 'event' : 'alert'}",${categorization}`
    + `,"action":${q(event.action)},"outcome":"${ECS_OUTCOME[event.outcome]}","severity":${CEF_SEVERITY[event.severity]},"sequence":${event.seq}`
    + `,"dataset":"probectl.${event.category}","module":"probectl"${audit ? `,"hash":${q(event.hash)}` : ''}}`
    + `,"message":${q(event.message)},"log":{"level":"${event.severity}"},"organization":{"id":${q(event.tenant)}},"user":{"name":${q(event.actor)}}`
    + `,${observerJson(opts)},"labels":{"category":"${event.category}","target":${q(event.target)}}`
    + `,"probectl":{"outcome":"${event.outcome}",${detail},"attributes":${q(event.attributes)}}}`;
}
