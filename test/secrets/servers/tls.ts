import { issueCertificate, type Issued } from '../../../src/core/x509.ts';

let ca: Promise<Issued> | undefined;

/** One test CA per test process; backends trust it through their caPem option, never by disabling validation. */
export function secretsTestCa(): Promise<Issued> {
  ca ??= issueCertificate({ commonName: 'probectl secrets test CA', isCa: true });
  return ca;
}

/** A server certificate for the given host names, signed by the test CA. */
export async function serverCert(names: readonly string[] = ['localhost', '127.0.0.1']): Promise<Issued> {
  return issueCertificate({ commonName: names[0] as string, altNames: names, issuer: await secretsTestCa() });
}
