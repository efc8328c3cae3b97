import { X509Certificate } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { formatDuration, parseDuration } from '../core/duration.ts';
import { type HostPort, parseHostPort } from '../core/net.ts';

/**
 * A PROBECTL_* variable: its name, documentation, default, whether its value is
 * secret, and a parser that either returns the typed value or throws a
 * VarProblem saying what was wrong and what is accepted. Parsers never put the
 * raw value in a problem: the loader decides whether it may be shown.
 */
export interface VarSpec<T> {
  readonly name: string;
  readonly doc: string;
  /** Accepted values, for error messages and docs. */
  readonly accepts: string;
  /** The default as an operator would write it; undefined means unset. */
  readonly defaultText: string | undefined;
  readonly secret: boolean;
  parse(raw: string | undefined): T;
  /** Renders a parsed value for `probectl config check`. */
  show(value: T): string;
}

export class VarProblem extends Error {}

interface Common { doc: string; secret?: boolean }

function spec<T>(name: string, opts: Common & { accepts: string; defaultText?: string | undefined }, parse: (raw: string) => T, whenUnset: () => T, show: (v: T) => string): VarSpec<T> {
  return {
    name,
    doc: opts.doc,
    accepts: opts.accepts,
    defaultText: opts.defaultText,
    secret: opts.secret ?? false,
    parse: (raw) => (raw === undefined || raw === '' ? whenUnset() : parse(raw)),
    show,
  };
}

const unset = (): undefined => undefined;
const showText = (v: string | undefined): string => (v === undefined ? '(unset)' : v);

export function str(name: string, opts: Common & { default: string; pattern?: RegExp; accepts?: string }): VarSpec<string> {
  return spec(name, { ...opts, accepts: opts.accepts ?? 'any text', defaultText: opts.default }, (raw) => {
    if (opts.pattern && !opts.pattern.test(raw)) throw new VarProblem('malformed');
    return raw;
  }, () => opts.default, showText);
}

/**
 * Optional text: undefined when unset. `effectiveDefault` is what the section
 * uses when it is unset (shown in the docs and by `config check`); the parsed
 * value stays undefined so the section can tell that it was not set.
 */
export function optStr(name: string, opts: Common & { pattern?: RegExp; accepts?: string; effectiveDefault?: string }): VarSpec<string | undefined> {
  return spec(name, { ...opts, accepts: opts.accepts ?? 'any text', defaultText: opts.effectiveDefault }, (raw) => {
    if (opts.pattern && !opts.pattern.test(raw)) throw new VarProblem('malformed');
    return raw;
  }, unset, (v) => v ?? opts.effectiveDefault ?? '(unset)');
}

export function bool(name: string, opts: Common & { default: boolean }): VarSpec<boolean> {
  return spec(name, { ...opts, accepts: 'true or false', defaultText: String(opts.default) }, (raw) => {
    const v = raw.trim().toLowerCase();
    if (v === 'true' || v === '1' || v === 'yes') return true;
    if (v === 'false' || v === '0' || v === 'no') return false;
    throw new VarProblem('not a boolean');
  }, () => opts.default, String);
}

export function int(name: string, opts: Common & { default: number; min: number; max: number }): VarSpec<number> {
  return spec(name, { ...opts, accepts: `an integer from ${opts.min} to ${opts.max}`, defaultText: String(opts.default) }, (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new VarProblem('not an integer');
    const n = Number(raw.trim());
    if (n < opts.min || n > opts.max) throw new VarProblem('out of range');
    return n;
  }, () => opts.default, String);
}

/** Examples of durations in the accepted values, those within a variable's range only. */
const DURATION_EXAMPLES: ReadonlyArray<[string, number]> = [['500ms', 500], ['30s', 30_000], ['5m', 300_000], ['1h', 3_600_000]];

export function duration(name: string, opts: Common & { default: string; minMs: number; maxMs: number }): VarSpec<number> {
  const examples = DURATION_EXAMPLES.filter(([, ms]) => ms >= opts.minMs && ms <= opts.maxMs).map(([text]) => text);
  const accepts = `a duration from ${formatDuration(opts.minMs)} to ${formatDuration(opts.maxMs)}${examples.length > 0 ? `, e.g. ${examples.join(', ')}` : ''}`;
  const parseOrThrow = (raw: string): number => {
    const ms = parseDuration(raw);
    if (ms === undefined) throw new VarProblem('not a duration');
    if (ms < opts.minMs || ms > opts.maxMs) throw new VarProblem('out of range');
    return ms;
  };
  return spec(name, { ...opts, accepts, defaultText: opts.default }, parseOrThrow, () => parseOrThrow(opts.default), formatDuration);
}

/**
 * An optional duration: undefined when unset, so the section can tell a value
 * the operator set (even one equal to the default) from one left unset.
 * `effectiveDefault` is what the section uses when it is unset (shown in the
 * docs and by `config check`), within the same range; without one, unset means
 * off (shown as `(unset)`).
 */
