/**
 * The server on PostgreSQL reads the metrics store's time off the database's clock
 * (store/db-clock.ts), whatever this host's clock says: a replica whose clock is 150 s behind
 * still federates a sample written just now, and says in its log that its clock is off.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestApp } from '../helpers/app.ts';
import { remoteWrite } from '../helpers/remote-write.ts';

describe('metrics on PostgreSQL: the database\'s clock', () => {
  it('a replica 150 s behind federates a sample written now and warns of its clock', async (t) => {
    if (!process.env.PROBECTL_TEST_DATABASE_URL) throw new Error('this suite needs PROBECTL_TEST_DATABASE_URL (run it through npm run test:pg)');
    const realNow = Date.now;
    // This host's clock 150 s behind the database's (Date.now is what systemClock reads).
    Date.now = () => realNow() - 150_000;
    t.after(() => { Date.now = realNow; });
    const app = await startTestApp();
    t.after(() => app.close());
    const tenant = (await app.request('POST', '/v1/tenants', { token: app.adminToken, body: { name: 'clock' } })).json.id as string;
    const token = (await app.request('POST', '/v1/tokens', { token: app.adminToken, body: { tenant, permissions: ['metrics-read', 'metrics-write'], name: 't' } })).json.token as string;
    const sampleAt = Math.floor(realNow() / 1000) * 1000;
    assert.equal((await remoteWrite(app, token, [{ labels: { __name__: 'clock_probe' }, samples: [[sampleAt, 7]] }])).status, 204);
    // On this host's own clock the sample is 150 s in the future: outside federation's 5-minute lookback ending now − 150 s.
    const fed = await app.request('GET', `/v1/prometheus/federate?match[]=${encodeURIComponent('clock_probe')}`, { token });
    assert.equal(fed.status, 200);
    assert.match(fed.text, new RegExp(`^clock_probe\\{[^}]*\\} 7 ${sampleAt}$`, 'm'));
    const warned = app.logs.map((l) => JSON.parse(l) as { msg?: string; offset_ms?: number }).find((l) => l.msg?.includes('clock is 150 s behind'));
    assert.ok(warned && Math.abs((warned.offset_ms as number) - 150_000) < 2_000, 'the log says how far this host\'s clock is off');
  });
});
