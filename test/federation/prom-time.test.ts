import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePromDurationParam, parsePromTime, parsePromTimeParam, parseRangeQueryParams, PromParamError, PROM_MAX_TIME_MS, PROM_MIN_TIME_MS } from '../../src/federation/prom-time.ts';

function paramError(fn: () => unknown): PromParamError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PromParamError, String(err));
    return err;
  }
  assert.fail('no error');
}

describe('Prometheus API times', () => {
  // Expected values checked against Go time.Parse(time.RFC3339Nano, …) and api.go parseTime.
  const ok: Array<[string, number]> = [
    ['1700000000', 1_700_000_000_000], ['1700000000.123', 1_700_000_000_123], ['1700000000.1235', 1_700_000_000_124],
    ['-1.5', -1500], ['1_700_000_000', 1_700_000_000_000], ['1e9', 1e12], ['0', 0],
    ['2024-01-02T03:04:05Z', 1_704_164_645_000], ['2024-01-02T03:04:05.1234567891Z', 1_704_164_645_123], ['2024-01-02T03:04:05,5Z', 1_704_164_645_500],
    ['2024-01-02T04:04:05+01:00', 1_704_164_645_000], ['0001-01-01T00:00:00Z', -62_135_596_800_000],
    ['-292273086-05-16T16:47:06Z', PROM_MIN_TIME_MS], ['292277025-08-18T07:12:54.999999999Z', PROM_MAX_TIME_MS],
  ];
  for (const [text, ms] of ok) it(text, () => assert.equal(parsePromTime(text, 'start'), ms));

  for (const bad of ['x', '', 'NaN', 'Inf', '2024-01-02t03:04:05Z', '2024-01-02T03:04:05z', '2024-01-02T24:00:00Z', '2024-02-30T00:00:00Z', '2024-01-02T03:04:05+25:00', '2024-01-02T03:04:60Z', '2024-01-02T03:04:05.Z', '2024-1-02T03:04:05Z', '1e400']) {
    it(`refuses ${JSON.stringify(bad)} with Prometheus's message`, () => {
      const err = paramError(() => parsePromTime(bad, 'start'));
      assert.equal(err.message, `invalid parameter "start": cannot parse ${JSON.stringify(bad)} to a valid timestamp`);
      assert.equal(err.parameter, 'start');
      assert.equal(err.status, 400);
      assert.equal(err.errorType, 'bad_data');
    });
  }

  it('optional times default, and word errors as parseTimeParam', () => {
    assert.equal(parsePromTimeParam(undefined, 'time', 42), 42);
    assert.equal(parsePromTimeParam('', 'time', 42), 42);
    assert.equal(paramError(() => parsePromTimeParam('x', 'time', 0)).message, 'invalid parameter "time": invalid time value for \'time\': cannot parse "x" to a valid timestamp');
  });
});

describe('Prometheus API durations and query_range', () => {
  it('step as seconds or a duration', () => {
    assert.equal(parsePromDurationParam('15', 'step'), 15_000);
    assert.equal(parsePromDurationParam('0.5', 'step'), 500);
    assert.equal(parsePromDurationParam('1m30s', 'step'), 90_000);
    assert.equal(parsePromDurationParam('1d', 'step'), 86_400_000);
    assert.equal(paramError(() => parsePromDurationParam('5x', 'step')).message, 'invalid parameter "step": cannot parse "5x" to a valid duration');
    assert.equal(paramError(() => parsePromDurationParam('1e10', 'step')).message, 'invalid parameter "step": cannot parse "1e10" to a valid duration. It overflows int64');
  });
  it('query_range checks in Prometheus\'s order', () => {
    assert.deepEqual(parseRangeQueryParams({ start: '0', end: '3600', step: '15s' }), { startMs: 0, endMs: 3_600_000, stepMs: 15_000 });
    assert.equal(paramError(() => parseRangeQueryParams({ start: 'x', end: '1', step: '1' })).message, 'invalid parameter "start": cannot parse "x" to a valid timestamp');
    assert.equal(paramError(() => parseRangeQueryParams({ start: '10', end: '5', step: '1' })).message, 'invalid parameter "end": end timestamp must not be before start time');
    assert.equal(paramError(() => parseRangeQueryParams({ start: '0', end: '5', step: '0' })).message, 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
    assert.equal(paramError(() => parseRangeQueryParams({ start: '0', end: '5', step: '-1' })).parameter, 'step');
  });
  it('at most 11,000 points per series', () => {
    assert.doesNotThrow(() => parseRangeQueryParams({ start: '0', end: '11000', step: '1' }));
    const err = paramError(() => parseRangeQueryParams({ start: '0', end: '11001', step: '1' }));
    assert.equal(err.message, 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
  });
});
