import { LRUCache } from 'lru-cache';
import { appendAudit } from '../audit/log.ts';
import type { Clock } from '../core/clock.ts';
import { OncePerInterval } from '../core/once-per-interval.ts';
import { ProbectlError } from '../core/errors.ts';
import { holds, isPermission, type Permission, type Principal } from '../identity/permissions.ts';
import { findTokenByHash, hashToken, looksLikeToken, TOKENS_STREAM, type TokenMatch } from '../identity/tokens.ts';
import type { Db } from '../store/db.ts';
import { inSystem, inTenant } from '../store/scope.ts';

/**
 * The token from `Authorization: Bearer <token>` or HTTP Basic with the token
 * as the password (Grafana's datasource form). undefined: no credentials at
 * all; null: a header that carries no usable token.
 */
export function presentedToken(header: string | undefined): string | null | undefined {
  if (header === undefined || header === '') return undefined;
  const m = /^(Bearer|Basic)\s+(\S+)\s*$/i.exec(header);
  if (!m) return null;
  const scheme = (m[1] as string).toLowerCase();
  const value = m[2] as string;
  if (scheme === 'bearer') return value;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : null;
}

export interface AuthenticatorOptions {
  db: Db;
  clock: Clock;
  providerTenantId: string;
  failureAuditPerMinute: number;
  successAuditIntervalMs: number;
  onOutcome?: (outcome: 'success' | 'failure' | 'denied') => void;
}

interface FailureWindow { start: number; recorded: number; suppressed: number }

const MAX_TRACKED = 10_000;

/**
 * How long (ms) a verified token is taken without asking the database again. A revocation
 * empties every replica's cache at once (the `tokens` stream announcement, LISTEN/NOTIFY on
 * PostgreSQL); this bounds the case where that announcement is missed (a replica's listening
 * connection reconnecting at that moment).
 */
export const VERIFIED_TOKEN_TTL_MS = 10_000;

/**
 * Authenticates requests and records logins in the audit log: a success once
 * per token and source per interval, failures rate-limited per source (what
 * was suppressed is counted into the next record, so nothing vanishes
 * silently). The presented token never appears in any record.
 */
export class Authenticator {
  private readonly successes: OncePerInterval;
  private readonly failures = new LRUCache<string, FailureWindow>({ max: MAX_TRACKED });
  /**
   * Tokens found valid, by token hash, each looked up `at` (clock ms) and taken until `at` +
   * VERIFIED_TOKEN_TTL_MS — and not if the clock now reads earlier than `at` (stepped back, it
   * would otherwise stretch the entry by as much): a request of a known token costs no
   * database transaction. Only valid tokens are kept; unknown and revoked ones
   * are looked up every time (and their failures audited under the per-source limit).
   */
  private readonly verified = new LRUCache<string, { match: TokenMatch; at: number }>({ max: MAX_TRACKED });
  /** Bumped when the cache is emptied: a lookup that began before a revocation does not refill it. */
  private generation = 0;
  private readonly unsubscribe: () => void;

  private readonly opts: AuthenticatorOptions;

  constructor(opts: AuthenticatorOptions) {
    this.opts = opts;
    this.successes = new OncePerInterval(opts.successAuditIntervalMs, MAX_TRACKED);
    this.unsubscribe = opts.db.streams.subscribe((_tenant, stream) => {
      if (stream !== TOKENS_STREAM) return;
      this.generation++;
      this.verified.clear();
    });
  }

  /** Stops following revocations (the server closing). */
  close(): void {
    this.unsubscribe();
    this.verified.clear();
  }

  /** The token of `hash`: from the cache while it is fresh, else from the database (kept when valid). */
  private async lookup(hash: string): Promise<TokenMatch | undefined> {
    const now = this.opts.clock.now();
    const hit = this.verified.get(hash);
    if (hit !== undefined && hit.at <= now && now - hit.at < VERIFIED_TOKEN_TTL_MS) return hit.match;
    const generation = this.generation;
    const match = await inSystem(this.opts.db, (tx) => findTokenByHash(tx, hash));
    if (match && !match.revoked && generation === this.generation) this.verified.set(hash, { match, at: now });
    else this.verified.delete(hash);
    return match;
  }

