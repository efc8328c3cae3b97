import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hasEscapedKey, parseJson } from '../../src/core/json.ts';
import { tsFiles } from '../helpers/sources.ts';

const SRC = resolve(new URL('../../src', import.meta.url).pathname);

/** Runs `code` in a fresh process (a fresh V8 key cache) and returns what it printed. */
function fresh(code: string): string {
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000, cwd: resolve(SRC, '..') });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout.trim();
}

const anyKey = fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }).map((s) => s.toWellFormed()), fc.string({ unit: fc.constantFrom('"', '\\', '\r', '\n', '\t', '\b', '\f', '\u0000', '\u001f', '/', 'a'), maxLength: 3 }));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (d === 0 ? 0 : d)), anyKey,
    fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(anyKey, tie('value'), { maxKeys: 5, noNullPrototype: true })),
})).value;

describe('parseJson: JSON.parse without V8\'s escaped-key confusion (nodejs/node#63785)', () => {
  it('reads an escaped key right where the native parser, poisoned by an earlier escaped key, does not', () => {
    // The native parser's answer in a fresh process shows whether this Node has the bug; parseJson must be right either way.
    const poison = String.raw`JSON.parse('{"h":[],"\\\\":0}');`;
    const native = fresh(`${poison} console.log(JSON.stringify(Object.keys(JSON.parse('{"h":1,"\\\\r":2}'))))`);
    const ours = fresh(`import { parseJson } from './src/core/json.ts'; ${poison} console.log(JSON.stringify(Object.keys(parseJson('{"h":1,"\\\\r":2}'))))`);
    assert.equal(ours, '["h","\\r"]');
    if (process.versions.node.startsWith('24.')) assert.equal(native, '["h","\\\\"]', 'Node 24 still has the V8 bug; when it is fixed this test says so');
  });

  it('property: any value with any keys reads back equal, however many escaped keys were parsed before', () => {
    JSON.parse(String.raw`{"h":[],"\\":0,"\"":1,"\r":2,"a\\":3}`);
    fc.assert(fc.property(json, fc.boolean(), (value, spaced) => {
      const text = JSON.stringify(value, null, spaced ? 2 : undefined);
      assert.deepEqual(parseJson(text), value);
    }), { numRuns: 2000 });
  });

  it('finds escaped keys, not escaped values', () => {
    assert.equal(hasEscapedKey('{"a":"\\n"}'), false);
    assert.equal(hasEscapedKey('["\\n", {"k": "x\\"y:"}]'), false);
    assert.equal(hasEscapedKey('{"a\\"":1}'), true);
    assert.equal(hasEscapedKey('{"a":{"b":1, "\\u0041" \n : 2}}'), true);
    assert.equal(hasEscapedKey('{"a":"\\\\", "b":1}'), false);
  });

  it('finds escaped keys exactly where a string-token scan does, on any formatting', () => {
    // Reference: the token regular expression (fine on small texts).
    const reference = (text: string): boolean => {
      for (const m of text.matchAll(/"(?:[^"\\]|\\.)*"\s*(:)?/g)) if (m[1] !== undefined && m[0].includes('\\')) return true;
      return false;
    };
    fc.assert(fc.property(json, fc.constantFrom(undefined, 1, '\t', ' \n '), (value, space) => {
      const text = JSON.stringify(value, null, space);
      assert.equal(hasEscapedKey(text), reference(text), text);
    }), { numRuns: 3000 });
  });

  it('reads a document with a 10-million-character string (no RangeError from a regular expression\'s backtracking stack), in linear time', () => {
    const big = 'x'.repeat(10_000_000);
    const cases: [string, unknown][] = [
      [`["${big}\\n"]`, [`${big}\n`]],
      [`{"k\\n":"${big}\\n"}`, { 'k\n': `${big}\n` }],
      [`{"${big}\\n":1}`, { [`${big}\n`]: 1 }],
      [`["\\n",${'"a",'.repeat(1_000_000)}"${'\\"'.repeat(2_000_000)}"]`, ['\n', ...Array<string>(1_000_000).fill('a'), '"'.repeat(2_000_000)]],
    ];
    for (const [text, expected] of cases) {
      const started = performance.now();
      assert.deepEqual(parseJson(text), expected);
      assert.ok(performance.now() - started < 5_000, `${text.length} characters took ${performance.now() - started} ms`);
    }
  });

  it('keeps JSON.parse semantics: SyntaxError, last duplicate wins, __proto__ an own member, not the prototype', () => {
    assert.throws(() => parseJson('{"a\\n":'), SyntaxError);
    assert.throws(() => parseJson('{"\\x":1}'), SyntaxError);
    const dup = parseJson('{"a\\n":1,"a\\n":2}') as Record<string, number>;
    assert.deepEqual(dup, { 'a\n': 2 });
    const proto = parseJson('{"__proto__":{"polluted":true},"k\\n":1}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(proto), Object.prototype);
    assert.deepEqual(Object.keys(proto), ['__proto__', 'k\n']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(parseJson('{"n\\t":1e400, "s":"\\u0000"}') instanceof Object, true);
  });

  it('src/ calls JSON.parse only through parseJson (and the untrusted reader\'s single-string decode)', () => {
    const allowed = new Set(['core/json.ts', 'core/json-input.ts']);
    const offenders = tsFiles(SRC).filter((p) => !allowed.has(relative(SRC, p)) && /JSON\.parse\s*\(/.test(readFileSync(p, 'utf8')));
    assert.deepEqual(offenders.map((p) => relative(SRC, p)), []);
  });
});
