import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedQueue } from '../../src/core/bounded-queue.ts';
import { retry, RetryAborted, type Outcome } from '../../src/core/retry/loop.ts';
import { backoffMs, parseRetryAfter, type RetryPolicy } from '../../src/core/retry/policy.ts';

const policy: RetryPolicy = { baseMs: 100, capMs: 1000, maxAttempts: Number.POSITIVE_INFINITY, maxRetryAfterMs: 5000 };

describe('retry policy and the one retry loop', () => {
  it('backs off exponentially with full jitter under a cap', () => {
    assert.equal(backoffMs(policy, 0, () => 0.999), 99);
    assert.equal(backoffMs(policy, 3, () => 0.999), 799);
    assert.equal(backoffMs(policy, 10, () => 0.999), 999, 'capped');
    assert.equal(backoffMs(policy, 10, () => 0), 0, 'full jitter reaches zero');
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('7', 0), 7000);
    assert.equal(parseRetryAfter(new Date(60_000).toUTCString(), 0), 60_000);
    assert.equal(parseRetryAfter('soon', 0), undefined);
  });

  it('retries retryable outcomes until ok, honouring a (clamped) Retry-After', async () => {
    const waits: number[] = [];
    const outcomes: Outcome<string>[] = [
      { kind: 'retryable', reason: '503' },
      { kind: 'retryable', reason: '429', retryAfterMs: 2000 },
      { kind: 'retryable', reason: '429', retryAfterMs: 3_600_000 },
      { kind: 'ok', value: 'done' },
    ];
    const result = await retry(policy, async () => outcomes.shift() as Outcome<string>, { random: () => 0.5, sleep: async (ms) => void waits.push(ms) });
    assert.deepEqual(result, { kind: 'ok', value: 'done' });
    assert.deepEqual(waits, [50, 2000, 5000]);
  });

  it('stops at a permanent outcome and when aborted', async () => {
    const permanent = await retry(policy, async () => ({ kind: 'permanent', reason: '400' }), { sleep: async () => {} });
    assert.equal(permanent.kind, 'permanent');
    const ac = new AbortController();
    const pending = retry(policy, async () => ({ kind: 'retryable', reason: 'down' }), { signal: ac.signal });
    ac.abort();
    await assert.rejects(pending, RetryAborted);
  });
});

describe('bounded queue', () => {
  it('holds the producer back when full and drops nothing, in order', async () => {
    const q = new BoundedQueue<number>(3);
    const produced: number[] = [];
    const producer = (async () => {
      for (let i = 0; i < 10; i++) {
        await q.put(i);
        produced.push(i);
      }
      q.close();
    })();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(produced, [0, 1, 2], 'the producer waits while 3 items are queued');
    const taken: number[] = [];
    for (let item = await q.take(); item !== undefined; item = await q.take()) taken.push(item);
    await producer;
    assert.deepEqual(taken, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('shared budget', () => {
  it('bounds what all holders take together, grants in order, and lets a waiter give up', async () => {
    const { Budget } = await import('../../src/core/budget.ts');
    const budget = new Budget(10);
    await budget.acquire(6);
    const order: string[] = [];
    const second = budget.acquire(6).then(() => order.push('second'));
    const third = budget.acquire(1).then(() => order.push('third'));
    const ac = new AbortController();
    const cancelled = budget.acquire(5, ac.signal);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(order, [], 'nobody passes the one waiting first');
    assert.equal(budget.inUse, 6);
    ac.abort();
    await assert.rejects(cancelled);
    budget.release(6);
    await Promise.all([second, third]);
    assert.deepEqual(order, ['second', 'third']);
    assert.equal(budget.inUse, 7);
    budget.release(7);
    await budget.acquire(25);
    assert.equal(budget.inUse, 25, 'a request larger than the budget passes when nothing else is held');
  });

  it('wait outcomes are progress: exact delay, no backoff, no attempt counted, and the failure streak starts over', async () => {
    const waits: number[] = [];
    const retried: number[] = [];
    const outcomes: Outcome<string>[] = [
      { kind: 'retryable', reason: 'a' },
      { kind: 'retryable', reason: 'b' },
      { kind: 'wait', reason: 'ack pending', delayMs: 250 },
      { kind: 'wait', reason: 'next piece', delayMs: 0 },
      { kind: 'retryable', reason: 'c' },
      { kind: 'ok', value: 'done' },
    ];
    const limited: RetryPolicy = { ...policy, maxAttempts: 3 };
    const result = await retry(limited, async () => outcomes.shift() as Outcome<string>, {
      random: () => 0.5, sleep: async (ms) => void waits.push(ms), onRetry: (n) => void retried.push(n),
    });
    assert.deepEqual(result, { kind: 'ok', value: 'done' }, 'three failures in all, never three in a row');
    assert.deepEqual(retried, [1, 2, 1], 'the streak restarted after progress');
    assert.deepEqual(waits, [50, 100, 250, 50]);
  });
});

describe('OncePerInterval', () => {
  it('lets a key through once per interval, counts the ones held back, and stays bounded without forgetting busy keys', async () => {
    const { OncePerInterval } = await import('../../src/core/once-per-interval.ts');
    const gate = new OncePerInterval(1000, 3);
    assert.deepEqual(gate.check('a', 0), { due: true, skipped: 0 });
    assert.deepEqual(gate.check('a', 10), { due: false });
    assert.deepEqual(gate.check('a', 20), { due: false });
    assert.deepEqual(gate.check('a', 1000), { due: true, skipped: 2 });
    // Three more keys: the least recently seen one ('b') goes, the busy 'a' stays.
    gate.check('b', 1001);
    gate.check('c', 1002);
    gate.check('a', 1003);
    gate.check('d', 1004);
    assert.deepEqual(gate.check('a', 1005), { due: false }, 'the busy key was kept: still inside its interval');
    assert.deepEqual(gate.check('b', 1006), { due: true, skipped: 0 }, 'the least recently seen key was evicted');
  });
});
