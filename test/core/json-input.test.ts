import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJson } from '../../src/core/json.ts';
import fc from 'fast-check';
import { JSON_LIMITS, JsonInputError, parseJsonBytes, parseJsonText } from '../../src/core/json-input.ts';

function refusal(text: string, options?: Parameters<typeof parseJsonText>[1]): JsonInputError {
  try {
    parseJsonText(text, options);
  } catch (err) {
    assert.ok(err instanceof JsonInputError, `${JSON.stringify(text.slice(0, 80))} threw ${String(err)}`);
    return err;
  }
  assert.fail(`${JSON.stringify(text.slice(0, 80))} was accepted`);
}

/**
 * Equal to JSON.parse, or refused with the parser's own error: the contract the property tests check.
 * The oracle is parseJson: on Node 24 a bare JSON.parse can misread an escaped key once another was parsed (src/core/json.ts).
 */
function agreesWithJsonParse(text: string): void {
  let expected: { ok: true; value: unknown } | { ok: false };
  try {
    expected = { ok: true, value: parseJson(text) };
  } catch {
    expected = { ok: false };
  }
  let got: unknown;
  try {
    got = parseJsonText(text);
  } catch (err) {
    assert.ok(err instanceof JsonInputError, `threw a foreign error: ${String(err)}`);
    assert.ok(err.message.includes(err.path), 'the message names the path');
    // The first problem in reading order is reported: a refused value before a syntax error names the value.
    if (expected.ok) assert.equal(err.code, 'PROBECTL_ERR_JSON_REFUSED', 'text JSON.parse accepts is never called invalid JSON');
    if (err.code === 'PROBECTL_ERR_BAD_JSON') assert.ok(!expected.ok, 'a syntax error is one JSON.parse agrees with');
    return;
  }
  assert.ok(expected.ok, `accepted text that JSON.parse refuses: ${JSON.stringify(text)}`);
  assert.deepStrictEqual(got, expected.value);
}

const deep = (n: number, open = '[', close = ']') => open.repeat(n) + close.repeat(n);

