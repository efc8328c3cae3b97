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
 * The parser builds every value it reads, not only the series it reports: an answer of more
 * than MAX_SERIES_GAP_BYTES in which no series closes (a giant string or list beside `data`,
 * an endless label value) is not a series answer (`oversized`), and is read no further — built
 * whole, such a value of the 256 MiB an answer may have would exhaust the server's heap.
 */
import { JSONParser } from '@streamparser/json';

/**
 * Most bytes fed without a series closing: a label set under the remote-write limits is at
 * most about 1 MiB of JSON (64 labels of 2 KiB, every character escaped), the text around
 * `data` a few bytes.
 */
export const MAX_SERIES_GAP_BYTES = 4 * 1_048_576;

/**
 * A list answer read as its bytes arrive: a streaming parser over `paths`, `count` the entries
 * the subclass counted (in its parser's onValue), `broken` once what was fed is not (the start
 * of) such an answer — not JSON, or more than MAX_SERIES_GAP_BYTES without an entry closing
 * (`oversized`): the parser builds every value it reads, so such a value is read no further.
 */
abstract class StreamedList {
  /** Entries counted so far. */
  count = 0;
  protected readonly parser: JSONParser;
  protected failed = false;
  /** Bytes fed since an entry last closed. */
  private gap = 0;
  private tooLarge = false;

  constructor(paths: string[]) {
    this.parser = new JSONParser({ paths, keepStack: false });
    this.parser.onError = () => {
      this.failed = true;
    };
  }

  /** Feeds the next bytes; returns the count so far. */
  feed(chunk: Uint8Array): number {
    if (this.failed || this.parser.isEnded) {
      this.fedAfterEnd(chunk);
      return this.count;
    }
    const before = this.count;
    try {
      this.parser.write(chunk);
    } catch {
      this.failed = true;
    }
    this.gap = this.count > before ? 0 : this.gap + chunk.length;
    if (this.gap > MAX_SERIES_GAP_BYTES && !this.parser.isEnded) {
      this.failed = true;
      this.tooLarge = true;
    }
    return this.count;
  }

  /** Bytes fed once the answer ended or broke (nothing by default). */
  protected fedAfterEnd(_chunk: Uint8Array): void {}

  /** More than MAX_SERIES_GAP_BYTES came without an entry closing: not a list answer, and not read further. */
  get oversized(): boolean {
    return this.tooLarge;
  }

  /** What was fed is not (the start of) a list answer of bounded entries: reading further cannot make it one. */
  get broken(): boolean {
    return this.failed;
  }
}

export class SeriesAnswerCounter extends StreamedList {
  private root: unknown;

  constructor() {
    super(['$.data.*', '$']);
    this.parser.onValue = ({ value, key, stack }) => {
      if (stack.length === 0) this.root = value;
      else if (stack.length === 2 && typeof key === 'number') this.count++;
    };
  }

  /** Bytes that are not blanks after the answer ended make it not one JSON value (complete stays false). */
  protected override fedAfterEnd(chunk: Uint8Array): void {
    if (!this.failed && chunk.some((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09)) this.failed = true;
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

/** Bytes of re-rendered entries gathered before they are moved out of the heap into a Buffer. */
const KEPT_PIECE_CHARS = 65_536;

/**
 * The first `limit` entries of a list answer (`{"status":"success","data":[…],"warnings":[…]}`:
 * series, labels, label values) as its bytes arrive, for a caller's `limit` an engine may ignore
 * (Prometheus before 2.51 answers every value): each entry is rendered (`render`, the JSON of one
 * entry) as it closes and its parsed value dropped, the rendered text kept in Buffers, so cutting
 * an answer of hundreds of megabytes to its first entries never parses it whole into the heap.
 * The caller stops feeding once `count` passes `limit`. Warnings before that point are kept;
 * more than MAX_SERIES_GAP_BYTES without an entry closing is `broken`, as for SeriesAnswerCounter,
 * and so are a `data` that is not a list and an entry `render` throws on (not of the list's kind).
 */
export class ListAnswerCut extends StreamedList {
  /** The engine's warnings seen so far (strings only). */
  readonly warnings: string[] = [];
  private readonly kept: Buffer[] = [];
  private pending = '';
  private readonly limit: number;
  private readonly render: (entry: unknown) => string;

  /** `render`: the JSON text of one entry. */
  constructor(limit: number, render: (entry: unknown) => string) {
    super(['$.data.*', '$.warnings.*']);
    this.limit = limit;
    this.render = render;
    this.parser.onValue = ({ value, key, stack }) => {
      const field = stack[1]?.key;
      if (field === 'warnings') {
        if (typeof value === 'string' && this.warnings.length < 100) this.warnings.push(value);
        return;
      }
      // `data` is an object, not a list: thrown out of the parser's write, the answer is `broken`.
      if (typeof key !== 'number') throw new TypeError('data is not a list');
      this.count++;
      if (this.count > this.limit) return;
      this.pending += `${this.count > 1 ? ',' : ''}${this.render(value)}`;
      if (this.pending.length >= KEPT_PIECE_CHARS) this.flush();
    };
  }

  /** The JSON array of the first `limit` entries. */
  entries(): Buffer {
    this.flush();
    return Buffer.concat([Buffer.from('['), ...this.kept, Buffer.from(']')]);
  }

  private flush(): void {
    if (this.pending === '') return;
    this.kept.push(Buffer.from(this.pending, 'utf8'));
    this.pending = '';
  }
}
