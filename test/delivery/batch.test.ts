import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProbectlError } from '../../src/core/errors.ts';
import type { RetryPolicy } from '../../src/core/retry/policy.ts';
import { deliverBatch, MAX_INTERNAL_ATTEMPTS } from '../../src/delivery/batch.ts';
import { RetryAborted } from '../../src/core/retry/loop.ts';
import type { AckAnswer, SinkOutcome } from '../../src/delivery/outcome.ts';
import type { Sink } from '../../src/delivery/types.ts';
import { createRedactor } from '../../src/siem/redact.ts';
import type { SiemEvent } from '../../src/siem/event.ts';
import { sampleEvents } from '../../src/siem/preview.ts';

const policy: RetryPolicy = { baseMs: 1, capMs: 5, maxAttempts: Number.POSITIVE_INFINITY, maxRetryAfterMs: 10 };

/** Twenty events with distinct seqs (the sample events, renumbered). */
function events(n = 20): SiemEvent[] {
  const samples = sampleEvents(createRedactor());
  return Array.from({ length: n }, (_, i) => ({ ...(samples[i % samples.length] as SiemEvent), seq: i + 1, id: `00000000-0000-5000-8000-${String(i + 1).padStart(12, '0')}` }));
}

interface Recorder extends Sink<SiemEvent> {
  delivered: number[];
  attempts: number[][];
}

function target(attempt: (batch: readonly SiemEvent[], rec: Recorder) => SinkOutcome | Promise<SinkOutcome>, confirm?: (id: string) => AckAnswer): Recorder {
  const rec: Recorder = {
    delivered: [],
    attempts: [],
    async attempt(batch) {
      rec.attempts.push(batch.map((e) => e.seq));
      return attempt(batch, rec);
    },
    ...(confirm ? { confirm: async (ack) => confirm(ack.id) } : {}),
    close: async () => {},
  };
  return rec;
}

