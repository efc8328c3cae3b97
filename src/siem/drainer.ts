import type { Logger } from 'pino';
import { BoundedQueue } from '../core/bounded-queue.ts';
import type { Budget } from '../core/budget.ts';
import type { Clock } from '../core/clock.ts';
import { RetryAborted } from '../core/retry/loop.ts';
import type { RetryPolicy } from '../core/retry/policy.ts';
import type { Db } from '../store/db.ts';
import { inTenant } from '../store/scope.ts';
import { commitBatch, currentCursor, oldestPendingTime, readCursor, readEvents, streamHead, type SiemStream } from './cursor.ts';

const LAG_REFRESH_MS = 5000;
import { deliverBatch } from './deliver.ts';
import type { SiemEvent } from './event.ts';
import type { Redactor } from './redact.ts';
import type { LiveStreamState, SiemMetrics } from './status.ts';
import type { Target } from './targets/types.ts';

export interface DrainerOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  tenantId: string;
  stream: SiemStream;
  target: Target;
  redactor: Redactor;
  policy: RetryPolicy;
  batchSize: number;
  pollIntervalMs: number;
  /** Shared by every drainer of the process: the bound on events read but not yet delivered. */
  budget: Budget;
  metrics: SiemMetrics;
}

/**
 * Drains one tenant's stream: a reader pages events after the committed
 * cursor (short transactions) into a queue, within a budget of buffered events
 * shared by every drainer of the process — when it is spent, readers wait
 * (backpressure) and nothing is dropped — and a sender delivers one batch at a time
 * outside any transaction, then commits the cursor past it. After a crash at
 * most the one batch in flight is sent again, with the same ids.
 */
export class StreamDrainer {
  readonly state: LiveStreamState;
  private readonly opts: DrainerOptions;
  private readonly abort = new AbortController();
  private queue: BoundedQueue<SiemEvent[]> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private running: Promise<void> | undefined;
  private stopping = false;
  private readonly stopSignal = new AbortController();
  /** Budget units this drainer holds: events read and not yet committed. */
  private held = 0;
  private readonly labels: { tenant: string; stream: string };
  private lagRefreshedAt = 0;

  constructor(opts: DrainerOptions) {
    this.opts = opts;
    this.labels = { tenant: opts.tenantId, stream: opts.stream };
    this.state = { tenant: opts.tenantId, stream: opts.stream, paused: false, pausedReason: null, lastError: null, lastErrorAt: null, retries: 0 };
  }

  start(onExit: (err: unknown) => void): void {
    this.running = this.run().then(() => onExit(undefined), (err: unknown) => onExit(err));
  }

  /** New events were committed: read now instead of at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops reading, lets the batch in flight finish (or aborts it after `graceMs`), commits, returns. */
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
    const { db, tenantId, stream } = this.opts;
    const start = await inTenant(db, tenantId, (tx) => readCursor(tx, stream));
    // Locally one batch may wait while another is in flight; the shared budget bounds the total.
    this.queue = new BoundedQueue<SiemEvent[]>(this.opts.batchSize * 2);
    const reader = this.read(start.cursor).catch((err: unknown) => {
      this.queue?.close();
      if (!this.stopping) throw err;
    });
    try {
      await Promise.all([reader, this.send(start.cursor)]);
    } finally {
      this.opts.budget.release(this.held);
      this.held = 0;
    }
  }

  private async read(from: number): Promise<void> {
    const { db, tenantId, stream } = this.opts;
    const queue = this.queue as BoundedQueue<SiemEvent[]>;
    let position = from;
    while (!this.stopping) {
      this.woken = false;
      await this.opts.budget.acquire(this.opts.batchSize, this.stopSignal.signal);
      this.held += this.opts.batchSize;
      const events = await inTenant(db, tenantId, (tx) => readEvents(tx, stream, position, this.opts.batchSize, this.opts.redactor));
      this.giveBack(this.opts.batchSize - events.length);
      if (events.length > 0) {
        position = (events[events.length - 1] as SiemEvent).seq;
        await queue.put(events, events.length);
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

  private async send(from: number): Promise<void> {
    const queue = this.queue as BoundedQueue<SiemEvent[]>;
    const { metrics } = this.opts;
    let committed = from;
    for (;;) {
      const batch = await queue.take();
      if (!batch) return;
      let parked;
      try {
        parked = await deliverBatch(this.opts.target, batch, this.opts.policy, {
          signal: this.abort.signal,
          onRetry: (reason) => {
            this.state.retries += 1;
            this.state.lastError = reason;
            this.state.lastErrorAt = new Date(this.opts.clock.now()).toISOString();
            metrics.retried.inc(this.labels);
          },
          onPaused: (reason) => {
            this.state.paused = true;
            this.state.pausedReason = reason;
            metrics.paused.set(this.labels, 1);
            this.opts.log.error({ tenant: this.opts.tenantId, stream: this.opts.stream, reason }, 'SIEM export paused: the SIEM refuses this stream; retrying, nothing is skipped');
          },
          onResumed: () => {
            this.state.paused = false;
            this.state.pausedReason = null;
            metrics.paused.set(this.labels, 0);
            this.opts.log.info({ tenant: this.opts.tenantId, stream: this.opts.stream }, 'SIEM export resumed');
          },
        });
      } catch (err) {
        if (err instanceof RetryAborted) return;
        throw err;
      }
      const last = batch[batch.length - 1] as SiemEvent;
      const delivered = batch.length - parked.length;
      const ok = await inTenant(this.opts.db, this.opts.tenantId, (tx) => commitBatch(tx, this.opts.clock, this.opts.stream, committed, last.seq, delivered, last.time, parked));
      if (!ok) throw new Error(`the ${this.opts.stream} cursor of tenant ${this.opts.tenantId} moved under this replica; stopping`);
      committed = last.seq;
      this.giveBack(batch.length);
      metrics.delivered.inc(this.labels, delivered);
      metrics.lastSuccess.set(this.labels, this.opts.clock.now() / 1000);
      if (parked.length > 0) {
        metrics.parked.inc(this.labels, parked.length);
        this.opts.log.error({ tenant: this.opts.tenantId, stream: this.opts.stream, seqs: parked.map((p) => p.event.seq), reason: parked[0]?.reason }, 'SIEM refused events permanently; parked (see probectl siem parked list)');
      }
      // During a backlog the gauges move every few seconds; once caught up they read zero at once.
      await this.refreshLag(queue.size === 0);
    }
  }

  /** Lag gauges; while idle, refreshed at most every LAG_REFRESH_MS so many quiet tenants cost little. */
  private async refreshLag(force = false): Promise<void> {
    const { db, tenantId, stream, metrics, clock } = this.opts;
    if (!force && clock.now() - this.lagRefreshedAt < LAG_REFRESH_MS) return;
    this.lagRefreshedAt = clock.now();
    const { head, cursor, oldest } = await inTenant(db, tenantId, async (tx) => {
      const c = await currentCursor(tx, stream);
      return { head: await streamHead(tx, stream), cursor: c, oldest: await oldestPendingTime(tx, stream, c) };
    });
    metrics.lagEvents.set(this.labels, Math.max(0, head - cursor));
    metrics.lagSeconds.set(this.labels, oldest ? Math.max(0, (this.opts.clock.now() - oldest.getTime()) / 1000) : 0);
  }
}

