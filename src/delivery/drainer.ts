import type { Logger } from 'pino';
import { BoundedQueue } from '../core/bounded-queue.ts';
import type { Budget } from '../core/budget.ts';
import type { OncePerInterval } from '../core/once-per-interval.ts';
import type { Clock } from '../core/clock.ts';
import { RetryAborted } from '../core/retry/loop.ts';
import type { RetryPolicy } from '../core/retry/policy.ts';
import type { Db } from '../store/db.ts';
import { inTenant } from '../store/scope.ts';
import { deliverBatch } from './batch.ts';
import { commitBatch, currentCursor, openCursor } from './ledger.ts';
import type { DeliveryMetrics, LiveStreamState } from './metrics.ts';
import type { DeliveryItem, Page, ParkedItem, Sink, Source } from './types.ts';

const LAG_REFRESH_MS = 5000;

export interface DrainerOptions<I extends DeliveryItem> {
  db: Db;
  clock: Clock;
  log: Logger;
  /** The consumer whose cursor this is (`siem`, `notify`, …). */
  consumer: string;
  tenantId: string;
  source: Source<I>;
  sink: Sink<I>;
  policy: RetryPolicy;
  batchSize: number;
  /** Batches delivered concurrently (each awaiting its acknowledgement); the cursor still commits in order. */
  inflight: number;
  pollIntervalMs: number;
  /** Shared by every drainer of the process: the bound on events read but not yet delivered. */
  budget: Budget;
  metrics: DeliveryMetrics;
  /** The stream's live state, kept by the engine across restarts of its drainer. */
  state: LiveStreamState;
  /** Shared by the engine's drainers: at most one parking audit record per tenant stream and interval (ledger ParkAlarm). */
  parkAudit: OncePerInterval;
}

interface InFlight<I extends DeliveryItem> {
  page: Page<I>;
  /** Budget units held for the page. */
  units: number;
  delivery: Promise<ParkedItem[]>;
}

/**
 * Drains one tenant's stream of one consumer: a reader pages items after the committed
 * cursor (short transactions) into a queue, within a budget of buffered events
 * shared by every drainer of the process — when it is spent, readers wait
 * (backpressure) and nothing is dropped — and a sender delivers up to
 * `inflight` batches at once outside any transaction, committing the cursor
 * past each in order once it is acknowledged or parked. Records the source
 * cannot read are parked with the reason as they are read. After a crash at
 * most the batches in flight are sent again, with the same ids.
 */
export class StreamDrainer<I extends DeliveryItem> {
  readonly state: LiveStreamState;
  private readonly opts: DrainerOptions<I>;
  private readonly abort = new AbortController();
  private queue: BoundedQueue<{ page: Page<I>; units: number }> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private running: Promise<void> | undefined;
  private stopping = false;
  private readonly stopSignal = new AbortController();
  /** Batches of this drainer that paused the stream and have not resumed it (deliver). */
  private pausedBatches = 0;
  /** Budget units this drainer holds: events read and not yet committed. */
  private held = 0;
  private readonly labels: { tenant: string; stream: string };
  private lagRefreshedAt = 0;

  constructor(opts: DrainerOptions<I>) {
    this.opts = opts;
    this.labels = { tenant: opts.tenantId, stream: opts.source.stream };
    this.state = opts.state;
  }

  start(onExit: (err: unknown) => void): void {
    this.running = this.run().then(() => onExit(undefined), (err: unknown) => onExit(err));
  }

