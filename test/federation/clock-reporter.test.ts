/**
 * clockReporter (federation/integration.ts): the database clock's measurements in the server
 * log — a skew is reported when it begins, when it moves, and hourly while it lasts, not at
 * every measurement once a minute.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLOCK_REPEAT_MS, CLOCK_WARN_MS, clockReporter } from '../../src/federation/integration.ts';

function reporter() {
  const lines: Array<[string, string]> = [];
  let now = 1_700_000_000_000;
  const log = {
    warn: (_o: unknown, msg: string) => void lines.push(['warn', msg]),
    info: (_o: unknown, msg: string) => void lines.push(['info', msg]),
  };
  const report = clockReporter(log as never, { now: () => now });
  return { lines, report, tick: (ms: number) => void (now += ms) };
}

describe('clockReporter', () => {
  it('warns when a skew begins, again only when it moves or an hour passed, and says when it ends', () => {
    const { lines, report, tick } = reporter();
    report({ offsetMs: 200 });
    assert.deepEqual(lines, [], 'a small offset is not reported');
    report({ offsetMs: 90_000 });
    assert.equal(lines.length, 1);
    assert.match(lines[0]?.[1] ?? '', /clock is 90 s behind the database's/);
    for (let i = 0; i < 58; i++) {
      tick(60_000);
      report({ offsetMs: 90_000 + (i % 3) * 100 });
    }
    assert.equal(lines.length, 1, 'the same skew, measured every minute, is not repeated within the hour');
    tick(CLOCK_REPEAT_MS - 58 * 60_000);
    report({ offsetMs: 90_050 });
    assert.equal(lines.length, 2, 'an hour on, the lasting skew is reported again');
    tick(60_000);
    report({ offsetMs: 90_050 - 2 * CLOCK_WARN_MS });
    assert.equal(lines.length, 3, 'a skew that moved by more than the warning threshold is reported at once');
    assert.match(lines[2]?.[1] ?? '', /clock is 70 s behind/);
    tick(60_000);
    report({ offsetMs: -30 });
    assert.deepEqual(lines[3], ['info', 'metrics: this replica\'s clock agrees with the database\'s again']);
    report({ offsetMs: -40 });
    assert.equal(lines.length, 4, 'agreement is said once');
    report({ offsetMs: -(CLOCK_WARN_MS + 1000) });
    assert.match(lines[4]?.[1] ?? '', /clock is 11 s ahead of the database's/);
  });

  it('a skew hovering at the threshold (measurement jitter of a few ms) is one warning, not a warning and an info line every minute', () => {
    const { lines, report, tick } = reporter();
    for (let i = 0; i < 30; i++) {
      tick(60_000);
      report({ offsetMs: CLOCK_WARN_MS + (i % 2 === 0 ? 3 : -3) });
    }
    assert.deepEqual(lines.map(([l]) => l), ['warn'], 'reported once while it hovers');
    tick(CLOCK_REPEAT_MS);
    report({ offsetMs: CLOCK_WARN_MS - 1000 });
    assert.deepEqual(lines.map(([l]) => l), ['warn'], 'within the threshold a reported skew is not repeated hourly');
    report({ offsetMs: 100 });
    assert.deepEqual(lines.map(([l]) => l), ['warn', 'info'], 'its end is said once the clocks really agree');
  });

  it('a failed measurement warns once until one succeeds again', () => {
    const { lines, report } = reporter();
    report({ error: new Error('connection refused') });
    report({ error: new Error('connection refused') });
    assert.deepEqual(lines.map(([l]) => l), ['warn']);
    report({ offsetMs: 0 });
    report({ error: new Error('timeout') });
    assert.deepEqual(lines.map(([l]) => l), ['warn', 'warn']);
  });
});
