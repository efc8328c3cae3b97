import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { appendAudit, pageAudit } from '../../src/audit/log.ts';
import { systemClock } from '../../src/core/clock.ts';
import { ingestSignals } from '../../src/incidents/correlator.ts';
import { inTenant } from '../../src/store/scope.ts';
import { cursorRows, listParked } from '../../src/delivery/ledger.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';
import { makeTenants } from '../helpers/tenants.ts';
import { startTestSiem, type TestSiem } from './servers/test-siem.ts';
import { caFile, startForwarder, until, type TestForwarder } from './helpers/forwarder.ts';

async function audit(t: TestDb, tenant: string, n: number, data: (i: number) => Record<string, unknown> = (i) => ({ i })): Promise<void> {
  await inTenant(t.db, tenant, async (tx) => {
    for (let i = 0; i < n; i++) await appendAudit(tx, systemClock, { actor: 'token:t', action: 'config.change', target: `obj:${i}`, outcome: 'success', data: data(i) });
  });
}

describe(`SIEM delivery (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  let siem: TestSiem;
  let fwd: TestForwarder | undefined;

  // A database per test: an engine drains every tenant it finds, so tests must not see each other's streams.
  beforeEach(async () => {
    t = await openTestDb();
  });
  afterEach(async () => {
    await fwd?.engine.stop();
    fwd = undefined;
    await siem?.close();
    await t.close();
  });

  const base = () => ({ PROBECTL_SIEM_CA_FILE: caFile(siem.caPem), PROBECTL_SIEM_TOKEN: siem.token });

  it('Splunk HEC raw with indexer acks: every audit event and signal arrives once, through 5xx, 429 + Retry-After, resets, timeouts and a lost ack', async () => {
    siem = await startTestSiem({ ack: true });
    const [tenant] = await makeTenants(t.db, 'hec-raw');
    await audit(t, tenant!, 120);
    await inTenant(t.db, tenant!, (tx) => ingestSignals(tx, systemClock, 60_000, Array.from({ length: 30 }, (_, i) => ({ kind: 'ioc.match', severity: 'warning' as const, confidence: 70, target: `10.0.0.${i}`, title: 'hit' }))));
    siem.faults.push({ kind: 'status', status: 503 }, { kind: 'status', status: 429, retryAfter: '1' }, { kind: 'reset' }, { kind: 'hang' }, { kind: 'lose-ack' }, { kind: 'status', status: 500 });
    fwd = startForwarder(t.db, { ...base(), PROBECTL_SIEM_PRESET: 'splunk', PROBECTL_SIEM_ENDPOINT: `${siem.url}/services/collector/raw`, PROBECTL_SIEM_SPLUNK_ACK: 'true', PROBECTL_SIEM_BATCH_SIZE: '25', PROBECTL_SIEM_TIMEOUT: '1s', PROBECTL_SIEM_SPLUNK_ACK_TIMEOUT: '1s' });
    await siem.waitForDistinct(150, 60_000);
    const counts = siem.counts();
    assert.equal(counts.size, 150);
    assert.ok([...counts.values()].every((c) => c === 1), 'no event arrived twice');
    assert.ok(siem.accepted.every((r) => r.tenant === tenant), 'every record stamped with the drained tenant');
    assert.equal(siem.faults.length, 0, 'every injected fault was hit');
    assert.ok(siem.requests.some((r) => r.path.startsWith('/services/collector/ack?channel=')), 'acks were polled');
    assert.ok(siem.requests.every((r) => r.authorization === `Splunk ${siem.token}` && !r.path.includes(siem.token)), 'the token rides only the auth header');
    const rows = await inTenant(t.db, tenant!, (tx) => cursorRows(tx, 'siem'));
    await until('cursors committed', async () => {
      const r = await inTenant(t.db, tenant!, (tx) => cursorRows(tx, 'siem'));
      return r.find((x) => x.stream === 'audit')?.cursor === 120 && r.find((x) => x.stream === 'threat')?.cursor === 30;
    });
    assert.ok(rows.length === 2);
    const metrics = await fwd.registry.metrics();
    assert.match(metrics, new RegExp(`probectl_siem_retried_total\\{tenant="${tenant}",stream="(audit|threat)"\\} [1-9]`));
  });

  it('a poison event is parked with the SIEM\'s answer, alarmed and audited; the stream continues', async () => {
    siem = await startTestSiem();
    const [tenant] = await makeTenants(t.db, 'poison');
    await audit(t, tenant!, 40, (i) => ({ i, note: i === 17 ? 'POISON' : 'fine' }));
    fwd = startForwarder(t.db, { ...base(), PROBECTL_SIEM_PRESET: 'generic', PROBECTL_SIEM_FORMAT: 'cef', PROBECTL_SIEM_ENDPOINT: `${siem.url}/ingest`, PROBECTL_SIEM_STREAMS: 'audit' });
    await siem.waitForDistinct(39);
    await until('parked', async () => (await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 10))).length === 1);
    const parked = await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 10));
    assert.deepEqual(parked.map((p) => [p.stream, p.seq, p.status]), [['audit', 18, 422]]);
    assert.match(parked[0]!.response, /unprocessable/);
    await until('cursor past the poison', async () => (await inTenant(t.db, tenant!, (tx) => cursorRows(tx, 'siem')))[0]?.cursor !== undefined && (await inTenant(t.db, tenant!, (tx) => cursorRows(tx, 'siem')))[0]!.cursor >= 40);
    const auditLog = await inTenant(t.db, tenant!, (tx) => pageAudit(tx, 40, 10));
    const alarm = auditLog.find((e) => e.action === 'siem.parked');
    assert.deepEqual(alarm?.data.seqs, [18]);
    assert.equal(alarm?.outcome, 'failure');
    assert.match(await fwd.registry.metrics(), new RegExp(`probectl_siem_parked_total\\{tenant="${tenant}",stream="audit"\\} 1`));
    assert.ok(fwd.logs.some((l) => l.includes('parked')), 'parking is logged');
  });

  it('a SIEM refusing everything: every record is parked, the first raises the (rate-limited) alarm, the alarm itself parked without an alarm of its own (no feedback loop)', async () => {
    siem = await startTestSiem();
    siem.rejectAll = true;
    const [tenant] = await makeTenants(t.db, 'refuse-all');
    const before = (await inTenant(t.db, tenant!, (tx) => pageAudit(tx, 0, 1000))).length;
    await audit(t, tenant!, 5);
    fwd = startForwarder(t.db, { ...base(), PROBECTL_SIEM_PRESET: 'generic', PROBECTL_SIEM_FORMAT: 'cef', PROBECTL_SIEM_ENDPOINT: `${siem.url}/ingest`, PROBECTL_SIEM_STREAMS: 'audit', PROBECTL_SIEM_BATCH_SIZE: '1' });
    const head = async () => (await inTenant(t.db, tenant!, (tx) => pageAudit(tx, 0, 1000))).length;
    const cursor = async () => (await inTenant(t.db, tenant!, (tx) => cursorRows(tx, 'siem')))[0]?.cursor ?? 0;
    // Quiet means: the cursor reached the head and the head stays put for a while.
    await until('the stream is drained', async () => (await cursor()) === (await head()));
    const settled = await head();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(await head(), settled, 'no audit record is written once everything is parked');
    assert.equal(await cursor(), settled);
    const records = await inTenant(t.db, tenant!, (tx) => pageAudit(tx, 0, 1000));
    const alarms = records.filter((e) => e.action === 'siem.parked');
    const alarmed = alarms.flatMap((a) => a.data.seqs as number[]);
    const originals = records.filter((e) => e.action !== 'siem.parked').map((e) => e.seq);
    assert.equal(originals.length, before + 5);
    // The audit record is rate-limited per stream (once a minute): the first
    // refused original raises it; the alarm itself, parked, raises none.
    assert.equal(alarms.length, 1, 'one alarm within the minute, none for the refused alarm');
    assert.deepEqual(alarmed, [originals[0]]);
    assert.ok(alarms.every((a) => (a.data.seqs as number[]).every((s) => !alarms.some((x) => x.seq === s))), 'no alarm names an alarm');
    const parked = await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 1000));
    assert.equal(parked.length, records.length, 'every record, alarms included, is parked visibly');
    assert.match(await fwd.registry.metrics(), new RegExp(`probectl_siem_parked_total\\{tenant="${tenant}",stream="audit"\\} ${records.length}`));
  });

  it('Elastic _bulk: a 200 with item errors parks the refused item, retries 429 items, and treats 409 as already delivered', async () => {
    siem = await startTestSiem();
    const [tenant] = await makeTenants(t.db, 'bulk');
    await audit(t, tenant!, 30, (i) => ({ i, note: i === 3 ? 'POISON' : 'ok' }));
    siem.faults.push({ kind: 'bulk-item-429' }, { kind: 'bulk-item-429' });
    fwd = startForwarder(t.db, { ...base(), PROBECTL_SIEM_PRESET: 'elastic', PROBECTL_SIEM_ENDPOINT: `${siem.url}/probectl-events/_bulk`, PROBECTL_SIEM_STREAMS: 'audit', PROBECTL_SIEM_BATCH_SIZE: '10' });
    await siem.waitForDistinct(29);
    await until('parked', async () => (await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 10))).length === 1);
    const parked = await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 10));
    assert.deepEqual(parked.map((p) => [p.seq, p.status]), [[4, 400]]);
    assert.match(parked[0]!.reason, /document_parsing_exception/);
    assert.ok([...siem.counts().values()].every((c) => c === 1));
    assert.equal(siem.faults.length, 0, 'the 429 items were retried');
    const bulk = siem.requests.filter((r) => r.path === '/probectl-events/_bulk');
    assert.ok(bulk.length >= 5, 'three batches plus the item retries');
  });

  it('Splunk HEC event endpoint: an invalid-event-number parks exactly that event; the ones before it are not sent twice', async () => {
    siem = await startTestSiem();
    const [tenant] = await makeTenants(t.db, 'hec-event');
    await audit(t, tenant!, 12, (i) => ({ i, note: i === 7 ? 'POISON' : 'fine' }));
    fwd = startForwarder(t.db, { ...base(), PROBECTL_SIEM_PRESET: 'splunk', PROBECTL_SIEM_FORMAT: 'ecs', PROBECTL_SIEM_ENDPOINT: `${siem.url}/services/collector/event`, PROBECTL_SIEM_STREAMS: 'audit' });
    await siem.waitForDistinct(11);
    await until('parked', async () => (await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 10))).length === 1);
    assert.deepEqual((await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 10))).map((p) => [p.seq, p.status]), [[8, 400]]);
    assert.ok([...siem.counts().values()].every((c) => c === 1), 'events before the invalid one were indexed once');
    assert.ok(siem.accepted.every((r) => r.endpoint === 'hec-event' && r.raw.startsWith('{"@timestamp"')), 'ECS documents as the HEC event field');
  });

  it('a signal nested 3,000 levels deep (OTLP) is parked with the reason, audited and alarmed; later signals still arrive', async () => {
    siem = await startTestSiem();
    const [tenant] = await makeTenants(t.db, 'deep');
    let deep: Record<string, unknown> = { leaf: 'bottom' };
    for (let i = 0; i < 3000; i++) deep = { a: deep };
    const signal = (target: string, attributes: Record<string, unknown> = {}) => ({ kind: 'ioc.match', severity: 'warning' as const, confidence: 70, target, title: 'hit', attributes });
    await inTenant(t.db, tenant!, (tx) => ingestSignals(tx, systemClock, 60_000, [signal('10.0.0.1'), signal('10.0.0.2', deep), signal('10.0.0.3')]));
    fwd = startForwarder(t.db, { ...base(), PROBECTL_SIEM_FORMAT: 'otlp', PROBECTL_SIEM_ENDPOINT: `${siem.url}/ingest`, PROBECTL_SIEM_STREAMS: 'threat' });
    await until('parked', async () => (await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 10))).length === 1);
    const parked = await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 10));
    assert.deepEqual(parked.map((p) => [p.stream, p.seq, p.status]), [['threat', 2, null]]);
    assert.match(parked[0]!.reason, /probectl could not (map|encode) this (record|event).*nests deeper than 64/);
    await inTenant(t.db, tenant!, (tx) => ingestSignals(tx, systemClock, 60_000, [signal('10.0.0.4')]));
    await until('later signals delivered', () => siem.accepted.length >= 1 && new Set(siem.accepted.flatMap((r) => r.raw.match(/"probectl\.seq","value":\{"intValue":"\d+"/g) ?? [])).size === 3);
    assert.match(await fwd.registry.metrics(), new RegExp(`probectl_siem_parked_total\\{tenant="${tenant}",stream="threat"\\} 1`));
    const alarm = (await inTenant(t.db, tenant!, (tx) => pageAudit(tx, 0, 50))).find((e) => e.action === 'siem.parked');
    assert.deepEqual(alarm?.data.seqs, [2]);
    await until('cursor at the head', async () => (await inTenant(t.db, tenant!, (tx) => cursorRows(tx, 'siem')))[0]?.cursor === 4);
  });

  it('a drainer that fails repeatedly restarts with a backoff and shows it in status, metrics and the audit log', async () => {
    siem = await startTestSiem();
    const [tenant] = await makeTenants(t.db, 'flaky-db');
    await audit(t, tenant!, 5);
    let failReads = 3;
    const flaky: typeof t.db = {
      ...t.db,
      driver: t.db.driver,
      transaction: (fn, options) => t.db.transaction((tx) => fn({
        ...tx,
        query: async (sql, params) => {
          if (failReads > 0 && /FROM audit_events WHERE tenant_id = \$1 AND seq > \$2/.test(sql)) {
            failReads -= 1;
            throw new Error('connection terminated unexpectedly');
          }
          return tx.query(sql, params);
        },
      }), options),
      lockSession: () => t.db.lockSession(),
      ping: () => t.db.ping(),
      close: async () => {},
    };
    fwd = startForwarder(flaky, { ...base(), PROBECTL_SIEM_ENDPOINT: `${siem.url}/ingest`, PROBECTL_SIEM_STREAMS: 'audit' });
    await siem.waitForDistinct(5, 30_000);
    const state = fwd.engine.liveStates().find((s) => s.tenant === tenant);
    assert.equal(state?.failures, 3);
    assert.match(state?.lastError ?? '', /drainer stopped: connection terminated unexpectedly/);
    assert.match(await fwd.registry.metrics(), new RegExp(`probectl_siem_drainer_failures_total\\{tenant="${tenant}",stream="audit"\\} 3`));
    await until('failure audited', async () => (await inTenant(t.db, tenant!, (tx) => pageAudit(tx, 0, 50))).some((e) => e.action === 'siem.drainer.failed'));
    const records = (await inTenant(t.db, tenant!, (tx) => pageAudit(tx, 0, 50))).filter((e) => e.action === 'siem.drainer.failed');
    assert.equal(records.length, 1, 'at most one audit record per stream per minute');
    assert.match(String(records[0]!.data.error), /connection terminated/);
  });

  it('Splunk HEC with acks: events before an invalid one count only once their ackId is confirmed; a lost ack sends them again', async () => {
    siem = await startTestSiem({ ack: true });
    const [tenant] = await makeTenants(t.db, 'hec-partial-ack');
    await audit(t, tenant!, 12, (i) => ({ i, note: i === 7 ? 'POISON' : 'fine' }));
    // The ackId HEC gives the events before the invalid one is never confirmed.
    siem.faults.push({ kind: 'lose-ack' });
    fwd = startForwarder(t.db, { ...base(), PROBECTL_SIEM_PRESET: 'splunk', PROBECTL_SIEM_FORMAT: 'ecs', PROBECTL_SIEM_ENDPOINT: `${siem.url}/services/collector/event`, PROBECTL_SIEM_STREAMS: 'audit', PROBECTL_SIEM_SPLUNK_ACK: 'true', PROBECTL_SIEM_SPLUNK_ACK_TIMEOUT: '500ms' });
    await siem.waitForDistinct(11, 30_000);
    await until('parked', async () => (await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 10))).length === 1);
    assert.deepEqual((await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 10))).map((p) => [p.seq, p.status]), [[8, 400]]);
    assert.ok(siem.requests.filter((r) => r.path.startsWith('/services/collector/ack')).length >= 2, 'the partial answer\'s ackId was polled');
    assert.equal(siem.faults.length, 0, 'the lost ack was hit');
    await until('cursor committed', async () => ((await inTenant(t.db, tenant!, (tx) => cursorRows(tx, 'siem')))[0]?.cursor ?? 0) >= 12);
  });

  it('gzip-compressed bodies over mutual TLS', async () => {
    const { issueCertificate } = await import('../../src/core/x509.ts');
    const clientCa = await issueCertificate({ commonName: 'client CA', isCa: true });
    const client = await issueCertificate({ commonName: 'probectl-exporter', issuer: clientCa });
    siem = await startTestSiem({ clientCa: clientCa.certPem });
    const [tenant] = await makeTenants(t.db, 'mtls');
    await audit(t, tenant!, 5);
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync(`${(await import('node:os')).tmpdir()}/mtls-`);
    writeFileSync(`${dir}/client.crt`, client.certPem);
    writeFileSync(`${dir}/client.key`, client.keyPem);
    fwd = startForwarder(t.db, { ...base(), PROBECTL_SIEM_ENDPOINT: `${siem.url}/ingest`, PROBECTL_SIEM_STREAMS: 'audit', PROBECTL_SIEM_GZIP: 'true', PROBECTL_SIEM_CLIENT_CERT_FILE: `${dir}/client.crt`, PROBECTL_SIEM_CLIENT_KEY_FILE: `${dir}/client.key` });
    await siem.waitForDistinct(5);
    assert.ok(siem.requests.every((r) => r.gzip && r.clientCert === 'probectl-exporter'));
  });

  it('a renewed client certificate is used for the next connections without a restart', async () => {
    const { issueCertificate } = await import('../../src/core/x509.ts');
    const { writeFileSync, mkdtempSync, renameSync } = await import('node:fs');
    const { startSiemExport } = await import('../../src/siem/runtime.ts');
    const { SecretResolver } = await import('../../src/secrets/resolver.ts');
    const pino = (await import('pino')).default;
    const { Registry } = await import('prom-client');
    const { settingsFrom } = await import('./helpers/forwarder.ts');
    const clientCa = await issueCertificate({ commonName: 'client CA', isCa: true });
    const first = await issueCertificate({ commonName: 'exporter-2026', issuer: clientCa });
    const renewed = await issueCertificate({ commonName: 'exporter-2027', issuer: clientCa });
    siem = await startTestSiem({ clientCa: clientCa.certPem });
    const [tenant] = await makeTenants(t.db, 'mtls-renewal');
    const dir = mkdtempSync(`${(await import('node:os')).tmpdir()}/mtls-`);
    const write = (c: { certPem: string; keyPem: string }) => {
      writeFileSync(`${dir}/next.crt`, c.certPem);
      writeFileSync(`${dir}/next.key`, c.keyPem);
      renameSync(`${dir}/next.key`, `${dir}/client.key`);
      renameSync(`${dir}/next.crt`, `${dir}/client.crt`);
    };
    write(first);
    const settings = settingsFrom({ PROBECTL_SIEM_ENABLED: 'true', ...base(), PROBECTL_SIEM_ENDPOINT: `${siem.url}/ingest`, PROBECTL_SIEM_STREAMS: 'audit', PROBECTL_SIEM_POLL_INTERVAL: '100ms', PROBECTL_SIEM_CLIENT_CERT_FILE: `${dir}/client.crt`, PROBECTL_SIEM_CLIENT_KEY_FILE: `${dir}/client.key` });
    const secrets = new SecretResolver({ backends: [], leaseMs: 60_000 });
    const exporter = await startSiemExport(settings, { db: t.db, clock: systemClock, log: pino({ level: 'silent' }), registry: new Registry(), secrets, version: 'test', reloadIntervalMs: 100 });
    try {
      await audit(t, tenant!, 2);
      await siem.waitForDistinct(2);
      write(renewed);
      await new Promise((r) => setTimeout(r, 600));
      await audit(t, tenant!, 2);
      await siem.waitForDistinct(4);
      assert.equal(siem.requests[0]?.clientCert, 'exporter-2026');
      assert.equal(siem.requests.at(-1)?.clientCert, 'exporter-2027', 'the renewed certificate is presented');
    } finally {
      await exporter.stop();
      await secrets.close();
    }
  });

  it('a SIEM certificate that does not verify pauses the stream with an alarm; validation is never skipped', async () => {
    siem = await startTestSiem();
    const [tenant] = await makeTenants(t.db, 'untrusted');
    await audit(t, tenant!, 3);
    fwd = startForwarder(t.db, { PROBECTL_SIEM_TOKEN: siem.token, PROBECTL_SIEM_ENDPOINT: `${siem.url}/ingest`, PROBECTL_SIEM_STREAMS: 'audit' });
    await until('paused', () => fwd!.engine.liveStates().some((s) => s.paused && /TLS verification failed/.test(s.pausedReason ?? '')));
    assert.equal(siem.accepted.length, 0, 'nothing was sent to an unverified peer');
  });

  it('with the default poll interval, a new event reaches the SIEM within a couple of seconds (drainers wake on appends)', async () => {
    siem = await startTestSiem();
    const [tenant] = await makeTenants(t.db, 'latency');
    fwd = startForwarder(t.db, { ...base(), PROBECTL_SIEM_ENDPOINT: `${siem.url}/ingest`, PROBECTL_SIEM_POLL_INTERVAL: '1s' });
    await audit(t, tenant!, 1);
    await siem.waitForDistinct(1, 5000);
    await new Promise((r) => setTimeout(r, 1500));
    const started = Date.now();
    await audit(t, tenant!, 1);
    await siem.waitForDistinct(2, 5000);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });

  it('401 pauses the stream with an alarm and skips nothing; it resumes when the SIEM accepts again', async () => {
    siem = await startTestSiem();
    const [tenant] = await makeTenants(t.db, 'paused');
    await audit(t, tenant!, 10);
    for (let i = 0; i < 5; i++) siem.faults.push({ kind: 'status', status: 401, body: '{"error":"bad token"}' });
    fwd = startForwarder(t.db, { ...base(), PROBECTL_SIEM_PRESET: 'generic', PROBECTL_SIEM_ENDPOINT: `${siem.url}/ingest`, PROBECTL_SIEM_STREAMS: 'audit' });
    await until('paused', () => fwd!.engine.liveStates().some((s) => s.paused));
    assert.match(await fwd.registry.metrics(), new RegExp(`probectl_siem_paused\\{tenant="${tenant}",stream="audit"\\} 1`));
    await until('lag visible', async () => new RegExp(`probectl_siem_lag_events\\{tenant="${tenant}",stream="audit"\\} 10`).test(await fwd!.registry.metrics()));
    assert.match(await fwd.registry.metrics(), new RegExp(`probectl_siem_lag_seconds\\{tenant="${tenant}",stream="audit"\\} [0-9.]+`));
    await siem.waitForDistinct(10);
    await until('resumed', () => fwd!.engine.liveStates().every((s) => !s.paused));
    await until('caught up', async () => new RegExp(`probectl_siem_lag_events\\{tenant="${tenant}",stream="audit"\\} 0`).test(await fwd!.registry.metrics()));
    const metrics = await fwd.registry.metrics();
    assert.match(metrics, new RegExp(`probectl_siem_delivered_total\\{tenant="${tenant}",stream="audit"\\} 10`));
    assert.match(metrics, new RegExp(`probectl_siem_last_success_timestamp_seconds\\{tenant="${tenant}",stream="audit"\\} \\d+`));
    assert.match(metrics, new RegExp(`probectl_siem_paused\\{tenant="${tenant}",stream="audit"\\} 0`));
    assert.equal((await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 10))).length, 0, 'nothing parked or skipped');
  });
});
