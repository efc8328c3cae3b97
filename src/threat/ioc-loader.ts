import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import { appendAudit } from '../audit/log.ts';
import type { Clock } from '../core/clock.ts';
import { Periodic } from '../core/periodic.ts';
import type { Db } from '../store/db.ts';
import { inTenant } from '../store/scope.ts';
import { upsertIndicators } from './indicators.ts';
import { parseIndicatorFile } from './ioc-file.ts';

export interface IocFileSource {
  tenantId: string;
  path: string;
}

export interface IocFileLoaderOptions {
  sources: readonly IocFileSource[];
  intervalMs: number;
  db: Db;
  clock: Clock;
  log: Logger;
  onLoad?: (result: 'ok' | 'error') => void;
}

/**
 * Loads indicator files into their tenants and reloads a file when its
 * modification time or size changes. A file that fails to parse leaves the
 * previously loaded set in place and is reported; the next change retries.
 */
export class IocFileLoader {
  private readonly periodic: Periodic;
  private readonly seen = new Map<string, string>();

  private readonly opts: IocFileLoaderOptions;

  constructor(opts: IocFileLoaderOptions) {
    this.opts = opts;
    this.periodic = new Periodic(opts.intervalMs, () => this.loadChanged());
  }

  start(): void {
    if (this.opts.sources.length > 0) this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  runNow(): Promise<void> {
    return this.periodic.runNow();
  }

  private async loadChanged(): Promise<void> {
    for (const source of this.opts.sources) {
      const key = `${source.tenantId}|${source.path}`;
      let stamp: string;
      try {
        const st = statSync(source.path);
        stamp = `${st.mtimeMs}|${st.size}`;
      } catch {
        stamp = 'missing';
      }
      if (this.seen.get(key) === stamp) continue;
      try {
        const items = parseIndicatorFile(source.path);
        const origin = `file:${source.path}`;
        await inTenant(this.opts.db, source.tenantId, async (tx) => {
          const saved = await upsertIndicators(tx, origin, items, new Date(this.opts.clock.now()), true);
          await appendAudit(tx, this.opts.clock, { actor: 'system:ioc-loader', action: 'indicators.load', target: origin, outcome: 'success', data: { count: saved.length } });
        });
        this.seen.set(key, stamp);
        this.opts.onLoad?.('ok');
        this.opts.log.info({ tenant: source.tenantId, path: source.path, count: items.length }, 'indicator file loaded');
      } catch (err) {
        this.seen.set(key, stamp);
        this.opts.onLoad?.('error');
        this.opts.log.error({ tenant: source.tenantId, err: (err as Error).message }, 'indicator file not loaded; previous indicators kept');
      }
    }
  }
}
