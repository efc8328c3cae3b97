/**
 * An in-order queue bounded by total weight: `put` waits while the queue is
 * full (backpressure on the producer) and nothing is ever dropped.
 */
export class BoundedQueue<T> {
  private readonly items: Array<{ item: T; weight: number }> = [];
  private weight = 0;
  private readonly capacity: number;
  private waitingPut: Array<() => void> = [];
  private waitingTake: Array<() => void> = [];
  private closed = false;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.weight;
  }

  /** Waits for room; an item heavier than the capacity is accepted when the queue is empty. */
  async put(item: T, weight = 1): Promise<void> {
    while (!this.closed && this.weight > 0 && this.weight + weight > this.capacity) {
      await new Promise<void>((resolve) => this.waitingPut.push(resolve));
    }
    if (this.closed) return;
    this.items.push({ item, weight });
    this.weight += weight;
    this.release('take');
  }

  /** The next item, or undefined once closed and empty. */
  async take(): Promise<T | undefined> {
    while (this.items.length === 0) {
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => this.waitingTake.push(resolve));
    }
    const next = this.items.shift() as { item: T; weight: number };
    this.weight -= next.weight;
    this.release('put');
    return next.item;
  }

  close(): void {
    this.closed = true;
    this.release('put');
    this.release('take');
  }

  private release(which: 'put' | 'take'): void {
    const list = which === 'put' ? this.waitingPut : this.waitingTake;
    if (which === 'put') this.waitingPut = [];
    else this.waitingTake = [];
    for (const resolve of list) resolve();
  }
}
