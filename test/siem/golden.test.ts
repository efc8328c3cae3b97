import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FORMATTERS, SIEM_FORMATS } from '../../src/siem/formatters/index.ts';
import { OPTS, stressEvents } from './fixtures.ts';

/**
 * The committed golden files are the assertion: each is the exact request
 * body for the escaping-stress events. UPDATE_GOLDEN=1 rewrites them after an
 * intended change (review the diff before committing).
 */
const DIR = new URL('./golden/', import.meta.url);
const EXT = { syslog: 'log', cef: 'cef', ecs: 'ndjson', otlp: 'json', udm: 'ndjson', dcr: 'json' } as const;

describe('golden files', () => {
  const events = stressEvents();
  for (const format of SIEM_FORMATS) {
    it(`${format}: the batch body equals golden/stress.${EXT[format]} byte for byte`, () => {
      const file = new URL(`${format}/stress.${EXT[format]}`, DIR);
      const body = FORMATTERS[format].batch(events, OPTS);
      if (process.env.UPDATE_GOLDEN === '1') {
        mkdirSync(new URL(`${format}/`, DIR), { recursive: true });
        writeFileSync(file, body);
      }
      const golden = readFileSync(file);
      assert.ok(body.equals(golden), `${format} output differs from ${file.pathname}; run with UPDATE_GOLDEN=1 if the change is intended`);
    });
  }

  it('each record renders identically alone and inside a batch (no state between events)', () => {
    for (const format of ['syslog', 'cef', 'ecs', 'udm'] as const) {
      const f = FORMATTERS[format];
      const joined = events.map((e) => `${f.record(e, OPTS)}\n`).join('');
      assert.equal(f.batch(events, OPTS).toString('utf8'), joined);
    }
  });
});
