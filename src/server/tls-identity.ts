import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ProbectlError } from '../core/errors.ts';

export interface ServerIdentity {
  cert: string;
  key: string;
  fingerprint256: string;
  /** True when this start generated the self-signed certificate. */
  generated: boolean;
  certPath: string;
}

function writeAtomic(path: string, content: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode, flag: 'w' });
  renameSync(tmp, path);
}

/**
 * The operator's certificate and key, or a self-signed ECDSA certificate for
 * localhost and this host name generated once into the data directory.
 */
export async function loadServerIdentity(opts: { certFile?: string | undefined; keyFile?: string | undefined; tlsDir: string }): Promise<ServerIdentity> {
  let certPath = opts.certFile;
  let keyPath = opts.keyFile;
  let generated = false;
  if (!certPath || !keyPath) {
    mkdirSync(opts.tlsDir, { recursive: true, mode: 0o700 });
    certPath = join(opts.tlsDir, 'server.crt');
    keyPath = join(opts.tlsDir, 'server.key');
    if (!existsSync(certPath) || !existsSync(keyPath)) {
      const host = hostname();
      // The X.509 generator (and its ASN.1 libraries) load only on the first start that needs it.
      const { issueCertificate } = await import('../core/x509.ts');
      const issued = await issueCertificate({ commonName: 'probectl', altNames: [...new Set(['localhost', host, '127.0.0.1', '::1'])], notAfter: new Date(Date.now() + 825 * 86_400_000) });
      writeAtomic(keyPath, issued.keyPem, 0o600);
      writeAtomic(certPath, issued.certPem, 0o644);
      generated = true;
    }
  }
  try {
    const cert = readFileSync(certPath, 'utf8');
    const key = readFileSync(keyPath, 'utf8');
    const x = new X509Certificate(cert);
    if (!x.checkPrivateKey(createPrivateKey(key))) throw new Error('the private key does not match the certificate');
    return { cert, key, fingerprint256: x.fingerprint256, generated, certPath };
  } catch (err) {
    throw new ProbectlError('PROBECTL_ERR_TLS_SETUP', `cannot load the server certificate: ${(err as Error).message}`);
  }
}
