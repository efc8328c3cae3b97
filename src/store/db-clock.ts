import type { Clock } from '../core/clock.ts';
import type { Db } from './db.ts';

/** How often DatabaseClock.start() measures the offset again (ms). */
export const DB_CLOCK_SYNC_MS = 60_000;

/**
 * A measurement whose round trip took longer is refused (its error, half the round trip,
 * would eat into the minute of skew the metrics store absorbs).
 */
export const DB_CLOCK_MAX_ROUND_TRIP_MS = 2_000;

/** Attempts of the first measurement before start() gives up, and the pause between them (ms). */
const FIRST_ATTEMPTS = 3;
const FIRST_PAUSE_MS = 500;

/**
 * The database server's clock, read through this replica's: `now()` is the local clock plus an
 * offset measured against PostgreSQL's `clock_timestamp()` (Cristian's algorithm: the server's
 * time minus the midpoint of the round trip, so the error is at most half the round trip plus
 * the drift since the last measurement — milliseconds, against the minute of skew the metrics
 * store tolerates). Replicas whose own clocks disagree then agree on time, as far as the
 * store's time windows go: what compaction may move (older than now − the compaction horizon)
 * and what an append or a read must therefore compare against compacted chunks (older than
 * now − horizon/2) are judged on one clock.
 *
 * start() does not return before a measurement succeeded (it rejects when none did): a
 * replica never runs the store on its own clock. A later failed measurement keeps the last
 * offset. Units: milliseconds since the Unix epoch, as Date.now().
 */
export class DatabaseClock implements Clock {
  private offsetMs = 0;
  private timer: NodeJS.Timeout | undefined;

  /**
   * `db`: a PostgreSQL database (PGlite runs in this process, on this clock: nothing to
   * measure). `local`: this replica's clock. `onSync`: told each measured offset (ms; positive:
   * the database is ahead) or the error of a failed measurement.
   */
  private readonly db: Db;
  private readonly local: Clock;
  private readonly onSync: (result: { offsetMs: number } | { error: unknown }) => void;

  constructor(db: Db, local: Clock, onSync: (result: { offsetMs: number } | { error: unknown }) => void = () => undefined) {
    this.db = db;
    this.local = local;
    this.onSync = onSync;
  }

  now(): number {
    return this.local.now() + this.offsetMs;
  }

  /** The offset in use (ms; positive: the database is ahead of this replica). */
  get offset(): number {
    return this.offsetMs;
  }

  /**
   * Measures the offset once; returns it (ms). Throws what the database throws, and an Error
   * when it answers no time or takes longer than DB_CLOCK_MAX_ROUND_TRIP_MS (the offset is then
   * unchanged).
   */
  async sync(): Promise<number> {
    const offset = await this.db.transaction(async (tx) => {
      const t0 = this.local.now();
      const res = await tx.query<{ t: number | string }>('SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS t');
      const t1 = this.local.now();
      const t = res.rows[0]?.t;
      // NULL or an empty text would be Number() 0, the epoch: an offset of minus the local time.
      const at = typeof t === 'number' || (typeof t === 'string' && t.trim() !== '') ? Number(t) : Number.NaN;
      if (t1 - t0 > DB_CLOCK_MAX_ROUND_TRIP_MS) throw new Error(`the database took ${t1 - t0} ms to answer its time (more than ${DB_CLOCK_MAX_ROUND_TRIP_MS} ms)`);
      return Math.round((at > 0 ? at : Number.NaN) - (t0 + t1) / 2);
    });
    if (!Number.isFinite(offset)) throw new Error('the database answered no time');
    this.offsetMs = offset;
    return offset;
  }

  /**
   * Measures now — up to three attempts, half a second apart — then every `intervalMs`,
   * reporting each measurement through onSync. Rejects with the last attempt's error when
   * none of the first succeeded (nothing is scheduled then); later failures keep the offset.
   */
  async start(intervalMs = DB_CLOCK_SYNC_MS): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (await this.measure()) break;
      if (attempt === FIRST_ATTEMPTS) throw this.lastError;
      await new Promise((r) => setTimeout(r, FIRST_PAUSE_MS));
    }
    this.timer ??= setInterval(() => void this.measure(), intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private lastError: unknown;

  /** One measurement, reported through onSync: whether it succeeded. */
  private async measure(): Promise<boolean> {
    try {
      this.onSync({ offsetMs: await this.sync() });
      return true;
    } catch (error) {
      this.lastError = error;
      this.onSync({ error });
      return false;
    }
  }
}