  /** New events were committed: read now instead of at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Stops reading, lets the batches in flight finish (or aborts them after `graceMs`), commits, returns.
   * A batch that is backing off after a failure (the receiver refuses the stream — paused — or keeps
   * failing) is not waited for: it ends at once, uncommitted, and is re-sent by the next drainer with
   * the same ids. Only a batch making progress (an attempt under way, an acknowledgement awaited,
   * the next part of a split batch) gets the grace.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.stopSignal.abort();
    this.queue?.close();
    this.wakeUp?.();
    const timer = setTimeout(() => this.abort.abort(), graceMs);
    timer.unref();
    try {
      await this.running;
    } finally {
      clearTimeout(timer);
    }
  }

  private async run(): Promise<void> {
    const { db, tenantId, consumer, source } = this.opts;
    const start = await inTenant(db, tenantId, (tx) => openCursor(tx, consumer, source.stream));
    // Locally the batches in flight plus one may wait; the shared budget bounds the total.
    this.queue = new BoundedQueue(this.opts.batchSize * (this.opts.inflight + 1));
    // A failure of either half ends the whole drainer: the other half is halted (batches in flight
    // aborted — the next drainer re-sends them from the committed cursor; the reader woken and stopped)
    // and awaited, so nothing of this drainer outlives it to send beside its successor, keep polling, or
    // take or give back budget units after they were released below.
    // During a graceful stop the reader's wake-up errors are expected and the batches in flight keep their grace.
    let failure: { err: unknown } | undefined;
    const fail = (half: 'reader' | 'sender') => (err: unknown) => {
      if (this.stopping && half === 'reader') return;
      failure ??= { err };
      if (!this.stopping) this.halt();
    };
    const reader = this.read(start.cursor).catch(fail('reader'));
    const sender = this.send(start.cursor).catch(fail('sender'));
    try {
      await Promise.all([reader, sender]);
      if (failure) throw failure.err;
    } finally {
      this.opts.budget.release(this.held);
      this.held = 0;
    }
  }

  /** Stops both halves at once: no more reads, the queue closed, deliveries in flight aborted. */
  private halt(): void {
    this.stopping = true;
    this.stopSignal.abort();
    this.queue?.close();
    this.wakeUp?.();
    this.abort.abort();
  }

  private async read(from: number): Promise<void> {
    const { db, tenantId, source, batchSize } = this.opts;
    const queue = this.queue as BoundedQueue<{ page: Page<I>; units: number }>;
    let position = from;
    while (!this.stopping) {
      this.woken = false;
      await this.opts.budget.acquire(batchSize, this.stopSignal.signal);
      this.held += batchSize;
      const page = await inTenant(db, tenantId, (tx) => source.read(tx, position, batchSize));
      const units = page.items.length + page.failed.length;
      this.giveBack(batchSize - units);
      if (units > 0) {
        position = page.last;
        await queue.put({ page, units }, units);
        continue;
      }
      await this.refreshLag();
      if (!this.woken) await this.idle();
    }
  }

  private giveBack(n: number): void {
    if (n <= 0) return;
    this.held -= n;
    this.opts.budget.release(n);
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.opts.pollIntervalMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }

  /** The stream's state and gauge back to not paused, logged. */
  private resumed(): void {
    const { metrics, log, tenantId, consumer } = this.opts;
    this.state.paused = false;
    this.state.pausedReason = null;
    metrics.paused.set(this.labels, 0);
    log.info({ consumer, tenant: tenantId, stream: this.opts.source.stream }, `${metrics.words.title} resumed`);
  }

  /**
   * One batch delivered (deliverBatch). A batch reports its stream resumed only if it paused it
   * itself; a pause left by an earlier drainer of the stream (stopped while the receiver refused
   * it: the state and the gauge outlive a drainer) is cleared by the first batch this drainer
   * delivers while none of its own batches is paused.
   */
  private deliver(page: Page<I>): Promise<ParkedItem[]> {
    const { metrics, log, tenantId, consumer } = this.opts;
    const stream = this.opts.source.stream;
    return deliverBatch(this.opts.sink, page.items, this.opts.policy, {
      signal: this.abort.signal,
      stopping: this.stopSignal.signal,
      onRetry: (reason) => {
        this.state.retries += 1;
        this.state.lastError = reason;
        this.state.lastErrorAt = new Date(this.opts.clock.now()).toISOString();
        metrics.retried.inc(this.labels);
      },
      onPaused: (reason) => {
        this.pausedBatches += 1;
        this.state.paused = true;
        this.state.pausedReason = reason;
        metrics.paused.set(this.labels, 1);
        log.error({ consumer, tenant: tenantId, stream, reason }, `${metrics.words.title} paused: ${metrics.words.receiver} refuses this stream; retrying, nothing is skipped`);
      },
      onResumed: () => {
        this.pausedBatches -= 1;
        this.resumed();
      },
    }).then((parked) => {
      if (this.state.paused && this.pausedBatches === 0) this.resumed();
      return parked;
    });
  }

