import { canonicalJson, sha256Hex } from '../core/canonical.ts';

export const GENESIS_HASH = '0'.repeat(64);
export const OUTCOMES = ['success', 'failure', 'denied'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface AuditRecord {
  tenant_id: string;
  seq: number;
  time: string;
  actor: string;
  action: string;
  target: string;
  outcome: Outcome;
  data: Record<string, unknown>;
}

export interface AuditEvent extends AuditRecord {
  prev_hash: string;
  hash: string;
}

function hashedObject(record: AuditRecord, prevHash: string): Record<string, unknown> {
  return {
    tenant_id: record.tenant_id,
    seq: record.seq,
    time: record.time,
    actor: record.actor,
    action: record.action,
    target: record.target,
    outcome: record.outcome,
    data: record.data,
    prev_hash: prevHash,
  };
}

/** hash = SHA-256 over the canonical encoding of the record together with prev_hash. */
export function chainHash(record: AuditRecord, prevHash: string): string {
  return sha256Hex(canonicalJson(hashedObject(record, prevHash)));
}

const PREV_MARK = '\u0000prev\u0000';
const SEQ = 987_654_321_012_345;

/**
 * The canonical encoding split around prev_hash and seq, which only the
 * database knows at append time. `before + prev + middle + seq + after` is
 * byte-for-byte what chainHash hashes (the order of prev_hash and seq is fixed
 * by the sorted keys: prev_hash < seq).
 */
export function canonicalTemplate(record: Omit<AuditRecord, 'seq'>): { before: string; middle: string; after: string } {
  const text = canonicalJson(hashedObject({ ...record, seq: SEQ }, PREV_MARK));
  const prevAt = text.indexOf(JSON.stringify(PREV_MARK));
  const seqToken = `"seq":${SEQ}`;
  const seqAt = text.indexOf(seqToken, prevAt);
  if (prevAt < 0 || seqAt < 0) throw new Error('canonical template markers not found');
  return {
    before: `${text.slice(0, prevAt)}"`,
    middle: `"${text.slice(prevAt + JSON.stringify(PREV_MARK).length, seqAt)}"seq":`,
    after: text.slice(seqAt + seqToken.length),
  };
}

export type ChainVerdict =
  | { ok: true; count: number; head: { seq: number; hash: string } }
  | { ok: false; seq: number; reason: string };

/**
 * Walks events in seq order and reports the first that does not verify: a gap,
 * a prev_hash that is not the previous hash, or a hash that is not what the
 * record hashes to. Feed pages in order; `finish` checks the stored head.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private failure: { seq: number; reason: string } | undefined;

  private readonly tenantId: string;

  constructor(tenantId: string) {
    this.tenantId = tenantId;
  }

  add(event: AuditEvent): boolean {
    if (this.failure) return false;
    const fail = (reason: string): boolean => {
      this.failure = { seq: this.expectedSeq, reason };
      return false;
    };
    if (event.seq !== this.expectedSeq) return fail(event.seq > this.expectedSeq ? `seq ${this.expectedSeq} is missing (next is ${event.seq})` : `seq ${event.seq} out of order`);
    if (event.tenant_id !== this.tenantId) return fail('record belongs to another tenant');
    if (event.prev_hash !== this.prevHash) return fail('prev_hash does not match the previous record');
    if (chainHash(event, event.prev_hash) !== event.hash) return fail('hash does not match the record');
    this.prevHash = event.hash;
    this.expectedSeq += 1;
    return true;
  }

  finish(head?: { seq: number; hash: string | null }): ChainVerdict {
    if (this.failure) return { ok: false, ...this.failure };
    const count = this.expectedSeq - 1;
    if (head && head.seq > count) return { ok: false, seq: count + 1, reason: `records ${count + 1}..${head.seq} are missing (the chain head says ${head.seq})` };
    if (head && head.seq === count && count > 0 && head.hash !== this.prevHash) return { ok: false, seq: count, reason: 'the chain head hash does not match the last record' };
    return { ok: true, count, head: { seq: count, hash: this.prevHash } };
  }
}
