/**
 * Runs `task` now and then every `intervalMs`, never overlapping itself. stop()
 * waits for a run in progress. Errors are the task's to report; one failed run
 * never stops the schedule.
 */
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  private readonly intervalMs: number;
  private readonly task: () => Promise<void>;

  constructor(intervalMs: number, task: () => Promise<void>) {
    this.intervalMs = intervalMs;
    this.task = task;
  }

  start(): void {
    this.stopped = false;
    this.tick();
  }

  /** Runs the task now (tests, or an operator request), waiting for a run in progress first. */
  async runNow(): Promise<void> {
    if (this.running) await this.running;
    await this.run();
  }

  private tick(): void {
    if (this.stopped) return;
    void this.run().finally(() => {
      if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.intervalMs);
    });
  }

  private run(): Promise<void> {
    this.running = this.task().catch(() => undefined).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.running) await this.running;
  }
}
