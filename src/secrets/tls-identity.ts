import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import { systemClock, type Clock } from '../core/clock.ts';
import { isProbectlError, ProbectlError } from '../core/errors.ts';
import { Periodic } from '../core/periodic.ts';
import { isoOrNull, type HealthContributor, type TlsIdentityHealth } from './health.ts';
import type { SecretRef } from './ref.ts';
import type { SecretResolver } from './resolver.ts';
import { Sealer } from './seal.ts';

/** Where one part of an identity comes from: a PEM file, or a secret reference resolving to PEM. */
export type PemSource = { readonly file: string } | { readonly ref: SecretRef };

export interface TlsIdentityOptions {
  /** A name for health and metrics (`server`, `cyberark-client`); never a path. */
  name: string;
  cert: PemSource;
  key: PemSource;
  /** CA bundle for verifying peers (mutual TLS), when the identity carries one. */
  ca?: PemSource | undefined;
  resolver: SecretResolver;
  clock?: Clock;
  /** How often start() checks for a renewal; default 30 s. */
  intervalMs?: number;
}

/** The PEM material of an identity, as TLS APIs take it. */
export interface TlsMaterial {
  cert: string;
  key: string;
  ca: string | undefined;
}

export type CheckResult = 'loaded' | 'unchanged' | 'rejected';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * A TLS identity (certificate, key, optional CA bundle) loaded from files or
 * secret references and picked up again when renewed in place — a file
 * replaced, or a reference whose lease ended resolving to new material.
 * Listeners (a server's setSecureContext, an HTTP client's setTls) get the new
 * material for new connections. A renewal that does not parse, or whose key
 * does not match its certificate, is refused: the previous identity stays in
 * service and the error shows in health. Between checks the material is held
 * sealed, like resolved secrets.
 */
export class TlsIdentity implements HealthContributor {
  readonly name: string;
  readonly #opts: TlsIdentityOptions;
  readonly #clock: Clock;
  readonly #sealer = new Sealer();
  readonly #aad: Buffer;
  readonly #listeners = new Set<(m: TlsMaterial) => void>();
  #sealed: Buffer | undefined;
  #digest: string | undefined;
  #rejectedDigest: string | undefined;
  #fingerprint: string | undefined;
  #notAfter: number | undefined;
  #loadedAt: number | undefined;
  #current = true;
  #reloads = 0;
  #failures = 0;
  #lastError: string | undefined;
  #lastErrorAt: number | undefined;
  #periodic: Periodic | undefined;
  #checking: Promise<CheckResult> | undefined;

  private constructor(opts: TlsIdentityOptions) {
    this.name = opts.name;
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#aad = Buffer.from(`tls-identity:${opts.name}`);
  }

  /** Loads the identity now; a failure is PROBECTL_ERR_TLS_SETUP (startup refuses). */
  static async load(opts: TlsIdentityOptions): Promise<TlsIdentity> {
    const identity = new TlsIdentity(opts);
    const result = await identity.check();
    if (result !== 'loaded') throw new ProbectlError('PROBECTL_ERR_TLS_SETUP', `TLS identity ${opts.name}: ${identity.#lastError ?? 'cannot be loaded'}`);
    opts.resolver.addHealthContributor(identity);
    return identity;
  }

  get fingerprint256(): string {
    return this.#fingerprint as string;
  }

  /** The material in service now. */
  material(): TlsMaterial {
    const plain = this.#sealer.open(this.#sealed as Buffer, this.#aad);
    try {
      return decode(plain);
    } finally {
      plain.fill(0);
    }
  }

