import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Sender, TransportResult, WireRequest } from '../../src/siem/senders/types.ts';
import { buildTarget } from '../../src/siem/targets/build.ts';
import type { Target } from '../../src/siem/targets/types.ts';
import { OPTS, stressEvents } from './fixtures.ts';
import { settingsFrom } from './helpers/forwarder.ts';
import { deliverWithin } from './helpers/deliver.ts';

const TOKEN = 'hec-token-7c1e5a9d3b';

/** A sender that answers from a script (then 200 `{"code":0}`), recording every request. */
function scripted(answers: TransportResult[]): Sender & { requests: WireRequest[] } {
  const requests: WireRequest[] = [];
  return {
    requests,
    async send(request) {
      requests.push(request);
      return answers.shift() ?? { kind: 'answered', status: 200, headers: {}, body: Buffer.from('{"text":"Success","code":0}') };
    },
    async close() {},
  };
}

const answer = (status: number, body: string): TransportResult => ({ kind: 'answered', status, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) });

function target(env: Record<string, string>, sender: Sender): Target {
  const settings = settingsFrom({ PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_TOKEN: TOKEN, ...env });
  return buildTarget(settings, OPTS, async () => TOKEN, { sender });
}

/** Receivers answering 2xx with a body that does not say the events were stored. */
describe('SIEM targets: a 2xx is delivered only when its body says so', () => {
  const events = stressEvents().slice(0, 3);

  for (const path of ['/services/collector/raw', '/services/collector/event']) {
    for (const [what, body] of [
      ['a HEC error code', '{"text":"Invalid data format","code":6,"invalid-event-number":1}'],
      ['server busy', '{"text":"Server is busy","code":9}'],
      ['an HTML page (a proxy or the Splunk Web login in front of HEC)', '<html><body>Splunk login</body></html>'],
      ['an empty body', ''],
    ] as const) {
      it(`Splunk HEC ${path}: 200 with ${what} is not counted as delivered`, async () => {
        const t = target({ PROBECTL_SIEM_PRESET: 'splunk', PROBECTL_SIEM_ENDPOINT: `https://splunk.example:8088${path}` }, scripted([answer(200, body)]));
        const outcome = await t.attempt(events, undefined);
        assert.notEqual(outcome.kind, 'ok', `${what}: ${JSON.stringify(outcome)}`);
        assert.notEqual(outcome.kind, 'partial', `${what}: ${JSON.stringify(outcome)}`);
      });
    }
  }

  it('Splunk HEC: 200 {"code":0} is delivered', async () => {
    const t = target({ PROBECTL_SIEM_PRESET: 'splunk', PROBECTL_SIEM_ENDPOINT: 'https://splunk.example:8088/services/collector/raw' }, scripted([answer(200, '{"text":"Success","code":0}')]));
    assert.deepEqual(await t.attempt(events, undefined), { kind: 'ok' });
  });

  it('Elasticsearch _bulk: an item answered 5xx is retried even when the answer claims "errors": false', async () => {
    const body = JSON.stringify({ errors: false, items: [{ create: { status: 201 } }, { create: { status: 503, error: { type: 'unavailable_shards_exception' } } }, { create: { status: 201 } }] });
    const t = target({ PROBECTL_SIEM_PRESET: 'elastic', PROBECTL_SIEM_ENDPOINT: 'https://es.example:9200/logs-probectl-default/_bulk' }, scripted([answer(200, body)]));
    const outcome = await t.attempt(events, undefined);
    assert.equal(outcome.kind, 'partial', JSON.stringify(outcome));
    assert.deepEqual(outcome.kind === 'partial' ? outcome.retry : [], [1]);
  });
});

/** OTLP/HTTP receivers (an OpenTelemetry Collector): a 200 may carry a partial success (opentelemetry-proto otlp.md, "Partial Success"). */
describe('OTLP/HTTP: a partial success is never counted as delivered', () => {
  const events = stressEvents().slice(0, 4);
  const otlp = (sender: Sender) => target({ PROBECTL_SIEM_PRESET: 'generic', PROBECTL_SIEM_FORMAT: 'otlp', PROBECTL_SIEM_ENDPOINT: 'https://otel.example:4318/v1/logs' }, sender);

  it('200 with partialSuccess.rejectedLogRecords > 0: the refused records end up parked with the collector\'s message, the rest delivered', async () => {
    // The collector refuses the record of seq events[2] (say, one over its attribute limits) and accepts the others.
    const refusedId = events[2]!.id;
    const sender: Sender = {
      async send(request) {
        const body = JSON.parse(request.body.toString('utf8')) as { resourceLogs: { scopeLogs: { logRecords: { attributes: { key: string; value: { stringValue?: string } }[] }[] }[] }[] };
        const ids = body.resourceLogs.flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords.map((l) => l.attributes.find((a) => a.key === 'probectl.event.id')?.value.stringValue)));
        const rejected = ids.filter((id) => id === refusedId).length;
        return answer(200, rejected > 0 ? JSON.stringify({ partialSuccess: { rejectedLogRecords: String(rejected), errorMessage: 'log record attribute value too long' } }) : '{}');
      },
      async close() {},
    };
    const { parked } = await deliverWithin(otlp(sender), events);
    assert.deepEqual(parked.map((p) => p.id), [refusedId], JSON.stringify(parked));
    assert.match(parked[0]!.reason, /too long/);
  });

  it('200 with an empty body, {} or a partialSuccess of 0 rejected (a warning) is delivered', async () => {
    for (const body of ['', '{}', '{"partialSuccess":{}}', '{"partialSuccess":{"rejectedLogRecords":"0","errorMessage":"deprecated field"}}']) {
      assert.deepEqual(await otlp(scripted([answer(200, body)])).attempt(events, undefined), { kind: 'ok' }, body);
    }
  });
});
