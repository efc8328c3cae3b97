import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BUILTIN_REDACT_KEYS, createRedactor, keyWords, REDACTED } from '../../src/siem/redact.ts';
import { parseJson } from '../../src/core/json.ts';

describe('redaction', () => {
  const r = createRedactor();

  it('redacts every built-in key, case-insensitively, keeping the key', () => {
    for (const key of BUILTIN_REDACT_KEYS) {
      for (const variant of [key, key.toUpperCase(), key[0]?.toUpperCase() + key.slice(1)]) {
        assert.deepEqual(r.redact({ [variant]: 'v', keep: 'k' }), { [variant]: REDACTED, keep: 'k' }, variant);
      }
    }
  });

  it('matches at any depth, inside arrays and arrays of arrays, and replaces whole objects', () => {
    const data = {
      a: { b: { c: [{ password: 'p1' }, [{ Token: { nested: 'p2' } }]] } },
      list: ['password', { cookie: ['p3'] }],
      fine: { value: 'password' },
    };
    assert.deepEqual(r.redact(data), {
      a: { b: { c: [{ password: REDACTED }, [{ Token: REDACTED }]] } },
      list: ['password', { cookie: REDACTED }],
      fine: { value: 'password' },
    });
  });

  it('matches keys word by word: separators and camelCase, never inside a longer word', () => {
    for (const key of ['db_password', 'DB-PASSWORD', 'dbPassword', 'x-api-key', 'X-Api-Key', 'apiKey', 'APIKey', 'accessToken', 'access_token',
      'client.secret', 'clientSecret', 'Set-Cookie', 'privateKey', 'user_ssn', 'Proxy-Authorization']) {
      assert.equal(r.matches(key), true, key);
    }
    for (const key of ['passwords', 'tokenizer', 'secretary', 'session', 'lessons', 'keyboard', 'api', 'private', 'cookies_enabled', 'assn']) {
      assert.equal(r.matches(key), false, key);
    }
    assert.deepEqual(keyWords('HTTPServerAPIKey_v2'), ['http', 'server', 'api', 'key', 'v2']);
  });

  it('adds PROBECTL_SIEM_REDACT_KEYS entries to the built-in list, never replacing it', () => {
    const extra = createRedactor(['email', ' Phone_Number ', '']);
    assert.deepEqual(extra.redact({ Email: 'a@b', phoneNumber: '1', password: 'x', name: 'n' }), { Email: REDACTED, phoneNumber: REDACTED, password: REDACTED, name: 'n' });
    assert.deepEqual(extra.keys.slice(0, BUILTIN_REDACT_KEYS.length), [...BUILTIN_REDACT_KEYS]);
    assert.ok(extra.keys.includes('phone_number'));
  });

  it('returns a copy and never mutates the record', () => {
    const data = { nested: { secret: 's', keep: [1, 2] } };
    const snapshot = structuredClone(data);
    const out = r.redact(data);
    assert.deepEqual(data, snapshot);
    assert.notEqual(out.nested, data.nested);
  });

  it('a "__proto__" key is ordinary data: kept, redacted inside, and never changes the prototype', () => {
    const data = parseJson('{"__proto__": {"password": "p", "x": 1}, "y": 2}') as Record<string, unknown>;
    const out = r.redact(data);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out), ['__proto__', 'y']);
    assert.equal(JSON.stringify(out), '{"__proto__":{"password":"[redacted]","x":1},"y":2}');
  });

  it('property: no value under a denylisted key survives, whatever the nesting', () => {
    const secret = 'S3CR3T-VALUE';
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' },
        fc.constant(secret), fc.string(), fc.integer(),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'Password', 'api_key', 'innerToken', 'ok'), tie('node'), { maxKeys: 4, noNullPrototype: true })),
    })).node;
    fc.assert(fc.property(tree, (t) => {
      const out = JSON.stringify(r.redact({ root: t }));
      // A surviving secret is only allowed where no denylisted key sits above it.
      const walk = (v: unknown, under: boolean): void => {
        if (v === secret) assert.equal(under, false);
        if (Array.isArray(v)) v.forEach((x) => walk(x, under));
        else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, under || r.matches(k));
      };
      walk(parseJson(out), false);
      const redactedOnly = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(redactedOnly);
        else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (r.matches(k) ? assert.equal(x, REDACTED) : redactedOnly(x));
      };
      redactedOnly(parseJson(out));
    }), { numRuns: 300 });
  });

  it('walks at most MAX_DATA_DEPTH levels: deeper data is refused with PROBECTL_ERR_SIEM_ENCODING, never a stack overflow', async () => {
    const { MAX_DATA_DEPTH } = await import('../../src/core/depth.ts');
    const nest = (n: number): Record<string, unknown> => {
      // n levels of alternating objects and arrays below the top-level object.
      let v: unknown = 'leaf';
      for (let i = 0; i < n; i++) v = i % 2 ? { a: v } : [v];
      return { top: v };
    };
    const r = createRedactor();
    assert.doesNotThrow(() => r.redact(nest(MAX_DATA_DEPTH - 1)));
    for (const depth of [MAX_DATA_DEPTH + 1, 100_000]) {
      assert.throws(() => r.redact(nest(depth)), (err: Error & { code?: string }) => err.code === 'PROBECTL_ERR_SIEM_ENCODING' && /nests deeper than 64/.test(err.message));
    }
  });
});
