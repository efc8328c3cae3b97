import { parseJson } from '../json.ts';

const CREDENTIAL_HEADER = /^(authorization|proxy-authorization)$|key|secret|token|password/i;
const REDACTED = Buffer.from('[redacted]');
/** Values shorter than this are too unspecific to be told apart from ordinary text. */
const MIN_BYTES = 8;

/**
 * The credentials a request carried, in every form a receiver may echo back:
 * each credential header's whole value and its part after an auth scheme;
 * for `Basic`, the decoded `user:password` and the password alone; and each
 * of `extra` (a credential sent elsewhere: a URL's `sig`, a body's routing
 * key) — each also URL-encoded. Values shorter than 8 bytes are left out.
 */
export function sentCredentials(headers: Readonly<Record<string, string>>, extra: readonly (string | undefined)[] = []): string[] {
  const secrets = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (!CREDENTIAL_HEADER.test(name)) continue;
    secrets.add(value);
    const space = value.indexOf(' ');
    if (space <= 0) continue;
    const credential = value.slice(space + 1).trim();
    secrets.add(credential);
    if (value.slice(0, space).toLowerCase() === 'basic') {
      const decoded = Buffer.from(credential, 'base64').toString('utf8');
      secrets.add(decoded);
      const colon = decoded.indexOf(':');
      if (colon >= 0) secrets.add(decoded.slice(colon + 1));
    }
  }
  for (const s of extra) if (s !== undefined) secrets.add(s);
  for (const s of [...secrets]) secrets.add(encodeURIComponent(s));
  return [...secrets].filter((s) => Buffer.byteLength(s) >= MIN_BYTES).sort((a, b) => b.length - a.length);
}

/**
 * The receiver's answer with every credential this request carried
 * (sentCredentials) replaced by `[redacted]`: a receiver that echoes the
 * header it refused ("Invalid token Splunk …", "Basic dXNlcjpw…") must not
 * put the credential into a stored answer, a reason, the status, the log or
 * an audit record. Longest first, so a value containing another is removed whole.
 * A JSON answer may carry a credential escaped (Go writes `&<>` as
 * `\u0026\u003c\u003e`, PHP `/` as `\/`, others any character as `\uXXXX`),
 * which its reader decodes back: when its strings, decoded, hold a credential,
 * the answer is returned re-written (JSON.stringify of its value, minimal
 * escapes) with the credential redacted.
 */
export function withoutSentCredentials(body: Buffer, headers: Readonly<Record<string, string>>, extra: readonly (string | undefined)[] = []): Buffer {
  const secrets = sentCredentials(headers, extra);
  const out = redact(body, secrets);
  if (secrets.length === 0 || out.indexOf(0x5c) === -1) return out;
  let normalized: Buffer;
  try {
    normalized = Buffer.from(JSON.stringify(parseJson(out.toString('utf8'))), 'utf8');
  } catch {
    return out;
  }
  const escaped = [...new Set([...secrets, ...secrets.map((s) => JSON.stringify(s).slice(1, -1))])].sort((a, b) => b.length - a.length);
  const cleaned = redact(normalized, escaped);
  return cleaned.equals(normalized) ? out : cleaned;
}

/** `body` with every occurrence of each of `secrets` (in this order) replaced by `[redacted]`. */
function redact(body: Buffer, secrets: readonly string[]): Buffer {
  let out = body;
  for (const secret of secrets) {
    const needle = Buffer.from(secret);
    let at = out.indexOf(needle);
    if (at < 0) continue;
    const parts: Buffer[] = [];
    let from = 0;
    while (at >= 0) {
      parts.push(out.subarray(from, at), REDACTED);
      from = at + needle.length;
      at = out.indexOf(needle, from);
    }
    parts.push(out.subarray(from));
    out = Buffer.concat(parts);
  }
  return out;
}
