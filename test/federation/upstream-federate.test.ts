// Upstream federate gives `instance=""` to series the engine wrote without one
// (src/federation/upstream/federate-instance.ts), as Prometheus's /federate and the embedded
// store do: VictoriaMetrics writes none, and a Prometheus scraping with honor_labels would
// otherwise attach probectl's host:port as the instance after a switch to upstream mode.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { ReadRequest } from '../../src/federation/backend.ts';
import { QueryLimiter } from '../../src/federation/api/limiter.ts';
import { lineWithEmptyInstance, MAX_EXPOSITION_LINE_BYTES, withEmptyInstance } from '../../src/federation/upstream/federate-instance.ts';
import { useStandInEngine } from './servers/plain-client.ts';

const TENANT = '00000000-0000-4000-8000-00000000abcd';

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

async function bytesOf(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c);
  return Buffer.concat(parts);
}

async function* cut(bytes: Buffer, sizes: readonly number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (let k = 0; at < bytes.length; k++) {
    const n = sizes[k % sizes.length] as number;
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

describe('upstream federate: instance="" where the engine wrote none', () => {
  it('sample lines without an instance label get an empty one at the end of their label set; others are left byte for byte', () => {
    const cases: Array<[string, string | undefined]> = [
      ['up{job="a",tenant_id="t"} 1 1700000000000', 'up{job="a",tenant_id="t",instance=""} 1 1700000000000'],
      ['up 1 1700000000000', 'up{instance=""} 1 1700000000000'],
      ['up{} 1', 'up{instance=""} 1'],
      ['up{job="a",} 1', 'up{job="a",instance=""} 1'],
      ['up{ job = "a" } 1', 'up{ job = "a" ,instance=""} 1'],
      // An instance label of any value is kept as it is.
      ['up{instance="10.0.0.1:9100",job="a"} 1', undefined],
      ['up{job="a",instance=""} 1', undefined],
      // "instance=" inside a value is not a label; escaped quotes and backslashes end no value.
      ['up{job="instance=\\"x\\"",path="C:\\\\",msg="a\\nb"} 1', 'up{job="instance=\\"x\\"",path="C:\\\\",msg="a\\nb",instance=""} 1'],
      ['up{job="é ✓ 🙂"} 2', 'up{job="é ✓ 🙂",instance=""} 2'],
      // Blanks between the name and its label set, which the text format allows.
      ['m { a="b" } 1', 'm { a="b" ,instance=""} 1'],
      ['m\t{a="b"} 1', 'm\t{a="b",instance=""} 1'],
      ['m {} 1', 'm {instance=""} 1'],
      // Quoted (UTF-8) names are not 0.0.4: left as they are rather than risk a second instance.
      ['m{"instance"="a"} 1', undefined],
      ['{"my.metric",job="a"} 1', undefined],
      // Comments, blank lines and lines this reader cannot follow: unchanged (the scraper judges them).
      ['# TYPE up untyped', undefined],
      ['', undefined],
      ['up', undefined],
      ['up{job="a" 1', undefined],
      ['up{job=a} 1', undefined],
      ['up{job="a"x} 1', undefined],
      ['up{job="unterminated} 1', undefined],
    ];
    for (const [line, expected] of cases) assert.equal(lineWithEmptyInstance(line), expected, line);
  });

  it('a body cut anywhere — inside a line, a label value, a multi-byte character — comes out as the whole body rewritten at once', async () => {
    const text = [
      '# TYPE up untyped',
      'up{job="a",tenant_id="t"} 1 1700000000000',
      'node_label{name="é ✓ 🙂",instance="h:9100"} 3 1700000000000',
      'bare 4 1700000000000',
      'last{job="z"} 5 1700000000000',
    ].join('\n');
    const expected = [
      '# TYPE up untyped',
      'up{job="a",tenant_id="t",instance=""} 1 1700000000000',
      'node_label{name="é ✓ 🙂",instance="h:9100"} 3 1700000000000',
      'bare{instance=""} 4 1700000000000',
      'last{job="z",instance=""} 5 1700000000000',
    ].join('\n');
    const bytes = Buffer.from(text, 'utf8');
    for (const sizes of [[bytes.length], [1], [2, 3], [7], [13, 1, 5], [64]]) {
      assert.equal((await bytesOf(withEmptyInstance(cut(bytes, sizes)))).toString('utf8'), expected, `cut in ${sizes.join(',')}-byte pieces`);
      assert.equal((await bytesOf(withEmptyInstance(cut(Buffer.from(`${text}\n`), sizes)))).toString('utf8'), `${expected}\n`, 'with a final newline');
    }
  });

  it('a line that never ends is cut past MAX_EXPOSITION_LINE_BYTES with an error; a long line that does end passes whole', async () => {
    const piece = Buffer.alloc(65_536, 'a');
    async function* endless(): AsyncGenerator<Buffer> {
      for (let n = 0; n < 1024; n++) yield piece; // 64 MiB if read whole
    }
    const started = performance.now();
    await assert.rejects(bytesOf(withEmptyInstance(endless())), (err: Error & { code?: string }) => err.code === 'PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE' && err.message.includes(`longer than ${MAX_EXPOSITION_LINE_BYTES} bytes`));
    assert.ok(performance.now() - started < 2000, 'cut without reading the rest');
    const long = `m{v="${'x'.repeat(3 * 1_048_576)}"} 1 2\n`;
    const out = await bytesOf(withEmptyInstance(cut(Buffer.from(long), [65_536])));
    assert.equal(out.toString('utf8'), long.replace('"} 1 2', '",instance=""} 1 2'));
  });

  describe('through the upstream backend', () => {
    const EXPOSITION = 'req_total{job="api",tenant_id="t"} 7 1700000000000\nreq_total{instance="x:1",job="api",tenant_id="t"} 8 1700000000000\n';
    let mode: 'whole' | 'die' | 'stall' = 'whole';
    let acceptEncoding: string | undefined;
    const held: ServerResponse[] = [];
    let closed: Array<Promise<unknown>> = [];
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url?.startsWith('/api/v1/series')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"status":"success","data":[{"__name__":"req_total"}]}');
          return;
        }
        acceptEncoding = req.headers['accept-encoding'];
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        if (mode === 'stall') {
          // One line, then silence (the connection held open).
          res.write('req_total{job="a"} 1 1700000000000\n');
          held.push(res);
          closed.push(once(res, 'close'));
          return;
        }
        if (mode === 'die') {
          res.write(EXPOSITION.slice(0, 30));
          setTimeout(() => res.destroy(), 20);
          return;
        }
        res.end(EXPOSITION);
      });
    });
    const engine = useStandInEngine(server, { beforeClose: () => held.forEach((r) => r.destroy()) });
    const backend = () => engine.backend();
    const request = (acceptsGzip: boolean): ReadRequest => ({ tenant: TENANT, now: Date.now(), params: new Map([['match[]', ['req_total']]]), acceptsGzip });
    const expected = 'req_total{job="api",tenant_id="t",instance=""} 7 1700000000000\nreq_total{instance="x:1",job="api",tenant_id="t"} 8 1700000000000\n';

    it('plain and gzip callers get the exposition with instance=""; the engine is asked for identity either way', async () => {
      mode = 'whole';
      const plain = await within(backend().federate(request(false)), 5000, 'the plain answer');
      assert.equal(acceptEncoding, 'identity');
      assert.ok(typeof plain === 'object' && !Buffer.isBuffer(plain) && !('gzip' in plain));
      assert.equal((await within(bytesOf(plain as AsyncIterable<Buffer>), 5000, 'the plain body')).toString('utf8'), expected);
      const gz = await within(backend().federate(request(true)), 5000, 'the gzip answer');
      assert.equal(acceptEncoding, 'identity', 'compressed by probectl, not asked of the engine');
      assert.ok(typeof gz === 'object' && 'gzip' in gz, 'a compressed answer, marked so');
      const bytes = await within(bytesOf(gz.gzip), 5000, 'the gzip body');
      assert.equal(bytes.subarray(0, 2).toString('hex'), '1f8b');
      assert.equal(gunzipSync(bytes).toString('utf8'), expected);
    });

    it('an engine dying mid-body ends the answer with an error, plain or compressed — never a short answer that looks complete', async () => {
      mode = 'die';
      const plain = await within(backend().federate(request(false)), 5000, 'the plain answer');
      await assert.rejects(within(bytesOf(plain as AsyncIterable<Buffer>), 5000, 'the plain body'));
      const gz = await within(backend().federate(request(true)), 5000, 'the gzip answer');
      assert.ok(typeof gz === 'object' && 'gzip' in gz);
      await assert.rejects(within(bytesOf(gz.gzip), 5000, 'the gzip body'));
    });

    for (const gzip of [false, true]) {
      it(`an engine silent mid-body, ${gzip ? 'gzip' : 'plain'}: the read limiter's deadline cuts the reply, releases the slot and drops the engine's connection at once`, async () => {
        closed = [];
        const limiter = new QueryLimiter(2, 300);
        const release = await limiter.acquire(TENANT);
        let released = false;
        mode = 'stall';
        const out = await within(backend().federate({ tenant: TENANT, now: Date.now(), params: new Map([['match[]', ['req_total']]]), acceptsGzip: gzip }), 5000, 'the answer\'s head');
        const body = typeof out === 'object' && 'gzip' in out ? out.gzip : (out as AsyncIterable<Buffer>);
        const stream = limiter.holdUntilClosed(Readable.from(body, { objectMode: false }), () => {
          released = true;
          release();
        });
        stream.on('data', () => {});
        stream.on('error', () => {});
        await within(closed[0] as Promise<unknown>, 3000, 'the engine\'s connection dropped after the 300 ms deadline');
        await within((async () => { while (!released) await new Promise((r) => setTimeout(r, 10)); })(), 3000, 'the slot released');
        assert.equal(limiter.active, 0);
      });
    }
  });
});
