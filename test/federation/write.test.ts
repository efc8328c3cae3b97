import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ProbectlError } from '../../src/core/errors.ts';
import { isStorageUnavailable } from '../../src/federation/api/queries.ts';
import { DEFAULT_REMOTE_WRITE_LIMITS } from '../../src/federation/remote-write/decode.ts';
import { federationMetrics } from '../../src/federation/runtime.ts';
import { isStaleMarker } from '../../src/federation/stale.ts';
import type { AppendResult, SeriesSamples, SeriesStore } from '../../src/federation/store/types.ts';
import { remoteWrite } from '../../src/federation/write.ts';
import { encodeWriteRequest } from '../helpers/remote-write.ts';

const TENANT = '7d9c2f4e-1b3a-4c5d-8e6f-0a1b2c3d4e5f';
const NOW = Date.parse('2026-11-23T10:00:00.000Z');
const RETENTION = 15 * 86_400_000;
const HEADERS = { contentType: 'application/x-protobuf', contentEncoding: 'snappy' };

/** A store seam: records what append got, answers what the test says. */
function storeThat(append: (tenant: string, series: readonly SeriesSamples[]) => Promise<AppendResult>): SeriesStore {
  return { append } as unknown as SeriesStore;
}

function capture() {
  const lines: string[] = [];
  return { log: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }), lines };
}

const ok = (stored: number): AppendResult => ({ stored, duplicates: 0, seriesCreated: 0, refused: { conflicts: 0, tooNew: 0, limitedSeries: 0, limitedSamples: 0 }, errors: [] });

/**
 * remoteWrite of one sample of `labels` through a store whose append throws `thrown`: the error
 * remoteWrite threw (it must throw), the log lines and the metrics exposition.
 */
async function writeThroughFailingStore(thrown: Error, labels: Record<string, string>): Promise<{ err: unknown; lines: string[]; metricsText: string }> {
  const store = storeThat(async () => {
    throw thrown;
  });
  const { log, lines } = capture();
  const registry = new Registry();
  const metrics = federationMetrics(registry);
  const body = encodeWriteRequest([{ labels, samples: [[NOW, 1]] }]);
  const err = await remoteWrite({ store, tenant: TENANT, limits: DEFAULT_REMOTE_WRITE_LIMITS, now: NOW, retentionMs: RETENTION, log, metrics }, HEADERS, body).then(() => undefined, (e: unknown) => e);
  assert.ok(err !== undefined, 'remoteWrite did not refuse');
  return { err, lines, metricsText: await registry.metrics() };
}

