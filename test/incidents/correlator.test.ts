import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ingestSignals } from '../../src/incidents/correlator.ts';
import { getIncident, incidentSignals, listIncidents, pageSignals, transitionIncident, transitionIncidents } from '../../src/incidents/incidents.ts';
import type { SignalInput } from '../../src/incidents/model.ts';
import { isProbectlError } from '../../src/core/errors.ts';
import { inTenant } from '../../src/store/scope.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';
import { makeTenants, manualClock } from '../helpers/tenants.ts';

const WINDOW = 30 * 60_000;
const sig = (over: Partial<SignalInput> = {}): SignalInput => ({
  kind: 'tls.expiring', severity: 'warning', confidence: 90, target: 'api.example.com:443', title: 'cert expiring', attributes: {}, ...over,
});

describe(`signals → incidents (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  const clock = manualClock();
  const ingest = (tenant: string, inputs: SignalInput[]) => inTenant(t.db, tenant, (tx) => ingestSignals(tx, clock, WINDOW, inputs));

  before(async () => {
    t = await openTestDb();
  });
  after(() => t?.close());

  it('two signals with the same correlation key (kind family + target) make one incident', async () => {
    const [tenant] = await makeTenants(t.db, 'corr-same');
    const [first] = await ingest(tenant!, [sig({ kind: 'tls.expiring' })]);
    clock.advance(60_000);
    const [second] = await ingest(tenant!, [sig({ kind: 'tls.self_signed', target: 'API.example.com:443 ' })]);
    assert.equal(first?.incidentOpened, true);
    assert.equal(second?.incidentOpened, false);
    assert.equal(second?.signal.incident_id, first?.signal.incident_id);
    const incident = await inTenant(t.db, tenant!, (tx) => getIncident(tx, first!.signal.incident_id));
    assert.equal(incident?.signal_count, 2);
    const signals = await inTenant(t.db, tenant!, (tx) => incidentSignals(tx, first!.signal.incident_id));
    assert.deepEqual(signals.map((s) => s.kind), ['tls.expiring', 'tls.self_signed']);
  });

  it('another target, or another kind family, opens another incident', async () => {
    const [tenant] = await makeTenants(t.db, 'corr-other');
    const results = await ingest(tenant!, [sig(), sig({ target: 'db.example.com:5432' }), sig({ kind: 'ioc.match' })]);
    assert.equal(new Set(results.map((r) => r.signal.incident_id)).size, 3);
    const { incidents } = await inTenant(t.db, tenant!, (tx) => listIncidents(tx, { limit: 10 }));
    assert.equal(incidents.length, 3);
  });

  it('an incident\'s severity escalates to the highest of its signals and never drops', async () => {
    const [tenant] = await makeTenants(t.db, 'corr-escalate');
    const [r1] = await ingest(tenant!, [sig({ severity: 'info' })]);
    await ingest(tenant!, [sig({ severity: 'critical' })]);
    await ingest(tenant!, [sig({ severity: 'warning' })]);
    const incident = await inTenant(t.db, tenant!, (tx) => getIncident(tx, r1!.signal.incident_id));
    assert.equal(incident?.severity, 'critical');
    assert.equal(incident?.signal_count, 3);
  });

  it('outside the window, or after resolution, the same key opens a new incident', async () => {
    const [tenant] = await makeTenants(t.db, 'corr-window');
    const [r1] = await ingest(tenant!, [sig()]);
    clock.advance(WINDOW + 1);
    const [r2] = await ingest(tenant!, [sig()]);
    assert.notEqual(r2?.signal.incident_id, r1?.signal.incident_id);
    clock.advance(1000);
    await inTenant(t.db, tenant!, (tx) => transitionIncident(tx, r2!.signal.incident_id, 'resolved', new Date(clock.now())));
    const [r3] = await ingest(tenant!, [sig()]);
    assert.notEqual(r3?.signal.incident_id, r2?.signal.incident_id);
    assert.equal(r3?.incidentOpened, true);
  });

  it('signals get a gapless per-tenant seq, also under concurrent ingest, and one key never opens two incidents', async () => {
    const [tenant, other] = await makeTenants(t.db, 'corr-concurrent', 'corr-concurrent-2');
    await Promise.all(Array.from({ length: 20 }, () => ingest(tenant!, [sig(), sig()])));
    await ingest(other!, [sig()]);
    const page = await inTenant(t.db, tenant!, (tx) => pageSignals(tx, 0, 100));
    assert.deepEqual(page.map((s) => s.seq), Array.from({ length: 40 }, (_, i) => i + 1));
    assert.equal(new Set(page.map((s) => s.incident_id)).size, 1);
    const otherPage = await inTenant(t.db, other!, (tx) => pageSignals(tx, 0, 100));
    assert.deepEqual(otherPage.map((s) => s.seq), [1]);
  });

  it('status moves open → acknowledged → resolved; a resolved incident cannot be acknowledged', async () => {
    const [tenant] = await makeTenants(t.db, 'corr-status');
    const [r] = await ingest(tenant!, [sig()]);
    const id = r!.signal.incident_id;
    const at = new Date(clock.now());
    const ack = await inTenant(t.db, tenant!, (tx) => transitionIncident(tx, id, 'acknowledged', at));
    assert.deepEqual([ack?.from, ack?.changed, ack?.incident.status], ['open', true, 'acknowledged']);
    const again = await inTenant(t.db, tenant!, (tx) => transitionIncident(tx, id, 'acknowledged', at));
    assert.equal(again?.changed, false);
    const res = await inTenant(t.db, tenant!, (tx) => transitionIncident(tx, id, 'resolved', at));
    assert.equal(res?.incident.resolved_at, at.toISOString());
    await assert.rejects(inTenant(t.db, tenant!, (tx) => transitionIncident(tx, id, 'acknowledged', at)), (err) => isProbectlError(err, 'PROBECTL_ERR_INCIDENT_TRANSITION'));
  });

  it('several incidents move in one statement only while each still has the status the caller read', async () => {
    const [tenant] = await makeTenants(t.db, 'corr-status-many');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await ingest(tenant!, [sig({ target: `many-${i}:443` })]))[0]!.signal.incident_id);
    const at = new Date(clock.now());
    const [a, b, c, d] = ids as [string, string, string, string];
    const moved = await inTenant(t.db, tenant!, (tx) => transitionIncidents(tx, [{ id: c, from: 'open', to: 'resolved' }, { id: a, from: 'open', to: 'acknowledged' }], at));
    assert.deepEqual(moved?.map((m) => [m.incident.id, m.from, m.incident.status, m.incident.acknowledged_at, m.incident.resolved_at]), [[c, 'open', 'resolved', null, at.toISOString()], [a, 'open', 'acknowledged', at.toISOString(), null]]);
    // One premise is stale (a is acknowledged now, not open): undefined, and the caller's rollback undoes b's move.
    await assert.rejects(inTenant(t.db, tenant!, async (tx) => {
      const r = await transitionIncidents(tx, [{ id: b, from: 'open', to: 'resolved' }, { id: a, from: 'open', to: 'resolved' }], at);
      assert.equal(r, undefined);
      throw new Error('rolled back');
    }), /rolled back/);
    assert.equal((await inTenant(t.db, tenant!, (tx) => getIncident(tx, b)))?.status, 'open');
    // A move the status does not allow, an unknown incident: undefined.
    assert.equal(await inTenant(t.db, tenant!, (tx) => transitionIncidents(tx, [{ id: c, from: 'resolved', to: 'acknowledged' }], at)), undefined);
    assert.equal(await inTenant(t.db, tenant!, (tx) => transitionIncidents(tx, [{ id: '00000000-0000-4000-8000-000000000001', from: 'open', to: 'resolved' }], at)), undefined);
    // Another tenant's incident is never moved (row-level security).
    const [other] = await makeTenants(t.db, 'corr-status-many-other');
    assert.equal(await inTenant(t.db, other!, (tx) => transitionIncidents(tx, [{ id: d, from: 'open', to: 'resolved' }], at)), undefined);
    assert.equal((await inTenant(t.db, tenant!, (tx) => getIncident(tx, d)))?.status, 'open');
  });

  it('lists newest first with a cursor and a status filter', async () => {
    const [tenant] = await makeTenants(t.db, 'corr-list');
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      await ingest(tenant!, [sig({ target: `host-${i}:443` })]);
    }
    const first = await inTenant(t.db, tenant!, (tx) => listIncidents(tx, { limit: 2 }));
    assert.deepEqual(first.incidents.map((i) => i.target), ['host-4:443', 'host-3:443']);
    const second = await inTenant(t.db, tenant!, (tx) => listIncidents(tx, { limit: 2, cursor: first.next_cursor ?? undefined }));
    assert.deepEqual(second.incidents.map((i) => i.target), ['host-2:443', 'host-1:443']);
    const resolved = await inTenant(t.db, tenant!, (tx) => listIncidents(tx, { limit: 10, status: 'resolved' }));
    assert.equal(resolved.incidents.length, 0);
  });

  it('listeners hear every change inside its transaction: opened, a follow-up with the severity before it, a status change with its origin; a throwing listener rolls the change back', async () => {
    const { changeIncidentStatus } = await import('../../src/incidents/status.ts');
    const { pageAudit } = await import('../../src/audit/log.ts');
    const [tenant] = await makeTenants(t.db, 'corr-listeners');
    const heard: string[] = [];
    const listener = {
      async incidentChanged(tx: import('../../src/store/scope.ts').TenantTx, c: import('../../src/incidents/listeners.ts').IncidentChange) {
        // Inside the transaction: the change is visible to the same tx.
        const seen = await getIncident(tx, c.incident.id);
        heard.push(c.kind === 'status' ? `status ${c.from}->${c.incident.status} by ${c.actor} via ${c.origin ?? '-'} (${seen?.status})` : c.kind === 'signal' ? `signal ${c.severityFrom}->${c.incident.severity} n=${seen?.signal_count}` : `opened ${c.incident.severity} n=${seen?.signal_count}`);
      },
    };
    const [opened] = await inTenant(t.db, tenant!, (tx) => ingestSignals(tx, clock, WINDOW, [sig({ kind: 'ioc.match', target: '203.0.113.1', severity: 'warning' })], [listener]));
    await inTenant(t.db, tenant!, (tx) => ingestSignals(tx, clock, WINDOW, [sig({ kind: 'ioc.match', target: '203.0.113.1', severity: 'critical' })], [listener]));
    const id = opened!.signal.incident_id;
    await inTenant(t.db, tenant!, (tx) => changeIncidentStatus(tx, clock, id, 'acknowledged', { actor: 'inbound:jira1', origin: 'jira1' }, [listener]));
    await inTenant(t.db, tenant!, (tx) => changeIncidentStatus(tx, clock, id, 'acknowledged', { actor: 'token:x' }, [listener]));
    assert.deepEqual(heard, ['opened warning n=1', 'signal warning->critical n=2', 'status open->acknowledged by inbound:jira1 via jira1 (acknowledged)'], 'asking for the same status tells no one');
    const audit = await inTenant(t.db, tenant!, (tx) => pageAudit(tx, 0, 10));
    assert.deepEqual(audit.map((e) => [e.action, e.actor]), [['incident.acknowledge', 'inbound:jira1']]);
    const failing = { incidentChanged: async () => { throw new Error('outbox unavailable'); } };
    await assert.rejects(inTenant(t.db, tenant!, (tx) => changeIncidentStatus(tx, clock, id, 'resolved', { actor: 'token:x' }, [failing])), /outbox unavailable/);
    assert.equal((await inTenant(t.db, tenant!, (tx) => getIncident(tx, id)))?.status, 'acknowledged', 'the change rolled back with the listener');
  });
});
