/**
 * Counts the series of a series-API answer (`{"status":"success","data":[{…},{…},…]}`) as its
 * bytes arrive, so the cardinality guard stops reading once it has counted enough: an engine
 * that ignores the `limit` parameter (Prometheus before 2.51, Debian's 2.42 among them) answers
 * every matching series, and reading that answer whole — up to MAX_UPSTREAM_RESPONSE_BYTES —
 * then parsing it into objects would cost probectl hundreds of megabytes for one query.
 *
 * A byte-level scan of the JSON structure: strings (with their escapes) are skipped, depth is
 * followed, and every object opening directly in the top object's `data` array is one series.
 * `complete` says the top-level value closed (an answer cut short is not a count).
 */
export class SeriesAnswerCounter {
  /** Series counted so far. */
  count = 0;
  /** The top object held a `data` array. */
  sawData = false;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The text of the string being read at depth 1 (a key), kept up to 8 bytes. */
  private key = '';
  private lastKey = '';
  private inData = false;
  private started = false;
  private closed = false;

  /** Feeds the next bytes; returns the count so far. */
  feed(chunk: Uint8Array): number {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as number;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) {
          this.inString = false;
          if (this.depth === 1) this.lastKey = this.key;
        } else if (this.depth === 1 && this.key.length <= 8) this.key += String.fromCharCode(c);
        continue;
      }
      switch (c) {
        case 0x22:
          this.inString = true;
          this.key = '';
          break;
        case 0x7b: // {
        case 0x5b: // [
          if (this.depth === 0) {
            if (this.started) this.closed = false;
            this.started = true;
          }
          if (this.depth === 1 && c === 0x5b && this.lastKey === 'data') {
            this.inData = true;
            this.sawData = true;
          } else if (this.depth === 2 && this.inData && c === 0x7b) this.count++;
          this.depth++;
          break;
        case 0x7d: // }
        case 0x5d: // ]
          this.depth--;
          if (this.depth === 1) this.inData = false;
          if (this.depth === 0) this.closed = true;
          if (this.depth < 0) {
            this.depth = 0;
            this.started = false;
          }
          break;
        case 0x2c: // ,
          if (this.depth === 1) this.lastKey = '';
          break;
        default:
          break;
      }
    }
    return this.count;
  }

  /** The answer was one complete JSON object or array (its top level closed, nothing left open). */
  get complete(): boolean {
    return this.started && this.closed && this.depth === 0 && !this.inString;
  }
}