export function optDuration(name: string, opts: Common & { effectiveDefault?: string; minMs: number; maxMs: number }): VarSpec<number | undefined> {
  const set = duration(name, { ...opts, default: opts.effectiveDefault ?? formatDuration(opts.minMs) });
  const shownDefault = opts.effectiveDefault === undefined ? '(unset)' : formatDuration(set.parse(undefined));
  return {
    ...set,
    defaultText: opts.effectiveDefault,
    parse: (raw) => (raw === undefined || raw === '' ? undefined : set.parse(raw)),
    show: (v) => (v === undefined ? shownDefault : set.show(v)),
  };
}

export function oneOf<const T extends string>(name: string, opts: Common & { values: readonly T[]; default: T }): VarSpec<T> {
  return spec(name, { ...opts, accepts: `one of ${opts.values.join(', ')}`, defaultText: opts.default }, (raw) => {
    const v = raw.trim().toLowerCase() as T;
    if (!opts.values.includes(v)) throw new VarProblem('not an accepted value');
    return v;
  }, () => opts.default, String);
}

export function optOneOf<const T extends string>(name: string, opts: Common & { values: readonly T[] }): VarSpec<T | undefined> {
  return spec(name, { ...opts, accepts: `one of ${opts.values.join(', ')}` }, (raw) => {
    const v = raw.trim().toLowerCase() as T;
    if (!opts.values.includes(v)) throw new VarProblem('not an accepted value');
    return v;
  }, unset, (v) => v ?? '(unset)');
}

export function hostPort(name: string, opts: Common & { default: string }): VarSpec<HostPort> {
  const parseOrThrow = (raw: string): HostPort => {
    const hp = parseHostPort(raw);
    if (!hp) throw new VarProblem('not host:port');
    return hp;
  };
  return spec(name, { ...opts, accepts: 'host:port or [ipv6]:port', defaultText: opts.default }, parseOrThrow, () => parseOrThrow(opts.default), (v) => `${v.host}:${v.port}`);
}

/** A path to a file that must exist and be readable when set. */
export function readableFile(name: string, opts: Common): VarSpec<string | undefined> {
  return spec(name, { ...opts, accepts: 'a path to a readable file' }, (raw) => {
    try {
      accessSync(raw, constants.R_OK);
    } catch {
      throw new VarProblem('file is missing or unreadable');
    }
    return raw;
  }, unset, showText);
}

/**
 * A comma-separated list; each item is parsed by `item` (which throws
 * VarProblem). `default` is the list as an operator would write it, used when
 * the variable is unset or names no item, so the effective value (and
 * `config check`) shows it rather than an empty list.
 */
export function list<T>(name: string, opts: Common & { accepts: string; default?: string; item: (text: string, index: number) => T }): VarSpec<readonly T[]> {
  const parseItems = (raw: string): readonly T[] => {
    const parts = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
    return Object.freeze(parts.map((p, i) => {
      try {
        return opts.item(p, i);
      } catch (err) {
        if (err instanceof VarProblem) throw new VarProblem(`item ${i + 1}: ${err.message}`);
        throw err;
      }
    }));
  };
  const whenUnset = (): readonly T[] => (opts.default === undefined ? Object.freeze([]) : parseItems(opts.default));
  return spec(name, { ...opts, accepts: opts.accepts, defaultText: opts.default }, (raw) => {
    const items = parseItems(raw);
    return items.length === 0 ? whenUnset() : items;
  }, whenUnset, (v) => (v.length === 0 ? '(none)' : v.every((x) => typeof x === 'string') ? v.join(',') : `${v.length} item(s)`));
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * A PEM bundle of CA certificates (RFC 7468 `CERTIFICATE` blocks; text
 * between blocks, as in distribution bundles, is ignored): readable, at least
 * one certificate, every one parsing as X.509, and no other PEM block (a
 * private key in a CA file is refused rather than loaded). Checked at startup
 * so a wrong file stops it, not the first connection.
 */
export function caBundleFile(name: string, opts: Common): VarSpec<string | undefined> {
  return spec(name, { ...opts, accepts: 'a path to a readable PEM file of CA certificates' }, (raw) => {
    let text: string;
    try {
      accessSync(raw, constants.R_OK);
      text = readFileSync(raw, 'utf8');
    } catch {
      throw new VarProblem('file is missing or unreadable');
    }
    const blocks = [...text.matchAll(PEM_BLOCK)];
    if (blocks.length === 0) throw new VarProblem('the file holds no PEM certificate');
    if (blocks.some((b) => b[1] !== 'CERTIFICATE')) throw new VarProblem('the file holds a PEM block other than CERTIFICATE (only CA certificates belong here)');
    for (const b of blocks) {
      try {
        new X509Certificate(b[0]);
      } catch {
        throw new VarProblem('a certificate in the file does not parse');
      }
    }
    return raw;
  }, unset, showText);
}
