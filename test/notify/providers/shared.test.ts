import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyStatus, errorDetail, excerpt, paused } from '../../../src/notify/providers/shared/answers.ts';
import { clip, clipUnits, updateSentence } from '../../../src/notify/providers/shared/text.ts';
import type { VendorAnswer } from '../../../src/notify/providers/types.ts';
import { testIncident, testOp, update } from '../helpers/provider-endpoint.ts';

const clock = { now: () => Date.parse('2026-03-01T12:00:00Z') };
const answered = (status: number, body: unknown, headers: Record<string, string> = {}): Extract<VendorAnswer, { kind: 'answered' }> => ({
  kind: 'answered', status, headers, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
});

describe('shared answer reading (src/notify/providers/shared)', () => {
  it('classifyStatus: 2xx ok; 408/425/429/5xx retryable with Retry-After; 401/403 paused with what to check; others permanent', () => {
    const reading = { what: 'Vendor', secrets: ['s3cr3t-key'], check: { 401: 'check the key' } };
    assert.deepEqual(classifyStatus(answered(202, ''), clock, reading), { kind: 'ok' });
    for (const s of [408, 425, 429, 500, 503]) assert.equal(classifyStatus(answered(s, ''), clock, reading).kind, 'retryable', String(s));
    assert.deepEqual(classifyStatus(answered(429, 'slow down', { 'retry-after': '7' }), clock, reading), { kind: 'retryable', reason: 'Vendor answered 429: slow down', retryAfterMs: 7_000 });
    assert.deepEqual(classifyStatus(answered(503, '', { 'retry-after': 'Sun, 01 Mar 2026 12:00:30 GMT' }), clock, reading), { kind: 'retryable', reason: 'Vendor answered 503', retryAfterMs: 30_000 });
    assert.deepEqual(classifyStatus(answered(401, 'bad key s3cr3t-key'), clock, reading), { kind: 'paused', reason: 'Vendor answered 401: bad key [redacted] (check the key)' });
    assert.deepEqual(classifyStatus(answered(403, ''), clock, reading), { kind: 'paused', reason: 'Vendor answered 403' });
    assert.deepEqual(classifyStatus(answered(404, '<html>gone</html>'), clock, reading), { kind: 'permanent', reason: 'Vendor answered 404: <html>gone</html>', status: 404 });
    assert.deepEqual(classifyStatus({ kind: 'failed', reason: 'https://h: reset s3cr3t-key' }, clock, reading), { kind: 'retryable', reason: 'Vendor unreachable: https://h: reset [redacted]' });
    assert.deepEqual(classifyStatus({ kind: 'failed', reason: 'https://h: self-signed certificate', alarm: true }, clock, reading), { kind: 'paused', reason: 'Vendor unreachable: https://h: self-signed certificate' });
    assert.deepEqual(paused({ reason: 'Vendor answered 404' }, 'check the URL'), { kind: 'paused', reason: 'Vendor answered 404 (check the URL)' });
  });

  it('errorDetail: the picked strings of a JSON object body, else an excerpt of the body; secrets scrubbed in every form', () => {
    const pick = (b: Record<string, unknown>) => [b.message, b.detail, 42, '  '];
    assert.equal(errorDetail(answered(400, { message: 'Bad', detail: 'field x' }), [], pick, ': '), 'Bad: field x');
    assert.equal(errorDetail(answered(400, { other: 1 }), [], pick), '');
    assert.equal(errorDetail(answered(502, 'Bad   Gateway\n\tnginx'), [], pick), 'Bad Gateway nginx');
    const secret = 'pass word\nline2';
    assert.equal(excerpt(`echo ${secret} and ${encodeURIComponent(secret)}`, [secret]), 'echo [redacted] and [redacted]');
    assert.equal(excerpt('echo pass\r\nword', ['pass word']), 'echo [redacted]', 'a secret the folding of whitespace would reveal');
    assert.equal(excerpt('a\n\nb'.repeat(200)).length, 300);
    assert.ok(excerpt('x'.repeat(400)).endsWith('…'));
  });

  it('clip counts code points; updateSentence says how many signals and whether severity rose', () => {
    assert.equal(clip('ΩΩΩ', 3), 'ΩΩΩ');
    assert.equal(clip('🙂🙂🙂🙂', 3), '🙂🙂…');
    // clipUnits counts UTF-16 code units (Java's String.length) and never splits a pair.
    assert.equal(clipUnits('🙂🙂', 4), '🙂🙂');
    assert.equal(clipUnits('🙂🙂🙂', 4), '🙂…');
    assert.equal(clipUnits('a🙂🙂', 4), 'a🙂…');
    assert.equal(clipUnits('ab🙂🙂', 4), 'ab…');
    for (let n = 2; n < 12; n++) assert.ok(clipUnits('x🙂'.repeat(10), n).length <= n && clipUnits('x🙂'.repeat(10), n).isWellFormed());
    const inc = testIncident({ signalCount: 3 });
    assert.equal(updateSentence(testOp('update', inc, { update: update(1, 'info', 'info') })), '1 more signal correlated.');
    assert.equal(updateSentence(testOp('update', inc, { update: update(4, 'warning', 'critical') })), '4 more signals correlated; severity rose from warning to critical.');
    assert.equal(updateSentence(testOp('update', inc)), 'Incident updated: 3 signals so far.');
  });
});
