import { ProbectlError } from '../core/errors.ts';
import { isUuid } from '../core/ids.ts';
import { Name } from './schemas.ts';

/**
 * Validators for command-line values. Each is called before a command opens
 * anything (database, data directory, control socket), so a bad value changes
 * nothing; each throws PROBECTL_ERR_CLI_USAGE (exit status 2) naming the flag
 * and what it accepts.
 */
function usage(flag: string, problem: string, accepts: string): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_CLI_USAGE', `${flag}: ${problem}; accepted: ${accepts}`);
}

/** A UUID, returned lower-case. */
export function uuidArg(flag: string, value: string): string {
  if (!isUuid(value)) throw usage(flag, 'not a UUID', 'a UUID such as 7d9c2f4e-1b3a-4c5d-8e6f-0a1b2c3d4e5f');
  return value.toLowerCase();
}

// The API's schema is the one definition of a valid name.
const NAME_RULE = Name as unknown as { pattern: string; minLength: number; maxLength: number };
const NAME_PATTERN = new RegExp(NAME_RULE.pattern);
const NAME_MIN = NAME_RULE.minLength;
const NAME_MAX = NAME_RULE.maxLength;

/** A tenant or token name: the same rule as the API's `name` fields (1–128 characters, no control characters). */
export function nameArg(flag: string, value: string): string {
  const accepts = `${NAME_MIN} to ${NAME_MAX} characters without control characters`;
  const length = [...value].length;
  if (length < NAME_MIN || length > NAME_MAX) throw usage(flag, length === 0 ? 'empty' : `${length} characters`, accepts);
  if (!NAME_PATTERN.test(value)) throw usage(flag, 'contains a control character', accepts);
  return value;
}

/** A positive integer that JavaScript holds exactly (1 to 2^53−1), e.g. an event seq. */
export function positiveIntArg(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw usage(flag, `not a positive integer (got ${JSON.stringify(value)})`, `an integer from 1 to ${Number.MAX_SAFE_INTEGER}`);
  return n;
}
