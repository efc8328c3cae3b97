/**
 * An answer body a reader may stop at any time, for the streamed upstream answers (client.ts,
 * federate-instance.ts): a generator busy in a read (a silent engine) only sees its return/throw
 * after that read, so the stop runs first and ends the source at once.
 */

/**
 * `body` whose return/throw first run `stop` (which ends the source at once: the engine's
 * connection cancelled), then reach the generator. `stop` may return a promise; its failure is
 * ignored (the source is ending either way).
 */
export function stoppedWith(body: AsyncGenerator<Buffer>, stop: () => unknown): AsyncIterableIterator<Buffer> {
  const halt = (): void => {
    try {
      void Promise.resolve(stop()).catch(() => {});
    } catch {
      // The source's own stop failing leaves nothing to do here: it is ending either way.
    }
  };
  const iterator: AsyncIterableIterator<Buffer> = {
    next: () => body.next(),
    return: (value?: unknown) => {
      halt();
      return body.return(value);
    },
    throw: (err?: unknown) => {
      halt();
      return body.throw(err);
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

