import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { SecretRef } from '../../src/secrets/ref.ts';
import type { SiemEvent } from '../../src/siem/event.ts';
import { buildTarget } from '../../src/siem/targets/build.ts';
import type { Target } from '../../src/siem/targets/types.ts';
import { testCa } from '../helpers/tls.ts';
import { startGoogleOAuth, type GoogleOAuthServer } from '../secrets/servers/google-oauth.ts';
import { parseCef } from './helpers/cef.ts';
import { decodeOtlpJson } from './helpers/otlp.ts';
import { caFile, settingsFrom } from './helpers/forwarder.ts';
import { deliverWithin, pausesWith } from './helpers/deliver.ts';
import { startChronicle, type ChronicleServer } from './servers/chronicle.ts';
import { OPTS, stressEvents, TENANT } from './fixtures.ts';


/** n copies of a small audit event with their own seq and id, and the given attributes. */
function clones(n: number, from: number, attributes: (i: number) => Record<string, string>): SiemEvent[] {
  const base = stressEvents()[0]!;
  return Array.from({ length: n }, (_, i) => ({ ...base, seq: from + i, id: `${base.id.slice(0, 24)}${String(from + i).padStart(12, '0')}`, attributes: attributes(i) }));
}

const API_KEY = 'AIzaSyPLANTED-chronicle-api-key-0042';
const WEBHOOK_SECRET = 'whsec-PLANTED-feed-secret-9931';

