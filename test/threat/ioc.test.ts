import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { pageAudit } from '../../src/audit/log.ts';
import { isProbectlError } from '../../src/core/errors.ts';
import { inTenant } from '../../src/store/scope.ts';
import { classifyIndicator, listIndicators, upsertIndicators } from '../../src/threat/indicators.ts';
import { matchObservations } from '../../src/threat/ioc.ts';
import { parseIndicatorFile } from '../../src/threat/ioc-file.ts';
import { IocFileLoader } from '../../src/threat/ioc-loader.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';
import { makeTenants, manualClock } from '../helpers/tenants.ts';

describe(`IOC matcher (${process.env.PROBECTL_TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let t: TestDb;
  let a: string;
  let b: string;
  const clock = manualClock();

  before(async () => {
    t = await openTestDb();
    [a, b] = (await makeTenants(t.db, 'ioc-a', 'ioc-b')) as [string, string];
    await inTenant(t.db, a, (tx) => upsertIndicators(tx, 'api', [
      { value: '203.0.113.7', confidence: 95, source: 'feed-x' },
      { value: '198.51.100.0/24', confidence: 60, source: 'feed-y' },
      { value: '2001:db8:bad::/48', confidence: 40, source: 'feed-z', severity: 'critical' },
      { value: 'evil.example', confidence: 85, source: 'feed-x' },
    ], new Date(clock.now())));
    await inTenant(t.db, b, (tx) => upsertIndicators(tx, 'api', [{ value: '192.0.2.1', confidence: 99, source: 'b-feed' }], new Date(clock.now())));
  });
  after(() => t?.close());

  it('classifies indicators', () => {
    assert.equal(classifyIndicator('203.0.113.7')?.kind, 'ip');
    assert.equal(classifyIndicator('2001:db8::1')?.kind, 'ip');
    assert.equal(classifyIndicator('10.0.0.0/8')?.kind, 'cidr');
    assert.equal(classifyIndicator('Evil.Example.')?.value, 'evil.example');
    for (const bad of ['10.0.0.0/33', 'not a domain', '300.1.1.1', '', 'a..b']) assert.equal(classifyIndicator(bad), undefined, bad);
  });

  it('matches exact IPs, CIDR ranges (v4 and v6), domains and their subdomains, carrying confidence and source', async () => {
    const signals = await inTenant(t.db, a, (tx) => matchObservations(tx, [
      { src_ip: '10.1.1.1', dst_ip: '203.0.113.7', agent: 'probe-1' },
      { dst_ip: '198.51.100.200' },
      { src_ip: '2001:db8:bad:1::5' },
      { domain: 'cdn.EVIL.example' },
      { url: 'https://login.evil.example/path?x=1' },
      { domain: 'notevil.example', dst_ip: '192.0.2.1' },
    ]));
    const got = signals.map((s) => [s.target, s.confidence, (s.attributes as { source: string }).source, s.severity]);
    assert.deepEqual(got, [
      ['203.0.113.7', 95, 'feed-x', 'critical'],
      ['198.51.100.200', 60, 'feed-y', 'warning'],
      ['2001:db8:bad:1::5', 40, 'feed-z', 'critical'],
      ['cdn.evil.example', 85, 'feed-x', 'critical'],
      ['login.evil.example', 85, 'feed-x', 'critical'],
    ]);
    assert.ok(signals.every((s) => s.kind === 'ioc.match'));
    assert.equal((signals[0]?.attributes as { observation: { agent: string } }).observation.agent, 'probe-1');
  });

  it('never matches another tenant\'s indicators', async () => {
    const signals = await inTenant(t.db, b, (tx) => matchObservations(tx, [{ dst_ip: '203.0.113.7', domain: 'evil.example' }]));
    assert.equal(signals.length, 0);
  });

  it('parses indicator files and refuses a bad line without echoing it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ioc-'));
    const good = join(dir, 'good.txt');
    writeFileSync(good, '# feed\n203.0.113.9, 70, my-feed\n\nbad.example\n10.0.0.0/8,20 # internal\n');
    assert.deepEqual(parseIndicatorFile(good), [
      { value: '203.0.113.9', confidence: 70, source: 'my-feed' },
      { value: 'bad.example', confidence: 50, source: 'good.txt' },
      { value: '10.0.0.0/8', confidence: 20, source: 'good.txt' },
    ]);
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, 'ok.example\nsupersecretvalue!!\n');
    assert.throws(() => parseIndicatorFile(bad), (err) => isProbectlError(err, 'PROBECTL_ERR_IOC_FILE') && /line 2/.test(err.message) && !err.message.includes('supersecret'));
  });

  it('the file loader replaces a file\'s set on change, keeps it on a bad change, and audits loads', async () => {
    const [c] = await makeTenants(t.db, 'ioc-file');
    const dir = mkdtempSync(join(tmpdir(), 'ioc-'));
    const path = join(dir, 'feed.txt');
    writeFileSync(path, 'one.example\ntwo.example\n');
    const loader = new IocFileLoader({ sources: [{ tenantId: c!, path }], intervalMs: 60_000, db: t.db, clock, log: pino({ level: 'silent' }) });
    await loader.runNow();
    const values = async () => (await inTenant(t.db, c!, (tx) => listIndicators(tx, 100))).map((i) => i.value);
    assert.deepEqual(await values(), ['one.example', 'two.example']);
    writeFileSync(path, 'two.example\nthree.example\n# grown\n');
    await loader.runNow();
    assert.deepEqual(await values(), ['three.example', 'two.example']);
    writeFileSync(path, 'two.example\n!!!\n# broken edit\n');
    await loader.runNow();
    assert.deepEqual(await values(), ['three.example', 'two.example'], 'a broken file keeps the previous set');
    const audit = await inTenant(t.db, c!, (tx) => pageAudit(tx, 0, 10));
    assert.deepEqual(audit.map((e) => [e.action, e.data.count]), [['indicators.load', 2], ['indicators.load', 2]]);
  });
});
