import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '../../src/core/clock.ts';
import { isProbectlError } from '../../src/core/errors.ts';
import { insertTenant } from '../../src/identity/tenants.ts';
import type { NotifySettings } from '../../src/notify/config/vars.ts';
import { startNotify } from '../../src/notify/runtime.ts';
import { SecretResolver } from '../../src/secrets/resolver.ts';
import { loadConfig } from '../../src/settings.ts';
import { inSystem } from '../../src/store/scope.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';

describe('on-call start: tenants must exist', () => {
  let t: TestDb;
  let known: string;
  before(async () => {
    t = await openTestDb();
    known = await inSystem(t.db, async (tx) => (await insertTenant(tx, 'known')).id);
  });
  after(() => t?.close());

  it('a connector or inbound credential naming a tenant that does not exist refuses startup, naming each entry', async () => {
    const missing = '0f1e2d3c-4b5a-4987-8654-3210fedcba98';
    const settings = loadConfig({
      PROBECTL_DATA_DIR: '/tmp/probectl-notify-runtime',
      PROBECTL_NOTIFY_CONNECTORS: `${known}|webhook|https://hooks.example/a|cnry-secret-1,${missing}|webhook|https://hooks.example/b|cnry-secret-2`,
      PROBECTL_NOTIFY_INBOUND: `in1:${missing}:webhook:cnry-secret-3`,
    }).integrations.notify as NotifySettings;
    const secrets = new SecretResolver({ backends: [], leaseMs: 60_000 });
    after(() => secrets.close());
    await assert.rejects(startNotify(settings, { db: t.db, clock: systemClock, log: pino({ level: 'silent' }), registry: new Registry(), secrets, version: 'test', background: false }), (err: unknown) => {
      assert.ok(isProbectlError(err, 'PROBECTL_ERR_CONFIG_INVALID'), String(err));
      assert.match(err.message, new RegExp(`PROBECTL_NOTIFY_CONNECTORS: entry 2 \\(webhook\\): tenant ${missing} does not exist`));
      assert.match(err.message, new RegExp(`PROBECTL_NOTIFY_INBOUND: entry 1 "in1" \\(webhook\\): tenant ${missing} does not exist`));
      assert.doesNotMatch(err.message, new RegExp(known));
      assert.doesNotMatch(err.message, /cnry-secret/);
      return true;
    });
  });
});