describe('Google SecOps: the Chronicle API import methods and the webhook feed', () => {
  let oauth: GoogleOAuthServer;
  let chronicle: ChronicleServer;
  let ca: string;
  let keyFile: string;
  const targets: Target[] = [];
  const secrets: Record<string, string> = { API_KEY, WEBHOOK_SECRET };

  before(async () => {
    oauth = await startGoogleOAuth();
    chronicle = await startChronicle({ oauth, apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET });
    ca = caFile((await testCa()).certPem);
    keyFile = oauth.keyFile();
  });
  after(async () => {
    for (const t of targets) await t.close();
    await chronicle?.close();
    await oauth?.close();
  });

  function target(env: Record<string, string>): Target {
    const settings = settingsFrom({ PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_PRESET: 'chronicle', PROBECTL_SIEM_CA_FILE: ca, PROBECTL_SIEM_TIMEOUT: '5s', ...env });
    // References resolve at each use (env:NAME here reads the test's table, so a test can rotate a value).
    const t = buildTarget(settings, OPTS, async (ref: SecretRef) => (ref.scheme === 'env' ? secrets[ref.name] ?? '' : ref.scheme === 'literal' ? ref.value : ''));
    targets.push(t);
    return t;
  }
  const logs = (env: Record<string, string> = {}) => target({ PROBECTL_SIEM_ENDPOINT: chronicle.logsUrl, PROBECTL_SIEM_GCP_CREDENTIALS_FILE: keyFile, ...env });

  it('logs:import: one entry per event, base64 data in the chosen format, logEntryTime and a later collectionTime, an OAuth token from the key file', async () => {
    const events = stressEvents();
    const tokenRequests = oauth.requests.length;
    const t = logs();
    const a = await deliverWithin(t, events.slice(0, 6));
    const b = await deliverWithin(t, events.slice(6));
    assert.deepEqual([a.parked, b.parked, a.paused, b.paused], [[], [], [], []]);
    const got = chronicle.logs.slice(-events.length);
    assert.equal(got.length, events.length);
    got.forEach((entry, i) => {
      const e = events[i]!;
      assert.equal(entry.logEntryTime, e.time);
      assert.ok(Date.parse(entry.collectionTime) > Date.parse(e.time));
      // otlp: each log is a one-event request carrying the tenant as a resource attribute.
      const [record] = decodeOtlpJson(JSON.parse(entry.data));
      assert.equal(record!.resource['probectl.tenant_id'], TENANT);
      assert.equal(record!.attributes['probectl.event.id'], e.id);
    });
    assert.deepEqual(oauth.requests.slice(tokenRequests).map((r) => [r.scope, r.status]), [['https://www.googleapis.com/auth/cloud-platform', 200]], 'one token for both batches');
    const req = chronicle.requests.filter((r) => r.mode === 'logs').at(-1)!;
    assert.equal(req.status, 200);
    assert.match(String(req.headers.authorization), /^Bearer ya29\./);
  });

  it('logs:import carries the other formats too: a CEF line per entry', async () => {
    const events = stressEvents().slice(0, 3);
    const { parked } = await deliverWithin(logs({ PROBECTL_SIEM_FORMAT: 'cef' }), events);
    assert.deepEqual(parked, []);
    const got = chronicle.logs.slice(-3).map((l) => parseCef(l.data));
    assert.deepEqual(got.map((c) => c.extension.get('externalId')), events.map((e) => e.id));
  });

  it('events:import: UDM events that pass udm.proto, in an Event envelope', async () => {
    const events = stressEvents();
    const { parked, paused } = await deliverWithin(target({ PROBECTL_SIEM_ENDPOINT: chronicle.eventsUrl, PROBECTL_SIEM_GCP_CREDENTIALS_FILE: keyFile }), events);
    assert.deepEqual([parked, paused], [[], []]);
    const got = chronicle.events.slice(-events.length) as Array<{ metadata: { product_log_id: string; event_type: string }; additional: { probectl_tenant: string } }>;
    assert.deepEqual(got.map((u) => u.metadata.product_log_id), events.map((e) => e.id));
    assert.ok(got.every((u) => u.additional.probectl_tenant === TENANT));
    assert.equal(got[0]!.metadata.event_type, 'USER_LOGIN');
  });

  it('an invalid entry rejects the whole request: bisected down to it, which is parked; the others arrive once', async () => {
    const events = stressEvents().slice(0, 8).map((e, i) => ({ ...e, seq: 100 + i, attributes: { note: i === 5 ? 'POISON' : 'ok' } }));
    const before = chronicle.events.length;
    const { parked } = await deliverWithin(target({ PROBECTL_SIEM_ENDPOINT: chronicle.eventsUrl, PROBECTL_SIEM_GCP_CREDENTIALS_FILE: keyFile }), events);
    assert.deepEqual(parked.map((p) => [p.seq, p.status]), [[105, 400]]);
    assert.match(parked[0]!.reason, /HTTP 400 INVALID_ARGUMENT/);
    const ids = (chronicle.events.slice(before) as Array<{ metadata: { product_log_id: string } }>).map((u) => u.metadata.product_log_id);
    assert.deepEqual(ids.sort(), events.filter((_, i) => i !== 5).map((e) => e.id).sort());
  });

  it('requests stay within PROBECTL_SIEM_BATCH_BYTES; an entry too large alone is parked', async () => {
    const events = clones(6, 200, (i) => ({ blob: 'b'.repeat(i === 2 ? 30_000 : 3000) }));
    const before = chronicle.requests.length;
    const { parked } = await deliverWithin(logs({ PROBECTL_SIEM_BATCH_BYTES: '16384' }), events);
    assert.deepEqual(parked.map((p) => p.seq), [202]);
    assert.match(parked[0]!.reason, /a log entry of \d+ bytes does not fit a request of at most 16384 bytes/);
    const sent = chronicle.requests.slice(before);
    assert.ok(sent.length >= 2 && sent.every((r) => r.status === 200 && r.bytes <= 16384), sent.map((r) => `${r.status}:${r.bytes}`).join(' '));
  });

  it('429 (Retry-After) and 5xx retry, 401/403 pause and resume, an unknown log type pauses; a failing later request does not repeat the first', async () => {
    // The 401 is tried once more with a fresh token (refused too: the pause), then 403 while paused.
    chronicle.faults.push({ status: 429, retryAfter: '1' }, { status: 503 }, { status: 401 }, { status: 401 }, { status: 403 });
    const r = await deliverWithin(logs(), stressEvents().slice(0, 2));
    assert.deepEqual([r.parked, chronicle.faults], [[], []]);
    assert.ok(r.retries.some((x) => x.reason === 'HTTP 429' && x.delayMs >= 1000), JSON.stringify(r.retries));
    assert.ok(r.retries.some((x) => x.reason === 'HTTP 503'));
    assert.deepEqual(r.paused, ['HTTP 401 UNAUTHENTICATED: Google SecOps refused the credentials or their permissions']);
    assert.equal(r.resumed, 1);

    const events = clones(10, 300, () => ({ blob: 'c'.repeat(4000) }));
    const before = chronicle.requests.length;
    const countBefore = chronicle.logs.length;
    chronicle.faults.push('pass', { status: 500 });
    const split = await deliverWithin(logs({ PROBECTL_SIEM_BATCH_BYTES: '16384' }), events);
    assert.deepEqual(split.parked, []);
    const statuses = chronicle.requests.slice(before).map((x) => x.status);
    assert.equal(statuses[0], 200);
    assert.equal(statuses[1], 500);
    assert.equal(chronicle.logs.length - countBefore, events.length, 'every event once: the acknowledged first request was not repeated');

    const wrong = target({ PROBECTL_SIEM_ENDPOINT: chronicle.logsUrl.replace('/PROBECTL/', '/NO_SUCH_TYPE/'), PROBECTL_SIEM_GCP_CREDENTIALS_FILE: keyFile });
    const paused = await pausesWith(wrong, stressEvents().slice(0, 3));
    assert.match(paused[0] ?? '', /^HTTP 404 NOT_FOUND: the Chronicle instance, log type or feed in PROBECTL_SIEM_ENDPOINT does not exist$/);
  });

  /** How many times each event id arrived through logs:import (otlp data). */
  const logCounts = (server: ChronicleServer) => {
    const counts = new Map<string, number>();
    for (const l of server.logs) {
      const id = String(decodeOtlpJson(JSON.parse(l.data))[0]!.attributes['probectl.event.id']);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  };

  it('403 on a later request of a batch pauses the stream like 403 on the first; accepted requests are not sent again, the rest arrives once', async () => {
    // A stand-in of its own: no request of another test (an aborted one still arriving) takes its faults.
    const own = await startChronicle({ oauth, apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET });
    try {
      const events = clones(10, 400, () => ({ blob: 'd'.repeat(4000) }));
      // The first request is imported; the second is refused (the account lost chronicle.logs.import), then imported.
      own.faults.push('pass', { status: 403 });
      const r = await deliverWithin(logs({ PROBECTL_SIEM_ENDPOINT: own.logsUrl, PROBECTL_SIEM_BATCH_BYTES: '16384' }), events);
      assert.deepEqual([r.parked, own.faults], [[], []]);
      const statuses = own.requests.map((x) => x.status);
      assert.ok(statuses.length >= 4, `a batch of several requests: ${statuses.join(',')}`);
      assert.deepEqual(statuses.slice(0, 3), [200, 403, 200], 'the refused request is retried, the imported first one is not sent again');
      assert.ok(statuses.slice(2).every((s) => s === 200), statuses.join(','));
      const counts = logCounts(own);
      assert.deepEqual([...counts.keys()].sort(), events.map((e) => e.id).sort());
      assert.ok([...counts.values()].every((n) => n === 1), 'every event exactly once');
      // The same alarm as a refused first request: one pause with the refusal, lifted once Google accepts.
      const refusal = 'HTTP 403 PERMISSION_DENIED: Google SecOps refused the credentials or their permissions';
      assert.deepEqual([r.paused, r.resumed], [[refusal], 1]);
      own.faults.push({ status: 403 });
      const first = await deliverWithin(logs({ PROBECTL_SIEM_ENDPOINT: own.logsUrl, PROBECTL_SIEM_BATCH_BYTES: '16384' }), clones(2, 450, () => ({ blob: 'e' })));
      assert.deepEqual([first.paused, first.resumed], [[refusal], 1], 'a refused first request raises the same alarm');
    } finally {
      await own.close();
    }
  });

  it('a token revoked between two requests of a batch: the 401 drops the cached token and the request is sent once more with a fresh one; a fresh token refused too pauses', async () => {
    const own = await startChronicle({ oauth, apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET });
    try {
      const env = { PROBECTL_SIEM_ENDPOINT: own.logsUrl, PROBECTL_SIEM_BATCH_BYTES: '16384' };
      const events = clones(10, 500, () => ({ blob: 'f'.repeat(4000) }));
      const tokensBefore = oauth.requests.length;
      own.faults.push('pass', 'revoke');
      const r = await deliverWithin(logs(env), events, 10_000);
      assert.deepEqual([r.parked, r.paused, r.retries, own.faults], [[], [], [], []]);
      const sent = own.requests.map((x) => [x.status, x.headers.authorization]);
      assert.deepEqual(sent.slice(0, 3).map(([s]) => s), [200, 401, 200]);
      assert.ok(sent.slice(2).every(([s]) => s === 200));
      assert.equal(sent[1]![1], sent[0]![1], 'the cached token was refused');
      assert.notEqual(sent[2]![1], sent[1]![1], 'sent again with a fresh one');
      assert.deepEqual(oauth.requests.slice(tokensBefore).map((x) => x.status), [200, 200], 'one sign-in, and one afresh after the 401');
      const [first, afresh] = oauth.requests.slice(tokensBefore);
      assert.equal(afresh?.port, first?.port, 'the sign-in afresh reuses the keep-alive connection (one pool per token source, not one per client built)');
      const counts = logCounts(own);
      assert.deepEqual([...counts.keys()].sort(), events.map((e) => e.id).sort());
      assert.ok([...counts.values()].every((n) => n === 1), 'every event exactly once');

      // Refused with the fresh token as well: the stream pauses (the alarm), the accepted request is not repeated.
      const more = clones(10, 600, () => ({ blob: 'g'.repeat(4000) }));
      const before = own.requests.length;
      own.faults.push('pass', { status: 401 }, { status: 401 });
      const p = await deliverWithin(logs(env), more);
      assert.deepEqual([p.parked, own.faults], [[], []]);
      assert.deepEqual(own.requests.slice(before, before + 4).map((x) => x.status), [200, 401, 401, 200]);
      assert.deepEqual([p.paused, p.resumed], [['HTTP 401 UNAUTHENTICATED: Google SecOps refused the credentials or their permissions'], 1]);
      const all = logCounts(own);
      assert.ok(more.every((e) => all.get(e.id) === 1), 'every event exactly once');
    } finally {
      await own.close();
    }
  });

  it('the Google token endpoint: a bad key pauses, 429/5xx retry, a fixed key file resumes', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const wrongKey = oauth.keyFile({ privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
    const { copyFileSync } = await import('node:fs');
    const live = oauth.keyFile();
    copyFileSync(wrongKey, live);
    const t = logs({ PROBECTL_SIEM_GCP_CREDENTIALS_FILE: live });
    setTimeout(() => {
      oauth.faults.push({ status: 429 }, { status: 503 });
      copyFileSync(keyFile, live);
    }, 300);
    const before = oauth.requests.length;
    const r = await deliverWithin(t, stressEvents().slice(0, 2));
    assert.deepEqual(r.parked, []);
    const statuses = oauth.requests.slice(before).map((x) => x.status);
    assert.equal(statuses[0], 400);
    assert.deepEqual(statuses.filter((s) => s !== 400), [429, 503, 200], statuses.join(','));
    assert.deepEqual(r.paused, ['Google refused the service-account key (PROBECTL_SIEM_GCP_CREDENTIALS_FILE) (invalid_grant, HTTP 400)']);
    assert.ok(r.retries.some((x) => x.reason === 'the Google token endpoint is unavailable (rate_limit_exceeded, HTTP 429)'), JSON.stringify(r.retries));
    assert.equal(r.resumed, 1);
    const said = JSON.stringify(r);
    for (const leak of [...oauth.issued, 'PRIVATE KEY', oauth.privateKeyPem.split('\n')[1]!]) assert.ok(!said.includes(leak));
  });

  it('webhook feed: newline-separated JSON with the API key and the feed secret in their headers, never in the URL', async () => {
    const events = stressEvents();
    const env = { PROBECTL_SIEM_ENDPOINT: chronicle.webhookUrl, PROBECTL_SIEM_TOKEN: 'env:API_KEY', PROBECTL_SIEM_WEBHOOK_SECRET: 'env:WEBHOOK_SECRET' };
    const before = chronicle.lines.length;
    const { parked } = await deliverWithin(target({ ...env, PROBECTL_SIEM_FORMAT: 'udm' }), events);
    assert.deepEqual(parked, []);
    const lines = chronicle.lines.slice(before) as Array<{ metadata: { product_log_id: string } }>;
    assert.deepEqual(lines.map((l) => l.metadata.product_log_id), events.map((e) => e.id));
    const req = chronicle.requests.filter((r) => r.mode === 'webhook').at(-1)!;
    assert.deepEqual([req.status, req.headers['x-goog-api-key'], req.headers['x-webhook-access-key'], req.headers.authorization, req.headers['content-type']], [200, API_KEY, WEBHOOK_SECRET, undefined, 'application/json']);
    assert.ok(!req.path.includes(API_KEY) && !req.path.includes(WEBHOOK_SECRET) && !req.path.includes('?'));

    // otlp (the default): a one-event request per line, the tenant in each.
    const otlpBefore = chronicle.lines.length;
    assert.deepEqual((await deliverWithin(target(env), events.slice(0, 2))).parked, []);
    const otlp = chronicle.lines.slice(otlpBefore).map((l) => decodeOtlpJson(l as never)[0]!);
    assert.deepEqual(otlp.map((r) => [r.resource['probectl.tenant_id'], r.attributes['probectl.event.id']]), events.slice(0, 2).map((e) => [TENANT, e.id]));
  });

  it('webhook feed: a wrong secret pauses until the reference yields the right one; nothing secret in any outcome', async () => {
    const env = { PROBECTL_SIEM_ENDPOINT: chronicle.webhookUrl, PROBECTL_SIEM_TOKEN: 'env:API_KEY', PROBECTL_SIEM_WEBHOOK_SECRET: 'env:WEBHOOK_SECRET' };
    secrets.WEBHOOK_SECRET = 'an-old-secret-PLANTED-7';
    setTimeout(() => {
      secrets.WEBHOOK_SECRET = WEBHOOK_SECRET;
    }, 300);
    chronicle.faults.push({ status: 429 });
    const r = await deliverWithin(target(env), stressEvents().slice(0, 2));
    assert.deepEqual([r.parked, chronicle.faults], [[], []]);
    assert.ok(r.retries.some((x) => x.reason === 'HTTP 429'));
    assert.deepEqual(r.paused, ['HTTP 403 PERMISSION_DENIED: Google SecOps refused the credentials or their permissions']);
    assert.equal(r.resumed, 1);
    const said = JSON.stringify(r);
    for (const leak of [API_KEY, WEBHOOK_SECRET, 'an-old-secret-PLANTED-7']) assert.ok(!said.includes(leak));
  });

  it('webhook feed: 403 on a later request of a batch pauses like on the first; accepted lines are not sent again', async () => {
    const own = await startChronicle({ oauth, apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET });
    try {
      const events = clones(10, 700, () => ({ blob: 'h'.repeat(4000) }));
      own.faults.push('pass', { status: 403 });
      const env = { PROBECTL_SIEM_ENDPOINT: own.webhookUrl, PROBECTL_SIEM_TOKEN: 'env:API_KEY', PROBECTL_SIEM_WEBHOOK_SECRET: 'env:WEBHOOK_SECRET', PROBECTL_SIEM_BATCH_BYTES: '16384' };
      const r = await deliverWithin(target(env), events);
      assert.deepEqual([r.parked, own.faults], [[], []]);
      const statuses = own.requests.map((x) => x.status);
      assert.ok(statuses.length >= 4, statuses.join(','));
      assert.deepEqual(statuses.slice(0, 3), [200, 403, 200]);
      const ids = own.lines.map((l) => String(decodeOtlpJson(l as never)[0]!.attributes['probectl.event.id']));
      assert.deepEqual([...ids].sort(), events.map((e) => e.id).sort(), 'every line exactly once');
      assert.deepEqual([r.paused, r.resumed], [['HTTP 403 PERMISSION_DENIED: Google SecOps refused the credentials or their permissions'], 1]);
    } finally {
      await own.close();
    }
  });
});
