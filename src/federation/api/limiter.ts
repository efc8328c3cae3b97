/**
 * How many metrics reads run at once (Prometheus's --query.max-concurrency). A read holds its
 * slot from the start of its handler until its response has been written or its connection
 * closed — a streamed answer keeps its sample columns (up to PROBECTL_METRICS_QUERY_MAX_SAMPLES
 * × 16 bytes) in memory while a client reads it, so a client that reads slowly must not hold
 * them for ever, nor may many clients at once. A read waits in line at most `timeoutMs`
 * (PROBECTL_METRICS_QUERY_TIMEOUT), then fails with PROBECTL_ERR_METRICS_BUSY (503, retry);
 * a streamed response not written within `timeoutMs` of its start is cut (its connection
 * closed), which frees the slot.
 */
import type { Readable } from 'node:stream';
import { ProbectlError } from '../../core/errors.ts';

export class QueryLimiter {
  private readonly max: number;
  private readonly timeoutMs: number;
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  /** `max` reads at once; `timeoutMs` both the longest wait in line and the longest response. */
  constructor(max: number, timeoutMs: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new TypeError('QueryLimiter: max must be a positive integer');
    this.max = max;
    this.timeoutMs = timeoutMs;
  }

  /** Reads running now (holding a slot). */
  get active(): number {
    return this.running;
  }

  /** Waits for a slot; resolves to its release (idempotent), or throws PROBECTL_ERR_METRICS_BUSY after timeoutMs. */
  async acquire(): Promise<() => void> {
    if (this.running < this.max) {
      this.running++;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new ProbectlError('PROBECTL_ERR_METRICS_BUSY', `too many metrics reads in flight: ${this.max} (PROBECTL_METRICS_MAX_CONCURRENT_QUERIES) ran for the whole ${this.timeoutMs / 1000}s this one waited (PROBECTL_METRICS_QUERY_TIMEOUT); retry`));
      }, this.timeoutMs);
      this.waiting.push(grant);
    });
    // The slot was handed over by a release (running stays counted).
    return this.releaser();
  }

  /**
   * Ties a slot to a response stream: released when the stream closes (written, failed, or
   * its connection gone); a stream still open after timeoutMs is destroyed, which closes the
   * connection and releases the slot.
   */
  holdUntilClosed(stream: Readable, release: () => void): Readable {
    const deadline = setTimeout(() => stream.destroy(new Error(`metrics response not written within ${this.timeoutMs / 1000}s (PROBECTL_METRICS_QUERY_TIMEOUT)`)), this.timeoutMs);
    deadline.unref();
    stream.once('close', () => {
      clearTimeout(deadline);
      release();
    });
    return stream;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
  }
}
