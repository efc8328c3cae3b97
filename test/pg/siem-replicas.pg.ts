import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { appendAudit } from '../../src/audit/log.ts';
import { bootstrap } from '../../src/identity/bootstrap.ts';
import { insertTenant } from '../../src/identity/tenants.ts';
import { migrate } from '../../src/store/migrate.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { inSystem } from '../../src/store/scope.ts';
import { freshDatabaseUrl } from '../helpers/app.ts';
import { serve, type ServerProcess } from '../helpers/process.ts';
import { seedAuditChain } from '../helpers/seed.ts';
import { caFile } from '../siem/helpers/forwarder.ts';
import { startTestSiem, type TestSiem } from '../siem/servers/test-siem.ts';
import { databaseEnv } from '../helpers/keys.ts';

const PER_TENANT = 5000;

/**
 * Two server processes on one PostgreSQL drain four tenants: each tenant
 * stream is delivered by exactly one of them at a time (advisory locks), the
 * tenants spread over both, and no event is delivered by both.
 */
describe('two replicas on one PostgreSQL', () => {
  let siem: TestSiem;
  let database: { url: string; drop(): Promise<void> };
  const servers: ServerProcess[] = [];
  const dirs: string[] = [];
  let tenants: string[] = [];

  before(async () => {
    if (!process.env.PROBECTL_TEST_DATABASE_URL) throw new Error('this suite needs PROBECTL_TEST_DATABASE_URL (run it through npm run test:pg)');
    database = (await freshDatabaseUrl())!;
    const db = await openPostgres({ connectionString: database.url, poolSize: 4 });
    try {
      await migrate(db);
      const dir = mkdtempSync(join(tmpdir(), 'probectl-replica-'));
      dirs.push(dir);
      await bootstrap(db, systemClock, { tenantName: 'default', adminTokenPath: join(dir, 'admin-token'), audit: appendAudit });
      tenants = await inSystem(db, async (tx) => {
        const ids: string[] = [];
        for (const n of ['r1', 'r2', 'r3', 'r4']) ids.push((await insertTenant(tx, `replica-${n}`)).id);
        return ids;
      });
    } finally {
      await db.close();
    }
    siem = await startTestSiem({ ack: true });
  });
  after(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    await siem?.close();
    await database?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('no event is delivered by both; every event arrives; both replicas work', async () => {
    const ca = caFile(siem.caPem);
    const start = () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'probectl-replica-'));
      dirs.push(dataDir);
      return serve({
        PROBECTL_DATA_DIR: dataDir, PROBECTL_LISTEN: '127.0.0.1:0', PROBECTL_LOG_LEVEL: 'info', ...databaseEnv(database.url),
        PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_PRESET: 'splunk', PROBECTL_SIEM_ENDPOINT: `${siem.url}/services/collector/raw`,
        PROBECTL_SIEM_TOKEN: siem.token, PROBECTL_SIEM_CA_FILE: ca, PROBECTL_SIEM_SPLUNK_ACK: 'true', PROBECTL_SIEM_BATCH_SIZE: '200',
        PROBECTL_SIEM_STREAMS: 'audit', PROBECTL_SIEM_REBALANCE_INTERVAL: '1s',
      });
    };
    // Both are stopped by after() even if only one of them started.
    const started = await Promise.allSettled([start(), start()]);
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    // Let both replicas announce themselves and settle on their shares, then write the events.
    await new Promise((r) => setTimeout(r, 3500));
    const db = await openPostgres({ connectionString: database.url, poolSize: 4 });
    try {
      for (const t of tenants) await seedAuditChain(db, t, PER_TENANT);
    } finally {
      await db.close();
    }
    const ofSeeded = () => siem.accepted.filter((r) => r.tenant !== undefined && tenants.includes(r.tenant));
    const end = Date.now() + 120_000;
    while (new Set(ofSeeded().map((r) => r.id)).size < tenants.length * PER_TENANT) {
      assert.ok(Date.now() < end, `receiver holds ${new Set(ofSeeded().map((r) => r.id)).size} of ${tenants.length * PER_TENANT}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const all = ofSeeded();
    assert.equal(all.length, tenants.length * PER_TENANT, 'no event was delivered twice (by both replicas or by one)');
    const channels = new Set(siem.requests.filter((r) => r.path.startsWith('/services/collector/raw')).map((r) => r.channel));
    assert.equal(channels.size, 2, 'both replicas delivered (each has its own HEC channel)');
  });
});
