import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isProbectlError } from '../../src/core/errors.ts';
import { FORMATTERS } from '../../src/siem/formatters/index.ts';
import { previewWire } from '../../src/siem/preview-wire.ts';
import { sampleEvents } from '../../src/siem/preview.ts';
import { assertClean } from '../helpers/errors.ts';
import { decodeOtlpJson } from './helpers/otlp.ts';
import { udmProblems } from './helpers/udm-schema.ts';
import { OPTS } from './fixtures.ts';

const events = sampleEvents();
// Real-looking credentials in the environment: a preview shows placeholders, never these.
const ENV = { PROBECTL_SIEM_TOKEN: 'literal:REAL-token-PLANTED', PROBECTL_SIEM_WEBHOOK_SECRET: 'literal:REAL-webhook-PLANTED', PROBECTL_SIEM_AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47' };

describe('siem preview for the vendor APIs', () => {
  it('sentinel: one Logs Ingestion call, the dcr records of the events, an Entra token placeholder', async () => {
    const { requests, description } = await previewWire(ENV, { preset: 'sentinel' }, events, OPTS);
    assert.equal(requests.length, 1);
    const r = requests[0]!;
    assert.match(r.path!, /^\/dataCollectionRules\/dcr-[0-9a-f]{32}\/streams\/Custom-ProbectlEvents\?api-version=2023-01-01$/);
    assert.ok(r.body.equals(FORMATTERS.dcr.batch(events, OPTS)), 'the body is the dcr batch, byte for byte');
    assert.equal(r.headers?.authorization, 'Bearer <Microsoft Entra access token>');
    assert.match(description, /^dcr to https:\/\/[^ ]+\/streams\/Custom-ProbectlEvents \(preset sentinel, Authorization: Bearer <OAuth access token>\)$/);
    assertClean(JSON.stringify(requests) + description, ['PLANTED']);
  });

  it('sentinel over syslog+tls: CEF lines in octet-counted RFC 5424 frames', async () => {
    const { requests, description } = await previewWire({}, { preset: 'sentinel', endpoint: 'syslog+tls://ama.example:6514' }, events, OPTS);
    assert.match(description, /^cef to syslog\+tls:\/\/ama\.example:6514/);
    const text = requests[0]!.body.toString('utf8');
    assert.equal((text.match(/ - CEF:0\|probectl\|probectl\|/g) ?? []).length, events.length);
  });

  it('chronicle: each mode\'s exact request — logs:import, events:import and the webhook feed', async () => {
    const { requests, description } = await previewWire(ENV, { preset: 'chronicle' }, events, OPTS);
    assert.deepEqual(requests.map((r) => r.path!.replace(/^.*\/instances\/[^/]+\//, '')), ['logTypes/PROBECTL/logs:import', 'events:import', 'feeds/probectl-webhook:importPushLogs']);
    const [logs, udm, hook] = requests as [typeof requests[0], typeof requests[0], typeof requests[0]];
    const entries = (JSON.parse(logs.body.toString('utf8')) as { inlineSource: { logs: { data: string; logEntryTime: string; collectionTime: string }[] } }).inlineSource.logs;
    assert.deepEqual(entries.map((e) => decodeOtlpJson(JSON.parse(Buffer.from(e.data, 'base64').toString('utf8')))[0]!.attributes['probectl.event.id']), events.map((e) => e.id));
    assert.deepEqual(entries.map((e) => e.logEntryTime), events.map((e) => e.time));
    const udms = (JSON.parse(udm.body.toString('utf8')) as { inlineSource: { events: { udm: unknown }[] } }).inlineSource.events.map((e) => e.udm);
    assert.deepEqual(udms, events.map((e) => JSON.parse(FORMATTERS.udm.record(e, OPTS))));
    for (const u of udms) assert.deepEqual(udmProblems(u), []);
    assert.equal(logs.headers?.authorization, 'Bearer <Google OAuth access token>');
    assert.deepEqual([hook.headers?.['x-goog-api-key'], hook.headers?.['x-webhook-access-key'], hook.headers?.authorization], ['<API key>', '<webhook secret>', undefined]);
    assert.equal(hook.body.toString('utf8').split('\n').length, events.length);
    assert.match(description, /^otlp to .*logs:import .*; udm to .*events:import .*; otlp to .*importPushLogs \(preset chronicle, X-goog-api-key and X-Webhook-Access-Key headers\)$/);
    assertClean(JSON.stringify(requests.map((r) => r.headers)) + description + requests.map((r) => r.body.toString('utf8')).join(''), ['PLANTED']);
  });

  it('chronicle with --format shows only the modes that can carry it; an impossible one is a usage error naming the flag', async () => {
    const cef = await previewWire({}, { preset: 'chronicle', format: 'cef' }, events, OPTS);
    assert.deepEqual(cef.requests.map((r) => r.path!.endsWith('logs:import')), [true]);
    await assert.rejects(previewWire({}, { preset: 'chronicle', format: 'dcr' }, events, OPTS), (e: unknown) => isProbectlError(e, 'PROBECTL_ERR_CLI_USAGE') && /--format: dcr cannot travel there/.test(e.message));
    await assert.rejects(previewWire({ PROBECTL_SIEM_PRESET: 'chronicle', PROBECTL_SIEM_FORMAT: 'dcr' }, {}, events, OPTS), (e: unknown) => isProbectlError(e, 'PROBECTL_ERR_CONFIG_INVALID') && /PROBECTL_SIEM_FORMAT: dcr cannot travel there/.test(e.message));
  });
});
