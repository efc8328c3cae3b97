import type { ConfigProblem } from '../config/section.ts';
import { parseSecretRef, SecretRefError, type SecretRef } from './ref.ts';

/**
 * Device credentials: `PROBECTL_DEVICE_CRED_<NAME>_<FIELD>`, any value a
 * secret reference. NAME is upper-case letters, digits and underscores
 * (CORE_SW); the FIELD suffixes below are the only ones read.
 */
export const DEVICE_CRED_FIELDS = ['USERNAME', 'AUTH_PROTO', 'AUTH_PASS', 'PRIV_PROTO', 'PRIV_PASS', 'COMMUNITY', 'PASSWORD'] as const;
export type DeviceCredField = (typeof DEVICE_CRED_FIELDS)[number];

/** What each field holds, for docs/configuration.md (generated) and docs/secrets.md. */
export const DEVICE_CRED_FIELD_DOCS: Readonly<Record<DeviceCredField, string>> = Object.freeze({
  USERNAME: 'SNMPv3 user or login name; required with AUTH_PASS or PASSWORD.',
  AUTH_PROTO: 'SNMPv3 authentication protocol: MD5, SHA (default, SHA-1), SHA-224, SHA-256, SHA-384, SHA-512. Only with AUTH_PASS.',
  AUTH_PASS: 'SNMPv3 authentication key.',
  PRIV_PROTO: 'SNMPv3 privacy protocol: DES, AES (default, AES-128), AES-192, AES-256. Only with PRIV_PASS.',
  PRIV_PASS: 'SNMPv3 privacy key; needs AUTH_PASS.',
  COMMUNITY: 'SNMPv2c community; not together with AUTH_PASS.',
  PASSWORD: 'A login password (SSH, device API); needs USERNAME.',
});

export const DEVICE_CRED_PATTERN = new RegExp(`^PROBECTL_DEVICE_CRED_([A-Z0-9]+(?:_[A-Z0-9]+)*?)_(${DEVICE_CRED_FIELDS.join('|')})$`);

/** SNMPv3 authentication protocols (RFC 3414, RFC 7860); SHA means SHA-1. */
export const AUTH_PROTOCOLS = ['MD5', 'SHA', 'SHA-224', 'SHA-256', 'SHA-384', 'SHA-512'] as const;
/** SNMPv3 privacy protocols (RFC 3414, RFC 3826 and the common AES-192/256 extension); AES means AES-128. */
export const PRIV_PROTOCOLS = ['DES', 'AES', 'AES-128', 'AES-192', 'AES-256'] as const;
export type AuthProtocol = (typeof AUTH_PROTOCOLS)[number];
export type PrivProtocol = (typeof PRIV_PROTOCOLS)[number];
export const DEFAULT_AUTH_PROTOCOL: AuthProtocol = 'SHA';
export const DEFAULT_PRIV_PROTOCOL: PrivProtocol = 'AES';

export interface DeviceCredentialSpec {
  readonly name: string;
  readonly fields: Readonly<Partial<Record<DeviceCredField, SecretRef>>>;
}

export function deviceCredVariable(name: string, field: DeviceCredField): string {
  return `PROBECTL_DEVICE_CRED_${name}_${field}`;
}

export function normalizeAuthProtocol(text: string): AuthProtocol | undefined {
  const t = text.trim().toUpperCase().replace(/^SHA1$/, 'SHA').replace(/^SHA(\d{3})$/, 'SHA-$1');
  return (AUTH_PROTOCOLS as readonly string[]).includes(t) ? (t as AuthProtocol) : undefined;
}

export function normalizePrivProtocol(text: string): PrivProtocol | undefined {
  const t = text.trim().toUpperCase().replace(/^AES(\d{3})$/, 'AES-$1');
  return (PRIV_PROTOCOLS as readonly string[]).includes(t) ? (t as PrivProtocol) : undefined;
}

/**
 * Reads every device credential from the environment, collecting problems
 * like the other variables. Literal protocols are checked now; values behind
 * references are checked when resolved. Problems never quote a value.
 */
export function readDeviceCredentials(env: NodeJS.ProcessEnv, problems: ConfigProblem[]): readonly DeviceCredentialSpec[] {
  const byName = new Map<string, Partial<Record<DeviceCredField, SecretRef>>>();
  const malformed = new Set<string>();
  for (const variable of Object.keys(env).sort()) {
    const m = DEVICE_CRED_PATTERN.exec(variable);
    const raw = env[variable];
    if (!m || raw === undefined || raw === '') continue;
    const [, name, field] = m as unknown as [string, string, DeviceCredField];
    const fields = byName.get(name) ?? {};
    byName.set(name, fields);
    try {
      fields[field] = Object.freeze(parseSecretRef(raw));
    } catch (err) {
      if (!(err instanceof SecretRefError)) throw err;
      malformed.add(name);
      problems.push({ variable, problem: err.message, accepts: 'a literal value or a secret reference' });
    }
  }
  const specs: DeviceCredentialSpec[] = [];
  for (const [name, fields] of byName) {
    // A field that did not parse is reported once; checks of the whole set would only echo it.
    if (!malformed.has(name)) checkDevice(name, fields, problems);
    specs.push(Object.freeze({ name, fields: Object.freeze(fields) }));
  }
  return Object.freeze(specs);
}

function checkDevice(name: string, f: Partial<Record<DeviceCredField, SecretRef>>, problems: ConfigProblem[]): void {
  const add = (field: DeviceCredField | '*', problem: string, accepts: string) => problems.push({ variable: field === '*' ? `PROBECTL_DEVICE_CRED_${name}_*` : deviceCredVariable(name, field), problem, accepts });
  if (!f.AUTH_PASS && !f.COMMUNITY && !f.PASSWORD) add('*', 'no credential material', 'AUTH_PASS (SNMPv3), COMMUNITY (SNMPv2c) or PASSWORD (with USERNAME)');
  if ((f.AUTH_PASS || f.PASSWORD) && !f.USERNAME) add('USERNAME', `required with ${f.AUTH_PASS ? 'AUTH_PASS' : 'PASSWORD'}`, 'the SNMPv3 user or login name');
  if (f.PRIV_PASS && !f.AUTH_PASS) add('PRIV_PASS', 'SNMPv3 privacy needs authentication', 'PRIV_PASS only together with AUTH_PASS');
  if (f.AUTH_PROTO && !f.AUTH_PASS) add('AUTH_PROTO', 'set without AUTH_PASS', 'AUTH_PROTO only together with AUTH_PASS');
  if (f.PRIV_PROTO && !f.PRIV_PASS) add('PRIV_PROTO', 'set without PRIV_PASS', 'PRIV_PROTO only together with PRIV_PASS');
  if (f.COMMUNITY && f.AUTH_PASS) add('COMMUNITY', 'set together with AUTH_PASS', 'either SNMPv2c (COMMUNITY) or SNMPv3 (AUTH_PASS) for one device');
  if (f.AUTH_PROTO?.scheme === 'literal' && !normalizeAuthProtocol(f.AUTH_PROTO.value)) add('AUTH_PROTO', 'not a known SNMPv3 authentication protocol', `one of ${AUTH_PROTOCOLS.join(', ')}`);
  if (f.PRIV_PROTO?.scheme === 'literal' && !normalizePrivProtocol(f.PRIV_PROTO.value)) add('PRIV_PROTO', 'not a known SNMPv3 privacy protocol', `one of ${PRIV_PROTOCOLS.join(', ')}`);
}
