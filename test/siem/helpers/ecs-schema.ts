import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse } from 'yaml';

interface EcsField {
  type: string;
  normalize?: string[];
  allowed_values?: Array<{ name: string; expected_event_types?: string[] }>;
  object_type?: string;
}

// A copy of ../shared/data/ecs (Apache-2.0, see fixtures/ecs/LICENSE.txt) so a clone stands on its own.
export const ECS_FLAT_PATH = new URL('../fixtures/ecs/ecs_flat.yml', import.meta.url);

let cached: Record<string, EcsField> | undefined;

/** The ECS field reference (ecs_flat.yml), keyed by flat field name. */
export function ecsReference(): Record<string, EcsField> {
  cached ??= parse(readFileSync(ECS_FLAT_PATH, 'utf8')) as Record<string, EcsField>;
  return cached;
}

/** Flattens a document to [dotted path, leaf value]; arrays of scalars stay one leaf. */
export function flatten(doc: unknown, prefix = '', out: Array<[string, unknown]> = []): Array<[string, unknown]> {
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    for (const [k, v] of Object.entries(doc)) flatten(v, prefix === '' ? k : `${prefix}.${k}`, out);
  } else {
    out.push([prefix, doc]);
  }
  return out;
}

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case 'keyword': case 'constant_keyword': case 'wildcard': case 'match_only_text': case 'text':
      return typeof v === 'string';
    case 'long': case 'integer':
      return typeof v === 'number' && Number.isSafeInteger(v);
    case 'float': case 'double': case 'scaled_float':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'date':
      return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v));
    case 'ip':
      return typeof v === 'string' && isIP(v) !== 0;
    default:
      return false;
  }
}

/**
 * Every problem of one ECS document against the reference: unknown fields
 * (outside `labels.*` and `probectl.*`), wrong types, arrays where ECS does
 * not normalise to arrays, disallowed values of event.kind/category/type/
 * outcome, and event.type values the categories do not expect.
 */
export function ecsProblems(doc: Record<string, unknown>): string[] {
  const ref = ecsReference();
  const problems: string[] = [];
  for (const [path, value] of flatten(doc)) {
    if (path.startsWith('probectl.')) continue;
    if (path.startsWith('labels.')) {
      if (path.split('.').length !== 2) problems.push(`${path}: labels must not nest`);
      if (typeof value !== 'string') problems.push(`${path}: label values are keywords (strings)`);
      continue;
    }
    const field = ref[path];
    if (!field) {
      problems.push(`${path}: not an ECS field`);
      continue;
    }
    const values = Array.isArray(value) ? value : [value];
    if (Array.isArray(value) && !(field.normalize ?? []).includes('array')) problems.push(`${path}: ECS does not expect an array`);
    for (const v of values) {
      if (!typeOk(field.type, v)) problems.push(`${path}: ${JSON.stringify(v)?.slice(0, 60)} is not of ECS type ${field.type}`);
      if (field.allowed_values && !field.allowed_values.some((a) => a.name === v)) problems.push(`${path}: ${String(v)} is not an allowed value`);
    }
  }
  const event = (doc.event ?? {}) as Record<string, unknown>;
  const categories = (event.category ?? []) as string[];
  const types = (event.type ?? []) as string[];
  const allowed = new Set(categories.flatMap((c) => ref['event.category']?.allowed_values?.find((a) => a.name === c)?.expected_event_types ?? []));
  for (const t of types) if (!allowed.has(t)) problems.push(`event.type ${t} is not expected for event.category ${categories.join(',')}`);
  if (!('@timestamp' in doc)) problems.push('@timestamp is required');
  return problems;
}
