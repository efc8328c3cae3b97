/**
 * A shared budget of units (buffered events across every drainer): acquire
 * waits, first come first served, until the units fit. A request larger than
 * the whole budget is granted when nothing else holds any, so it cannot wait
 * forever.
 */
export class Budget {
  private used = 0;
  private readonly capacity: number;
  private readonly waiting: Array<{ n: number; grant: () => void }> = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get inUse(): number {
    return this.used;
  }

  /** Resolves once n units are held; rejects (holding nothing) if the signal aborts first. */
  acquire(n: number, signal?: AbortSignal): Promise<void> {
    if (this.waiting.length === 0 && this.fits(n)) {
      this.used += n;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const entry = {
        n,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new Error('aborted'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  release(n: number): void {
    this.used = Math.max(0, this.used - n);
    while (this.waiting.length > 0 && this.fits((this.waiting[0] as { n: number }).n)) {
      const next = this.waiting.shift() as { n: number; grant: () => void };
      this.used += next.n;
      next.grant();
    }
  }

  private fits(n: number): boolean {
    return this.used === 0 || this.used + n <= this.capacity;
  }
}