describe('remote-write handling (src/federation/write.ts)', () => {
  it('hands the store every series with the caller\'s tenant and bit-exact values (stale markers too)', async () => {
    let got: readonly SeriesSamples[] = [];
    const store = storeThat(async (tenant, series) => {
      assert.equal(tenant, TENANT);
      got = series;
      return ok(4);
    });
    const body = encodeWriteRequest([
      { labels: [['__name__', 'up'], ['tenant_id', 'someone-else']], samples: [[NOW - 2000, 1], [NOW - 1000, 'stale']] },
      { labels: { __name__: 'temp', room: 'lab' }, samples: [[NOW - 2000, NaN], [NOW - 1000, -Infinity]] },
    ]);
    const { log } = capture();
    const res = await remoteWrite({ store, tenant: TENANT, limits: DEFAULT_REMOTE_WRITE_LIMITS, now: NOW, retentionMs: RETENTION, log, metrics: undefined }, HEADERS, body);
    assert.deepEqual(res, { stored: 4, duplicates: 0 });
    assert.deepEqual(got.map((s) => s.labels), [{ __name__: 'up', tenant_id: TENANT }, { __name__: 'temp', room: 'lab', tenant_id: TENANT }]);
    assert.deepEqual(got.map((s) => Array.from(s.timestamps)), [[NOW - 2000, NOW - 1000], [NOW - 2000, NOW - 1000]]);
    assert.ok(isStaleMarker(got[0]?.values[1] as number), 'the stale marker keeps its bits');
    assert.ok(Number.isNaN(got[1]?.values[0]) && !isStaleMarker(got[1]?.values[0] as number));
    assert.equal(got[1]?.values[1], -Infinity);
  });

  it('the database unavailable is a 503 (the sender retries), logged with counts and never a label value', async () => {
    const { err, lines, metricsText } = await writeThroughFailingStore(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), { __name__: 'up', secret: 'label-value-never-logged' });
    assert.ok(err instanceof ProbectlError);
    assert.deepEqual([err.code, err.status], ['PROBECTL_ERR_DB_UNAVAILABLE', 503]);
    assert.ok(lines.some((l) => l.includes('"series":1') && l.includes('"samples":1') && l.includes('not stored')), lines.join());
    assert.ok(!lines.some((l) => l.includes('label-value-never-logged')));
    assert.match(metricsText, /probectl_metrics_write_requests_total\{outcome="failed"\} 1/);
  });

  it('a series the store refuses (a label value holding NUL: valid UTF-8, refused by the store) is a 400 counted and logged as refused, not as the database failing', async () => {
    // The store's own refusal (store/labels.ts) for a value the decoder lets through.
    const { err, lines, metricsText: text } = await writeThroughFailingStore(new ProbectlError('PROBECTL_ERR_METRICS_BAD_SERIES', 'value of label "x" is not valid UTF-8 or contains NUL'), { __name__: 'up', x: 'a\u0000b' });
    assert.ok(err instanceof ProbectlError);
    assert.deepEqual([err.code, err.status], ['PROBECTL_ERR_METRICS_BAD_SERIES', 400]);
    assert.match(text, /probectl_metrics_write_requests_total\{outcome="refused"\} 1/);
    assert.doesNotMatch(text, /outcome="failed"\} [1-9]/);
    assert.ok(!lines.some((l) => l.includes('"level":50')), `a sender's refused series is logged as an error (the database failing): ${lines.join('')}`);
  });

  it('a refusal of the decoder names its variable and reaches the store not at all', async () => {
    const store = storeThat(async () => assert.fail('nothing may be stored'));
    const { log, lines } = capture();
    const body = encodeWriteRequest(Array.from({ length: 3 }, (_, i) => ({ labels: { __name__: 'm', i: String(i), secret: 'label-value-never-logged' }, samples: [[NOW, i] as [number, number]] })));
    await assert.rejects(remoteWrite({ store, tenant: TENANT, limits: { ...DEFAULT_REMOTE_WRITE_LIMITS, maxSeries: 2 }, now: NOW, retentionMs: RETENTION, log, metrics: undefined }, HEADERS, body), /PROBECTL_METRICS_WRITE_MAX_SERIES/);
    await assert.rejects(remoteWrite({ store, tenant: TENANT, limits: DEFAULT_REMOTE_WRITE_LIMITS, now: NOW, retentionMs: RETENTION, log, metrics: undefined }, { ...HEADERS, contentType: 'application/x-protobuf;proto=io.prometheus.write.v2.Request' }, body), (err: unknown) => (err as ProbectlError).status === 415);
    assert.ok(lines.every((l) => !l.includes('label-value-never-logged')));
  });

  it('a sample older than now − PROBECTL_METRICS_RETENTION among fresh ones refuses the request (400 naming the series, the time and the variable, no label value); the store is not reached', async () => {
    const store = storeThat(async () => assert.fail('nothing may be stored'));
    const { log, lines } = capture();
    const registry = new Registry();
    const metrics = federationMetrics(registry);
    const body = encodeWriteRequest([
      { labels: { __name__: 'up', secret: 'label-value-never-logged' }, samples: [[NOW - 1000, 1]] },
      { labels: { __name__: 'up', secret: 'label-value-never-logged', i: '1' }, samples: [[NOW - RETENTION - 1, 1], [NOW, 2]] },
    ]);
    await assert.rejects(remoteWrite({ store, tenant: TENANT, limits: DEFAULT_REMOTE_WRITE_LIMITS, now: NOW, retentionMs: RETENTION, log, metrics }, HEADERS, body), (err: unknown) => {
      assert.ok(err instanceof ProbectlError);
      assert.deepEqual([err.code, err.status], ['PROBECTL_ERR_METRICS_WRITE_MALFORMED', 400]);
      assert.equal(err.message, 'series 1 has a sample at 2026-11-08T09:59:59.999Z, older than PROBECTL_METRICS_RETENTION (15d) allows: samples before 2026-11-08T10:00:00.000Z are not kept (nothing of this request was stored)');
      return true;
    });
    assert.ok(lines.some((l) => l.includes('remote-write refused') && l.includes('PROBECTL_METRICS_RETENTION')), lines.join());
    assert.ok(lines.every((l) => !l.includes('label-value-never-logged')));
    assert.match(await registry.metrics(), /probectl_metrics_write_requests_total\{outcome="refused"\} 1/);
  });

  it('reads classify connection failures as storage unavailable, everything else not', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', '08006', '57P01', '53300']) assert.equal(isStorageUnavailable(Object.assign(new Error('x'), { code })), true, code);
    for (const err of [new Error('x'), Object.assign(new Error('x'), { code: '23505' }), new ProbectlError('PROBECTL_ERR_METRICS_TOO_MANY_SERIES', 'x')]) assert.equal(isStorageUnavailable(err), false);
  });
});