  /** Calls `listener` with each renewal taken into service; returns an unsubscribe function. */
  onChange(listener: (m: TlsMaterial) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Serves this identity from `server` for new connections, now and after
   * every renewal. `base` is re-applied each time: setSecureContext replaces
   * the server's options, so settings such as minVersion would otherwise be lost.
   */
  attach(server: TlsServer, base: SecureContextOptions = {}): () => void {
    const apply = (m: TlsMaterial) => server.setSecureContext({ ...base, cert: m.cert, key: m.key, ...(m.ca ? { ca: m.ca } : {}) });
    apply(this.material());
    return this.onChange(apply);
  }

  /** Checks the sources once; concurrent calls share one check. */
  check(): Promise<CheckResult> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  start(): void {
    this.#periodic ??= new Periodic(this.#opts.intervalMs ?? 30_000, async () => {
      await this.check();
    });
    this.#periodic.start();
  }

  async stop(): Promise<void> {
    await this.#periodic?.stop();
  }

  tlsIdentities(): TlsIdentityHealth[] {
    return [{
      name: this.name, fingerprint256: this.#fingerprint ?? null, not_after: isoOrNull(this.#notAfter), loaded_at: isoOrNull(this.#loadedAt),
      current: this.#current, reloads: this.#reloads, failures: this.#failures, last_error: this.#lastError ?? null, last_error_at: isoOrNull(this.#lastErrorAt),
    }];
  }

  async #check(): Promise<CheckResult> {
    const parts: Buffer[] = [];
    try {
      let cert: Buffer;
      let key: Buffer;
      let ca: Buffer | undefined;
      try {
        cert = await this.#read(this.#opts.cert, 'certificate');
        parts.push(cert);
        key = await this.#read(this.#opts.key, 'private key');
        parts.push(key);
        ca = this.#opts.ca ? await this.#read(this.#opts.ca, 'CA bundle') : undefined;
        if (ca) parts.push(ca);
      } catch (err) {
        return this.#refuse(undefined, (err as Error).message);
      }
      const digest = createHash('sha256').update(cert).update('\0').update(key).update('\0').update(ca ?? '').digest('hex');
      if (digest === this.#digest) return 'unchanged';
      if (digest === this.#rejectedDigest) return 'rejected';
      let parsed: { fingerprint: string; notAfter: number };
      try {
        parsed = validate(cert, key, ca);
      } catch (err) {
        return this.#refuse(digest, (err as Error).message);
      }
      const material = encode(cert, key, ca);
      const sealed = this.#sealer.seal(material, this.#aad);
      material.fill(0);
      const first = this.#sealed === undefined;
      this.#sealed?.fill(0);
      this.#sealed = sealed;
      this.#digest = digest;
      this.#rejectedDigest = undefined;
      this.#fingerprint = parsed.fingerprint;
      this.#notAfter = parsed.notAfter;
      this.#loadedAt = this.#clock.now();
      this.#current = true;
      if (!first) {
        this.#reloads += 1;
        const m = this.material();
        for (const listener of this.#listeners) {
          try {
            listener(m);
          } catch (err) {
            this.#refuse(undefined, `a consumer could not apply the renewal (${(err as Error).name})`);
          }
        }
      }
      return 'loaded';
    } finally {
      for (const p of parts) p.fill(0);
    }
  }

  #refuse(digest: string | undefined, reason: string): CheckResult {
    if (digest !== undefined) this.#rejectedDigest = digest;
    this.#failures += 1;
    this.#current = this.#sealed === undefined;
    this.#lastError = this.#sealed === undefined ? reason : `renewal refused, previous identity kept: ${reason}`;
    this.#lastErrorAt = this.#clock.now();
    return 'rejected';
  }

  async #read(source: PemSource, what: string): Promise<Buffer> {
    if ('file' in source) {
      try {
        return await readFile(source.file);
      } catch (err) {
        throw new Error(`the ${what} file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    try {
      return await this.#opts.resolver.use(source.ref, (b) => Buffer.from(b));
    } catch (err) {
      throw new Error(`the ${what} reference cannot be resolved (${isProbectlError(err) ? `${err.code}: ${err.message}` : 'error'})`);
    }
  }
}

function validate(cert: Buffer, key: Buffer, ca: Buffer | undefined): { fingerprint: string; notAfter: number } {
  const certText = cert.toString('utf8');
  const first = certText.match(PEM_CERT)?.[0];
  if (!first) throw new Error('the certificate is not PEM');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(first);
  } catch {
    throw new Error('the certificate does not parse');
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new Error('the private key does not parse');
  }
  if (!x509.checkPrivateKey(privateKey)) throw new Error('the private key does not match the certificate');
  if (ca) {
    const blocks = ca.toString('utf8').match(PEM_CERT) ?? [];
    if (blocks.length === 0) throw new Error('the CA bundle holds no PEM certificate');
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch {
        throw new Error('a certificate in the CA bundle does not parse');
      }
    }
  }
  try {
    createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
  } catch (err) {
    throw new Error(`TLS refuses the identity (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return { fingerprint: x509.fingerprint256, notAfter: x509.validToDate.getTime() };
}

/** cert, key and CA in one buffer for sealing: three length-prefixed parts. */
function encode(cert: Buffer, key: Buffer, ca: Buffer | undefined): Buffer {
  const parts = [cert, key, ca ?? Buffer.alloc(0)];
  const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.writeUInt32BE(p.length, at);
    p.copy(out, at + 4);
    at += 4 + p.length;
  }
  return out;
}

function decode(buf: Buffer): TlsMaterial {
  const parts: string[] = [];
  let at = 0;
  for (let i = 0; i < 3; i++) {
    const len = buf.readUInt32BE(at);
    parts.push(buf.toString('utf8', at + 4, at + 4 + len));
    at += 4 + len;
  }
  return { cert: parts[0] as string, key: parts[1] as string, ca: parts[2] === '' ? undefined : parts[2] };
}
