import { readFileSync } from 'node:fs';

/**
 * The UDM schema read from Google's udm.proto (test/siem/fixtures/udm), and a
 * checker of UDM JSON against it: every key must be a field of its message
 * (proto name or its lowerCamelCase JSON name), repeated fields arrays,
 * enums one of their value names, scalars of their proto type, Timestamps
 * RFC 3339. Struct fields take any JSON object. Messages defined in other
 * files (Id, DataAccessLabels, …) are not checked further.
 */

interface Field { name: string; type: string; repeated: boolean; map: boolean }
interface Message { fields: Map<string, Field> }

const messages = new Map<string, Message>();
const enums = new Map<string, Set<string>>();

function parse(text: string): void {
  const clean = text.replace(/\/\/[^\n]*/g, '').replace(/\[[^\]]*\]/g, '');
  const tokens = clean.match(/[A-Za-z_][\w.]*|\d+|[{}=;<>,]/g) ?? [];
  const scope: { kind: 'message' | 'enum' | 'oneof' | 'other'; name: string }[] = [];
  const path = () => scope.filter((s) => s.kind === 'message' || s.kind === 'enum').map((s) => s.name).join('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if ((t === 'message' || t === 'enum' || t === 'oneof') && tokens[i + 2] === '{') {
      scope.push({ kind: t, name: tokens[i + 1] as string });
      if (t === 'message') messages.set(path(), { fields: new Map() });
      if (t === 'enum') enums.set(path(), new Set());
      i += 2;
      continue;
    }
    if (t === '{') {
      scope.push({ kind: 'other', name: '' });
      continue;
    }
    if (t === '}') {
      scope.pop();
      continue;
    }
    const top = [...scope].reverse().find((s) => s.kind !== 'oneof');
    if (top?.kind === 'enum' && tokens[i + 1] === '=' && /^[A-Z_0-9]+$/.test(t)) {
      enums.get(path())?.add(t);
      i += 3;
      continue;
    }
    if (top?.kind !== 'message' || t === 'reserved' || t === 'option') {
      if (t === 'reserved' || t === 'option') while (tokens[i] !== ';' && i < tokens.length) i++;
      continue;
    }
    // [repeated|optional] Type name = N ;   or   map < K , V > name = N ;
    let repeated = false;
    let map = false;
    let j = i;
    if (tokens[j] === 'repeated' || tokens[j] === 'optional') {
      repeated = tokens[j] === 'repeated';
      j++;
    }
    let type = tokens[j] as string;
    if (type === 'map' && tokens[j + 1] === '<') {
      map = true;
      type = tokens[j + 4] as string;
      j += 5;
    }
    const name = tokens[j + 1];
    if (name && tokens[j + 2] === '=' && tokens[j + 4] === ';') {
      messages.get(path())?.fields.set(name, { name, type, repeated, map });
      i = j + 4;
    }
  }
}

parse(readFileSync(new URL('../fixtures/udm/udm.proto', import.meta.url), 'utf8'));

/** Resolves a type name as protobuf does: innermost scope outwards. */
function resolve(type: string, scopeName: string): { kind: 'message' | 'enum' | 'external'; name: string } {
  const parts = scopeName.split('.');
  for (let n = parts.length; n >= 0; n--) {
    const candidate = [...parts.slice(0, n), type].join('.');
    if (messages.has(candidate)) return { kind: 'message', name: candidate };
    if (enums.has(candidate)) return { kind: 'enum', name: candidate };
  }
  return { kind: 'external', name: type };
}

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function checkScalar(type: string, value: unknown, at: string, problems: string[]): void {
  switch (type) {
    case 'string': if (typeof value !== 'string') problems.push(`${at}: not a string`); return;
    case 'bytes': if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) problems.push(`${at}: not base64 bytes`); return;
    case 'bool': if (typeof value !== 'boolean') problems.push(`${at}: not a boolean`); return;
    case 'int32': case 'uint32': case 'sint32':
      if (!Number.isInteger(value) || Math.abs(value as number) > 2 ** 31) problems.push(`${at}: not an int32`);
      return;
    case 'int64': case 'uint64': case 'sint64':
      if (!(Number.isSafeInteger(value) || (typeof value === 'string' && /^-?\d+$/.test(value)))) problems.push(`${at}: not an int64`);
      return;
    case 'float': case 'double': if (typeof value !== 'number') problems.push(`${at}: not a number`); return;
    case 'google.protobuf.Timestamp': if (typeof value !== 'string' || !RFC3339.test(value)) problems.push(`${at}: not an RFC 3339 timestamp`); return;
    case 'google.protobuf.Struct': if (value === null || typeof value !== 'object' || Array.isArray(value)) problems.push(`${at}: not a JSON object (Struct)`); return;
    default: return; // messages of other files: not checked further
  }
}

function checkMessage(name: string, value: unknown, at: string, problems: string[]): void {
  const message = messages.get(name);
  if (!message) throw new Error(`no message ${name} in udm.proto`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${at}: not an object (${name})`);
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    const field = message.fields.get(key) ?? [...message.fields.values()].find((f) => camel(f.name) === key);
    const here = `${at}.${key}`;
    if (!field) {
      problems.push(`${here}: ${name} has no such field`);
      continue;
    }
    const values = field.repeated ? v : [v];
    if (field.repeated && !Array.isArray(v)) {
      problems.push(`${here}: repeated field is not an array`);
      continue;
    }
    if (field.map) continue;
    const t = resolve(field.type, name);
    for (const [i, item] of (values as unknown[]).entries()) {
      const itemAt = field.repeated ? `${here}[${i}]` : here;
      if (t.kind === 'message') checkMessage(t.name, item, itemAt, problems);
      else if (t.kind === 'enum') {
        if (typeof item !== 'string' || !enums.get(t.name)?.has(item)) problems.push(`${itemAt}: ${JSON.stringify(item)} is not a ${t.name} value`);
      } else checkScalar(field.type, item, itemAt, problems);
    }
  }
}

/** Problems of a UDM event (a `backstory.UDM` as JSON); empty when it conforms. */
export function udmProblems(event: unknown): string[] {
  const problems: string[] = [];
  checkMessage('UDM', event, 'udm', problems);
  return problems;
}

/** The value names of a UDM enum, e.g. `Metadata.EventType`. */
export function udmEnum(name: string): ReadonlySet<string> {
  const e = enums.get(name);
  if (!e) throw new Error(`no enum ${name} in udm.proto`);
  return e;
}
