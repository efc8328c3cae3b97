import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChainVerifier } from '../../src/audit/chain.ts';
import { isProbectlError } from '../../src/core/errors.ts';
import { FORMATTERS, SIEM_FORMATS } from '../../src/siem/formatters/index.ts';
import { PRESETS, SIEM_PRESETS } from '../../src/siem/presets.ts';
import { renderPreview, resolvePreviewFormat, SAMPLE_TENANT, sampleAuditRecords, sampleEvents } from '../../src/siem/preview.ts';
import { previewWire } from '../../src/siem/preview-wire.ts';
import { createRedactor } from '../../src/siem/redact.ts';
import { parseCef } from './helpers/cef.ts';
import { ecsProblems } from './helpers/ecs-schema.ts';
import { decodeOtlpJson } from './helpers/otlp.ts';
import { parse5424 } from './helpers/rfc5424.ts';
import { OPTS } from './fixtures.ts';

describe('siem preview', () => {
  it('the preset table of the spec: auth scheme and default format', () => {
    assert.deepEqual(SIEM_PRESETS, ['splunk', 'sentinel', 'elastic', 'chronicle', 'generic']);
    assert.deepEqual(Object.fromEntries(SIEM_PRESETS.map((p) => [p, [PRESETS[p]!.authScheme, PRESETS[p]!.defaultFormat]])), {
      splunk: ['Splunk', 'cef'], sentinel: ['Bearer', 'cef'], elastic: ['ApiKey', 'ecs'], chronicle: ['Bearer', 'otlp'], generic: ['Bearer', 'cef'],
    });
    assert.equal(PRESETS.generic!.tokenRequired, false);
  });

  it('--format wins over --preset; the preset gives the default; unknown names are usage errors', () => {
    assert.equal(resolvePreviewFormat('syslog', 'elastic'), 'syslog');
    assert.equal(resolvePreviewFormat(undefined, 'elastic'), 'ecs');
    assert.equal(resolvePreviewFormat(undefined, 'Chronicle'), 'otlp');
    assert.equal(resolvePreviewFormat(), 'cef');
    assert.throws(() => resolvePreviewFormat('leef'), (e: unknown) => isProbectlError(e, 'PROBECTL_ERR_CLI_USAGE') && e.message.includes('syslog, cef, ecs, otlp'));
    assert.throws(() => resolvePreviewFormat(undefined, 'qradar'), { code: 'PROBECTL_ERR_CLI_USAGE' });
  });

  it('the samples are audit and threat events of one tenant, chained, with escaping-heavy and secret-bearing data', () => {
    const verifier = new ChainVerifier(SAMPLE_TENANT);
    for (const r of sampleAuditRecords()) assert.ok(verifier.add(r));
    const events = sampleEvents();
    assert.deepEqual(new Set(events.map((e) => e.category)), new Set(['audit', 'threat']));
    const text = JSON.stringify(events);
    for (const ch of ['\\"', '\\\\', '|', '=', ']', '\\r\\n', 'ë']) assert.ok(text.includes(ch), `samples exercise ${ch}`);
    for (const secret of ['eyJhbGciOi', 'pk_live_abc', 'session=abc']) assert.equal(text.includes(secret), false, `${secret} is redacted`);
  });

  it('renders the samples exactly as the formatter would send them, in every format', () => {
    for (const format of SIEM_FORMATS) {
      const out = renderPreview({ format, formatOptions: OPTS });
      assert.equal(out.format, format);
      assert.ok(out.body.equals(FORMATTERS[format].batch(sampleEvents(), OPTS)));
    }
    const body = (f: string): string => renderPreview({ format: f, formatOptions: OPTS }).body.toString('utf8');
    body('syslog').trimEnd().split('\n').forEach((l) => parse5424(l));
    body('cef').trimEnd().split('\n').forEach((l) => parseCef(l));
    body('ecs').trimEnd().split('\n').forEach((l) => assert.deepEqual(ecsProblems(JSON.parse(l) as Record<string, unknown>), []));
    assert.equal(decodeOtlpJson(JSON.parse(body('otlp'))).length, sampleEvents().length);
  });

  it('PROBECTL_SIEM_REDACT_KEYS applies to the preview', () => {
    const out = renderPreview({ format: 'ecs', formatOptions: OPTS, redactKeys: ['indicator'] }).body.toString('utf8');
    assert.ok(out.includes('"indicator":"[redacted]"'));
  });

  it('renders a canonical event, an audit record or a signal given on stdin, redacted and validated', () => {
    const canonical = {
      category: 'audit', tenant: 't-1', seq: 4, time: '2025-01-01T10:00:00.5+01:00', action: 'auth.login', severity: 'warning', actor: 'a', target: 'b',
      outcome: 'failure', message: 'm', attributes: { password: 'hunter2', keep: 1 },
    };
    const out = renderPreview({ format: 'ecs', formatOptions: OPTS, input: JSON.stringify(canonical) }).body.toString('utf8');
    const doc = JSON.parse(out) as { '@timestamp': string; event: { id: string }; probectl: { attributes: unknown } };
    assert.equal(doc['@timestamp'], '2025-01-01T09:00:00.5Z');
    assert.deepEqual(doc.probectl.attributes, { password: '[redacted]', keep: 1 });
    assert.match(doc.event.id, /^[0-9a-f-]{36}$/);

    const [record] = sampleAuditRecords('t-2');
    const signal = { id: 's', seq: 3, tenant: 't-3', kind: 'ioc.match', severity: 'critical', confidence: 90, target: '192.0.2.1', title: 'x', attributes: { token: 'zzz' }, received_at: '2025-01-01T00:00:00Z', incident_id: 'i' };
    const lines = renderPreview({ format: 'cef', formatOptions: OPTS, input: `${JSON.stringify(record)}\n${JSON.stringify(signal)}\n` }).body.toString('utf8').trimEnd().split('\n');
    assert.equal(parseCef(lines[0] as string).extension.get('cs1'), 't-2');
    assert.equal(parseCef(lines[1] as string).extension.get('dst'), '192.0.2.1');
    assert.ok(!lines[1]?.includes('zzz'));
    const arr = renderPreview({ format: 'syslog', formatOptions: OPTS, input: JSON.stringify([canonical, canonical]) }).body.toString('utf8');
    assert.equal(arr.trimEnd().split('\n').length, 2);
  });

  it('bad stdin input is a clear PROBECTL_ERR_SIEM_EVENT_INVALID naming the field, never echoing the value', () => {
    const secret = 'do-not-echo-me';
    const base = { category: 'audit', tenant: 't', seq: 1, time: '2025-01-01T00:00:00Z', action: 'a', severity: 'info', actor: 'x', target: 'y', outcome: 'success' };
    const cases: Array<[string, RegExp]> = [
      ['', /input: is empty/],
      ['{not json', /input: is not valid JSON/],
      ['[]', /empty array/],
      ['42', /event: must be a JSON object/],
      [JSON.stringify({ hello: secret }), /neither a canonical event/],
      [JSON.stringify({ ...base, severity: secret }), /event\.severity: must be one of info, warning, critical/],
      [JSON.stringify({ ...base, time: secret }), /event\.time: must be an RFC 3339 time/],
      [JSON.stringify({ ...base, seq: -1 }), /event\.seq: must be an integer/],
      [JSON.stringify({ ...base, tenant: '' }), /event\.tenant: must not be empty/],
      [JSON.stringify({ ...base, id: secret }), /event\.id: must be a UUID/],
      [JSON.stringify({ ...base, attributes: [secret] }), /event\.attributes: must be a JSON object/],
      [JSON.stringify({ ...base, extra: secret }), /unknown field\(s\) "extra"/],
      [JSON.stringify({ ...base, category: 'threat' }), /event\.confidence: must be an integer from 0 to 100/],
      [`${JSON.stringify(base)}\n{"category": 1}`, /line 2\.category: must be one of audit, threat/],
      [JSON.stringify([base, { ...base, outcome: secret }]), /event\[1\]\.outcome/],
    ];
    for (const [input, message] of cases) {
      assert.throws(() => renderPreview({ format: 'cef', formatOptions: OPTS, input }), (e: unknown) => {
        assert.ok(isProbectlError(e, 'PROBECTL_ERR_SIEM_EVENT_INVALID'), `${input}: ${String(e)}`);
        assert.match(e.message, message);
        assert.equal(e.message.includes(secret), false);
        return true;
      });
    }
  });

  it('a redactor built from the same keys gives the same sample events (preview is what export sends)', () => {
    assert.deepEqual(sampleEvents(createRedactor(['x'])), sampleEvents(createRedactor(['x'])));
  });

  it('wire preview: a problem with a flag names the flag (usage error), one with a variable names the variable; an unknown preset never crashes', async () => {
    const events = sampleEvents();
    const refusal = async (env: NodeJS.ProcessEnv, flags: Record<string, string>) => {
      try {
        await previewWire(env, flags, events, OPTS);
      } catch (err) {
        assert.ok(isProbectlError(err));
        return err;
      }
      assert.fail('the preview should have been refused');
    };
    const preset = await refusal({}, { preset: 'qradar' });
    assert.equal(preset.code, 'PROBECTL_ERR_CLI_USAGE');
    assert.match(preset.message, /^siem preview: invalid flag value \(1 problem\):\n {2}--preset: not an accepted value \(got "qradar"\); accepted: one of splunk, sentinel, elastic, chronicle, generic$/);
    const envPreset = await refusal({ PROBECTL_SIEM_PRESET: 'qradar' }, {});
    assert.equal(envPreset.code, 'PROBECTL_ERR_CONFIG_INVALID');
    assert.match(envPreset.message, /^invalid configuration, siem preview refused \(1 problem\):\n {2}PROBECTL_SIEM_PRESET: not an accepted value/);
    const combo = await refusal({}, { preset: 'elastic', format: 'syslog' });
    assert.match(combo.message, /--format: _bulk takes JSON documents; syslog is not one; accepted: ecs with the elastic preset/);
    assert.equal((await refusal({}, { endpoint: '' })).code, 'PROBECTL_ERR_CLI_USAGE');
  });

  it('wire preview: --preset naming another preset than PROBECTL_SIEM_PRESET shows that preset\'s example endpoint, not the configured one', async () => {
    const env = { PROBECTL_SIEM_PRESET: 'generic', PROBECTL_SIEM_ENDPOINT: 'https://siem.example/in' };
    const splunk = await previewWire(env, { preset: 'splunk' }, sampleEvents(), OPTS);
    assert.match(splunk.requests[0]?.path ?? '', /^\/services\/collector\/raw\?/);
    const own = await previewWire({ PROBECTL_SIEM_PRESET: 'splunk', PROBECTL_SIEM_ENDPOINT: 'https://splunk.example:8088/services/collector/event' }, { preset: 'splunk' }, sampleEvents(), OPTS);
    assert.equal(own.requests[0]?.path, '/services/collector/event', 'the configured endpoint of the same preset is used');
    assert.match(own.description, /to https:\/\/splunk\.example:8088\/services\/collector\/event /);
    assert.equal((await previewWire(env, {}, sampleEvents(), OPTS)).requests[0]?.path, '/in');
  });
});