  async authenticate(header: string | undefined, source: string): Promise<Principal> {
    const token = presentedToken(header);
    if (token === undefined) throw new ProbectlError('PROBECTL_ERR_UNAUTHENTICATED', 'authentication required: send Authorization: Bearer <token>');
    const match = token !== null && looksLikeToken(token) ? await this.lookup(hashToken(token)) : undefined;
    if (!match || match.revoked) {
      await this.recordFailure(source, match ? match.tenantId : this.opts.providerTenantId, match ? `token:${match.id}` : 'token:unknown', match ? 'revoked token' : token === null ? 'malformed credentials' : 'unknown token');
      throw new ProbectlError('PROBECTL_ERR_UNAUTHENTICATED', 'invalid or revoked token');
    }
    const principal: Principal = {
      tenantId: match.tenantId,
      tokenId: match.id,
      // provider-admin reaches every tenant, so it counts only on a token of the provider tenant: one that
      // ended up in a customer's tenant (issued before that was refused) holds that tenant's permissions only.
      permissions: new Set(match.permissions.filter(isPermission).filter((p) => p !== 'provider-admin' || match.tenantId === this.opts.providerTenantId)),
      actor: `token:${match.id}`,
    };
    await this.recordSuccess(principal, source);
    return principal;
  }

  /**
   * Checks the permissions after the tenant is known: one of `needed` and
   * every one of `allOf`. A denial is audited under the same per-source limit.
   */
  async authorize(principal: Principal, needed: readonly Permission[], route: string, source: string, allOf: readonly Permission[] = []): Promise<void> {
    if (needed.some((p) => holds(principal, p)) && allOf.every((p) => holds(principal, p))) return;
    this.opts.onOutcome?.('denied');
    if (this.admitFailure(source)) {
      await inTenant(this.opts.db, principal.tenantId, (tx) => appendAudit(tx, this.opts.clock, {
        actor: principal.actor, action: 'access.denied', target: route, outcome: 'denied',
        data: { source, required: [...needed], ...(allOf.length > 0 ? { required_all: [...allOf] } : {}), suppressed_since_last: this.takeSuppressed(source) },
      }));
    }
    const missing = allOf.filter((p) => !holds(principal, p));
    if (missing.length > 0) throw new ProbectlError('PROBECTL_ERR_FORBIDDEN', `this token lacks the ${missing.join(' and ')} permission (the route needs ${allOf.join(' and ')})`);
    throw new ProbectlError('PROBECTL_ERR_FORBIDDEN', `this token lacks the ${needed.join(' or ')} permission`);
  }

  private async recordSuccess(principal: Principal, source: string): Promise<void> {
    this.opts.onOutcome?.('success');
    if (!this.successes.check(`${principal.tokenId}|${source}`, this.opts.clock.now()).due) return;
    await inTenant(this.opts.db, principal.tenantId, (tx) => appendAudit(tx, this.opts.clock, {
      actor: principal.actor, action: 'auth.login', target: `token:${principal.tokenId}`, outcome: 'success', data: { source },
    }));
  }

  private async recordFailure(source: string, tenantId: string, target: string, reason: string): Promise<void> {
    this.opts.onOutcome?.('failure');
    if (!this.admitFailure(source)) return;
    await inTenant(this.opts.db, tenantId, (tx) => appendAudit(tx, this.opts.clock, {
      actor: 'anonymous', action: 'auth.login', target, outcome: 'failure',
      data: { source, reason, suppressed_since_last: this.takeSuppressed(source) },
    }));
  }

  private admitFailure(source: string): boolean {
    const now = this.opts.clock.now();
    let w = this.failures.get(source);
    if (!w || now - w.start >= 60_000) {
      w = { start: now, recorded: 0, suppressed: w?.suppressed ?? 0 };
      this.failures.set(source, w);
    }
    if (w.recorded >= this.opts.failureAuditPerMinute) {
      w.suppressed += 1;
      return false;
    }
    w.recorded += 1;
    return true;
  }

  private takeSuppressed(source: string): number {
    const w = this.failures.get(source);
    if (!w) return 0;
    const n = w.suppressed;
    w.suppressed = 0;
    return n;
  }
}
