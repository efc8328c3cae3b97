import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity, connect, rootCertificates, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { formatHostPort } from '../core/net.ts';
import type { SignalInput } from '../incidents/model.ts';

export interface PostureTarget {
  host: string;
  port: number;
  servername?: string | undefined;
}

export interface PostureOptions {
  now: number;
  expiryDays: number;
  /** Extra trusted CAs (PEM), added to the system roots. */
  extraCa?: string | undefined;
  timeoutMs?: number;
}

export interface PostureReport {
  target: string;
  reachable: boolean;
  protocol?: string | undefined;
  findings: SignalInput[];
  error?: string | undefined;
}

const DAY = 86_400_000;
const SELF_SIGNED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);
const EXPIRY_ERRORS = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
// Node reports a name mismatch as the authorization error only when the chain itself verified.
const NOT_CHAIN_ERRORS = new Set([...EXPIRY_ERRORS, 'ERR_TLS_CERT_ALTNAME_INVALID']);
const WEAK_PROTOCOLS = new Set(['SSLv3', 'TLSv1', 'TLSv1.1']);

interface Handshake {
  socket: TLSSocket;
  cert: DetailedPeerCertificate;
  protocol: string | null;
}

/**
 * This is a scanner, not a client: it completes a handshake only to read what
 * the server presents and never sends application data, so it accepts any
 * certificate and any protocol and then judges them itself. Everything that
 * carries data elsewhere in probectl validates certificates.
 */
function handshake(target: PostureTarget, opts: PostureOptions, versions: { min: 'TLSv1' | 'TLSv1.2'; max?: 'TLSv1.1' }): Promise<Handshake> {
  const servername = target.servername ?? (isIP(target.host) ? undefined : target.host);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: target.host,
      port: target.port,
      ...(servername ? { servername } : {}),
      rejectUnauthorized: false,
      ca: opts.extraCa ? [...rootCertificates, opts.extraCa] : [...rootCertificates],
      minVersion: versions.min,
      ...(versions.max ? { maxVersion: versions.max } : {}),
      ciphers: 'DEFAULT:@SECLEVEL=0',
      timeout: opts.timeoutMs ?? 10_000,
    });
    socket.once('secureConnect', () => resolve({ socket, cert: socket.getPeerCertificate(true), protocol: socket.getProtocol() }));
    socket.once('timeout', () => socket.destroy(new Error('timed out')));
    socket.once('error', reject);
  });
}

function isSelfSigned(cert: DetailedPeerCertificate): boolean {
  try {
    const x = new X509Certificate(cert.raw);
    return x.subject === x.issuer && x.verify(x.publicKey);
  } catch {
    return false;
  }
}

function isTrustedExtra(cert: DetailedPeerCertificate, extraCa: string | undefined): boolean {
  if (!extraCa) return false;
  const pems = extraCa.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return pems.some((pem) => {
    try {
      return new X509Certificate(pem).fingerprint256 === cert.fingerprint256;
    } catch {
      return false;
    }
  });
}

function finding(target: string, kind: string, severity: SignalInput['severity'], title: string, attributes: Record<string, unknown>): SignalInput {
  return { kind, severity, confidence: 100, target, title, attributes };
}

export async function checkTlsPosture(target: PostureTarget, opts: PostureOptions): Promise<PostureReport> {
  const where = formatHostPort(target);
  let hs: Handshake;
  try {
    hs = await handshake(target, opts, { min: 'TLSv1' });
  } catch (err) {
    return { target: where, reachable: false, findings: [], error: (err as Error).message };
  }
  const { socket, cert, protocol } = hs;
  const authError = socket.authorized ? undefined : String(socket.authorizationError ?? 'UNKNOWN');
  socket.destroy();

  const base = {
    servername: target.servername ?? target.host,
    subject: cert.subject?.CN ?? null,
    issuer: cert.issuer?.CN ?? null,
    valid_from: new Date(cert.valid_from).toISOString(),
    valid_to: new Date(cert.valid_to).toISOString(),
    fingerprint256: cert.fingerprint256,
    protocol,
  };
  const findings: SignalInput[] = [];
  const notAfter = new Date(cert.valid_to).getTime();
  const notBefore = new Date(cert.valid_from).getTime();
  if (notAfter <= opts.now) {
    findings.push(finding(where, 'tls.expired', 'critical', `TLS certificate of ${where} expired on ${base.valid_to}`, base));
  } else if (notAfter - opts.now <= opts.expiryDays * DAY) {
    const daysLeft = Math.floor((notAfter - opts.now) / DAY);
    findings.push(finding(where, 'tls.expiring', 'warning', `TLS certificate of ${where} expires in ${daysLeft} day(s)`, { ...base, days_left: daysLeft }));
  }
  if (notBefore > opts.now) findings.push(finding(where, 'tls.not_yet_valid', 'warning', `TLS certificate of ${where} is not valid before ${base.valid_from}`, base));

  // OpenSSL reports one error: an expired self-signed leaf says only CERT_HAS_EXPIRED, so look for self-signing too.
  const selfSignedUntrusted = authError !== undefined && (SELF_SIGNED.has(authError) || (EXPIRY_ERRORS.has(authError) && isSelfSigned(cert) && !isTrustedExtra(cert, opts.extraCa)));
  if (selfSignedUntrusted) {
    findings.push(finding(where, 'tls.self_signed', 'warning', `TLS certificate of ${where} is self-signed`, { ...base, authorization_error: authError }));
  } else if (authError && !NOT_CHAIN_ERRORS.has(authError)) {
    findings.push(finding(where, 'tls.untrusted_chain', 'warning', `TLS certificate chain of ${where} does not verify (${authError})`, { ...base, authorization_error: authError }));
  }

  const name = target.servername ?? target.host;
  const identityError = checkServerIdentity(name, cert);
  if (identityError) {
    findings.push(finding(where, 'tls.hostname_mismatch', 'critical', `TLS certificate of ${where} does not cover ${name}`, { ...base, san: cert.subjectaltname ?? null }));
  }

  if (protocol && WEAK_PROTOCOLS.has(protocol)) {
    findings.push(finding(where, 'tls.weak_protocol', 'warning', `${where} negotiated ${protocol}, below TLS 1.2`, base));
  } else {
    const legacy = await handshake(target, opts, { min: 'TLSv1', max: 'TLSv1.1' }).then((h) => {
      const p = h.protocol;
      h.socket.destroy();
      return p;
    }, () => null);
    if (legacy) findings.push(finding(where, 'tls.weak_protocol', 'warning', `${where} still accepts ${legacy}, below TLS 1.2`, { ...base, accepted_protocol: legacy }));
  }
  return { target: where, reachable: true, protocol: protocol ?? undefined, findings };
}
