import { EventEmitter } from 'node:events';

/**
 * Wake-ups for drainers: producers announce, after their transaction
 * committed, that a tenant's durable stream grew ("audit", "threat", an
 * outbox…), so drainers deliver within moments instead of waiting for their
 * poll. Each database handle owns one (Db.streams); on PostgreSQL the
 * announcement also reaches the other replicas (LISTEN/NOTIFY). Never a
 * process-global: two databases in one process never wake each other.
 */
export interface StreamEvents {
  /** Announces that `stream` of `tenantId` grew. Never throws; never blocks. */
  notify(tenantId: string, stream: string): void;
  /** Calls `fn` for every announcement (local and, where supported, other replicas'); returns the unsubscribe. */
  subscribe(fn: (tenantId: string, stream: string) => void): () => void;
}

/** In-process announcements only (the embedded database: one process owns it). */
export class LocalStreamEvents implements StreamEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  notify(tenantId: string, stream: string): void {
    this.emitter.emit('grew', tenantId, stream);
  }

  subscribe(fn: (tenantId: string, stream: string) => void): () => void {
    this.emitter.on('grew', fn);
    return () => this.emitter.off('grew', fn);
  }

  /** Number of subscribers (the PostgreSQL bridge listens only while there are some). */
  get subscribers(): number {
    return this.emitter.listenerCount('grew');
  }
}
