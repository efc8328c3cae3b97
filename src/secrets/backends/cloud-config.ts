import { readFileSync } from 'node:fs';
import { isLoopbackHost } from '../../core/net.ts';
import { ProbectlError } from '../../core/errors.ts';
import type { SectionValue } from '../../config/section.ts';
import { optStr, readableFile, str, VarProblem, type VarSpec } from '../../config/vars.ts';
import type { SecretBackend } from '../backend.ts';
import { createAwsBackend } from './aws.ts';
import { createAzureBackend } from './azure.ts';
import { createGcpBackend } from './gcp.ts';

/**
 * Operator settings of the cloud secret backends. None is required: each
 * cloud's default credential chain (IRSA / instance role, workload identity,
 * managed identity, Application Default Credentials) works with no probectl
 * settings, and the SDKs' own environment variables (AWS_REGION, AZURE_CLIENT_ID,
 * GOOGLE_APPLICATION_CREDENTIALS, …) keep their meaning. These cover what the
 * chains do not: regions, endpoint overrides and private CAs.
 */

function endpointUrl(name: string, doc: string): VarSpec<string | undefined> {
  const base = optStr(name, { doc, accepts: 'an https:// URL (http:// only to a loopback host)' });
  return {
    ...base,
    parse(raw) {
      const text = base.parse(raw);
      if (text === undefined) return undefined;
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw new VarProblem('not a URL');
      }
      if (url.username !== '' || url.password !== '') throw new VarProblem('must not carry credentials');
      if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) throw new VarProblem('http:// is refused except to a loopback host; use https://');
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new VarProblem('must be an https:// URL');
      return text;
    },
  };
}

export const cloudSecretsVars = {
  awsRegion: optStr('PROBECTL_SECRETS_AWS_REGION', {
    pattern: /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/,
    accepts: 'an AWS region code, e.g. eu-west-1',
    doc: 'Region for aws: references given by name. When unset the SDK chain applies (AWS_REGION, the shared config profile); a reference given as an ARN always uses the ARN\'s region unless an endpoint override is set.',
  }),
  awsEndpoint: endpointUrl('PROBECTL_SECRETS_AWS_ENDPOINT', 'Secrets Manager endpoint override: a VPC interface endpoint (`https://vpce-….secretsmanager.<region>.vpce.amazonaws.com`), a FIPS endpoint, or another partition. Requests are still SigV4-signed for PROBECTL_SECRETS_AWS_REGION.'),
  awsCaFile: readableFile('PROBECTL_SECRETS_AWS_CA_FILE', { doc: 'PEM bundle of extra CAs trusted for the Secrets Manager endpoint (a TLS-inspecting proxy), added to the system roots.' }),
  azureVaultSuffix: str('PROBECTL_SECRETS_AZURE_VAULT_SUFFIX', {
    default: 'vault.azure.net',
    pattern: /^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d{1,5})?$/i,
    accepts: 'a DNS suffix, e.g. vault.azure.net, vault.azure.cn, vault.usgovcloudapi.net',
    doc: 'DNS suffix completing a bare vault name in azure:<vault>/<name> (sovereign clouds). A reference whose vault part is a full host name is used as is. For a sovereign cloud also set AZURE_AUTHORITY_HOST for the credential chain.',
  }),
  azureCaFile: readableFile('PROBECTL_SECRETS_AZURE_CA_FILE', { doc: 'PEM bundle of extra CAs trusted for Key Vault (a TLS-inspecting proxy in front of a private endpoint), added to the system roots.' }),
  gcpEndpoint: optStr('PROBECTL_SECRETS_GCP_ENDPOINT', {
    pattern: /^[A-Za-z0-9.-]+(:\d{1,5})?$/,
    accepts: 'host[:port], e.g. secretmanager-myendpoint.p.googleapis.com',
    doc: 'Secret Manager API endpoint override (gRPC over TLS, port 443 by default), e.g. a Private Service Connect endpoint `secretmanager-<endpoint>.p.googleapis.com`. Private Google Access and VPC Service Controls need no override.',
  }),
  gcpCaFile: readableFile('PROBECTL_SECRETS_GCP_CA_FILE', { doc: 'PEM bundle of extra CAs trusted for the Secret Manager endpoint (a TLS-inspecting proxy or a private endpoint), added to the system roots.' }),
};

export type CloudSecretsConfig = SectionValue<typeof cloudSecretsVars>;

function readCa(variable: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch {
    throw new ProbectlError('PROBECTL_ERR_CONFIG_INVALID', `${variable}: the CA file could not be read`);
  }
}

/**
 * The aws, azure and gcp backends for a parsed configuration. Building them
 * loads no SDK: each imports its SDK at its first fetch, so a deployment that
 * never uses a scheme never loads that SDK.
 */
export function buildCloudBackends(config: CloudSecretsConfig): SecretBackend[] {
  return [
    createAwsBackend({ region: config.awsRegion, endpoint: config.awsEndpoint, caPem: readCa('PROBECTL_SECRETS_AWS_CA_FILE', config.awsCaFile) }),
    createAzureBackend({ vaultSuffix: config.azureVaultSuffix, caPem: readCa('PROBECTL_SECRETS_AZURE_CA_FILE', config.azureCaFile) }),
    createGcpBackend({ endpoint: config.gcpEndpoint, caPem: readCa('PROBECTL_SECRETS_GCP_CA_FILE', config.gcpCaFile) }),
  ];
}
