/**
 * How many metrics reads run at once (Prometheus's --query.max-concurrency). A read holds its
 * slot from the start of its handler until its response has been written or its connection
 * closed — a streamed answer keeps its sample columns (up to PROBECTL_METRICS_QUERY_MAX_SAMPLES
 * × 16 bytes) in memory while a client reads it, so a client that reads slowly must not hold
 * them for ever, nor may many clients at once. A read waits in line at most `timeoutMs`
 * (PROBECTL_METRICS_QUERY_TIMEOUT), then fails with PROBECTL_ERR_METRICS_BUSY (503, retry);
 * a streamed response not written within `timeoutMs` of its start is cut (its connection
 * closed), which frees the slot. One tenant holds at most ceil(max/2) slots at once, so a
 * tenant whose reads hang (a slow engine in upstream mode) cannot starve the others.
 */
import type { Readable } from 'node:stream';
import { ProbectlError } from '../../core/errors.ts';

interface Waiter {
  readonly tenant: string | undefined;
  readonly grant: () => void;
}

function gone(): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_METRICS_BUSY', 'the metrics read left the line: its client went away while it waited for a slot');
}

export class QueryLimiter {
  private readonly max: number;
  private readonly timeoutMs: number;
  /** Most slots one tenant holds at once: ceil(max/2), so another tenant's read still gets one. */
  readonly perTenant: number;
  private running = 0;
  private readonly byTenant = new Map<string, number>();
  private readonly waiting: Waiter[] = [];

  /** `max` reads at once (at most ceil(max/2) of one tenant); `timeoutMs` both the longest wait in line and the longest response. */
  constructor(max: number, timeoutMs: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new TypeError('QueryLimiter: max must be a positive integer');
    this.max = max;
    this.timeoutMs = timeoutMs;
    this.perTenant = Math.ceil(max / 2);
  }

  /** Reads running now (holding a slot). */
  get active(): number {
    return this.running;
  }

  /**
   * Waits for a slot for `tenant`; resolves to its release (idempotent), or throws
   * PROBECTL_ERR_METRICS_BUSY after timeoutMs. A tenant holding its share (`perTenant`)
   * waits even while slots are free; waiters are served in order among those under their share.
   * Without a tenant, only `max` applies. A read whose `signal` aborts (its client went away)
   * leaves the line at once, PROBECTL_ERR_METRICS_BUSY: a slot is never handed to a read nobody
   * waits for.
   */
  async acquire(tenant?: string, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw gone();
    if (this.waiting.length === 0 && this.free(tenant)) {
      this.take(tenant);
      return this.releaser(tenant);
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(gone());
        // A slot it left free may go to the next waiter (one held back behind it).
        this.pump();
      };
      const waiter: Waiter = {
        tenant,
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        const own = tenant !== undefined && (this.byTenant.get(tenant) ?? 0) >= this.perTenant;
        reject(new ProbectlError('PROBECTL_ERR_METRICS_BUSY', own
          ? `too many metrics reads of this tenant in flight: its share of ${this.perTenant} of the ${this.max} slots (PROBECTL_METRICS_MAX_CONCURRENT_QUERIES) ran for the whole ${this.timeoutMs / 1000}s this one waited (PROBECTL_METRICS_QUERY_TIMEOUT); retry`
          : `too many metrics reads in flight: ${this.max} (PROBECTL_METRICS_MAX_CONCURRENT_QUERIES) ran for the whole ${this.timeoutMs / 1000}s this one waited (PROBECTL_METRICS_QUERY_TIMEOUT); retry`));
      }, this.timeoutMs);
      this.waiting.push(waiter);
      this.pump();
    });
    return this.releaser(tenant);
  }

  private free(tenant: string | undefined): boolean {
    return this.running < this.max && (tenant === undefined || (this.byTenant.get(tenant) ?? 0) < this.perTenant);
  }

  private take(tenant: string | undefined): void {
    this.running++;
    if (tenant !== undefined) this.byTenant.set(tenant, (this.byTenant.get(tenant) ?? 0) + 1);
  }

  /** Grants free slots to the first waiters under their share. */
  private pump(): void {
    for (let i = 0; i < this.waiting.length && this.running < this.max;) {
      const w = this.waiting[i] as Waiter;
      if (!this.free(w.tenant)) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.take(w.tenant);
      w.grant();
    }
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

  private releaser(tenant: string | undefined): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      if (tenant !== undefined) {
        const held = (this.byTenant.get(tenant) ?? 1) - 1;
        if (held > 0) this.byTenant.set(tenant, held);
        else this.byTenant.delete(tenant);
      }
      this.pump();
    };
  }
}
