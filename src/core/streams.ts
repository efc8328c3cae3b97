import { EventEmitter } from 'node:events';

export type StreamName = 'audit' | 'threat';

/**
 * In-process wake-ups: appends announce (after commit) that a tenant's stream
 * grew, so drainers deliver within moments instead of waiting for their poll.
 * Other replicas rely on their poll interval.
 */
export class StreamNotifier {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  notify(tenantId: string, stream: StreamName): void {
    this.emitter.emit('grew', tenantId, stream);
  }

  subscribe(fn: (tenantId: string, stream: StreamName) => void): () => void {
    this.emitter.on('grew', fn);
    return () => this.emitter.off('grew', fn);
  }
}

/** The process's notifier. */
export const streamNotifier = new StreamNotifier();
