import { parseSecretRef, SecretRefError, type SecretRef } from '../../secrets/ref.ts';

/**
 * The syntax of PROBECTL_NOTIFY_CONNECTORS and PROBECTL_NOTIFY_INBOUND
 * (docs/oncall.md): comma-separated entries whose last field, the secret, is
 * everything after the last separator the entry has (it may hold `:`, `@`,
 * `|`, and a comma that does not start another entry). Parsing never throws
 * and never keeps a secret in a problem: each entry carries its own problems,
 * reported together at startup by position.
 */

/** The secret field of an entry: absent, present (a literal or a reference), or unusable. */
export type SecretField =
  | { readonly kind: 'absent' }
  | { readonly kind: 'empty' }
  | { readonly kind: 'ref'; readonly ref: SecretRef }
  | { readonly kind: 'malformed'; readonly problem: string };

export interface ConnectorEntry {
  /** 1-based position in the variable. */
  readonly position: number;
  readonly tenant: string;
  /** Lower-cased as written. */
  readonly provider: string;
  /** The endpoint as written (may hold credentials in its path or query: never shown). */
  readonly endpoint: string;
  readonly secret: SecretField;
  /** Problems of the entry's shape (missing fields). */
  readonly problems: readonly string[];
}

export interface InboundEntry {
  readonly position: number;
  readonly id: string;
  readonly tenant: string;
  /** Lower-cased as written, without the connector list. */
  readonly provider: string;
  /**
   * The connectors the credential speaks for, as written after `@` in the
   * provider field (`jira@site-b+site-c`): connector names or connector ids;
   * undefined when the field has no `@`.
   */
  readonly connectors?: readonly string[];
  readonly secret: SecretField;
  readonly problems: readonly string[];
}

// A comma starts a new connector entry only where `<tenant>|<provider>|` follows.
const CONNECTOR_START = /,(?=\s*[^,|\s]*\s*\|\s*[A-Za-z0-9_-]+\s*\|)/;
// A comma starts a new inbound entry only where `<id>:<tenant>:<provider>[@<connectors>]:` follows. The connector list
// matches loosely (anything but "," and ":"), so an entry whose connector names are malformed (`jira@site/b`) still
// starts its own entry and is refused by its own rules, rather than being joined silently to the previous entry's
// secret. The id is strict unless a tenant UUID follows it: a secret holding `,"expires":"2025-01-01T00:00:` (JSON) or
// `,w0rd!:x:y:` must not read as the start of an entry, but `,pd#2:<tenant-uuid>:pagerduty:` is an entry whose id is
// malformed, refused by its own rules rather than joined to the previous entry's secret.
const UUID_SHAPE = '[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}';
// No two repeats next to each other match the same blanks (each run of blanks is read one way), so a comma followed by
// a long run of blanks is not retried at every split of it: the split stays linear in the variable's length.
const INBOUND_START = new RegExp(`,(?=\\s*(?:[A-Za-z0-9_.-]+\\s*:(?:\\s*[^,:\\s]+)?|(?:[^,:\\s][^,:]*)?:\\s*${UUID_SHAPE})\\s*:\\s*[A-Za-z0-9_-]+\\s*(?:@[^,:]*)?:)`);

function splitOn(raw: string, start: RegExp): string[] {
  return raw.split(start).map((e) => e.trim()).filter((e) => e !== '');
}

const USER_THEN_REFERENCE = /^[^:]+:(env|vault|cyberark|aws|azure|gcp):/;

function secretField(text: string | undefined): SecretField {
  if (text === undefined) return { kind: 'absent' };
  if (text === '') return { kind: 'empty' };
  // `user:vault:…` reads as a literal password that happens to name a reference: it would be sent as
  // written. A reference is the whole secret; `literal:` keeps such a value as it is.
  if (USER_THEN_REFERENCE.test(text)) {
    return { kind: 'malformed', problem: 'a reference must be the whole secret, not follow a user name (store user:password at the reference, e.g. vault:kv/oncall/jira#basic; or prefix literal: to a value that really looks like this)' };
  }
  try {
    return { kind: 'ref', ref: Object.freeze(parseSecretRef(text)) };
  } catch (err) {
    if (err instanceof SecretRefError) return { kind: 'malformed', problem: err.message };
    throw err;
  }
}

/** `<tenant-uuid>|<provider>|<endpoint>[|<secret>]`, comma-separated. */
export function parseConnectorEntries(raw: string): ConnectorEntry[] {
  return splitOn(raw, CONNECTOR_START).map((text, i) => {
    const parts = text.split('|');
    const problems: string[] = [];
    if (parts.length < 3) problems.push('needs <tenant-uuid>|<provider>|<endpoint>|<secret>');
    const secret = parts.length > 3 ? parts.slice(3).join('|') : undefined;
    return {
      position: i + 1,
      tenant: (parts[0] ?? '').trim(),
      provider: (parts[1] ?? '').trim().toLowerCase(),
      endpoint: (parts[2] ?? '').trim(),
      secret: secretField(secret),
      problems,
    };
  });
}

/**
 * `<id>:<tenant-uuid>:<provider>[@<connector>[+<connector>…]]:<secret>`, comma-separated.
 * The connector list rides in the provider field, before the secret (which may hold `:`).
 */
export function parseInboundEntries(raw: string): InboundEntry[] {
  return splitOn(raw, INBOUND_START).map((text, i) => {
    const parts = text.split(':');
    const problems: string[] = [];
    if (parts.length < 4) problems.push('needs <id>:<tenant-uuid>:<provider>[@<connector>]:<secret>');
    const field = parts[2] ?? '';
    const at = field.indexOf('@');
    const connectors = at < 0 ? undefined : field.slice(at + 1).split('+').map((c) => c.trim());
    return {
      position: i + 1,
      id: (parts[0] ?? '').trim(),
      tenant: (parts[1] ?? '').trim(),
      provider: (at < 0 ? field : field.slice(0, at)).trim().toLowerCase(),
      ...(connectors ? { connectors } : {}),
      secret: parts.length >= 4 ? secretField(parts.slice(3).join(':')) : { kind: 'absent' },
      problems,
    };
  });
}
