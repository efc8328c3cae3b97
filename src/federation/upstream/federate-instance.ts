/**
 * Upstream federate's answer given `instance=""` where the engine left it out, as Prometheus's
 * own `/federate` writes it (`web/federate.go`: a series without an `instance` label gets an
 * empty one) and as the embedded store's exposition does (exposition.ts). VictoriaMetrics'
 * `/federate` writes none; a Prometheus scraping it with `honor_labels: true` would then attach
 * its target's `instance` (probectl's host:port), so the same series would carry other labels
 * after a switch to upstream mode than before it, splitting its history.
 *
 * Only sample lines are touched, and only by appending `instance=""` at the end of their label
 * set (`name 1 2` → `name{instance=""} 1 2`); comments, blank lines, lines that already carry an
 * `instance` label (any value) and lines this reader cannot follow pass through byte for byte.
 * The text format: https://prometheus.io/docs/instrumenting/exposition_formats/ (0.0.4).
 */
import { pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { ProbectlError } from '../../core/errors.ts';
import { stoppedWith } from './stoppable.ts';

const NEWLINE = 0x0a;

/**
 * One exposition line (without its newline) with `instance=""` added when its label set lacks
 * an `instance` label; undefined when the line needs nothing or is not a sample line this
 * reader follows (left to the scraper to judge, unchanged).
 */
export function lineWithEmptyInstance(line: string): string | undefined {
  let i = 0;
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  if (i === line.length || line[i] === '#') return undefined;
  // The metric name runs to the label set or the first blank.
  while (i < line.length && line[i] !== '{' && line[i] !== ' ' && line[i] !== '\t') i++;
  if (i === line.length) return undefined;
  const nameEnd = i;
  // Blanks may stand between the name and its label set (`m {a="b"} 1`).
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  if (line[i] !== '{') return `${line.slice(0, nameEnd)}{instance=""}${line.slice(nameEnd)}`;
  const open = i;
  i++;
  let lastSeparator = open; // the `{` or the last `,` seen: nothing but blanks after it means no comma is needed
  for (;;) {
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i === line.length) return undefined;
    if (line[i] === '}') {
      const close = i;
      const needsComma = line.slice(lastSeparator + 1, close).trim() !== '';
      return `${line.slice(0, close)}${needsComma ? ',' : ''}instance=""${line.slice(close)}`;
    }
    // A quoted (UTF-8) label name is not 0.0.4: such a line is left as it is.
    if (line[i] === '"') return undefined;
    const nameStart = i;
    while (i < line.length && line[i] !== '=' && line[i] !== ' ' && line[i] !== '\t' && line[i] !== '}' && line[i] !== ',') i++;
    const name = line.slice(nameStart, i);
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    if (name === '' || line[i] !== '=') return undefined;
    i++;
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    if (line[i] !== '"') return undefined;
    i++;
    // The value: up to the first unescaped quote (`\\`, `\"` and `\n` are the format's escapes).
    while (i < line.length && line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
    if (i >= line.length) return undefined;
    i++;
    if (name === 'instance') return undefined;
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    if (line[i] === ',') {
      lastSeparator = i;
      i++;
    } else if (line[i] !== '}') return undefined;
  }
}

/** The longest line kept while waiting for its newline: a longer one ends the answer with an error (a misbehaving engine). */
export const MAX_EXPOSITION_LINE_BYTES = 4 * 1_048_576;

/**
 * The exposition body `chunks` (UTF-8 bytes, cut anywhere) with every sample line given
 * `instance=""` where it has none (lineWithEmptyInstance). Lines are cut at the newline byte,
 * which never occurs inside a UTF-8 sequence; the last line is passed on even without a
 * newline. An error of `chunks` (an engine failing mid-body) ends the output with that error; a
 * line longer than MAX_EXPOSITION_LINE_BYTES ends it with PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE.
 * A reader that stops (return/throw) stops `chunks` at once, even while a read waits on a silent
 * engine: the engine's connection and the reader's slot are never held by this step.
 */
export function withEmptyInstance(chunks: AsyncIterable<Buffer>): AsyncIterableIterator<Buffer> {
  const source = chunks[Symbol.asyncIterator]();
  async function* lines(): AsyncGenerator<Buffer> {
    // The bytes after the last newline, as received (joined once their newline comes: linear in the line's length).
    let carry: Buffer[] = [];
    let carried = 0;
    for (let r = await source.next(); r.done !== true; r = await source.next()) {
      const chunk = r.value;
      const end = chunk.lastIndexOf(NEWLINE);
      if (end < 0) {
        carry.push(chunk);
        carried += chunk.length;
        if (carried > MAX_EXPOSITION_LINE_BYTES) throw lineTooLong();
        continue;
      }
      const whole = carried > 0 ? Buffer.concat([...carry, chunk.subarray(0, end + 1)]) : chunk.subarray(0, end + 1);
      carry = end + 1 < chunk.length ? [chunk.subarray(end + 1)] : [];
      carried = chunk.length - end - 1;
      yield rewriteLines(whole);
    }
    if (carried > 0) yield rewriteLines(Buffer.concat(carry));
  }
  return stoppedWith(lines(), () => source.return?.());
}

function lineTooLong(): ProbectlError {
  return new ProbectlError('PROBECTL_ERR_METRICS_UPSTREAM_UNAVAILABLE', `the metrics engine's federate answer holds a line longer than ${MAX_EXPOSITION_LINE_BYTES} bytes; the answer was cut`);
}

/** Whole lines (each ending in a newline but perhaps the last) rewritten; the bytes as they were when no line changes. */
function rewriteLines(bytes: Buffer): Buffer {
  const lines = bytes.toString('utf8').split('\n');
  let changed = false;
  for (let k = 0; k < lines.length; k++) {
    const withInstance = lineWithEmptyInstance(lines[k] as string);
    if (withInstance !== undefined) {
      lines[k] = withInstance;
      changed = true;
    }
  }
  return changed ? Buffer.from(lines.join('\n'), 'utf8') : bytes;
}

/**
 * The chunks gzip-compressed as they arrive; an error of `chunks` ends the compressed stream
 * with it. A reader that stops destroys the compressor and stops `chunks` at once.
 */
export function gzipped(chunks: AsyncIterableIterator<Buffer>): AsyncIterableIterator<Buffer> {
  const gz = createGzip();
  pipeline(Readable.from(chunks, { objectMode: false }), gz, () => {
    // The error, if any, reaches the reader of gz (pipeline destroys it with the error).
  });
  const out = gz[Symbol.asyncIterator]() as AsyncGenerator<Buffer>;
  return stoppedWith(out, () => {
    gz.destroy();
    return chunks.return?.();
  });
}
