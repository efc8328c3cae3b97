import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { ProbectlError } from '../../src/core/errors.ts';
import { TransientSecretError, type FetchedSecret, type SecretBackend } from '../../src/secrets/backend.ts';
import { EnvBackend } from '../../src/secrets/backends/env.ts';
import { parseSecretRef, type BackendScheme, type SecretRef } from '../../src/secrets/ref.ts';
import { SecretResolver } from '../../src/secrets/resolver.ts';
import { Sealer } from '../../src/secrets/seal.ts';
import { manualClock } from '../helpers/tenants.ts';
import { countInProcessMemory } from './memscan.ts';
import { failsWith } from '../helpers/errors.ts';

const REF = parseSecretRef('vault:kv/netops/snmp#auth');
const LEASE = 300_000;

/** An in-process backend whose answers the test scripts; counts calls. */
class ScriptedBackend implements SecretBackend {
  readonly scheme: BackendScheme;
  calls = 0;
  closed = false;
  answer: (ref: SecretRef, signal: AbortSignal) => Promise<FetchedSecret>;

  constructor(scheme: BackendScheme, answer: (ref: SecretRef, signal: AbortSignal) => Promise<FetchedSecret>) {
    this.scheme = scheme;
    this.answer = answer;
  }

  fetch(ref: SecretRef, signal: AbortSignal): Promise<FetchedSecret> {
    this.calls += 1;
    return this.answer(ref, signal);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}


const text = (r: SecretResolver, ref: SecretRef = REF) => r.use(ref, (b) => b.toString('utf8'));

describe('secret resolver', () => {
  it('1000 concurrent misses for one reference make exactly one backend call, and all see the value', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const backend = new ScriptedBackend('vault', async () => {
      await gate;
      return { value: Buffer.from('shared-value') };
    });
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE });
    const all = Array.from({ length: 1000 }, () => text(resolver));
    release();
    const values = await Promise.all(all);
    assert.equal(backend.calls, 1);
    assert.ok(values.every((v) => v === 'shared-value'));
    await resolver.close();
  });

  it('a failed shared miss fails every waiter, caches nothing, and the next use tries again', async () => {
    let fail = true;
    const backend = new ScriptedBackend('vault', async () => {
      await new Promise((r) => setTimeout(r, 5));
      if (fail) throw new ProbectlError('PROBECTL_ERR_SECRET_UNAVAILABLE', 'vault is unavailable (HTTP 503)');
      return { value: Buffer.from('recovered') };
    });
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE });
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => text(resolver)));
    assert.equal(backend.calls, 1);
    assert.ok(results.every((r) => r.status === 'rejected'));
    fail = false;
    assert.equal(await text(resolver), 'recovered');
    assert.equal(backend.calls, 2);
    await resolver.close();
  });

  it('serves the sealed value inside the lease and fetches again after it; an expired value is never served', async () => {
    const clock = manualClock();
    let value = 'v1';
    let down = false;
    const backend = new ScriptedBackend('vault', async () => {
      if (down) throw new Error('connect ECONNREFUSED 10.0.0.1:8200 while reading kv/netops/snmp');
      return { value: Buffer.from(value) };
    });
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE, clock });
    assert.equal(await text(resolver), 'v1');
    value = 'v2';
    clock.advance(LEASE - 1);
    assert.equal(await text(resolver), 'v1');
    assert.equal(backend.calls, 1);
    clock.advance(1);
    down = true;
    // A library error is reported by kind only: its message may quote paths.
    await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_UNAVAILABLE', ['v1', 'netops', '10.0.0.1']);
    await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_UNAVAILABLE');
    down = false;
    assert.equal(await text(resolver), 'v2');
    await resolver.close();
  });

  it('the backend lease wins when shorter; zero or absent means the configured lease', async () => {
    const clock = manualClock();
    let lease: number | undefined = 1000;
    const backend = new ScriptedBackend('vault', async () => ({ value: Buffer.from('x'), leaseMs: lease }));
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE, clock });
    await text(resolver);
    clock.advance(1000);
    await text(resolver);
    assert.equal(backend.calls, 2);
    lease = 0;
    clock.advance(1000);
    await text(resolver);
    clock.advance(LEASE - 1);
    await text(resolver);
    assert.equal(backend.calls, 3);
    lease = 10 * LEASE;
    clock.advance(1);
    await text(resolver);
    clock.advance(LEASE);
    await text(resolver);
    assert.equal(backend.calls, 5, 'a longer backend lease does not extend PROBECTL_SECRETS_LEASE');
    await resolver.close();
  });

  it('an unconfigured scheme fails with PROBECTL_ERR_SECRET_BACKEND_UNCONFIGURED; literals need no backend', async () => {
    const resolver = new SecretResolver({ backends: [], leaseMs: LEASE });
    await failsWith(text(resolver, parseSecretRef('aws:prod/db#password')), 'PROBECTL_ERR_SECRET_BACKEND_UNCONFIGURED');
    assert.equal(await text(resolver, parseSecretRef('literal:vault:not-a-ref')), 'vault:not-a-ref');
    assert.equal(await text(resolver, parseSecretRef('plain-value')), 'plain-value');
    const aws = resolver.health().backends.find((b) => b.scheme === 'aws')!;
    assert.equal(aws.configured, false);
    assert.equal(aws.failures, 1);
    await resolver.close();
  });

  it('a backend that never answers fails after the deadline, even if it ignores the abort signal', async () => {
    const backend = new ScriptedBackend('vault', () => new Promise<FetchedSecret>(() => undefined));
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE, timeoutMs: 100 });
    const started = Date.now();
    const msg = await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_UNAVAILABLE');
    assert.match(msg, /within 100 ms/);
    assert.match(msg, /did not answer one attempt within 50 ms/, 'an attempt gets half the deadline, so a hung one leaves time for another');
    assert.ok(Date.now() - started < 2000);
    await resolver.close();
  });

  it('transient failures are retried within the deadline; the value comes from the first attempt that succeeds', async (t) => {
    let failures = 2;
    const backend = new ScriptedBackend('vault', async () => {
      if (failures-- > 0) throw new TransientSecretError('vault: https://127.0.0.1:8200: unreachable (ECONNRESET)');
      return { value: Buffer.from('after-two-resets') };
    });
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE, timeoutMs: 5000 });
    t.after(() => resolver.close());
    assert.equal(await text(resolver), 'after-two-resets');
    assert.equal(backend.calls, 3);
    const stats = resolver.stats().find((s) => s.scheme === 'vault')!;
    assert.deepEqual([stats.resolves, stats.failures, stats.retries], [1, 0, 2]);
    assert.equal(resolver.health().backends.find((b) => b.scheme === 'vault')!.retries, 2);
  });

  it('a final failure (denied, not found, malformed) is not retried; after transient ones it says how many attempts it took', async (t) => {
    const answers: Error[] = [new ProbectlError('PROBECTL_ERR_SECRET_DENIED', 'vault refused probectl\'s credentials for the read (HTTP 403)')];
    const backend = new ScriptedBackend('vault', async () => {
      throw answers.shift() ?? new ProbectlError('PROBECTL_ERR_SECRET_NOT_FOUND', 'vault: the secret does not exist or is not visible to probectl (HTTP 404)');
    });
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE, timeoutMs: 5000 });
    t.after(() => resolver.close());
    assert.equal(await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_DENIED'), 'vault refused probectl\'s credentials for the read (HTTP 403)');
    assert.equal(backend.calls, 1);
    answers.push(new TransientSecretError('vault is unavailable (HTTP 503)'));
    assert.equal(await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_NOT_FOUND'), 'vault: the secret does not exist or is not visible to probectl (HTTP 404) (after 2 attempts)');
    assert.equal(backend.calls, 3);
  });

  it('an attempt that hangs is cut off at half the deadline and tried again, even if the backend ignores the signal', async (t) => {
    const backend = new ScriptedBackend('vault', async () => (backend.calls === 1 ? new Promise<FetchedSecret>(() => undefined) : { value: Buffer.from('second-try') }));
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE, timeoutMs: 1000 });
    t.after(() => resolver.close());
    const started = performance.now();
    assert.equal(await text(resolver), 'second-try');
    const took = performance.now() - started;
    assert.ok(took >= 490 && took < 1000, `took ${Math.round(took)} ms`);
    assert.equal(backend.calls, 2);
  });

  it('a Retry-After is honoured; one that would end past the deadline fails the fetch at once', async (t) => {
    let retryAfterMs = 300;
    const backend = new ScriptedBackend('vault', async () => {
      if (backend.calls % 2 === 1) throw new TransientSecretError('vault is unavailable (HTTP 429)', retryAfterMs);
      return { value: Buffer.from('after-retry-after') };
    });
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE, timeoutMs: 1000 });
    t.after(() => resolver.close());
    let started = performance.now();
    assert.equal(await text(resolver), 'after-retry-after');
    assert.ok(performance.now() - started >= 290, 'waited for the Retry-After');
    resolver.forget(REF);
    retryAfterMs = 5000;
    started = performance.now();
    const msg = await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_UNAVAILABLE');
    assert.ok(performance.now() - started < 500, 'did not sleep into the deadline');
    assert.equal(msg, 'the vault backend is unavailable: 1 attempt within 1000 ms failed, the last with: vault is unavailable (HTTP 429)');
    assert.equal(backend.calls, 3);
  });

  it('close() during a backoff ends the fetch at once with the resolver-closed error', async () => {
    const backend = new ScriptedBackend('vault', async () => {
      throw new TransientSecretError('vault is unavailable (HTTP 503)', 3000);
    });
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE, timeoutMs: 10_000 });
    const pending = failsWith(text(resolver), 'PROBECTL_ERR_SECRET_UNAVAILABLE');
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    await resolver.close();
    assert.equal(await pending, 'the secret resolver is closed');
    assert.ok(performance.now() - started < 500);
    assert.equal(backend.calls, 1);
  });

  it('an empty value is an error, not an empty credential', async () => {
    const resolver = new SecretResolver({ backends: [new ScriptedBackend('vault', async () => ({ value: Buffer.alloc(0) }))], leaseMs: LEASE });
    await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_MALFORMED');
    await resolver.close();
  });

  it('zeroes the backend\'s buffer once sealed, and the caller\'s buffer when fn settles (also when it throws)', async () => {
    let given: Buffer | undefined;
    const backend = new ScriptedBackend('vault', async () => {
      given = Buffer.from('zero-me-please');
      return { value: given };
    });
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE });
    let seen: Buffer | undefined;
    assert.equal(await resolver.use(REF, (b) => {
      seen = b;
      return b.toString('utf8');
    }), 'zero-me-please');
    assert.ok(given!.every((x) => x === 0), 'backend buffer zeroed');
    assert.ok(seen!.every((x) => x === 0), 'caller buffer zeroed');
    await assert.rejects(resolver.use(REF, async (b) => {
      seen = b;
      await new Promise((r) => setTimeout(r, 1));
      throw new Error('caller failed');
    }), /caller failed/);
    assert.ok(seen!.every((x) => x === 0), 'caller buffer zeroed after a throw');
    await resolver.close();
  });

  it('sealing: the plaintext exists nowhere in process memory once the caller is done; only ciphertext is cached', async (t) => {
    const fresh = () => {
      const b = Buffer.allocUnsafeSlow(32);
      randomFillSync(b);
      return b;
    };
    // The test keeps the secret only XOR-masked, so it can rebuild it for the scan without holding a copy meanwhile.
    const mask = fresh();
    const masked = Buffer.allocUnsafeSlow(32);
    const backend = new ScriptedBackend('vault', async () => {
      const value = fresh();
      for (let i = 0; i < 32; i++) masked[i] = (value[i] as number) ^ (mask[i] as number);
      return { value };
    });
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE });
    for (let i = 0; i < 5; i++) await resolver.use(REF, (b) => b.length);
    const needle = Buffer.allocUnsafeSlow(32);
    for (let i = 0; i < 32; i++) needle[i] = (masked[i] as number) ^ (mask[i] as number);
    const copies = countInProcessMemory(needle);
    if (copies === undefined) {
      t.skip('no /proc/self/mem on this platform');
      return;
    }
    assert.equal(copies, 1, 'only the test\'s own rebuilt needle holds the plaintext');
    const held = Buffer.from(needle);
    assert.equal(countInProcessMemory(needle), 2, 'control: a copy that is held is found');
    held.fill(0);
    // And the cached value still opens (it is sealed, not lost).
    assert.equal(await resolver.use(REF, (b) => b.equals(needle)), true);
    needle.fill(0);
    await resolver.close();
  });

  it('resolve() returns a Secret that prints [redacted] every way and whose use() stays current', async () => {
    const clock = manualClock();
    let value = 'hunter2-value';
    const resolver = new SecretResolver({ backends: [new ScriptedBackend('vault', async () => ({ value: Buffer.from(value) }))], leaseMs: LEASE, clock });
    const secret = await resolver.resolve(REF);
    const renderings = [String(secret), `${secret}`, JSON.stringify({ secret }), inspect(secret), inspect({ nested: { secret } }, { depth: 5 }), secret + ''];
    for (const r of renderings) {
      assert.ok(!r.includes('hunter2'), r);
      assert.match(r, /\[redacted\]/);
    }
    assert.equal(await secret.use((b) => b.toString('utf8')), 'hunter2-value');
    value = 'rotated-value';
    clock.advance(LEASE);
    assert.equal(await secret.use((b) => b.toString('utf8')), 'rotated-value');
    await resolver.close();
  });

  it('health: per-backend counters, live leases, last ok and last error — without values or paths', async () => {
    const clock = manualClock();
    let fail = false;
    const backend = new ScriptedBackend('vault', async () => {
      if (fail) throw new ProbectlError('PROBECTL_ERR_SECRET_DENIED', 'vault refused probectl\'s credentials for the read (HTTP 403)');
      return { value: Buffer.from('health-secret-value') };
    });
    const env = { PROBECTL_TEST_SECRET_ENV: 'env-secret-value' };
    const resolver = new SecretResolver({ backends: [backend, new EnvBackend(env)], leaseMs: LEASE, clock });
    await text(resolver);
    await text(resolver, parseSecretRef('vault:kv/netops/snmp#priv'));
    await text(resolver, parseSecretRef('env:PROBECTL_TEST_SECRET_ENV'));
    let h = resolver.health();
    const vault = h.backends.find((b) => b.scheme === 'vault')!;
    assert.deepEqual({ ...vault, last_ok: typeof vault.last_ok }, { scheme: 'vault', configured: true, resolves: 2, failures: 0, retries: 0, cached_leases: 2, last_ok: 'string', last_error: null, last_error_at: null });
    assert.equal(h.backends.find((b) => b.scheme === 'env')!.cached_leases, 1);
    assert.deepEqual(h.backends.map((b) => b.scheme), ['env', 'vault', 'cyberark', 'aws', 'azure', 'gcp']);
    clock.advance(LEASE);
    fail = true;
    await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_DENIED');
    h = resolver.health();
    const after = h.backends.find((b) => b.scheme === 'vault')!;
    assert.equal(after.cached_leases, 0, 'expired leases are not counted (nor kept)');
    assert.equal(after.failures, 1);
    assert.equal(after.last_error, 'PROBECTL_ERR_SECRET_DENIED: vault refused probectl\'s credentials for the read (HTTP 403)');
    assert.equal(after.last_error_at, new Date(clock.now()).toISOString());
    const json = JSON.stringify(h);
    for (const leak of ['health-secret-value', 'env-secret-value', 'netops', 'snmp', 'priv', 'PROBECTL_TEST_SECRET_ENV']) assert.ok(!json.includes(leak), `health leaks ${leak}`);
    await resolver.close();
  });

  it('forget() drops a cached value; close() zeroes the cache, closes backends and refuses further use', async () => {
    const backend = new ScriptedBackend('vault', async () => ({ value: Buffer.from('x') }));
    const resolver = new SecretResolver({ backends: [backend], leaseMs: LEASE });
    await text(resolver);
    resolver.forget(REF);
    await text(resolver);
    assert.equal(backend.calls, 2);
    await resolver.close();
    assert.equal(backend.closed, true);
    await failsWith(text(resolver), 'PROBECTL_ERR_SECRET_UNAVAILABLE');
  });

  it('refuses two backends for one scheme', () => {
    const a = new ScriptedBackend('vault', async () => ({ value: Buffer.from('a') }));
    assert.throws(() => new SecretResolver({ backends: [a, a], leaseMs: LEASE }));
  });
});

describe('sealer', () => {
  it('round-trips; the ciphertext does not contain the plaintext; AAD and tampering are checked; keys are per sealer', () => {
    const sealer = new Sealer();
    const plain = Buffer.from('a-plaintext-credential-value');
    const aad = Buffer.from('{"scheme":"vault","mount":"kv"}');
    const sealed = sealer.seal(plain, aad);
    assert.equal(sealed.indexOf(plain), -1);
    assert.equal(sealed.length, 12 + 16 + plain.length);
    assert.deepEqual(sealer.open(sealed, aad), plain);
    assert.notDeepEqual(sealer.seal(plain, aad), sealed, 'a fresh IV per seal');
    assert.throws(() => sealer.open(sealed, Buffer.from('{"scheme":"vault","mount":"other"}')));
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    assert.throws(() => sealer.open(tampered, aad));
    assert.throws(() => new Sealer().open(sealed, aad));
  });
});
