import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { readSection, type ConfigProblem } from '../../../src/config/section.ts';
import { buildCloudBackends, cloudSecretsVars } from '../../../src/secrets/backends/cloud-config.ts';
import { parseSecretRef } from '../../../src/secrets/ref.ts';

const SDKS = ['@aws-sdk/client-secrets-manager', '@azure/keyvault-secrets', '@azure/identity', '@google-cloud/secret-manager'];

/** SDK packages present in the CommonJS module cache (ESM import() of these CJS/dual packages goes through it too). */
function loadedSdks(): string[] {
  const cache = createRequire(import.meta.url).cache;
  return SDKS.filter((sdk) => Object.keys(cache).some((path) => path.includes(`/node_modules/${sdk}/`)));
}

describe('cloud secret backend settings', () => {
  it('defaults: nothing is required, the Azure suffix is the public cloud\'s', () => {
    const problems: ConfigProblem[] = [];
    const config = readSection({}, cloudSecretsVars, problems);
    assert.deepEqual(problems, []);
    assert.equal(config.azureVaultSuffix, 'vault.azure.net');
    assert.equal(config.awsRegion, undefined);
    assert.equal(config.awsEndpoint, undefined);
    assert.equal(config.gcpEndpoint, undefined);
  });

  it('names each bad variable: plaintext to a remote host, a malformed region, a bad endpoint, a missing CA file', () => {
    const problems: ConfigProblem[] = [];
    readSection({
      PROBECTL_SECRETS_AWS_REGION: 'Europe',
      PROBECTL_SECRETS_AWS_ENDPOINT: 'http://secretsmanager.eu-west-1.amazonaws.com',
      PROBECTL_SECRETS_AZURE_VAULT_SUFFIX: 'vault azure',
      PROBECTL_SECRETS_GCP_ENDPOINT: 'https://secretmanager.googleapis.com/v1',
      PROBECTL_SECRETS_GCP_CA_FILE: '/nonexistent/ca.pem',
    }, cloudSecretsVars, problems);
    assert.deepEqual(problems.map((p) => p.variable).sort(), [
      'PROBECTL_SECRETS_AWS_ENDPOINT', 'PROBECTL_SECRETS_AWS_REGION', 'PROBECTL_SECRETS_AZURE_VAULT_SUFFIX', 'PROBECTL_SECRETS_GCP_CA_FILE', 'PROBECTL_SECRETS_GCP_ENDPOINT',
    ]);
    assert.match(problems.find((p) => p.variable === 'PROBECTL_SECRETS_AWS_ENDPOINT')?.problem ?? '', /http:\/\/ is refused except to a loopback host/);
  });

  it('accepts a VPC endpoint, a loopback emulator, sovereign suffixes and GCP private endpoints', () => {
    for (const env of [
      { PROBECTL_SECRETS_AWS_ENDPOINT: 'https://vpce-0a1b2c3d-abcdefgh.secretsmanager.eu-west-1.vpce.amazonaws.com', PROBECTL_SECRETS_AWS_REGION: 'eu-west-1' },
      { PROBECTL_SECRETS_AWS_ENDPOINT: 'http://127.0.0.1:4566', PROBECTL_SECRETS_AWS_REGION: 'us-gov-west-1' },
      { PROBECTL_SECRETS_AZURE_VAULT_SUFFIX: 'vault.usgovcloudapi.net' },
      { PROBECTL_SECRETS_AZURE_VAULT_SUFFIX: 'vault.azure.cn' },
      { PROBECTL_SECRETS_GCP_ENDPOINT: 'secretmanager-myendpoint.p.googleapis.com' },
      { PROBECTL_SECRETS_GCP_ENDPOINT: 'secretmanager-psc.p.googleapis.com:443' },
    ]) {
      const problems: ConfigProblem[] = [];
      readSection(env, cloudSecretsVars, problems);
      assert.deepEqual(problems, [], JSON.stringify(env));
    }
  });

  it('building the backends loads no SDK; a fetch loads only its own scheme\'s SDK', async () => {
    assert.deepEqual(loadedSdks(), []);
    const backends = buildCloudBackends(readSection({ PROBECTL_SECRETS_AWS_ENDPOINT: 'https://127.0.0.1:1', PROBECTL_SECRETS_AWS_REGION: 'eu-west-1' }, cloudSecretsVars, []));
    assert.deepEqual(backends.map((b) => b.scheme), ['aws', 'azure', 'gcp']);
    assert.deepEqual(loadedSdks(), [], 'construction imports nothing');
    const aws = backends[0];
    assert.ok(aws);
    // Port 1 on loopback refuses the connection: the call fails, but only after the AWS SDK was loaded.
    process.env.AWS_ACCESS_KEY_ID ??= 'AKIDLAZYLOADCHECK000';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'lazy-load-check';
    await assert.rejects(aws.fetch(parseSecretRef('aws:probectl/x'), AbortSignal.timeout(10_000)), (err: unknown) => (err as { code?: string }).code === 'PROBECTL_ERR_SECRET_UNAVAILABLE');
    assert.deepEqual(loadedSdks(), ['@aws-sdk/client-secrets-manager']);
    for (const b of backends) await b.close?.();
    assert.deepEqual(loadedSdks(), ['@aws-sdk/client-secrets-manager'], 'closing an unused backend loads nothing');
  });
});
