import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { SiemEvent } from '../../src/siem/event.ts';
import { ecsAuditCategorization, ecsRecord, ECS_VERSION } from '../../src/siem/formatters/ecs.ts';
import { FORMATTERS } from '../../src/siem/formatters/index.ts';
import { sampleEvents } from '../../src/siem/preview.ts';
import { siemEvent } from './helpers/arb.ts';
import { ecsProblems, ecsReference } from './helpers/ecs-schema.ts';
import { OPTS, stressEvents, TENANT } from './fixtures.ts';
import { parseJson } from '../../src/core/json.ts';

describe('ECS', () => {
  const events = [...stressEvents(), ...sampleEvents()];
  const docs = FORMATTERS.ecs.batch(events, OPTS).toString('utf8').split('\n');

  it('frames a batch as NDJSON: one document per line', () => {
    assert.equal(docs.pop(), '');
    assert.equal(docs.length, events.length);
  });

  it('every document passes the ECS field reference: known fields, reference types, allowed values', () => {
    assert.ok(Object.keys(ecsReference()).length > 1000, 'the reference was loaded');
    for (const line of docs) assert.deepEqual(ecsProblems(parseJson(line) as Record<string, unknown>), []);
  });

  it('the reference check itself catches an invented field, a wrong type and a disallowed value', () => {
    const doc = parseJson(docs[0] as string) as Record<string, Record<string, unknown>>;
    const bad = { ...doc, tenant: 'x', event: { ...doc.event, kind: 'signal-ish', sequence: '7', category: ['iam'], type: ['start'] }, labels: { nested: { a: 'b' } } };
    const problems = ecsProblems(bad);
    for (const expected of ['tenant: not an ECS field', 'event.kind: signal-ish is not an allowed value', 'event.sequence: "7" is not of ECS type long',
      'event.type start is not expected for event.category iam', 'labels.nested.a: labels must not nest']) {
      assert.ok(problems.includes(expected), `missing problem: ${expected} in ${problems.join('; ')}`);
    }
  });

  it('carries the canonical fields where ECS defines them and the rest under probectl.*', () => {
    events.forEach((e, i) => {
      const d = parseJson(docs[i] as string) as Record<string, Record<string, unknown>>;
      const ev = d.event as Record<string, unknown>;
      assert.equal(d['@timestamp'] as unknown, e.time);
      assert.deepEqual(d.ecs, { version: ECS_VERSION });
      assert.equal(ev.id, e.id);
      assert.equal(ev.action, e.action);
      assert.equal(ev.sequence, e.seq);
      assert.equal(ev.kind, e.category === 'audit' ? 'event' : 'alert');
      assert.equal(ev.outcome, { success: 'success', failure: 'failure', denied: 'failure', unknown: 'unknown' }[e.outcome]);
      assert.equal(ev.severity, { info: 3, warning: 6, critical: 10 }[e.severity]);
      assert.equal(d.message as unknown, e.message);
      assert.equal(d.organization?.id, e.tenant);
      assert.equal(d.user?.name, e.actor);
      assert.equal(d.labels?.target, e.target);
      const p = d.probectl as Record<string, unknown>;
      assert.equal(p.outcome, e.outcome);
      assert.deepEqual(p.attributes, e.attributes);
      if (e.category === 'audit') {
        assert.equal(ev.hash, e.hash);
        assert.deepEqual(p.chain, { hash: e.hash, prev_hash: e.prevHash });
      } else {
        assert.deepEqual(p.signal, { kind: e.kind, confidence: e.confidence, id: e.signalId, incident_id: e.incidentId });
      }
    });
  });

  it('categorises audit actions into ECS category/type pairs the reference expects', () => {
    const cases: Array<[string, SiemEvent['outcome'], string, string[]]> = [
      ['auth.login', 'success', 'authentication', ['start']],
      ['auth.login', 'failure', 'authentication', ['start']],
      ['token.create', 'success', 'iam', ['creation']],
      ['token.revoke', 'success', 'iam', ['deletion']],
      ['tenant.create', 'success', 'iam', ['creation']],
      ['indicators.upsert', 'denied', 'configuration', ['change']],
      ['indicators.delete', 'success', 'configuration', ['deletion']],
      ['incident.resolve', 'success', 'configuration', ['change']],
      ['access.denied', 'denied', 'api', ['denied']],
      ['audit.read', 'success', 'api', ['access']],
      ['something.odd', 'denied', 'api', ['denied']],
      ['', 'success', 'api', ['info']],
    ];
    for (const [action, outcome, category, type] of cases) assert.deepEqual(ecsAuditCategorization(action, outcome), { category, type }, action);
  });

  it('the tenant is organization.id of the drained scope even when the data carries another', () => {
    const stress = stressEvents();
    const forged = docs.slice(0, stress.length).map((l) => parseJson(l) as { organization: { id: string }; probectl: { attributes: Record<string, unknown> } })
      .filter((d) => 'tenant' in d.probectl.attributes);
    assert.ok(forged.length > 0);
    for (const d of forged) {
      assert.equal(d.organization.id, TENANT);
      assert.notEqual(d.probectl.attributes.tenant, TENANT);
    }
  });

  it('property: documents of arbitrary events stay valid ECS and round-trip every string', () => {
    fc.assert(fc.property(siemEvent, (e) => {
      const line = ecsRecord(e, OPTS);
      assert.doesNotMatch(line, /[\r\n]/);
      const doc = parseJson(line) as Record<string, Record<string, unknown>>;
      assert.deepEqual(ecsProblems(doc), []);
      assert.equal(doc.user?.name, e.actor);
      assert.equal(doc.message as unknown, e.message);
      assert.deepEqual((doc.probectl as Record<string, unknown>).attributes, e.attributes);
    }), { numRuns: 300 });
  });
});