describe('JSON input boundary (src/core/json-input.ts)', () => {
  it('refuses hostile values with the JSON path, the right code and a message that says why', () => {
    const cases: Array<[string, string, 'PROBECTL_ERR_BAD_JSON' | 'PROBECTL_ERR_JSON_REFUSED', RegExp]> = [
      ['{"a":"x\\u0000y"}', '$.a', 'PROBECTL_ERR_JSON_REFUSED', /NUL/],
      ['{"attributes":{"a":[1,2,3,"\\u0000"]}}', '$.attributes.a[3]', 'PROBECTL_ERR_JSON_REFUSED', /NUL/],
      ['{"a":{"k\\u0000":1}}', '$.a["k\\u0000"]', 'PROBECTL_ERR_JSON_REFUSED', /key contains a NUL/],
      ['{"a":"\\udfff"}', '$.a', 'PROBECTL_ERR_JSON_REFUSED', /lone UTF-16 surrogate/],
      ['{"a":"\\ud800x"}', '$.a', 'PROBECTL_ERR_JSON_REFUSED', /lone UTF-16 surrogate/],
      ['{"a":"x\\ud800"}', '$.a', 'PROBECTL_ERR_JSON_REFUSED', /lone UTF-16 surrogate/],
      ['{"\\udc00":1}', '$["\\udc00"]', 'PROBECTL_ERR_JSON_REFUSED', /key contains a lone UTF-16 surrogate/],
      ['{"a":"\ud800"}', '$.a', 'PROBECTL_ERR_JSON_REFUSED', /lone UTF-16 surrogate/],
      ['{"a":"\ud800\\udc00x\\ud800"}', '$.a', 'PROBECTL_ERR_JSON_REFUSED', /lone UTF-16 surrogate/],
      ['{"a":9007199254740993}', '$.a', 'PROBECTL_ERR_JSON_REFUSED', /9007199254740993 .*send big or exact numbers as strings/],
      ['{"a":9007199254740992}', '$.a', 'PROBECTL_ERR_JSON_REFUSED', /outside ±\(2\^53−1\)/],
      ['{"a":-9007199254740992}', '$.a', 'PROBECTL_ERR_JSON_REFUSED', /outside ±\(2\^53−1\)/],
      ['[1e400]', '$[0]', 'PROBECTL_ERR_JSON_REFUSED', /beyond the range of a 64-bit float/],
      ['[-1e400]', '$[0]', 'PROBECTL_ERR_JSON_REFUSED', /beyond the range/],
      ['[1e-400]', '$[0]', 'PROBECTL_ERR_JSON_REFUSED', /would become 0\)/],
      ['[1.00000000000000000001]', '$[0]', 'PROBECTL_ERR_JSON_REFUSED', /would become 1\)/],
      ['[0.30000000000000000001]', '$[0]', 'PROBECTL_ERR_JSON_REFUSED', /would become 0\.3\)/],
      ['[123456789012345678e-3]', '$[0]', 'PROBECTL_ERR_JSON_REFUSED', /cannot be kept exactly/],
      [`[1${'0'.repeat(30)}e-30${'0'.repeat(20)}1]`, '$[0]', 'PROBECTL_ERR_JSON_REFUSED', /number/],
      ['{"__proto__":{"admin":true}}', '$.__proto__', 'PROBECTL_ERR_JSON_REFUSED', /"__proto__" key is refused/],
      ['{"a":[{"__proto__":1}]}', '$.a[0].__proto__', 'PROBECTL_ERR_JSON_REFUSED', /__proto__/],
      ['{"constructor":{"prototype":{"x":1}}}', '$.constructor.prototype', 'PROBECTL_ERR_JSON_REFUSED', /"prototype" key inside a "constructor" object/],
      ['', '$', 'PROBECTL_ERR_BAD_JSON', /empty input/],
      ['{"a":"x\u0000"}', '$.a', 'PROBECTL_ERR_BAD_JSON', /unescaped control character U\+0000/],
      ['{"a":[1,2,}', '$.a[2]', 'PROBECTL_ERR_BAD_JSON', /unexpected character "}"/],
      ['{"a" 1}', '$.a', 'PROBECTL_ERR_BAD_JSON', /expected ':'/],
      ['{"a":1,}', '$', 'PROBECTL_ERR_BAD_JSON', /expected a quoted key/],
      ['{"a":"\\x"}', '$.a', 'PROBECTL_ERR_BAD_JSON', /invalid escape/],
      ['{"a":01}', '$.a', 'PROBECTL_ERR_BAD_JSON', /expected ','/],
      ['{"a":1} x', '$', 'PROBECTL_ERR_BAD_JSON', /after the JSON value/],
      ['\ufeff{}', '$', 'PROBECTL_ERR_BAD_JSON', /unexpected character/],
    ];
    for (const [text, path, code, why] of cases) {
      const err = refusal(text);
      assert.equal(err.path, path, text);
      assert.equal(err.code, code, text);
      assert.equal(err.status, 400);
      assert.match(err.message, why, text);
      assert.ok(err.message.includes(path), `${err.message} names ${path}`);
      assert.deepEqual(err.toJSON(), { code, message: err.message, path }, 'the API answer carries the path too');
    }
  });

  it('keeps every number whose value survives unchanged, and exactly what JSON.parse makes of it', () => {
    const kept = ['0', '-0', '0.1', '1.0', '1E2', '1e+2', '-1.5e-7', '1e300', '5e-324', '2.2250738585072014e-308', '1.7976931348623157e308',
      '9007199254740991', '-9007199254740991', '0.30000000000000004', '100e-2', '0.000001000', '1e0000000000000000000000001'];
    for (const token of kept) assert.deepStrictEqual(parseJsonText(`[${token}]`), JSON.parse(`[${token}]`), token);
    assert.ok(Object.is((parseJsonText('-0') as number), -0));
  });

  it('enforces the documented limits and names where they were crossed', () => {
    const d = JSON_LIMITS.maxDepth;
    assert.deepEqual(parseJsonText(deep(d)), JSON.parse(deep(d)));
    const tooDeep = refusal(`{"a":${deep(d)}}`);
    assert.equal(tooDeep.path, `$.a${'[0]'.repeat(d - 1)}`);
    assert.match(tooDeep.message, new RegExp(`deeper than ${d} levels`));

    const keys = (n: number) => `{"o":{${Array.from({ length: n }, (_, k) => `"k${k}":${k}`).join(',')}}}`;
    assert.equal(Object.keys((parseJsonText(keys(JSON_LIMITS.maxObjectKeys)) as { o: object }).o).length, JSON_LIMITS.maxObjectKeys);
    const tooMany = refusal(keys(JSON_LIMITS.maxObjectKeys + 1));
    assert.equal(tooMany.path, '$.o');
    assert.match(tooMany.message, /more than 1000 members/);

    const items = (n: number) => `{"l":[${Array.from({ length: n }, () => '0').join(',')}]}`;
    assert.equal((parseJsonText(items(JSON_LIMITS.maxArrayItems)) as { l: unknown[] }).l.length, JSON_LIMITS.maxArrayItems);
    const tooLong = refusal(items(JSON_LIMITS.maxArrayItems + 1));
    assert.equal(tooLong.path, `$.l[${JSON_LIMITS.maxArrayItems}]`);
    assert.match(tooLong.message, /more than 10000 items/);

    const row = `[${Array.from({ length: 998 }, () => '0').join(',')}]`;
    const rows = (n: number) => `[${Array.from({ length: n }, () => row).join(',')}]`;
    assert.equal((parseJsonText(rows(100)) as unknown[]).length, 100, '1 + 100 × (1 + 998) values are within the limit');
    const tooBig = refusal(rows(101));
    assert.equal(tooBig.path, '$[100][98]', 'the 100,001st value is named');
    assert.match(tooBig.message, /more than 100000 values/);

    assert.equal(refusal('[[1]]', { limits: { maxDepth: 1 } }).path, '$[0]', 'limits are options for other callers (webhooks)');
  });

  it('never recurses: 100,000 levels are refused at the limit, and parse without a limit without overflowing the stack', () => {
    const err = refusal(deep(100_000));
    assert.equal(err.path, `$${'[0]'.repeat(JSON_LIMITS.maxDepth)}`);
    assert.match(refusal(deep(100_000, '{"a":', '}')).path, /^\$(\.a){32}$/);
    let value = parseJsonText(deep(100_000), { limits: { maxDepth: Infinity, maxValues: Infinity } });
    let levels = 0;
    while (Array.isArray(value)) {
      levels += 1;
      value = value[0];
    }
    assert.equal(levels, 100_000);
  });

  it('reads UTF-8 bytes strictly: invalid sequences and encoded surrogates are refused, never replaced by U+FFFD', () => {
    assert.deepEqual(parseJsonBytes(Buffer.from('{"t":"Zürich ✓ 🎉"}')), { t: 'Zürich ✓ 🎉' });
    assert.deepEqual(parseJsonBytes(Buffer.from('\ufeff{"a":1}')), { a: 1 }, 'a byte order mark is ignored (RFC 8259 §8.1)');
    for (const bytes of [[0x22, 0xff, 0x22], [0x22, 0xed, 0xbf, 0xbf, 0x22], [0x22, 0xc0, 0xaf, 0x22], [0x22, 0xe2, 0x82, 0x22]]) {
      assert.throws(() => parseJsonBytes(Uint8Array.from(bytes), { subject: 'request body' }), (err: unknown) => {
        assert.ok(err instanceof JsonInputError);
        assert.equal(err.code, 'PROBECTL_ERR_BAD_JSON');
        assert.equal(err.message, 'request body is not valid JSON at $: it is not valid UTF-8');
        return true;
      });
    }
  });

  it('property: on generated JSON documents it equals JSON.parse or refuses with its own error', () => {
    fc.assert(fc.property(fc.json({ depthSize: 'medium' }), agreesWithJsonParse), { numRuns: 2000 });
    fc.assert(fc.property(fc.jsonValue(), (v) => agreesWithJsonParse(JSON.stringify(v, null, 1))), { numRuns: 1000 });
  });

  it('property: on arbitrary and mutated text it throws nothing but JsonInputError and never accepts what JSON.parse refuses', () => {
    const alphabet = fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\\', 'u', 'd', '8', '0', 'e', '-', '+', '.', '1', '9', ' ', '\n', '\u0000', '\ud800', '\udc00', 't', 'n', '_', 'p');
    fc.assert(fc.property(fc.string({ unit: alphabet, maxLength: 40 }), agreesWithJsonParse), { numRuns: 5000 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), agreesWithJsonParse), { numRuns: 2000 });
    const mutated = fc.tuple(fc.json(), fc.nat(), fc.string({ unit: alphabet, maxLength: 3 }), fc.nat({ max: 3 }))
      .map(([text, at, insert, cut]) => {
        const k = text.length === 0 ? 0 : at % text.length;
        return text.slice(0, k) + insert + text.slice(k + cut);
      });
    fc.assert(fc.property(mutated, agreesWithJsonParse), { numRuns: 5000 });
  });

  it('property: every double JSON.stringify writes is kept, except integers written out beyond ±(2^53−1)', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
      const token = JSON.stringify(d);
      const plainUnsafe = /^-?\d+$/.test(token) && !Number.isSafeInteger(d);
      if (plainUnsafe) assert.equal(refusal(token).code, 'PROBECTL_ERR_JSON_REFUSED');
      else assert.ok(Object.is(parseJsonText(token), JSON.parse(token)), token);
    }), { numRuns: 5000 });
    fc.assert(fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 17, max: 40 }), (n, zeros) => {
      assert.match(refusal(`${n}.${'0'.repeat(zeros)}1`).message, /cannot be kept exactly/);
    }), { numRuns: 500 });
  });

  it('property: arbitrary bytes give a value or a JsonInputError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        parseJsonBytes(bytes);
      } catch (err) {
        assert.ok(err instanceof JsonInputError, String(err));
      }
    }), { numRuns: 3000 });
  });
});
