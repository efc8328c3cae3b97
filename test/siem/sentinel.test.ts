import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { SiemEvent } from '../../src/siem/event.ts';
import { DCR_COLUMNS, dcrBatch } from '../../src/siem/formatters/dcr.ts';
import { buildTarget } from '../../src/siem/targets/build.ts';
import type { Target } from '../../src/siem/targets/types.ts';
import { testCa } from '../helpers/tls.ts';
import { startEntra, type EntraServer } from '../secrets/servers/entra.ts';
import { siemEvent } from './helpers/arb.ts';
import { caFile, settingsFrom, startForwarder, until } from './helpers/forwarder.ts';
import { appendAudit } from '../../src/audit/log.ts';
import { systemClock } from '../../src/core/clock.ts';
import { listParked } from '../../src/delivery/ledger.ts';
import { inTenant } from '../../src/store/scope.ts';
import { openTestDb } from '../helpers/db.ts';
import { makeTenants } from '../helpers/tenants.ts';
import { deliverWithin, pausesWith } from './helpers/deliver.ts';
import { MAX_CALL_BYTES, startDcr, type DcrColumnType, type DcrServer } from './servers/azure-dcr.ts';
import { OPTS, stressEvents } from './fixtures.ts';
import { parseJson } from '../../src/core/json.ts';

/** The stream declaration operators paste from docs/siem.md: the DCR stand-in enforces exactly it. */
function docsDeclaration(): { name: string; type: DcrColumnType }[] {
  const md = readFileSync(new URL('../../docs/siem.md', import.meta.url), 'utf8');
  const block = [...md.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => m[1] as string).find((b) => b.includes('"streamDeclarations"'));
  assert.ok(block, 'docs/siem.md shows the DCR');
  const dcr = parseJson(block) as { properties: { streamDeclarations: Record<string, { columns: { name: string; type: DcrColumnType }[] }>; dataFlows: { streams: string[]; outputStream: string; transformKql: string }[] } };
  assert.deepEqual(Object.keys(dcr.properties.streamDeclarations), ['Custom-ProbectlEvents']);
  assert.deepEqual(dcr.properties.dataFlows.map((f) => [f.streams, f.outputStream, f.transformKql]), [[['Custom-ProbectlEvents'], 'Custom-ProbectlEvents_CL', 'source']]);
  return dcr.properties.streamDeclarations['Custom-ProbectlEvents']!.columns;
}

/** A delivery with a deadline, recording what the engine was told. */

function withAttrs(events: readonly SiemEvent[], attributes: (i: number) => Record<string, string>): SiemEvent[] {
  return events.map((e, i) => ({ ...e, seq: 1000 + i, id: `${e.id.slice(0, 24)}${String(i).padStart(12, '0')}`, attributes: attributes(i) }));
}

