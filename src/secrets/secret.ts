import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A handle on a resolved secret. It holds no plaintext: `use` goes back to the
 * resolver, which serves the sealed cache until the lease ends and then
 * re-resolves (failing closed), and zeroes the buffer when `fn` settles.
 * Every way of printing it — String(), JSON, util.inspect, template literals,
 * console.log — shows `[redacted]`.
 */
export class Secret {
  readonly #use: <T>(fn: (plaintext: Buffer) => T | Promise<T>) => Promise<T>;

  constructor(use: <T>(fn: (plaintext: Buffer) => T | Promise<T>) => Promise<T>) {
    this.#use = use;
  }

  use<T>(fn: (plaintext: Buffer) => T | Promise<T>): Promise<T> {
    return this.#use(fn);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