  private async send(from: number): Promise<void> {
    const queue = this.queue as BoundedQueue<{ page: Page<I>; units: number }>;
    const inflight: InFlight<I>[] = [];
    let committed = from;
    let drained = false;
    try {
      for (;;) {
        while (!drained && inflight.length < this.opts.inflight) {
          // Take more only while nothing is waiting to be committed, or the queue already has more.
          if (inflight.length > 0 && queue.size === 0) break;
          const next = await queue.take();
          if (!next) {
            drained = true;
            break;
          }
          const delivery = this.deliver(next.page);
          delivery.catch(() => undefined);
          inflight.push({ ...next, delivery });
        }
        const head = inflight.shift();
        if (!head) return;
        let parked: ParkedItem[];
        try {
          parked = [...head.page.failed, ...(await head.delivery)];
        } catch (err) {
          if (err instanceof RetryAborted) return;
          throw err;
        }
        committed = await this.commit(committed, head, parked);
      }
    } finally {
      // Batches still in flight when the drainer ends are abandoned (and re-sent by the next drainer):
      // aborted, so none of them goes on sending beside that drainer (the head was given up at a
      // backoff during a stop, or failed, while later batches were still out).
      for (const f of inflight) f.delivery.catch(() => undefined);
      if (inflight.length > 0) this.abort.abort();
    }
  }

  private async commit(committed: number, batch: InFlight<I>, parked: ParkedItem[]): Promise<number> {
    const { metrics, db, tenantId, consumer, clock, log } = this.opts;
    const stream = this.opts.source.stream;
    const { page } = batch;
    const last = page.items[page.items.length - 1];
    const delivered = page.items.length - (parked.length - page.failed.length);
    const isOwnAlarm = this.opts.source.isOwnAlarm?.bind(this.opts.source);
    const quiet = new Set(parked.length > 0 && isOwnAlarm ? page.items.filter(isOwnAlarm).map((i) => i.seq) : []);
    const alarming = parked.some((p) => !quiet.has(p.seq));
    const gate = alarming ? this.opts.parkAudit.check(`${tenantId}|${stream}`, clock.now()) : { due: false as const };
    const alarm = gate.due ? { audit: true, notAudited: gate.skipped } : { audit: false, notAudited: 0 };
    const ok = await inTenant(db, tenantId, (tx) => commitBatch(tx, clock, consumer, stream, committed, page.last, delivered, last?.time, parked, alarm, quiet));
    if (!ok) throw new Error(`the ${consumer} ${stream} cursor of tenant ${tenantId} moved under this replica; stopping`);
    this.giveBack(batch.units);
    metrics.delivered.inc(this.labels, delivered);
    if (delivered > 0) metrics.lastSuccess.set(this.labels, clock.now() / 1000);
    if (parked.length > 0) {
      metrics.parked.inc(this.labels, parked.length);
      log.error({ consumer, tenant: tenantId, stream, seqs: parked.map((p) => p.seq), reason: parked[0]?.reason }, `${metrics.words.title}: ${metrics.words.items.toLowerCase()} parked, refused by ${metrics.words.receiver} or impossible to encode (see probectl ${consumer} parked list)`);
    }
    // During a backlog the gauges move every few seconds; once caught up they read zero at once.
    await this.refreshLag((this.queue?.size ?? 0) === 0);
    return page.last;
  }

  /** Lag gauges; while idle, refreshed at most every LAG_REFRESH_MS so many quiet tenants cost little. */
  private async refreshLag(force = false): Promise<void> {
    const { db, tenantId, consumer, source, metrics, clock } = this.opts;
    if (!force && clock.now() - this.lagRefreshedAt < LAG_REFRESH_MS) return;
    this.lagRefreshedAt = clock.now();
    const { head, cursor, oldest } = await inTenant(db, tenantId, async (tx) => {
      const c = await currentCursor(tx, consumer, source.stream);
      return { head: await source.head(tx), cursor: c, oldest: await source.oldestUnsent(tx, c) };
    });
    metrics.lagEvents.set(this.labels, Math.max(0, head - cursor));
    metrics.lagSeconds.set(this.labels, oldest ? Math.max(0, (this.opts.clock.now() - oldest.getTime()) / 1000) : 0);
  }
}