describe('deliverBatch: the one loop over a batch', () => {
  it('an event probectl cannot encode is narrowed down and parked with the reason; every other event is delivered', async () => {
    const t = target((batch, rec) => {
      if (batch.some((e) => e.seq === 13)) throw new ProbectlError('PROBECTL_ERR_SIEM_ENCODING', 'an OTLP attribute value nests deeper than 64 levels of objects and arrays');
      rec.delivered.push(...batch.map((e) => e.seq));
      return { kind: 'ok' };
    });
    const parked = await deliverBatch(t, events(), policy);
    assert.deepEqual(parked.map((p) => [p.seq, p.status]), [[13, undefined]]);
    assert.match(parked[0]!.reason, /^probectl could not encode this event: .*nests deeper than 64/);
    assert.deepEqual([...t.delivered].sort((a, b) => a - b), events().map((e) => e.seq).filter((s) => s !== 13), 'every other event delivered once');
    assert.ok(t.attempts.length <= 12, `narrowed by halving (${t.attempts.length} attempts for 20 events)`);
  });

  it('a stack overflow on one event is an encoding failure too: parked at once', async () => {
    const t = target((batch, rec) => {
      if (batch.some((e) => e.seq === 2)) throw new RangeError('Maximum call stack size exceeded');
      rec.delivered.push(...batch.map((e) => e.seq));
      return { kind: 'ok' };
    });
    const parked = await deliverBatch(t, events(4), policy);
    assert.deepEqual(parked.map((p) => p.seq), [2]);
    assert.match(parked[0]!.reason, /RangeError: Maximum call stack size exceeded/);
    assert.equal(t.attempts.filter((a) => a.length === 1 && a[0] === 2).length, 1);
  });

  it('any other error on a single event is tried MAX_INTERNAL_ATTEMPTS times, then parked; a transient one is not parked', async () => {
    const always = target((batch, rec) => {
      if (batch.some((e) => e.seq === 3)) throw new TypeError('boom');
      rec.delivered.push(...batch.map((e) => e.seq));
      return { kind: 'ok' };
    });
    const parked = await deliverBatch(always, events(4), policy);
    assert.deepEqual(parked.map((p) => p.seq), [3]);
    assert.equal(always.attempts.filter((a) => a.length === 1 && a[0] === 3).length, MAX_INTERNAL_ATTEMPTS);

    let throws = 1;
    const once = target((batch, rec) => {
      if (batch.length === 1 && throws-- > 0) throw new TypeError('transient');
      if (batch.length > 1) throw new TypeError('split me');
      rec.delivered.push(...batch.map((e) => e.seq));
      return { kind: 'ok' };
    });
    assert.deepEqual(await deliverBatch(once, events(2), policy), []);
    assert.deepEqual(once.delivered.sort(), [1, 2]);
  });

  it('stopping: a backoff after a failure ends the delivery at once (RetryAborted); an acknowledgement still awaited is waited for', async () => {
    const slow: RetryPolicy = { baseMs: 5000, capMs: 5000, maxAttempts: Number.POSITIVE_INFINITY, maxRetryAfterMs: 5000 };
    for (const failure of [{ kind: 'paused', reason: 'answered 404' }, { kind: 'retryable', reason: 'HTTP 503', retryAfterMs: 4000 }] as const) {
      const refusing = target(() => failure);
      const started = Date.now();
      await assert.rejects(deliverBatch(refusing, events(3), slow, { stopping: AbortSignal.abort(), signal: AbortSignal.timeout(10_000) }), RetryAborted);
      assert.ok(Date.now() - started < 1000, `${failure.kind}: the stop waited for the backoff`);
      assert.equal(refusing.attempts.length, 1, `${failure.kind}: the attempt under way was made, no other`);
    }
    let polls = 0;
    const acking = target(() => ({ kind: 'pending', ack: { id: 'a', timeoutMs: 5000 } }), () => ((polls += 1) >= 3 ? { kind: 'confirmed' } : { kind: 'waiting' }));
    assert.deepEqual(await deliverBatch(acking, events(3), slow, { stopping: AbortSignal.abort(), signal: AbortSignal.timeout(10_000) }), []);
    assert.equal(polls, 3, 'the acknowledgement was awaited through its polls');
  });

  it('pending events count only once their acknowledgement is confirmed; an unconfirmed ticket is re-sent after its timeout', async () => {
    let tickets = 0;
    const polls = new Map<string, number>();
    const t = target((batch) => ({ kind: 'pending', ack: { id: String(tickets++), timeoutMs: 300 } }), (id) => {
      polls.set(id, (polls.get(id) ?? 0) + 1);
      // Ticket 0 is never confirmed (a lost acknowledgement); ticket 1 after three polls.
      return id === '1' && (polls.get(id) ?? 0) >= 3 ? { kind: 'confirmed' } : { kind: 'waiting' };
    });
    const started = Date.now();
    const parked = await deliverBatch(t, events(5), policy);
    assert.deepEqual(parked, []);
    assert.equal(t.attempts.length, 2, 'sent, not acknowledged in time, sent again');
    assert.ok((polls.get('0') ?? 0) >= 2, 'the first ticket was polled until its timeout');
    assert.equal(polls.get('1'), 3);
    assert.ok(Date.now() - started >= 300, 'the re-send waited for the ack timeout');
  });

  it('a partial answer parks the refused event, awaits the pending part and re-sends the retryable part', async () => {
    let first = true;
    const confirmed: string[] = [];
    const t = target((batch, rec) => {
      if (first) {
        first = false;
        // HEC: events before index 2 accepted under ackId 7, index 2 invalid, the rest to send again.
        return { kind: 'partial', rejected: [{ index: 2, status: 400, reason: 'Invalid data format', response: '{"code":6}' }], retry: [3, 4], retryReason: 'after an invalid one', pending: { indexes: [0, 1], ack: { id: '7', timeoutMs: 5000 } } };
      }
      rec.delivered.push(...batch.map((e) => e.seq));
      return { kind: 'ok' };
    }, (id) => {
      confirmed.push(id);
      return { kind: 'confirmed' };
    });
    const parked = await deliverBatch(t, events(5), policy);
    assert.deepEqual(parked.map((p) => [p.seq, p.status]), [[3, 400]]);
    assert.deepEqual(confirmed, ['7']);
    assert.deepEqual(t.attempts, [[1, 2, 3, 4, 5], [4, 5]]);
  });

  it('a partial answer whose rest the receiver refuses (retryPaused) pauses the stream like a paused answer, once, and resumes when the rest is accepted', async () => {
    const answers: SinkOutcome[] = [
      // Two of five accepted, the rest refused with 401 (a later request of the batch).
      { kind: 'partial', rejected: [], retry: [2, 3, 4], retryReason: 'HTTP 401: the SIEM refused the credentials', retryPaused: true },
      // Still refused on the retry: of the rest, one accepted, two refused again.
      { kind: 'partial', rejected: [], retry: [1, 2], retryReason: 'HTTP 401: the SIEM refused the credentials', retryPaused: true },
      { kind: 'ok' },
    ];
    const t = target((batch, rec) => {
      const answer = answers.shift() as SinkOutcome;
      const retried = answer.kind === 'partial' ? new Set(answer.retry) : new Set<number>();
      rec.delivered.push(...batch.filter((_, i) => !retried.has(i)).map((e) => e.seq));
      return answer;
    });
    const seen: string[] = [];
    const parked = await deliverBatch(t, events(5), policy, { onPaused: (r) => void seen.push(`paused: ${r}`), onResumed: () => void seen.push('resumed') });
    assert.deepEqual(parked, []);
    assert.deepEqual(t.attempts, [[1, 2, 3, 4, 5], [3, 4, 5], [4, 5]], 'accepted events are never sent again');
    assert.deepEqual(t.delivered, [1, 2, 3, 4, 5]);
    assert.deepEqual(seen, ['paused: HTTP 401: the SIEM refused the credentials', 'resumed'], 'one alarm, not lifted while the rest is still refused');
  });
});
