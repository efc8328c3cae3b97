import { parseJson } from '../core/json.ts';

/**
 * Splits NDJSON as it arrives: `push` takes a chunk and hands every complete
 * non-empty line, parsed, to `onLine`; the rest waits for the next chunk.
 */
export function ndjsonLines(onLine: (value: unknown) => void): { push(chunk: string): void } {
  let buffered = '';
  return {
    push(chunk) {
      buffered += chunk;
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() !== '') onLine(parseJson(line));
        nl = buffered.indexOf('\n');
      }
    },
  };
}
