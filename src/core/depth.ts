import { ProbectlError, type ErrorCode } from './errors.ts';

/**
 * The deepest nesting of objects and arrays that probectl walks in data it did
 * not write itself (signal attributes, audit data, events pasted into preview).
 * The API refuses deeper bodies at its boundary; every recursive walk over
 * stored data (redaction, canonical JSON, formatters) stops here with an error
 * instead of exhausting the stack, so one hostile record cannot stall a stream.
 */
export const MAX_DATA_DEPTH = 64;

/**
 * Throws `code` when `depth` (0 at the top-level value) exceeds MAX_DATA_DEPTH.
 * `where` names the place for the operator (a JSON path or a field), never a value.
 */
export function checkDepth(depth: number, code: ErrorCode, where: string): void {
  if (depth > MAX_DATA_DEPTH) {
    throw new ProbectlError(code, `${where} nests deeper than ${MAX_DATA_DEPTH} levels of objects and arrays`);
  }
}
