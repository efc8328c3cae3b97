import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

/**
 * Canary secrets: unique values planted where credentials go, then searched
 * for in everything a test can observe (log lines, errors, API responses,
 * metrics, CLI output). A value is looked for in its raw form and in the
 * encodings a leak usually takes.
 */
export function canary(label: string): string {
  return `cnry-${label}-${randomBytes(9).toString('hex')}`;
}

/** The forms a leaked value may take: raw, base64, base64url, hex, URL-encoded, JSON-escaped. */
export function leakForms(secret: string): { form: string; text: string }[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms = [
    { form: 'raw', text: secret },
    { form: 'base64', text: bytes.toString('base64').replace(/=+$/, '') },
    { form: 'base64url', text: bytes.toString('base64url') },
    { form: 'hex', text: bytes.toString('hex') },
    { form: 'url-encoded', text: encodeURIComponent(secret) },
    { form: 'json-escaped', text: JSON.stringify(secret).slice(1, -1) },
  ];
  // Base64 of a value encoded inside a larger blob depends on its offset: this catches the value encoded on its own.
  const seen = new Set<string>();
  return forms.filter((f) => f.text.length >= 8 && !seen.has(f.text) && seen.add(f.text));
}

export type Observed = Record<string, string | readonly string[] | undefined>;

/** Every place a secret appears: `where[index] (form)`. */
export function findLeaks(observed: Observed, secrets: readonly string[]): string[] {
  const leaks: string[] = [];
  for (const [where, value] of Object.entries(observed)) {
    const items = value === undefined ? [] : typeof value === 'string' ? [value] : value;
    items.forEach((text, i) => {
      for (const secret of secrets) {
        for (const { form, text: needle } of leakForms(secret)) {
          if (text.includes(needle)) leaks.push(`${where}${items.length > 1 ? `[${i}]` : ''} contains ${secret.slice(0, 12)}… (${form})`);
        }
      }
    });
  }
  return leaks;
}

export function assertNoLeaks(observed: Observed, secrets: readonly string[]): void {
  assert.ok(secrets.length > 0, 'no canaries given');
  const total = Object.values(observed).reduce((n, v) => n + (v === undefined ? 0 : typeof v === 'string' ? 1 : v.length), 0);
  assert.ok(total > 0, 'nothing observed');
  assert.deepEqual(findLeaks(observed, secrets), [], 'secret values leaked');
}
