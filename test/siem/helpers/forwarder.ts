import { hostname } from 'node:os';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { readSection, type ConfigProblem } from '../../../src/config/section.ts';
import type { Clock } from '../../../src/core/clock.ts';
import type { Db } from '../../../src/store/db.ts';
import { siemSettings, siemVars, type SiemSettings } from '../../../src/siem/config.ts';
import { formatOptions } from '../../../src/siem/formatters/options.ts';
import { DeliveryEngine } from '../../../src/delivery/engine.ts';
import type { SiemEvent } from '../../../src/siem/event.ts';
import { SIEM_CONSUMER, siemEngineSettings, siemMetrics, siemRuntime } from '../../../src/siem/runtime.ts';
import { buildTarget } from '../../../src/siem/targets/build.ts';
import { systemClock } from '../../../src/core/clock.ts';

/** SIEM settings from PROBECTL_SIEM_* variables, exactly as the server parses them. */
export function settingsFrom(env: Record<string, string>): SiemSettings {
  const problems: ConfigProblem[] = [];
  const vars = readSection(env, siemVars, problems);
  const settings = siemSettings(vars, problems);
  if (problems.length > 0 || !settings) throw new Error(`bad SIEM test settings: ${JSON.stringify(problems)}`);
  return settings;
}

export function caFile(pem: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'siem-ca-'));
  writeFileSync(join(dir, 'ca.pem'), pem);
  return join(dir, 'ca.pem');
}

export interface TestForwarder {
  engine: DeliveryEngine<SiemEvent>;
  registry: Registry;
  settings: SiemSettings;
  logs: string[];
}

export function startForwarder(db: Db, env: Record<string, string>, opts: { clock?: Clock; token?: string } = {}): TestForwarder {
  const settings = settingsFrom({ PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_POLL_INTERVAL: '100ms', PROBECTL_SIEM_RETRY_BASE: '20ms', PROBECTL_SIEM_RETRY_MAX: '200ms', PROBECTL_SIEM_TIMEOUT: '2s', ...env });
  const registry = new Registry();
  const logs: string[] = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => void logs.push(l) });
  const target = buildTarget(settings, formatOptions({ hostname: hostname(), version: '0.0.0-test', syslogPen: settings.syslogPen, syslogFacility: settings.syslogFacility }), async () => opts.token ?? 'test-siem-token-4f1d9c');
  const runtime = siemRuntime(settings, target);
  const engine = new DeliveryEngine<SiemEvent>({
    consumer: SIEM_CONSUMER, db, clock: opts.clock ?? systemClock, log, settings: siemEngineSettings(settings), sources: runtime.sources,
    sink: target, metrics: siemMetrics(registry), notifier: db.streams, stopGraceMs: 2000,
  });
  engine.start();
  return { engine, registry, settings, logs };
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The SIEM settings of a loaded configuration (undefined while export is off). */
export function siemOf(config: { integrations: Readonly<Record<string, unknown>> }): SiemSettings | undefined {
  return config.integrations.siem as SiemSettings | undefined;
}
