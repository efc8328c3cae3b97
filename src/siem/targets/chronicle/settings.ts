import { readFileSync } from 'node:fs';
import type { ConfigProblem } from '../../../config/section.ts';
import type { SiemFormat } from '../../formatters/index.ts';
import { parseJson } from '../../../core/json.ts';

/**
 * The three ways into Google SecOps, told apart by the endpoint path (Chronicle
 * API reference, v1alpha and v1beta — the versions Google documents these
 * methods in):
 * - `…/instances/{id}/logTypes/{LOG_TYPE}/logs:import` (ImportLogs: raw logs, base64 `data`);
 * - `…/instances/{id}/events:import` (ImportEvents: UDM events);
 * - `…/instances/{id}/feeds/{feed}:importPushLogs` (the HTTPS webhook feed).
 */
export type ChronicleTarget =
  | { kind: 'chronicle-logs'; logType: string }
  | { kind: 'chronicle-events' }
  | { kind: 'chronicle-webhook'; feed: string };

const PARENT = '\\/(v1alpha|v1beta)\\/projects\\/[^/]+\\/locations\\/[^/]+\\/instances\\/[^/]+';
const LOGS = new RegExp(`^${PARENT}\\/logTypes\\/([A-Za-z0-9_]{1,128})\\/logs:import$`);
const EVENTS = new RegExp(`^${PARENT}\\/events:import$`);
const WEBHOOK = new RegExp(`^${PARENT}\\/feeds\\/([^/:]+):importPushLogs$`);

const ACCEPTS_PATH = 'https://<region>-chronicle.googleapis.com/v1beta/projects/<project>/locations/<region>/instances/<instance>/ followed by logTypes/<LOG_TYPE>/logs:import, events:import or feeds/<feed>:importPushLogs';

/** The OAuth scope the import methods accept (each method's reference lists cloud-platform). */
export const CHRONICLE_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

/** What each mode can carry: the default format and every accepted one. */
export const CHRONICLE_FORMATS: Readonly<Record<ChronicleTarget['kind'], { default: SiemFormat; accepted: readonly SiemFormat[]; why: string }>> = Object.freeze({
  // Raw logs: any of probectl's own formats, base64 in `data`; the spec's default for the preset.
  'chronicle-logs': { default: 'otlp', accepted: ['otlp', 'syslog', 'cef', 'ecs', 'udm'], why: 'logs:import takes raw logs in one of probectl\'s formats' },
  'chronicle-events': { default: 'udm', accepted: ['udm'], why: 'events:import takes UDM events only' },
  // The webhook feed takes newline-separated JSON.
  'chronicle-webhook': { default: 'otlp', accepted: ['otlp', 'ecs', 'udm'], why: 'the webhook feed takes newline-separated JSON' },
});

const problem = (variable: string, what: string, accepts: string): ConfigProblem => ({ variable, problem: what, accepts });

/** The mode the endpoint's path names; a path that names none is a problem on PROBECTL_SIEM_ENDPOINT (never echoed). */
export function chronicleMode(url: URL, problems: ConfigProblem[]): ChronicleTarget | undefined {
  const path = url.pathname;
  let m = LOGS.exec(path);
  if (m) return { kind: 'chronicle-logs', logType: m[2] as string };
  if (EVENTS.test(path)) return { kind: 'chronicle-events' };
  m = WEBHOOK.exec(path);
  if (m) return { kind: 'chronicle-webhook', feed: decodeURIComponent(m[2] as string) };
  problems.push(problem('PROBECTL_SIEM_ENDPOINT', 'with the chronicle preset an https:// endpoint must be a Chronicle API logs:import, events:import or webhook feed importPushLogs URL', ACCEPTS_PATH));
  return undefined;
}

interface ServiceAccountKey { type?: unknown; client_email?: unknown; private_key?: unknown; token_uri?: unknown }

/**
 * Checks PROBECTL_SIEM_GCP_CREDENTIALS_FILE at startup: a service-account key
 * (`"type": "service_account"` with `client_email` and `private_key`) whose
 * `token_uri`, when present, is an https:// URL. Nothing of the file's content
 * appears in a problem.
 */
export function checkServiceAccountFile(file: string, problems: ConfigProblem[]): void {
  const accepts = 'a Google service-account key file (JSON, "type": "service_account"); unset it to use application default credentials or workload identity';
  let key: ServiceAccountKey;
  try {
    key = parseJson(readFileSync(file, 'utf8')) as ServiceAccountKey;
  } catch {
    problems.push(problem('PROBECTL_SIEM_GCP_CREDENTIALS_FILE', 'not a JSON file', accepts));
    return;
  }
  if (key === null || typeof key !== 'object' || key.type !== 'service_account' || typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
    problems.push(problem('PROBECTL_SIEM_GCP_CREDENTIALS_FILE', 'not a service-account key (type service_account with client_email and private_key)', accepts));
    return;
  }
  if (key.token_uri !== undefined) {
    let uri: URL | undefined;
    try {
      uri = typeof key.token_uri === 'string' ? new URL(key.token_uri) : undefined;
    } catch {
      uri = undefined;
    }
    if (!uri || uri.protocol !== 'https:') problems.push(problem('PROBECTL_SIEM_GCP_CREDENTIALS_FILE', 'its token_uri is not an https:// URL', `a key file whose token_uri is ${GOOGLE_TOKEN_URI} (or another https:// token endpoint)`));
  }
}
