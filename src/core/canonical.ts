import { createHash } from 'node:crypto';
import { checkDepth } from './depth.ts';
import { ProbectlError } from './errors.ts';

/**
 * Canonical JSON: object keys sorted by UTF-16 code unit order, no whitespace,
 * numbers must be safe integers or finite values whose JSON form round-trips.
 * Undefined object members are omitted (as JSON.stringify does); undefined in
 * an array, functions, symbols and bigints are refused rather than coerced, so
 * two parties can never disagree about what was hashed.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$', 0);
}

function encode(value: unknown, path: string, depth: number): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw refuse(path, 'non-finite number');
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) throw refuse(path, 'integer outside the exact range ±(2^53-1)');
      return JSON.stringify(value);
    case 'object': {
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      checkDepth(depth, 'PROBECTL_ERR_CANONICAL_ENCODING', `cannot canonically encode ${path}: it`);
      if (Array.isArray(value)) {
        return `[${value.map((v, i) => {
          if (v === undefined) throw refuse(`${path}[${i}]`, 'undefined array element');
          return encode(v, `${path}[${i}]`, depth + 1);
        }).join(',')}]`;
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${encode(obj[k], `${path}.${k}`, depth + 1)}`).join(',')}}`;
    }
    default:
      throw refuse(path, `unsupported type ${typeof value}`);
  }
}

function refuse(path: string, why: string): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_CANONICAL_ENCODING', `cannot canonically encode ${path}: ${why}`);
}

export function sha256Hex(input: string | Uint8Array): string {
  return createHash('sha256').update(input).digest('hex');
}