describe('Microsoft Sentinel: the Logs Ingestion API', () => {
  let entra: EntraServer;
  let dcr: DcrServer;
  let ca: string;
  let secret: string;
  const targets: Target[] = [];

  before(async () => {
    entra = await startEntra();
    dcr = await startDcr({ entra, columns: docsDeclaration() });
    ca = caFile((await testCa()).certPem);
    secret = entra.secret;
  });
  after(async () => {
    for (const t of targets) await t.close();
    await dcr?.close();
    await entra?.close();
  });

  function target(env: Record<string, string> = {}): Target {
    const settings = settingsFrom({
      PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_PRESET: 'sentinel', PROBECTL_SIEM_ENDPOINT: dcr.streamUrl, PROBECTL_SIEM_CA_FILE: ca,
      PROBECTL_SIEM_AZURE_TENANT_ID: entra.tenantId, PROBECTL_SIEM_AZURE_CLIENT_ID: entra.clientId, PROBECTL_SIEM_AZURE_AUTHORITY_HOST: entra.authorityHost,
      PROBECTL_SIEM_TOKEN: 'env:SENTINEL_CLIENT_SECRET', PROBECTL_SIEM_TIMEOUT: '5s', ...env,
    });
    // The client secret is a reference, resolved at each sign-in: a test may rotate it.
    const t = buildTarget(settings, OPTS, async () => secret);
    targets.push(t);
    return t;
  }

  it('docs/siem.md declares exactly the dcr columns, in the table command and the DCR alike', () => {
    const declared = docsDeclaration();
    assert.deepEqual(declared, DCR_COLUMNS.map((c) => ({ name: c.name, type: c.type })));
    const md = readFileSync(new URL('../../docs/siem.md', import.meta.url), 'utf8');
    const table = /--columns \\\n([\s\S]*?)\naz monitor data-collection endpoint/.exec(md)?.[1]?.replace(/\\\n/g, ' ').trim().split(/\s+/);
    assert.deepEqual(table, DCR_COLUMNS.map((c) => `${c.name}=${c.type}`));
  });

  it('any event makes a record of declared columns and types (the stand-in would take it)', () => {
    const types = new Map(docsDeclaration().map((c) => [c.name, c.type]));
    fc.assert(fc.property(siemEvent, (e) => {
      const [record] = parseJson(dcrBatch([e], OPTS).toString('utf8')) as Record<string, unknown>[];
      for (const [k, v] of Object.entries(record!)) {
        const type = types.get(k);
        assert.ok(type, k);
        if (type === 'datetime') assert.match(v as string, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/);
        if (type === 'long' || type === 'int') assert.ok(Number.isSafeInteger(v));
        if (type === 'dynamic') assert.equal(typeof v, 'object');
        if (type === 'string') assert.equal(typeof v, 'string');
      }
      assert.ok('TimeGenerated' in record!);
    }), { numRuns: 200 });
  });

  it('delivers every event as a record of the declared stream with a cached Entra token for monitor.azure.com', async () => {
    const events = stressEvents();
    const tokensBefore = entra.tokenRequests.length;
    const t = target();
    const first = await deliverWithin(t, events.slice(0, 6));
    const second = await deliverWithin(t, events.slice(6));
    assert.deepEqual([first.parked, second.parked, first.paused, second.paused], [[], [], [], []]);
    assert.deepEqual(dcr.accepted.slice(-events.length).map((r) => r.EventId), events.map((e) => e.id));
    const rec = dcr.accepted.find((r) => r.EventId === events[2]!.id)!;
    assert.deepEqual([rec.Tenant, rec.Category, rec.Seq, rec.Hash, rec.Host], [events[2]!.tenant, 'audit', 3, (events[2] as { hash: string }).hash, OPTS.hostname]);
    assert.deepEqual(rec.Attributes, events[2]!.attributes);
    const tokenRequests = entra.tokenRequests.slice(tokensBefore);
    assert.deepEqual(tokenRequests.map((r) => [r.grantType, r.clientId, r.scope, r.status]), [['client_credentials', entra.clientId, 'https://monitor.azure.com/.default', 200]], 'one token, reused for both batches');
    const last = dcr.requests.at(-1)!;
    assert.equal(last.status, 204);
    assert.ok(last.path.endsWith(`/dataCollectionRules/${dcr.dcr}/streams/Custom-ProbectlEvents?api-version=2023-01-01`));
  });

  it('splits a batch into calls of at most 1 MB and parks a record that cannot fit one, or whose column Azure would truncate', async () => {
    const base = stressEvents().slice(0, 4);
    // 28 records of ~50 kB: about 1.4 MB, more than one call can carry.
    const big = withAttrs(Array.from({ length: 28 }, (_, i) => base[i % 4]!), (i) => ({ blob: `${i}-${'x'.repeat(50_000)}` }));
    const wide = { ...base[1]!, seq: 5000, id: '5e5e5e5e-5e5e-5e5e-9e5e-5e5e5e5e5e5e', message: 'm'.repeat(70_000) };
    const events = [...big.slice(0, 10), wide, ...big.slice(10)];
    const before = dcr.requests.length;
    const { parked } = await deliverWithin(target(), events);
    const calls = dcr.requests.slice(before);
    assert.ok(calls.length >= 2, `a 1.4 MB batch took ${calls.length} calls`);
    assert.ok(calls.every((c) => c.status === 204 && c.bytes <= 900_000 && c.bytes <= MAX_CALL_BYTES), calls.map((c) => `${c.status}:${c.bytes}`).join(' '));
    assert.deepEqual(parked.map((p) => p.seq), [5000]);
    assert.match(parked[0]!.reason, /column Message holds 70000 bytes; the Logs Ingestion API keeps at most 65536 bytes of a value and would truncate it/);
    const counts = new Map<unknown, number>();
    for (const r of dcr.accepted) counts.set(r.EventId, (counts.get(r.EventId) ?? 0) + 1);
    assert.ok(big.every((e) => counts.get(e.id) === 1), 'every record once, none sent twice');

    // With a smaller request size, a record that cannot fit one request alone is parked, never cut.
    const tooBig = { ...base[2]!, seq: 4000, id: '4d4d4d4d-4d4d-5d4d-8d4d-4d4d4d4d4d4d', message: 'q'.repeat(60_000), attributes: { a: 'r'.repeat(60_000) } };
    const small = await deliverWithin(target({ PROBECTL_SIEM_BATCH_BYTES: '100000' }), [...big.slice(0, 2), tooBig]);
    assert.deepEqual(small.parked.map((p) => p.seq), [4000]);
    assert.match(small.parked[0]!.reason, /a record of 120\d{3} bytes does not fit a request of at most 100000 bytes/);
  });

  it('a throttled or failing later call is retried alone: acknowledged calls are not sent again', async () => {
    const base = stressEvents().slice(0, 4);
    const events = withAttrs(Array.from({ length: 24 }, (_, i) => base[i % 4]!), (i) => ({ blob: `p${i}-${'z'.repeat(50_000)}` })).map((e, i) => ({ ...e, seq: 7000 + i, id: `7a7a7a7a-7a7a-5a7a-8a7a-${String(i).padStart(12, '0')}` }));
    const before = dcr.requests.length;
    // The first call goes through; the second meets 429 with Retry-After: 1, then a 503.
    dcr.faults.push('pass', { status: 429, retryAfter: '1' }, { status: 503 });
    const { parked, retries } = await deliverWithin(target(), events);
    assert.deepEqual(parked, []);
    assert.deepEqual(dcr.faults, []);
    const calls = dcr.requests.slice(before).map((c) => c.status);
    assert.deepEqual(calls, [204, 429, 503, 204], 'the first call was not repeated');
    assert.ok(retries.some((r) => r.delayMs >= 1000), `Retry-After honoured: ${JSON.stringify(retries)}`);
    const counts = new Map<unknown, number>();
    for (const r of dcr.accepted) counts.set(r.EventId, (counts.get(r.EventId) ?? 0) + 1);
    assert.ok(events.every((e) => counts.get(e.id) === 1), 'every event exactly once');
  });

  /** 24 records of ~50 kB (two calls of at most 1 MB), each with its own seq and id. */
  function twoCalls(from: number): SiemEvent[] {
    const base = stressEvents().slice(0, 4);
    return withAttrs(Array.from({ length: 24 }, (_, i) => base[i % 4]!), (i) => ({ blob: `q${from}-${i}-${'y'.repeat(50_000)}` }))
      .map((e, i) => ({ ...e, seq: from + i, id: `${String(from).padStart(8, '0')}-7b7b-5b7b-8b7b-${String(i).padStart(12, '0')}` }));
  }
  const acceptedCounts = () => {
    const counts = new Map<unknown, number>();
    for (const r of dcr.accepted) counts.set(r.EventId, (counts.get(r.EventId) ?? 0) + 1);
    return counts;
  };

  it('403 on a later call of a batch pauses the stream like 403 on the first; the accepted call is not sent again, the rest arrives once', async () => {
    const events = twoCalls(81_000);
    const before = dcr.requests.length;
    // The first call is accepted; the second is refused (the app lost its role on the DCR), then accepted.
    dcr.faults.push('pass', { status: 403 });
    const { parked, paused, resumed } = await deliverWithin(target(), events);
    assert.deepEqual([parked, dcr.faults], [[], []]);
    const calls = dcr.requests.slice(before);
    assert.deepEqual(calls.map((c) => c.status), [204, 403, 204], 'the refused call is retried alone: the first is not sent again');
    assert.equal(calls[0]!.records + calls[2]!.records, events.length);
    assert.equal(calls[1]!.records, 0);
    const counts = acceptedCounts();
    assert.ok(events.every((e) => counts.get(e.id) === 1), 'every event exactly once');
    // The same alarm as a refused first call: one pause with the refusal, lifted once Azure accepts.
    assert.equal(paused.length, 1);
    assert.match(paused[0]!, /^HTTP 403: the SIEM refused the credentials$/);
    assert.equal(resumed, 1);
    dcr.faults.push({ status: 403 });
    const first = await deliverWithin(target(), twoCalls(82_000).slice(0, 2));
    assert.deepEqual([first.paused, first.resumed], [paused, 1], 'a refused first call raises the same alarm');
  });

  it('the engine: 403 on a later call raises the stream\'s pause alarm (status, probectl_siem_paused) and every audit event is delivered and counted once', async () => {
    const t = await openTestDb();
    const [tenant] = await makeTenants(t.db, 'later-call');
    await inTenant(t.db, tenant!, async (tx) => {
      for (let i = 0; i < 20; i++) await appendAudit(tx, systemClock, { actor: 'token:t', action: 'config.change', target: `obj:${i}`, outcome: 'success', data: { i, pad: 'p'.repeat(1000) } });
    });
    const before = dcr.requests.length;
    // Calls of at most 4 kB: the batch of twenty takes about ten. Each attempt's first call is accepted and its
    // second refused (403: a role lost between the calls), eight times over: only later calls are ever refused.
    dcr.faults.push(...Array.from({ length: 8 }, () => ['pass', { status: 403 }] as const).flat());
    const fwd = startForwarder(t.db, {
      PROBECTL_SIEM_PRESET: 'sentinel', PROBECTL_SIEM_ENDPOINT: dcr.streamUrl, PROBECTL_SIEM_CA_FILE: ca, PROBECTL_SIEM_STREAMS: 'audit', PROBECTL_SIEM_BATCH_BYTES: '4096',
      PROBECTL_SIEM_AZURE_TENANT_ID: entra.tenantId, PROBECTL_SIEM_AZURE_CLIENT_ID: entra.clientId, PROBECTL_SIEM_AZURE_AUTHORITY_HOST: entra.authorityHost, PROBECTL_SIEM_TOKEN: 'env:SENTINEL_CLIENT_SECRET',
    }, { token: secret });
    const metric = (name: string) => new RegExp(`probectl_siem_${name}\\{tenant="${tenant}",stream="audit"\\} (\\d+)`);
    try {
      // Status and metric seen together while paused.
      await until('paused', async () => fwd.engine.liveStates().some((s) => s.tenant === tenant && s.paused && s.pausedReason === 'HTTP 403: the SIEM refused the credentials')
        && metric('paused').exec(await fwd.registry.metrics())?.[1] === '1', 15_000);
      assert.ok(fwd.logs.some((l) => /"level":50/.test(l) && l.includes('"reason":"HTTP 403: the SIEM refused the credentials"')), 'the pause logged as an error');
      await until('caught up', async () => metric('delivered_total').exec(await fwd.registry.metrics())?.[1] === '20');
      await until('resumed', () => fwd.engine.liveStates().every((s) => !s.paused));
      const metrics = await fwd.registry.metrics();
      assert.equal(metric('paused').exec(metrics)?.[1], '0');
      assert.equal(metric('delivered_total').exec(metrics)?.[1], '20', 'counted once');
      assert.deepEqual(dcr.faults, []);
      const calls = dcr.requests.slice(before).map((c) => c.status);
      assert.deepEqual(calls.slice(0, 4), [204, 403, 204, 403]);
      assert.equal(calls.filter((c) => c === 403).length, 8);
      const mine = dcr.accepted.filter((r) => r.Tenant === tenant);
      assert.equal(mine.length, 20, 'every audit event arrived once: accepted calls were not sent again');
      assert.equal(new Set(mine.map((r) => r.EventId)).size, 20);
      assert.equal((await inTenant(t.db, tenant!, (tx) => listParked(tx, 'siem', 20))).length, 0, 'nothing parked or dropped');
    } finally {
      await fwd.engine.stop();
      await t.close();
    }
  });

  it('401 and 403 pause the stream (nothing parked) and it resumes once Azure accepts; a 401 is first tried once with a fresh token', async () => {
    const before = dcr.requests.length;
    const tokensBefore = entra.tokenRequests.length;
    dcr.faults.push({ status: 401 }, { status: 401 }, { status: 403 });
    const { parked, paused, resumed } = await deliverWithin(target(), stressEvents().slice(0, 2));
    assert.deepEqual(parked, []);
    assert.equal(paused.length, 1);
    assert.match(paused[0]!, /HTTP 401/);
    assert.equal(resumed, 1);
    const calls = dcr.requests.slice(before);
    assert.deepEqual(calls.map((c) => c.status), [401, 401, 403, 204]);
    assert.notEqual(calls[1]!.authorization, calls[0]!.authorization, 'the 401 dropped the token: the call was sent again with a fresh one');
    assert.deepEqual(calls.slice(2).map((c) => c.authorization), [calls[1]!.authorization, calls[1]!.authorization], 'the fresh token refused too is not refreshed at each retry');
    assert.deepEqual(entra.tokenRequests.slice(tokensBefore).map((r) => r.status), [200, 200]);
  });

  it('a token revoked between two calls of a batch: the 401 drops the cached token and the call is sent once more with a fresh one — no pause, nothing sent twice', async () => {
    const events = twoCalls(83_000);
    const before = dcr.requests.length;
    const tokensBefore = entra.tokenRequests.length;
    // The first call is accepted with the cached token; Entra revokes it before the second.
    dcr.faults.push('pass', 'revoke');
    const r = await deliverWithin(target(), events, 10_000);
    assert.deepEqual([r.parked, r.paused, r.retries, dcr.faults], [[], [], [], []]);
    const calls = dcr.requests.slice(before);
    assert.deepEqual(calls.map((c) => c.status), [204, 401, 204]);
    assert.equal(calls[1]!.authorization, calls[0]!.authorization);
    assert.notEqual(calls[2]!.authorization, calls[1]!.authorization);
    assert.deepEqual(entra.tokenRequests.slice(tokensBefore).map((r) => r.status), [200, 200], 'one sign-in, and one afresh after the 401');
    const counts = acceptedCounts();
    assert.ok(events.every((e) => counts.get(e.id) === 1), 'every event exactly once');
  });

  it('a later call refused with 401 even with a fresh token pauses the stream like the first would; the accepted call is not sent again', async () => {
    const events = twoCalls(84_000);
    const before = dcr.requests.length;
    const tokensBefore = entra.tokenRequests.length;
    dcr.faults.push('pass', { status: 401 }, { status: 401 }, { status: 401 });
    const r = await deliverWithin(target(), events);
    assert.deepEqual([r.parked, dcr.faults], [[], []]);
    const calls = dcr.requests.slice(before);
    assert.deepEqual(calls.map((c) => c.status), [204, 401, 401, 401, 204]);
    assert.equal(calls[1]!.authorization, calls[0]!.authorization, 'the cached token');
    assert.notEqual(calls[2]!.authorization, calls[1]!.authorization, 'tried once with a fresh token');
    assert.ok(calls.slice(3).every((c) => c.authorization === calls[2]!.authorization), 'not refreshed again at each retry');
    assert.deepEqual(entra.tokenRequests.slice(tokensBefore).map((x) => x.status), [200, 200]);
    assert.equal(r.paused.length, 1);
    assert.match(r.paused[0]!, /^HTTP 401: the SIEM refused the credentials$/);
    assert.equal(r.resumed, 1);
    const counts = acceptedCounts();
    assert.ok(events.every((e) => counts.get(e.id) === 1), 'every event exactly once');
  });

  it('an unknown DCR or stream pauses instead of parking every event; a refused record is bisected down and parked', async () => {
    const wrongDcr = target({ PROBECTL_SIEM_ENDPOINT: dcr.streamUrl.replace(dcr.dcr, 'dcr-ffffffffffffffffffffffffffffffff') });
    const wrongStream = target({ PROBECTL_SIEM_ENDPOINT: dcr.streamUrl.replace('Custom-ProbectlEvents', 'Custom-Other') });
    const paused = [...await pausesWith(wrongDcr, stressEvents().slice(0, 3)), ...await pausesWith(wrongStream, stressEvents().slice(0, 3))];
    assert.equal(paused.length, 2);
    assert.ok(paused.some((p) => /HTTP 404 NotFound: the data collection rule or its stream does not exist/.test(p)), paused.join(' | '));
    assert.ok(paused.some((p) => /HTTP 400 InvalidStream/.test(p)), paused.join(' | '));

    const events = withAttrs(stressEvents().slice(0, 6), (i) => ({ note: i === 4 ? 'POISON' : 'fine' }));
    const { parked } = await deliverWithin(target(), events);
    assert.deepEqual(parked.map((p) => [p.seq, p.status]), [[1004, 400]]);
    assert.match(parked[0]!.reason, /HTTP 400 InvalidPayload/);
  });

  it('without a client secret, the default credential chain signs in — here workload identity (a federated token file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wi-'));
    writeFileSync(join(dir, 'token'), entra.federatedToken);
    const saved = { ...process.env };
    Object.assign(process.env, { AZURE_TENANT_ID: entra.tenantId, AZURE_CLIENT_ID: entra.clientId, AZURE_FEDERATED_TOKEN_FILE: join(dir, 'token'), AZURE_AUTHORITY_HOST: entra.authorityHost });
    try {
      const t = target({ PROBECTL_SIEM_AZURE_TENANT_ID: '', PROBECTL_SIEM_AZURE_CLIENT_ID: '', PROBECTL_SIEM_TOKEN: '' });
      const before = entra.tokenRequests.length;
      const events = stressEvents().slice(3, 5);
      const { parked, paused } = await deliverWithin(t, events);
      assert.deepEqual([parked, paused], [[], []]);
      assert.ok(events.every((e) => dcr.accepted.some((r) => r.EventId === e.id)));
      assert.deepEqual(entra.tokenRequests.slice(before).map((r) => [r.clientId, r.scope, r.status]), [[entra.clientId, 'https://monitor.azure.com/.default', 200]]);
    } finally {
      for (const k of ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_AUTHORITY_HOST']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  it('Entra: a refused secret pauses, the rotated secret resumes; 429 and 5xx retry; no secret or token in any outcome', async () => {
    const events = stressEvents().slice(0, 2);
    const old = secret;
    // Entra now holds a rotated secret; the reference still yields the old one for a moment.
    entra.secret = `${old}-rotated`;
    const t = target();
    setTimeout(() => {
      entra.faults.push({ status: 429, retryAfter: '1' }, { status: 503, retryAfter: '1' });
      secret = entra.secret;
    }, 300);
    const before = entra.tokenRequests.length;
    const result = await deliverWithin(t, events);
    assert.deepEqual(result.parked, []);
    const statuses = entra.tokenRequests.slice(before).map((r) => r.status);
    assert.equal(statuses[0], 401);
    assert.deepEqual(statuses.filter((s) => s !== 401), [429, 503, 200], statuses.join(','));
    assert.equal(result.paused.length, 1);
    assert.match(result.paused[0]!, /^Microsoft Entra ID refused the application's credentials \(AADSTS7000215, HTTP 401\)$/);
    assert.ok(result.retries.some((r) => /^Microsoft Entra ID is unavailable \(AADSTS50196, HTTP 429\)$/.test(r.reason)), JSON.stringify(result.retries));
    assert.ok(result.retries.some((r) => /^Microsoft Entra ID is unavailable \(AADSTS90033, HTTP 503\)$/.test(r.reason)), JSON.stringify(result.retries));
    assert.equal(result.resumed, 1);
    assert.ok(dcr.accepted.some((r) => r.EventId === events[1]!.id));
    const said = JSON.stringify(result.retries) + JSON.stringify(result.paused);
    for (const leak of [old, entra.secret, ...entra.issued]) assert.ok(!said.includes(leak), 'no secret or token in what the engine is told');
  });
});
