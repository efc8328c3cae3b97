/**
 * Label sets as the store keeps them: validated, sorted by name (byte order of
 * UTF-8, as Prometheus sorts), without empty values (an empty value is the
 * same as an absent label in Prometheus) and without `tenant_id`, which is the
 * row's tenant column and is added back, from the caller's scope, on output.
 */
import { createHash } from 'node:crypto';
import { ProbectlError } from '../../core/errors.ts';
import type { Labels } from './types.ts';

export const TENANT_LABEL = 'tenant_id';
export const NAME_LABEL = '__name__';

/** UTF-8 byte order of two strings (JavaScript's < compares UTF-16 code units). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral code points) sort after every BMP character in UTF-8.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * Most UTF-8 bytes of a label's name and value together. Each (name, value) is a key of the
 * `metric_label_values` primary key (and a metric name of the `metric_series_name` index);
 * PostgreSQL's B-tree refuses an entry over 2,704 bytes, which an incompressible value past
 * ~2,650 bytes reaches — a deterministic database error a remote-write sender would retry
 * forever. PROBECTL_METRICS_WRITE_MAX_LABEL_NAME_BYTES + _VALUE_BYTES stay within it.
 */
export const MAX_INDEXED_LABEL_BYTES = 2560;

function badSeries(message: string): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_METRICS_BAD_SERIES', message);
}

function checkText(kind: string, s: unknown, name: string): string {
  if (typeof s !== 'string') throw badSeries(`${kind} of label ${JSON.stringify(String(name))} is not a string`);
  if (!s.isWellFormed() || s.includes('\u0000')) throw badSeries(`${kind} of label ${JSON.stringify(name.isWellFormed() ? name : '?')} is not valid UTF-8 or contains NUL`);
  return s;
}

/**
 * The stored form of a series' labels for `tenant`: sorted [name, value] pairs.
 * Refuses (PROBECTL_ERR_METRICS_BAD_SERIES) a missing `__name__`, empty or
 * invalid names, invalid UTF-8 or NUL, a name and value longer together than
 * MAX_INDEXED_LABEL_BYTES, and a `tenant_id` label naming another tenant; a `tenant_id` equal to the caller's tenant is dropped (it is implied).
 */
export function canonicalLabels(tenant: string, labels: Labels): Array<[string, string]> {
  if (labels === null || typeof labels !== 'object') throw badSeries('series labels must be an object');
  const pairs: Array<[string, string]> = [];
  for (const name of Object.keys(labels)) {
    checkText('name', name, name);
    if (name === '') throw badSeries('a label name is empty');
    const value = checkText('value', labels[name], name);
    const bytes = Buffer.byteLength(name) + Buffer.byteLength(value);
    if (bytes > MAX_INDEXED_LABEL_BYTES) {
      throw badSeries(`label ${JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name)} has ${bytes} bytes of name and value; the store indexes at most ${MAX_INDEXED_LABEL_BYTES} bytes`);
    }
    if (name === TENANT_LABEL) {
      if (value !== tenant) throw badSeries('a series carries a tenant_id other than the caller\'s tenant');
      continue;
    }
    if (value !== '') pairs.push([name, value]);
  }
  if (!pairs.some(([n]) => n === NAME_LABEL)) throw badSeries('a series has no __name__ (metric name)');
  pairs.sort((a, b) => compareUtf8(a[0], b[0]));
  return pairs;
}

/** sha256 of the canonical pairs (name 0xff value 0xff …; 0xff never occurs in UTF-8). */
export function fingerprint(pairs: ReadonlyArray<readonly [string, string]>): Buffer {
  const h = createHash('sha256');
  const sep = Buffer.from([0xff]);
  for (const [n, v] of pairs) {
    h.update(n, 'utf8');
    h.update(sep);
    h.update(v, 'utf8');
    h.update(sep);
  }
  return h.digest();
}

/**
 * The stored label object (a jsonb column) → output labels with tenant_id, keys in Prometheus order.
 * Built by Object.fromEntries, not by assignment, so a label named `__proto__` stays a label.
 */
export function outputLabels(tenant: string, stored: Record<string, string>): Labels {
  const names = [...Object.keys(stored), TENANT_LABEL].sort(compareUtf8);
  return Object.fromEntries(names.map((n) => [n, n === TENANT_LABEL ? tenant : (stored[n] as string)]));
}

/** Prometheus's labels.Compare: label by label, name then value, then length. */
export function compareLabels(a: Labels, b: Labels): number {
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  const n = Math.min(ak.length, bk.length);
  for (let i = 0; i < n; i++) {
    const an = ak[i] as string;
    const bn = bk[i] as string;
    if (an !== bn) return compareUtf8(an, bn);
    const c = compareUtf8(a[an] as string, b[bn] as string);
    if (c !== 0) return c;
  }
  return ak.length - bk.length;
}
