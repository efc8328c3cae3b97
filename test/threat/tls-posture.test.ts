import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { listIncidents, pageSignals } from '../../src/incidents/incidents.ts';
import { inTenant } from '../../src/store/scope.ts';
import { PostureScheduler } from '../../src/threat/posture-scheduler.ts';
import { checkTlsPosture } from '../../src/threat/tls-posture.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';
import { makeTenants, manualClock } from '../helpers/tenants.ts';
import { days, leaf, testCa, tlsServer, type TlsTestServer } from '../helpers/tls.ts';

describe('TLS posture check against loopback servers', () => {
  const servers: Record<string, TlsTestServer> = {};
  let extraCa: string;
  const now = Date.now();

  before(async () => {
    extraCa = (await testCa()).certPem;
    servers.good = await tlsServer(await leaf());
    servers.expired = await tlsServer(await leaf({ notBefore: new Date(now - days(30)), notAfter: new Date(now - days(1)) }));
    // A minute short of 5 days: the certificate keeps whole seconds (its notAfter may round up past now + 5 days, 5 days left, not 4).
    servers.expiring = await tlsServer(await leaf({ notAfter: new Date(now + days(5) - 60_000) }));
    servers.selfSigned = await tlsServer(await leaf({ selfSigned: true }));
    servers.wrongHost = await tlsServer(await leaf({ names: ['other.example'] }));
    servers.legacy = await tlsServer(await leaf(), { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    servers.legacyToo = await tlsServer(await leaf(), { minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
  });
  after(async () => {
    for (const s of Object.values(servers)) await s.close();
  });

  const kinds = async (name: string, servername = 'localhost') => {
    const report = await checkTlsPosture({ host: '127.0.0.1', port: servers[name]!.port, servername }, { now, expiryDays: 14, extraCa });
    assert.equal(report.reachable, true, report.error);
    return report.findings.map((f) => f.kind).sort();
  };

  it('a valid certificate from a trusted CA on TLS ≥ 1.2 has no findings', async () => {
    assert.deepEqual(await kinds('good'), []);
  });

  it('an expired certificate is tls.expired (critical)', async () => {
    const report = await checkTlsPosture({ host: '127.0.0.1', port: servers.expired!.port, servername: 'localhost' }, { now, expiryDays: 14, extraCa });
    assert.deepEqual(report.findings.map((f) => [f.kind, f.severity, f.confidence]), [['tls.expired', 'critical', 100]]);
    assert.equal(report.findings[0]?.target, `127.0.0.1:${servers.expired!.port}`);
  });

  it('a certificate expiring within N days is tls.expiring with days left', async () => {
    const report = await checkTlsPosture({ host: '127.0.0.1', port: servers.expiring!.port, servername: 'localhost' }, { now, expiryDays: 14, extraCa });
    assert.deepEqual(report.findings.map((f) => f.kind), ['tls.expiring']);
    assert.equal((report.findings[0]?.attributes as { days_left: number }).days_left, 4);
    assert.deepEqual((await checkTlsPosture({ host: '127.0.0.1', port: servers.expiring!.port, servername: 'localhost' }, { now, expiryDays: 3, extraCa })).findings, []);
  });

  it('a self-signed certificate is tls.self_signed; without the private CA a chain is tls.untrusted_chain', async () => {
    assert.deepEqual(await kinds('selfSigned'), ['tls.self_signed']);
    const noCa = await checkTlsPosture({ host: '127.0.0.1', port: servers.good!.port, servername: 'localhost' }, { now, expiryDays: 14 });
    assert.deepEqual(noCa.findings.map((f) => f.kind), ['tls.untrusted_chain']);
  });

  it('a certificate for another name is tls.hostname_mismatch', async () => {
    assert.deepEqual(await kinds('wrongHost'), ['tls.hostname_mismatch']);
  });

  it('a server that negotiates, or still accepts, a protocol below TLS 1.2 is tls.weak_protocol', async () => {
    assert.deepEqual(await kinds('legacy'), ['tls.weak_protocol']);
    assert.deepEqual(await kinds('legacyToo'), ['tls.weak_protocol']);
  });

  it('an unreachable endpoint is reported as such, not as a finding', async () => {
    const s = await tlsServer(await leaf());
    const port = s.port;
    await s.close();
    const report = await checkTlsPosture({ host: '127.0.0.1', port }, { now, expiryDays: 14, extraCa, timeoutMs: 2000 });
    assert.equal(report.reachable, false);
    assert.deepEqual(report.findings, []);
  });

  describe(`scheduler → signals → incidents (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
    let t: TestDb;
    before(async () => {
      t = await openTestDb();
    });
    after(() => t?.close());

    it('emits findings as signals into the target\'s tenant once, correlated into one incident per endpoint', async () => {
      const [tenant, other] = await makeTenants(t.db, 'posture', 'posture-other');
      const clock = manualClock(now);
      const { writeFileSync, mkdtempSync } = await import('node:fs');
      const dir = mkdtempSync(`${(await import('node:os')).tmpdir()}/ca-`);
      writeFileSync(`${dir}/ca.pem`, extraCa);
      const scheduler = new PostureScheduler({
        targets: [
          { tenantId: tenant!, host: '127.0.0.1', port: servers.expired!.port, servername: 'localhost' },
          { tenantId: tenant!, host: '127.0.0.1', port: servers.good!.port, servername: 'localhost' },
          { tenantId: tenant!, host: '127.0.0.1', port: servers.wrongHost!.port, servername: 'localhost' },
        ],
        intervalMs: 3_600_000, expiryDays: 14, caFile: `${dir}/ca.pem`, clock, log: pino({ level: 'silent' }),
        ingest: { db: t.db, clock, incidentWindowMs: 86_400_000 },
      });
      await scheduler.runNow();
      await scheduler.runNow();
      const signals = await inTenant(t.db, tenant!, (tx) => pageSignals(tx, 0, 100));
      assert.deepEqual(signals.map((s) => s.kind).sort(), ['tls.expired', 'tls.hostname_mismatch'], 'an unchanged finding is not re-sent every interval');
      const { incidents } = await inTenant(t.db, tenant!, (tx) => listIncidents(tx, { limit: 10 }));
      assert.equal(incidents.length, 2);
      assert.equal((await inTenant(t.db, other!, (tx) => pageSignals(tx, 0, 100))).length, 0);
      clock.advance(25 * 3_600_000);
      await scheduler.runNow();
      assert.equal((await inTenant(t.db, tenant!, (tx) => pageSignals(tx, 0, 100))).length, 4, 'a persisting finding is re-sent daily');
    });
  });
});
