import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { errorBody, goFormatF, goJsonString, joined, labelsJson, matrixBody, promTimestamp, promValue, scalarJson, successBody, vectorBody } from '../../src/federation/api/json.ts';
import { errorTypeOf, prometheusError } from '../../src/federation/api/errors.ts';
import { parseJson } from '../../src/core/json.ts';

const cols = (pts: Array<[number, number]>) => ({ timestamps: Float64Array.from(pts.map((p) => p[0])), values: Float64Array.from(pts.map((p) => p[1])) });

describe('Prometheus API JSON: numbers as util/jsonutil writes them', () => {
  it('timestamps: whole seconds, or three decimals kept with their zeros (MarshalTimestamp)', () => {
    const table: Array<[number, string]> = [
      [1435781451000, '1435781451'], [1435781451781, '1435781451.781'], [1435781451050, '1435781451.050'],
      [1435781451005, '1435781451.005'], [0, '0'], [5, '0.005'], [-1500, '-1.500'], [-1, '-0.001'],
    ];
    for (const [ms, text] of table) assert.equal(promTimestamp(ms), text, String(ms));
  });

  it('values: Go FormatFloat with f, or e below 1e-6 and from 1e21 (MarshalValue); NaN, ±Inf, -0', () => {
    const table: Array<[number, string]> = [
      [1, '1'], [0.5, '0.5'], [1234567.5, '1234567.5'], [1e6, '1000000'], [1e20, '100000000000000000000'],
      [123456789012345680000, '123456789012345680000'], [1e21, '1e+21'], [1.5e300, '1.5e+300'], [-2.5e21, '-2.5e+21'],
      [0.000001, '0.000001'], [0.0000015, '0.0000015'], [1e-7, '1e-07'], [1.25e-7, '1.25e-07'], [5e-324, '5e-324'],
      [0.1 + 0.2, '0.30000000000000004'], [-0.1, '-0.1'], [NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf'],
      [0, '0'], [-0, '-0'], [9007199254740993, '9007199254740992'],
    ];
    for (const [v, text] of table) assert.equal(promValue(v), text, String(v));
  });

  it('a value always reads back as the same float64 (property)', () => {
    fc.assert(fc.property(fc.double({ noNaN: true }), (v) => {
      const text = promValue(v);
      const back = text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
      assert.ok(Object.is(back, v), `${v} → ${text}`);
    }), { numRuns: 2000 });
  });
});

describe('Prometheus API JSON: strings and label sets as Go encoding/json writes them', () => {
  it('escapes quotes, backslashes, control characters, <, >, & and U+2028/9; keeps other Unicode', () => {
    assert.equal(goJsonString('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(goJsonString('<script>&'), '"\\u003cscript\\u003e\\u0026"');
    assert.equal(goJsonString('\n\r\t\b\f\u0001\u001f'), '"\\n\\r\\t\\b\\f\\u0001\\u001f"');
    assert.equal(goJsonString('\u2028\u2029'), '"\\u2028\\u2029"');
    assert.equal(goJsonString('é日本😀\u007f'), '"é日本😀\u007f"');
  });

  it('any string survives JSON.parse unchanged (property)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }).filter((s) => s.isWellFormed()), (s) => {
      assert.equal(parseJson(goJsonString(s)), s);
    }), { numRuns: 2000 });
  });

  it('label sets are objects with keys in UTF-8 byte order', () => {
    assert.equal(labelsJson({ b: '1', a: '2', __name__: 'up', 'é': 'x', Z: 'y' }), '{"Z":"y","__name__":"up","a":"2","b":"1","é":"x"}');
  });
});

describe('Prometheus API JSON: bodies', () => {
  const labels = { __name__: 'up', job: 'node', tenant_id: 't' };

  it('vector, matrix and scalar shapes as Prometheus answers them', () => {
    assert.equal(joined(vectorBody([{ labels, ...cols([[1000, 1]]) }])),
      '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"node","tenant_id":"t"},"value":[1,"1"]}]}}');
    assert.equal(joined(matrixBody([{ labels, ...cols([[1000, 1], [16000, NaN]]) }, { labels: {}, ...cols([[1000, Infinity]]) }])),
      '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"node","tenant_id":"t"},"values":[[1,"1"],[16,"NaN"]]},{"metric":{},"values":[[1,"+Inf"]]}]}}');
    assert.equal(joined(matrixBody([])), '{"status":"success","data":{"resultType":"matrix","result":[]}}');
    assert.equal(joined(vectorBody([])), '{"status":"success","data":{"resultType":"vector","result":[]}}');
    assert.equal(successBody(scalarJson(1500, 2)), '{"status":"success","data":{"resultType":"scalar","result":[1.5,"2"]}}', 'a scalar is promql.Scalar.MarshalJSON: float seconds');
    assert.equal(scalarJson(1435781451050, 1e21), '{"resultType":"scalar","result":[1435781451.05,"1000000000000000000000"]}');
    assert.deepEqual([1e-7, -1.5e-8, 1.5e300, 2 ** 70, 0.5, -0].map(goFormatF), ['0.0000001', '-0.000000015', `15${'0'.repeat(299)}`, '1180591620717411300000', '0.5', '-0'], 'shortest digits, then zeros, as Go');
    assert.equal(successBody('[]', ['results truncated due to limit']), '{"status":"success","data":[],"warnings":["results truncated due to limit"]}');
    assert.equal(errorBody('bad_data', 'x "y"'), '{"status":"error","errorType":"bad_data","error":"x \\"y\\""}');
  });

  it('a large matrix comes in bounded chunks that join to valid JSON', () => {
    const n = 2000;
    const rows = Array.from({ length: 50 }, (_, i) => ({ labels: { __name__: 'm', i: String(i) }, ...cols(Array.from({ length: n }, (_, k) => [k * 15000, k / 3] as [number, number])) }));
    const chunks = [...matrixBody(rows)];
    assert.ok(chunks.length > 10);
    assert.ok(chunks.every((c) => c.length < 70 * 1024), 'no chunk much beyond 64 kB');
    const parsed = parseJson(chunks.join('')) as { data: { result: Array<{ values: unknown[] }> } };
    assert.equal(parsed.data.result.length, 50);
    assert.deepEqual(parsed.data.result[7]?.values[3], [45, String(1)]);
  });

  it('error types and statuses are Prometheus\'s', () => {
    assert.deepEqual([400, 413, 415, 422, 404, 503, 500].map(errorTypeOf), ['bad_data', 'bad_data', 'bad_data', 'execution', 'not_found', 'unavailable', 'internal']);
    assert.deepEqual(parseJson(prometheusError({ status: 503, code: 'PROBECTL_ERR_METRICS_QUERY_TIMEOUT', message: 'query timed out' }).body), { status: 'error', errorType: 'timeout', error: 'query timed out' });
    assert.equal((parseJson(prometheusError({ status: 503, code: 'PROBECTL_ERR_DB_UNAVAILABLE', message: 'x' }).body) as { errorType: string }).errorType, 'unavailable');
  });
});
