/**
 * The Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), as `/federate` writes it
 * (`web/federate.go` with `expfmt` from github.com/prometheus/common):
 *
 * - samples grouped by metric name, one `# TYPE <name> untyped` line per family, no HELP;
 * - per sample `name{labels} value timestamp_ms`, labels in name order without `__name__`,
 *   labels with an empty value left out (empty means unset), then the external labels the
 *   series does not carry, including `instance=""` unless configured — so a scraping
 *   Prometheus with `honor_labels: true` keeps the series' own labels and adds no instance;
 * - label values escaped (`\\`, `\"`, `\n`); values as Go's `strconv.FormatFloat(v, 'g', -1,
 *   64)` writes them (`NaN`, `+Inf`, `-Inf`, shortest round-trip digits, `1e+06`);
 * - stale markers are never written (the text format cannot carry them); nameless series are
 *   skipped, as Prometheus does;
 * - a metric or label name outside the legacy character set is written with Prometheus's
 *   default "underscores" escaping (each invalid character becomes `_`), since 0.0.4 cannot
 *   quote names.
 */
import { isStaleMarker } from './stale.ts';

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface ExpositionLabel {
  readonly name: string;
  readonly value: string;
}

export interface ExpositionSample {
  /** The series' labels, including `__name__`. */
  readonly labels: readonly ExpositionLabel[];
  /** Milliseconds since the Unix epoch (an integer). */
  readonly timestampMs: number;
  readonly value: number;
}

export interface ExpositionOptions {
  /**
   * Labels added to every sample that does not carry them (Prometheus's `external_labels`).
   * `instance` is added with an empty value unless given here, as `/federate` does.
   */
  readonly externalLabels?: Readonly<Record<string, string>>;
}

/** Go `strconv.FormatFloat(v, 'g', -1, 64)` with expfmt's special cases. */
export function formatPromFloat(v: number): string {
  if (v === 1) return '1';
  if (v === 0) return '0';
  if (v === -1) return '-1';
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const [mantissa, expText] = Math.abs(v).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const exp = Number(expText);
  const sign = v < 0 ? '-' : '';
  if (exp < -4 || exp >= 6) { // Go: %e when the exponent is < -4 or >= 6 for the shortest form
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp);
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  }
  const dp = exp + 1;
  if (dp <= 0) return `${sign}0.${'0'.repeat(-dp)}${digits}`;
  if (dp >= digits.length) return `${sign}${digits}${'0'.repeat(dp - digits.length)}`;
  return `${sign}${digits.slice(0, dp)}.${digits.slice(dp)}`;
}

/** Escapes a label value for the text format. */
export function escapeLabelValue(value: string): string {
  let out = '';
  for (const ch of value) {
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else out += ch;
  }
  return out;
}

function escapeName(name: string, allowColon: boolean): string {
  let out = '';
  let i = 0;
  for (const ch of name) {
    const c = ch.codePointAt(0) as number;
    const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (allowColon && c === 58) || (i > 0 && c >= 48 && c <= 57);
    out += ok ? ch : '_';
    i++;
  }
  return out;
}

/** A metric name as written in the exposition (`[a-zA-Z_:][a-zA-Z0-9_:]*`, escaped otherwise). */
export function expositionMetricName(name: string): string {
  return escapeName(name, true);
}

/** A label name as written in the exposition (`[a-zA-Z_][a-zA-Z0-9_]*`, escaped otherwise). */
export function expositionLabelName(name: string): string {
  return escapeName(name, false);
}

const byName = (a: ExpositionLabel, b: ExpositionLabel): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** `{a="1",…}` of one series: its labels by name without `__name__` and empty values, then the external labels it lacks. */
function labelText(labels: readonly ExpositionLabel[], external: Readonly<Record<string, string>>, externalNames: readonly string[]): string {
  const pairs: string[] = [];
  const used = new Set<string>();
  for (const l of [...labels].sort(byName)) {
    if (l.name === '__name__' || l.value === '') continue;
    used.add(l.name);
    pairs.push(`${expositionLabelName(l.name)}="${escapeLabelValue(l.value)}"`);
  }
  for (const n of externalNames) {
    if (!used.has(n)) pairs.push(`${expositionLabelName(n)}="${escapeLabelValue(external[n] as string)}"`);
  }
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

interface Row {
  readonly name: string;
  readonly series: string;
  readonly timestampMs: number;
  readonly value: number;
}

/** The body from rows of (family name, series text): families by name as written (names that escape alike stay one family), input order kept within. */
function renderRows(rows: Row[]): string {
  rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lines: string[] = [];
  let family: string | undefined;
  for (const row of rows) {
    if (row.name !== family) {
      lines.push(`# TYPE ${row.name} untyped`);
      family = row.name;
    }
    if (!Number.isSafeInteger(row.timestampMs)) throw new RangeError(`renderFederation: timestamp ${row.timestampMs} is not an integer number of ms`);
    lines.push(`${row.series} ${formatPromFloat(row.value)} ${row.timestampMs}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * Renders samples (the latest sample of each series) as a `/federate` body. Pure; the order of
 * families is by metric name, and within a family the input order is kept.
 */
export function renderFederation(samples: Iterable<ExpositionSample>, options: ExpositionOptions = {}): string {
  const external: Record<string, string> = { instance: '', ...(options.externalLabels ?? {}) };
  const externalNames = Object.keys(external).sort();
  const rows: Row[] = [];
  for (const sample of samples) {
    if (isStaleMarker(sample.value)) continue;
    const name = sample.labels.find((l) => l.name === '__name__')?.value ?? '';
    if (name === '') continue;
    const metric = expositionMetricName(name);
    rows.push({ name: metric, series: `${metric}${labelText(sample.labels, external, externalNames)}`, timestampMs: sample.timestampMs, value: sample.value });
  }
  return renderRows(rows);
}

/** A sample whose labels are an object (the store's label sets). */
export interface LabelSetSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly timestampMs: number;
  readonly value: number;
}

const NO_EXTERNAL: Readonly<Record<string, string>> = Object.freeze({ instance: '' });
const NO_EXTERNAL_NAMES: readonly string[] = ['instance'];
/** Family name and series text per label-set object (a series' label set never changes). */
const seriesTextCache = new WeakMap<object, { name: string; series: string } | null>();

/**
 * renderFederation for samples whose labels are objects, without external labels (`instance=""`
 * only) — the same body, byte for byte. The text of a series is computed once per label-set
 * object and kept while the object lives: the store hands out one object per series, so a
 * scrape every few seconds renders only the values.
 */
export function renderFederationLabelSets(samples: Iterable<LabelSetSample>): string {
  const rows: Row[] = [];
  for (const sample of samples) {
    if (isStaleMarker(sample.value)) continue;
    let text = seriesTextCache.get(sample.labels);
    if (text === undefined) {
      const name = sample.labels.__name__ ?? '';
      if (name === '') text = null;
      else {
        const metric = expositionMetricName(name);
        const list = Object.entries(sample.labels).map(([n, value]) => ({ name: n, value }));
        text = { name: metric, series: `${metric}${labelText(list, NO_EXTERNAL, NO_EXTERNAL_NAMES)}` };
      }
      seriesTextCache.set(sample.labels, text);
    }
    if (text === null) continue;
    rows.push({ name: text.name, series: text.series, timestampMs: sample.timestampMs, value: sample.value });
  }
  return renderRows(rows);
}
