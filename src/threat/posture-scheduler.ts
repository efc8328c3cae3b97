import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { Periodic } from '../core/periodic.ts';
import { ingestForTenant, type IngestDeps } from '../incidents/ingest.ts';
import { checkTlsPosture, type PostureReport, type PostureTarget } from './tls-posture.ts';

export interface ScheduledTarget extends PostureTarget {
  tenantId: string;
}

export interface PostureSchedulerOptions {
  targets: readonly ScheduledTarget[];
  intervalMs: number;
  expiryDays: number;
  caFile?: string | undefined;
  ingest: IngestDeps;
  clock: Clock;
  log: Logger;
  onResult?: (result: 'ok' | 'findings' | 'unreachable' | 'error') => void;
}

const REMIND_AFTER_MS = 24 * 3_600_000;

/**
 * Checks every configured endpoint each interval. A finding becomes a signal
 * when it first appears, when the set of findings for that endpoint changes,
 * and again once a day while it persists, so a long-lived problem stays
 * visible without a signal every interval.
 */
export class PostureScheduler {
  private readonly periodic: Periodic;
  private readonly lastEmitted = new Map<string, { fingerprint: string; at: number }>();

  private readonly opts: PostureSchedulerOptions;

  constructor(opts: PostureSchedulerOptions) {
    this.opts = opts;
    this.periodic = new Periodic(opts.intervalMs, () => this.checkAll());
  }

  start(): void {
    if (this.opts.targets.length > 0) this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  runNow(): Promise<void> {
    return this.periodic.runNow();
  }

  private async checkAll(): Promise<void> {
    const extraCa = this.opts.caFile ? readFileSync(this.opts.caFile, 'utf8') : undefined;
    for (const target of this.opts.targets) {
      try {
        const report = await checkTlsPosture(target, { now: this.opts.clock.now(), expiryDays: this.opts.expiryDays, extraCa });
        await this.emit(target, report);
      } catch (err) {
        this.opts.onResult?.('error');
        this.opts.log.error({ err: (err as Error).message, target: `${target.host}:${target.port}` }, 'TLS posture check failed');
      }
    }
  }

  private async emit(target: ScheduledTarget, report: PostureReport): Promise<void> {
    if (!report.reachable) {
      this.opts.onResult?.('unreachable');
      this.opts.log.warn({ target: report.target, tenant: target.tenantId, error: report.error }, 'TLS posture target unreachable');
      return;
    }
    this.opts.onResult?.(report.findings.length > 0 ? 'findings' : 'ok');
    const key = `${target.tenantId}|${report.target}`;
    const fingerprint = report.findings.map((f) => f.kind).sort().join(',');
    const last = this.lastEmitted.get(key);
    const now = this.opts.clock.now();
    if (report.findings.length === 0) {
      this.lastEmitted.delete(key);
      return;
    }
    if (last && last.fingerprint === fingerprint && now - last.at < REMIND_AFTER_MS) return;
    await ingestForTenant(this.opts.ingest, target.tenantId, async () => report.findings);
    this.lastEmitted.set(key, { fingerprint, at: now });
  }
}
