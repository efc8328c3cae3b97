/**
 * Counts the series of a series-API answer (`{"status":"success","data":[{…},{…},…]}`) as its
 * bytes arrive, so the cardinality guard stops reading once it has counted enough: an engine
 * that ignores the `limit` parameter (Prometheus before 2.51, Debian's 2.42 among them) answers
 * every matching series, and reading that answer whole — up to MAX_UPSTREAM_RESPONSE_BYTES —
 * then parsing it would cost probectl hundreds of megabytes for one query.
 *
 * A streaming JSON parser (@streamparser/json) reports each element of the top object's `data`
 * array as it closes; the caller stops feeding past its limit, so at most that many series are
 * ever held. `complete` says the top-level value closed (an answer cut short is not a count).
 */
import { JSONParser } from '@streamparser/json';

export class SeriesAnswerCounter {
  /** Series counted so far. */
  count = 0;
  private readonly parser = new JSONParser({ paths: ['$.data.*', '$'], keepStack: false });
  private root: unknown;
  private failed = false;

  constructor() {
    this.parser.onValue = ({ value, key, stack }) => {
      if (stack.length === 0) this.root = value;
      else if (stack.length === 2 && typeof key === 'number') this.count++;
    };
    this.parser.onError = () => {
      this.failed = true;
    };
  }

  /** Feeds the next bytes; returns the count so far. Bytes that are not JSON end the count (complete stays false). */
  feed(chunk: Uint8Array): number {
    if (this.failed || this.parser.isEnded) {
      if (!this.failed && chunk.some((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09)) this.failed = true;
      return this.count;
    }
    try {
      this.parser.write(chunk);
    } catch {
      this.failed = true;
    }
    return this.count;
  }

  /** What was fed is not (the start of) one JSON value: reading further cannot make it a count. */
  get broken(): boolean {
    return this.failed;
  }

  /** The top object held a `data` array. */
  get sawData(): boolean {
    return typeof this.root === 'object' && this.root !== null && Array.isArray((this.root as { data?: unknown }).data);
  }

  /** The answer was one complete JSON value, and nothing but blanks followed it. */
  get complete(): boolean {
    return !this.failed && this.parser.isEnded;
  }
}
