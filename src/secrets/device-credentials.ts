import { systemClock, type Clock } from '../core/clock.ts';
import { isProbectlError, ProbectlError, type ErrorCode } from '../core/errors.ts';
import {
  DEFAULT_AUTH_PROTOCOL, DEFAULT_PRIV_PROTOCOL, deviceCredVariable, normalizeAuthProtocol, normalizePrivProtocol,
  type AuthProtocol, type DeviceCredentialSpec, type DeviceCredField, type PrivProtocol,
} from './device-config.ts';
import { describeFailure, isoOrNull, type DeviceCredentialHealth, type HealthContributor } from './health.ts';
import { redactRef } from './ref.ts';
import type { SecretResolver } from './resolver.ts';

/** A device credential as one poll cycle sees it. Buffers are zeroed when the cycle's callback settles. */
export interface ResolvedDeviceCredential {
  readonly name: string;
  readonly username: string | undefined;
  readonly snmpv3: {
    readonly authProtocol: AuthProtocol;
    readonly authKey: Buffer;
    readonly privProtocol: PrivProtocol | undefined;
    readonly privKey: Buffer | undefined;
  } | undefined;
  readonly community: Buffer | undefined;
  readonly password: Buffer | undefined;
}

export type CycleOutcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ProbectlError };

interface Counters {
  cycles: number;
  skipped: number;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
}

export interface DeviceCredentialsOptions {
  resolver: SecretResolver;
  specs: readonly DeviceCredentialSpec[];
  clock?: Clock;
  /** Told about each skipped cycle (for a log line); the error is redacted. */
  onSkip?: (name: string, error: ProbectlError) => void;
}

/**
 * Resolves device credentials per use — per poll cycle — through the
 * resolver, so a rotation upstream reaches the next cycle after the lease
 * ends. A cycle whose credential cannot be resolved is skipped and counted,
 * never run with stale or partial material; the next cycle tries again.
 */
export class DeviceCredentials implements HealthContributor {
  readonly #resolver: SecretResolver;
  readonly #specs = new Map<string, DeviceCredentialSpec>();
  readonly #counters = new Map<string, Counters>();
  readonly #clock: Clock;
  readonly #onSkip: ((name: string, error: ProbectlError) => void) | undefined;

  constructor(opts: DeviceCredentialsOptions) {
    this.#resolver = opts.resolver;
    this.#clock = opts.clock ?? systemClock;
    this.#onSkip = opts.onSkip;
    for (const spec of opts.specs) {
      this.#specs.set(spec.name, spec);
      this.#counters.set(spec.name, { cycles: 0, skipped: 0, lastError: undefined, lastErrorAt: undefined });
    }
  }

  names(): string[] {
    return [...this.#specs.keys()];
  }

  /** Resolves every field of the credential now and calls `fn`; throws (redacted) when any field fails. */
  async use<T>(name: string, fn: (cred: ResolvedDeviceCredential) => T | Promise<T>): Promise<T> {
    const spec = this.#specs.get(name);
    if (!spec) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', `no device credential named ${name}`);
    // Every field settles before anything returns, so no late copy escapes the zeroing below.
    const settled = await Promise.allSettled(Object.entries(spec.fields).map(async ([field, ref]) => {
      try {
        return [field, await this.#resolver.use(ref, (b) => Buffer.from(b))] as const;
      } catch (err) {
        const e = isProbectlError(err) ? err : new ProbectlError('PROBECTL_ERR_SECRET_UNAVAILABLE', 'resolution failed');
        throw credentialError(e.code, deviceCredVariable(name, field as DeviceCredField), e.message, redactRef(ref));
      }
    }));
    const values = new Map<string, Buffer>();
    for (const r of settled) if (r.status === 'fulfilled') values.set(r.value[0], r.value[1]);
    try {
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      return await fn(this.#assemble(name, values));
    } finally {
      for (const b of values.values()) b.fill(0);
    }
  }

  /** One poll cycle: on a credential failure the cycle is skipped and counted, and `fn` is not called. Errors from `fn` propagate. */
  async pollCycle<T>(name: string, fn: (cred: ResolvedDeviceCredential) => T | Promise<T>): Promise<CycleOutcome<T>> {
    const counters = this.#counters.get(name);
    if (!counters) throw new ProbectlError('PROBECTL_ERR_NOT_FOUND', `no device credential named ${name}`);
    counters.cycles += 1;
    let resolved = false;
    try {
      const value = await this.use(name, (cred) => {
        resolved = true;
        return fn(cred);
      });
      return { ok: true, value };
    } catch (err) {
      if (resolved || !isProbectlError(err)) throw err;
      counters.skipped += 1;
      // Health carries no reference locations: the variable and the backend's redacted reason only.
      const variable = typeof err.details?.variable === 'string' ? err.details.variable : name;
      const reason = typeof err.details?.reason === 'string' ? err.details.reason : err.message;
      counters.lastError = describeFailure(new ProbectlError(err.code, `${variable}: ${reason}`));
      counters.lastErrorAt = this.#clock.now();
      this.#onSkip?.(name, err);
      return { ok: false, error: err };
    }
  }

  stats(): { name: string; cycles: number; skipped: number }[] {
    return [...this.#counters].map(([name, c]) => ({ name, cycles: c.cycles, skipped: c.skipped }));
  }

  deviceCredentials(): DeviceCredentialHealth[] {
    return [...this.#counters].map(([name, c]) => ({ name, cycles: c.cycles, skipped: c.skipped, last_error: c.lastError ?? null, last_error_at: isoOrNull(c.lastErrorAt) }));
  }

  #assemble(name: string, v: Map<string, Buffer>): ResolvedDeviceCredential {
    const text = (field: DeviceCredField) => v.get(field)?.toString('utf8');
    let snmpv3: ResolvedDeviceCredential['snmpv3'];
    const authKey = v.get('AUTH_PASS');
    if (authKey) {
      const authText = text('AUTH_PROTO');
      const authProtocol = authText === undefined ? DEFAULT_AUTH_PROTOCOL : normalizeAuthProtocol(authText);
      if (!authProtocol) throw credentialError('PROBECTL_ERR_SECRET_MALFORMED', deviceCredVariable(name, 'AUTH_PROTO'), 'resolved to an unknown SNMPv3 authentication protocol');
      const privKey = v.get('PRIV_PASS');
      const privText = text('PRIV_PROTO');
      const privProtocol = privKey === undefined ? undefined : privText === undefined ? DEFAULT_PRIV_PROTOCOL : normalizePrivProtocol(privText);
      if (privKey !== undefined && !privProtocol) throw credentialError('PROBECTL_ERR_SECRET_MALFORMED', deviceCredVariable(name, 'PRIV_PROTO'), 'resolved to an unknown SNMPv3 privacy protocol');
      snmpv3 = { authProtocol, authKey, privProtocol, privKey };
    }
    return { name, username: text('USERNAME'), snmpv3, community: v.get('COMMUNITY'), password: v.get('PASSWORD') };
  }
}

/** `VARIABLE (redacted ref): reason`, with the parts kept apart for the health report. */
function credentialError(code: ErrorCode, variable: string, reason: string, where?: string): ProbectlError {
  return new ProbectlError(code, `${variable}${where ? ` (${where})` : ''}: ${reason}`, { details: { variable, reason } });
}
