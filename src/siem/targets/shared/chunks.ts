import type { Rejection, SinkOutcome } from '../types.ts';

/** One encoded entry of a request body (a record, a log entry) and the batch index it stands for. */
export interface Piece {
  index: number;
  bytes: Buffer;
}

/** A piece that cannot be sent at all, and why (it is parked, never cut or dropped). */
export interface Refusal {
  index: number;
  reason: string;
}

/**
 * Groups pieces, in order, into request bodies of at most `maxBytes`:
 * `overhead` bytes of envelope per request plus the pieces and a
 * `separator`-byte gap between them. A piece that does not fit even alone is
 * refused (the engine parks it) rather than sent to be refused or cut.
 */
export function chunkBySize(pieces: readonly Piece[], maxBytes: number, overhead: number, separator: number, what: string): { chunks: Piece[][]; refused: Refusal[] } {
  const chunks: Piece[][] = [];
  const refused: Refusal[] = [];
  let current: Piece[] = [];
  let size = overhead;
  for (const p of pieces) {
    if (overhead + p.bytes.length > maxBytes) {
      refused.push({ index: p.index, reason: `${what} of ${p.bytes.length} bytes does not fit a request of at most ${maxBytes} bytes` });
      continue;
    }
    const add = current.length === 0 ? p.bytes.length : separator + p.bytes.length;
    if (current.length > 0 && size + add > maxBytes) {
      chunks.push(current);
      current = [];
      size = overhead;
    }
    size += current.length === 0 ? p.bytes.length : separator + p.bytes.length;
    current.push(p);
  }
  if (current.length > 0) chunks.push(current);
  return { chunks, refused };
}

/**
 * Sends the chunks of one batch in order and folds their answers into one
 * outcome. Refused pieces are rejections (parked). While nothing was delivered
 * yet the first failing chunk's own outcome stands for the batch (a 400 is
 * bisected, a 401 pauses, a 429 waits); once some chunk was acknowledged, the
 * rest is handed back for retry so acknowledged events are never sent twice
 * and never counted before their acknowledgement. A later chunk's `paused`
 * (401/403, a misconfiguration) stays a pause (`retryPaused`): the stream
 * raises the same alarm whichever request of the batch was refused.
 */
export async function sendChunks(chunks: readonly Piece[][], refused: readonly Refusal[], send: (chunk: readonly Piece[]) => Promise<SinkOutcome>): Promise<SinkOutcome> {
  const rejected: Rejection[] = refused.map((r) => ({ index: r.index, status: undefined, reason: r.reason, response: '' }));
  for (let k = 0; k < chunks.length; k++) {
    const outcome = await send(chunks[k] as Piece[]);
    if (outcome.kind === 'ok') continue;
    if (k === 0 && rejected.length === 0) return outcome;
    const retry = chunks.slice(k).flatMap((c) => c.map((p) => p.index));
    const reason = outcome.kind === 'retryable' || outcome.kind === 'paused' || outcome.kind === 'permanent' ? outcome.reason : 'a later request failed';
    return { kind: 'partial', rejected, retry, retryReason: reason, retryAfterMs: outcome.kind === 'retryable' ? outcome.retryAfterMs : undefined, retryPaused: outcome.kind === 'paused' };
  }
  return rejected.length === 0 ? { kind: 'ok' } : { kind: 'partial', rejected, retry: [], retryReason: '' };
}
