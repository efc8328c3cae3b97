import { checkDepth } from '../core/depth.ts';
import type { JsonObject, JsonValue } from './event.ts';

/** The built-in denylist; PROBECTL_SIEM_REDACT_KEYS adds to it, never replaces it. */
export const BUILTIN_REDACT_KEYS = Object.freeze([
  'password', 'passwd', 'secret', 'token', 'api_key', 'apikey', 'authorization', 'cookie', 'private_key', 'client_secret', 'ssn',
] as const);

export const REDACTED = '[redacted]';

/**
 * A key is split into lower-case words at `_`, `-`, `.`, spaces and camelCase
 * boundaries: `DB_Password`, `dbPassword` and `db.password` all give
 * [db, password]. A denylist entry is split the same way, and the key matches
 * when the entry's words appear in it as a consecutive run. So `password`,
 * `x-api-key`, `accessToken` and `client_secret` match, while `passwords` or
 * `tokenizer` do not.
 */
export function keyWords(key: string): string[] {
  return key
    .replace(/(\p{Ll}|\p{N})(\p{Lu})/gu, '$1 $2')
    .replace(/(\p{Lu}+)(\p{Lu}\p{Ll})/gu, '$1 $2')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '');
}

export interface Redactor {
  /** Every denylist entry in force (built-in first), lower-cased. */
  readonly keys: readonly string[];
  matches(key: string): boolean;
  /**
   * A deep copy of `data` with the value of every matching key, at any depth and inside arrays, replaced by `[redacted]`.
   * Throws PROBECTL_ERR_SIEM_ENCODING when the data nests deeper than MAX_DATA_DEPTH (the event is then parked, never sent half-redacted).
   */
  redact(data: Readonly<Record<string, unknown>>): JsonObject;
}

const CACHE_LIMIT = 4096;

export function createRedactor(extraKeys: readonly string[] = []): Redactor {
  const keys = [...new Set([...BUILTIN_REDACT_KEYS, ...extraKeys.map((k) => k.trim().toLowerCase()).filter((k) => k !== '')])];
  const entries = keys.map(keyWords).filter((w) => w.length > 0);
  const cache = new Map<string, boolean>();

  const compute = (key: string): boolean => {
    const words = keyWords(key);
    return entries.some((entry) => {
      for (let i = 0; i + entry.length <= words.length; i++) {
        let all = true;
        for (let j = 0; j < entry.length; j++) {
          if (words[i + j] !== entry[j]) {
            all = false;
            break;
          }
        }
        if (all) return true;
      }
      return false;
    });
  };

  const matches = (key: string): boolean => {
    let hit = cache.get(key);
    if (hit === undefined) {
      hit = compute(key);
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(key, hit);
    }
    return hit;
  };

  const copy = (value: unknown, depth: number): JsonValue => {
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
    if (typeof value === 'number') return Number.isFinite(value) ? value : null;
    if (Array.isArray(value)) {
      checkDepth(depth, 'PROBECTL_ERR_SIEM_ENCODING', 'the event data');
      return value.map((v) => (v === undefined ? null : copy(v, depth + 1)));
    }
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'object') return redactObject(value as Record<string, unknown>, depth);
    return value === undefined ? null : String(value);
  };

  const redactObject = (obj: Readonly<Record<string, unknown>>, depth: number): JsonObject => {
    checkDepth(depth, 'PROBECTL_ERR_SIEM_ENCODING', 'the event data');
    const out: Record<string, JsonValue> = {};
    for (const key of Object.keys(obj)) {
      const value = obj[key];
      if (value === undefined) continue;
      const v = matches(key) ? REDACTED : copy(value, depth + 1);
      // A JSON key "__proto__" is data: define it, never let it set the prototype.
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      else out[key] = v;
    }
    return out;
  };

  return { keys, matches, redact: (data) => redactObject(data, 0) };
}
