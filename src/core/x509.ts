import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface Issued {
  certPem: string;
  keyPem: string;
  /** SHA-256 of the DER certificate, colon-separated upper-case hex (as browsers and openssl show it). */
  fingerprint256: string;
  /** For signing further certificates (test CAs). */
  keys: CryptoKeyPair;
  cert: x509.X509Certificate;
}

export interface IssueOptions {
  commonName: string;
  /** DNS names and IP addresses for subjectAltName. */
  altNames?: readonly string[];
  notBefore?: Date;
  notAfter?: Date;
  isCa?: boolean;
  /** Signs with this CA; self-signed when absent. */
  issuer?: Issued;
}

/** PEM armour (RFC 7468) around DER bytes. */
function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

export function fingerprint256(der: ArrayBuffer | Uint8Array): string {
  return createHash('sha256').update(new Uint8Array(der)).digest('hex').toUpperCase().match(/../g)!.join(':');
}

/** Issues an ECDSA P-256 certificate (self-signed or signed by `issuer`). */
export async function issueCertificate(opts: IssueOptions): Promise<Issued> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const subject = `CN=${opts.commonName.replace(/[,=+<>#;\\"]/g, '')}`;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(opts.isCa ?? false, undefined, true),
    new x509.KeyUsagesExtension(opts.isCa ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (!opts.isCa) extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]));
  if (opts.altNames && opts.altNames.length > 0) {
    extensions.push(new x509.SubjectAlternativeNameExtension(opts.altNames.map((n) => ({ type: isIP(n) ? 'ip' : 'dns', value: n }))));
  }
  const base = {
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    notBefore: opts.notBefore ?? new Date(now - 60_000),
    notAfter: opts.notAfter ?? new Date(now + 365 * 86_400_000),
    signingAlgorithm: ALG,
    extensions,
  };
  let cert: x509.X509Certificate;
  if (opts.issuer) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(opts.issuer.cert));
    cert = await x509.X509CertificateGenerator.create({
      ...base,
      subject,
      issuer: opts.issuer.cert.subject,
      publicKey: keys.publicKey,
      signingKey: opts.issuer.keys.privateKey,
    });
  } else {
    cert = await x509.X509CertificateGenerator.createSelfSigned({ ...base, name: subject, keys });
  }
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = pem('PRIVATE KEY', Buffer.from(pkcs8));
  return { certPem: cert.toString('pem') + '\n', keyPem, fingerprint256: fingerprint256(cert.rawData), keys, cert };
}
