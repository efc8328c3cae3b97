import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withoutSentCredentials } from '../../../src/core/http/credentials.ts';
import { parseJson } from '../../../src/core/json.ts';

const PASSWORD = 'pa&ss<w/rd>"1';
const BASIC = { authorization: `Basic ${Buffer.from(`probectl:${PASSWORD}`).toString('base64')}` };
const TOKEN = 'tok/en+abc/def==';
const BEARER = { authorization: `Bearer ${TOKEN}` };

/** Go's encoding/json: `"` and `\` escaped, and `&`, `<`, `>` as \u0026, \u003c, \u003e. */
const goJson = (v: unknown) => JSON.stringify(v).replace(/&/g, '\\u0026').replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
/** Every non-alphanumeric character as \uXXXX (an ASCII-only encoder at its most cautious). */
const allEscaped = (s: string) => `"${[...s].map((c) => (/[A-Za-z0-9 ]/.test(c) ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)).join('')}"`;

describe('withoutSentCredentials: credentials a JSON answer escapes', () => {
  it('redacts a Basic password a Go engine echoed JSON-escaped (& < > as \\u0026 \\u003c \\u003e)', () => {
    const body = Buffer.from(`{"status":"error","error":${goJson(`invalid credentials for probectl:${PASSWORD}`)}}`);
    const out = withoutSentCredentials(body, BASIC);
    const error = (parseJson(out.toString('utf8')) as { error: string }).error;
    assert.ok(!error.includes(PASSWORD) && !error.includes('pa&ss'), error);
    assert.match(error, /\[redacted\]/);
  });

  it('redacts a bearer token echoed with / as \\/ and with every character \\u-escaped', () => {
    for (const text of [`{"message":"bad token ${TOKEN.replace(/\//g, '\\/')}"}`, `{"message":${allEscaped(`bad token ${TOKEN}`)}}`]) {
      const out = withoutSentCredentials(Buffer.from(text), BEARER);
      const message = (parseJson(out.toString('utf8')) as { message: string }).message;
      assert.equal(message, 'bad token [redacted]', text);
    }
  });

  it('leaves an answer without a credential byte for byte, and still redacts raw echoes', () => {
    const text = '{ "error" : "bad \\u0041 value",\n "x": [1, 2] }';
    assert.equal(withoutSentCredentials(Buffer.from(text), BEARER).toString('utf8'), text);
    assert.equal(withoutSentCredentials(Buffer.from(`not json \\ ${TOKEN}`), BEARER).toString('utf8'), 'not json \\ [redacted]');
  });
});
