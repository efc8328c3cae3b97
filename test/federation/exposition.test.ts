import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { escapeLabelValue, EXPOSITION_CONTENT_TYPE, formatPromFloat, renderFederation, renderFederationLabelSets, type ExpositionSample } from '../../src/federation/exposition.ts';
import { staleMarker } from '../../src/federation/stale.ts';
import { parseStrict } from './exposition-check.ts';

const s = (labels: Record<string, string>, value: number, timestampMs = 1_700_000_000_000): ExpositionSample => ({
  labels: Object.entries(labels).map(([name, v]) => ({ name, value: v })),
  value,
  timestampMs,
});

describe('text exposition 0.0.4 for /federate', () => {
  it('groups families, one TYPE line each, labels sorted, instance="" added, values and timestamps as Prometheus writes them', () => {
    const body = renderFederation([
      s({ __name__: 'up', tenant_id: 'acme', job: 'b' }, 1),
      s({ __name__: 'node_load1', tenant_id: 'acme', instance: 'h1:9100' }, 0.25, 1_700_000_000_123),
      s({ __name__: 'up', tenant_id: 'acme', job: 'a' }, 0),
    ]);
    assert.equal(body, [
      '# TYPE node_load1 untyped',
      'node_load1{instance="h1:9100",tenant_id="acme"} 0.25 1700000000123',
      '# TYPE up untyped',
      'up{job="b",tenant_id="acme",instance=""} 1 1700000000000',
      'up{job="a",tenant_id="acme",instance=""} 0 1700000000000',
      '',
    ].join('\n'));
    assert.equal(EXPOSITION_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
  });

  it('escapes label values, skips empty-valued labels, nameless series and stale markers, keeps NaN and ±Inf', () => {
    const body = renderFederation([
      s({ __name__: 'm', path: 'a\\b"c\nd', empty: '' }, NaN),
      s({ __name__: 'm', k: 'inf' }, Infinity),
      s({ __name__: 'm', k: 'ninf' }, -Infinity),
      s({ __name__: 'm', k: 'stale' }, staleMarker()),
      s({ job: 'nameless' }, 1),
    ], { externalLabels: { instance: 'probectl', region: 'eu' } });
    assert.equal(body, [
      '# TYPE m untyped',
      'm{path="a\\\\b\\"c\\nd",instance="probectl",region="eu"} NaN 1700000000000',
      'm{k="inf",instance="probectl",region="eu"} +Inf 1700000000000',
      'm{k="ninf",instance="probectl",region="eu"} -Inf 1700000000000',
      '',
    ].join('\n'));
    const parsed = parseStrict(body);
    assert.equal(parsed[0]?.labels.path, 'a\\b"c\nd');
  });

  it('a series label wins over an external label of the same name', () => {
    assert.equal(renderFederation([s({ __name__: 'm', region: 'us' }, 2)], { externalLabels: { region: 'eu' } }), '# TYPE m untyped\nm{region="us",instance=""} 2 1700000000000\n');
  });

  it('escapes names outside the legacy character set with underscores (Prometheus UnderscoreEscaping)', () => {
    assert.equal(renderFederation([s({ __name__: 'http.requests', 'le.x': '1', '0a': 'y' }, 3)]), '# TYPE http_requests untyped\nhttp_requests{_a="y",le_x="1",instance=""} 3 1700000000000\n');
  });

  it('an empty input renders an empty body', () => {
    assert.equal(renderFederation([]), '');
  });

  it('floats as Go strconv.FormatFloat(v, \'g\', -1, 64)', () => {
    const cases: Array<[number, string]> = [
      [1, '1'], [0, '0'], [-0, '0'], [-1, '-1'], [0.1, '0.1'], [123456, '123456'], [1e6, '1e+06'], [1234567, '1.234567e+06'],
      [0.0001, '0.0001'], [0.00001, '1e-05'], [1.5e-7, '1.5e-07'], [1e21, '1e+21'], [1.7976931348623157e308, '1.7976931348623157e+308'],
      [5e-324, '5e-324'], [-2.5, '-2.5'], [100, '100'], [999999, '999999'], [0.30000000000000004, '0.30000000000000004'], [12345.678, '12345.678'],
    ];
    for (const [v, want] of cases) assert.equal(formatPromFloat(v), want, String(v));
  });

  it('escapeLabelValue', () => {
    assert.equal(escapeLabelValue('x\\y"z\n\té'), 'x\\\\y\\"z\\n\té');
  });

  it('any input renders a body the strict parser reads back to the same samples (fast-check)', () => {
    const name = fc.oneof(fc.constantFrom('up', 'a:b', 'x_total'), fc.string({ minLength: 1, maxLength: 6 }));
    const labels = fc.dictionary(fc.oneof(fc.constantFrom('job', 'tenant_id', 'le', 'lééééé', 'a.b.c.d.e.f'), fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,4}$/)), fc.string({ unit: 'binary', maxLength: 8 }).filter((v) => v.isWellFormed()), { maxKeys: 4 });
    const value = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, 0, 1, -1));
    fc.assert(fc.property(fc.array(fc.tuple(name, labels, value, fc.integer({ min: -1e15, max: 1e15 })), { maxLength: 8 }), (rows) => {
      const samples = rows.map(([n, l, v, t]) => ({ labels: [{ name: '__name__', value: n }, ...Object.entries(l).filter(([k]) => k !== '__name__').map(([k, x]) => ({ name: k, value: x }))], value: v, timestampMs: t }));
      const body = renderFederation(samples);
      const parsed = parseStrict(body);
      const kept = samples.filter((x) => (x.labels[0]?.value ?? '') !== '');
      assert.equal(parsed.length, kept.length);
      for (const p of parsed) {
        assert.ok(kept.some((k) => k.value === p.value || (Number.isNaN(k.value) && Number.isNaN(p.value))));
        assert.equal(p.labels.instance ?? '', p.labels.instance === undefined ? '' : p.labels.instance);
      }
    }), { numRuns: 500 });
  });

  it('renderFederationLabelSets writes the same body as renderFederation, from label-set objects, also when rendered again (fast-check)', () => {
    const name = fc.oneof(fc.constantFrom('up', 'a:b', 'x_total', 'é-x', ''), fc.string({ minLength: 1, maxLength: 6 }));
    const labels = fc.dictionary(fc.oneof(fc.constantFrom('job', 'tenant_id', 'le', 'instance', 'lééééé', 'a.b'), fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,4}$/)), fc.string({ unit: 'binary', maxLength: 8 }).filter((v) => v.isWellFormed()), { maxKeys: 4 });
    const value = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, 0, 1, -1, staleMarker()));
    fc.assert(fc.property(fc.array(fc.tuple(name, labels, value, fc.integer({ min: -1e15, max: 1e15 })), { maxLength: 8 }), (rows) => {
      const sets = rows.map(([n, l]) => ({ ...Object.fromEntries(Object.entries(l).filter(([k]) => k !== '__name__')), __name__: n }));
      const objects = rows.map(([, , v, t], i) => ({ labels: sets[i] as Record<string, string>, value: v, timestampMs: t }));
      const arrays = objects.map((o) => ({ labels: Object.entries(o.labels).map(([k, x]) => ({ name: k, value: x })), value: o.value, timestampMs: o.timestampMs }));
      const expected = renderFederation(arrays);
      assert.equal(renderFederationLabelSets(objects), expected);
      assert.equal(renderFederationLabelSets(objects), expected, 'from the cached series texts');
    }), { numRuns: 500 });
  });
});
