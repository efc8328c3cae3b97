import { readFileSync } from 'node:fs';
import type { Clock } from '../core/clock.ts';
import { ProbectlError } from '../core/errors.ts';
import type { SecretBackend } from './backend.ts';
import { buildCloudBackends, type CloudSecretsConfig } from './backends/cloud-config.ts';
import { CyberArkBackend } from './backends/cyberark.ts';
import { EnvBackend } from './backends/env.ts';
import { VaultBackend, type CredentialSource, type VaultAuth } from './backends/vault.ts';
import type { SecretsSection } from './config.ts';
import { redactRef, type SecretRef } from './ref.ts';
import { SecretResolver } from './resolver.ts';

export type SecretsConfig = SecretsSection & CloudSecretsConfig;

export interface SecretsSetupOptions {
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
}

/**
 * A backend's own credential (a literal, or env:NAME read at each login, so a
 * rotated environment applies at the next login). Config cross-checks refuse
 * any other scheme.
 */
function credential(variable: string, ref: SecretRef, env: NodeJS.ProcessEnv): CredentialSource {
  return () => {
    if (ref.scheme === 'literal') return ref.value;
    if (ref.scheme === 'env') {
      const value = env[ref.name];
      if (value === undefined || value === '') throw new ProbectlError('PROBECTL_ERR_SECRET_BACKEND_UNCONFIGURED', `${variable} (${redactRef(ref)}) is not set`);
      return value;
    }
    throw new ProbectlError('PROBECTL_ERR_SECRET_BACKEND_UNCONFIGURED', `${variable} must be a literal or env: reference`);
  };
}

function readPem(variable: string, path: string | undefined): string[] {
  if (path === undefined) return [];
  try {
    return [readFileSync(path, 'utf8')];
  } catch (err) {
    throw new ProbectlError('PROBECTL_ERR_CONFIG_INVALID', `${variable}: the file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The backends a configuration enables: env always; vault and cyberark when addressed; aws, azure and gcp (their SDKs load at first use). */
export function buildSecretBackends(c: SecretsConfig, opts: SecretsSetupOptions = {}): SecretBackend[] {
  const env = opts.env ?? process.env;
  const common = readPem('PROBECTL_SECRETS_CA_FILE', c.secretsCaFile);
  const timeoutMs = c.secretsTimeout;
  const backends: SecretBackend[] = [new EnvBackend(env)];

  if (c.vaultAddr !== undefined) {
    let auth: VaultAuth;
    if (c.vaultToken !== undefined) auth = { method: 'token', token: credential('PROBECTL_SECRETS_VAULT_TOKEN', c.vaultToken, env) };
    else if (c.vaultK8sRole !== undefined) auth = { method: 'kubernetes', role: c.vaultK8sRole, jwtFile: c.vaultK8sTokenFile, mount: c.vaultK8sMount };
    else if (c.vaultRoleId !== undefined && c.vaultSecretId !== undefined) auth = { method: 'approle', roleId: c.vaultRoleId, secretId: credential('PROBECTL_SECRETS_VAULT_SECRET_ID', c.vaultSecretId, env), mount: c.vaultApproleMount };
    else throw new ProbectlError('PROBECTL_ERR_CONFIG_INVALID', 'PROBECTL_SECRETS_VAULT_ADDR: no Vault auth method is set');
    backends.push(new VaultBackend({
      addr: c.vaultAddr, auth, namespace: c.vaultNamespace, timeoutMs,
      ca: [...common, ...readPem('PROBECTL_SECRETS_VAULT_CA_FILE', c.vaultCaFile)],
      ...(opts.clock ? { clock: opts.clock } : {}),
    }));
  }

  if (c.cyberarkUrl !== undefined || c.conjurUrl !== undefined) {
    const ca = [...common, ...readPem('PROBECTL_SECRETS_CYBERARK_CA_FILE', c.cyberarkCaFile)];
    const clientCert = c.cyberarkClientCertFile !== undefined && c.cyberarkClientKeyFile !== undefined
      ? { cert: readPem('PROBECTL_SECRETS_CYBERARK_CLIENT_CERT_FILE', c.cyberarkClientCertFile)[0] as string, key: readPem('PROBECTL_SECRETS_CYBERARK_CLIENT_KEY_FILE', c.cyberarkClientKeyFile)[0] as string }
      : undefined;
    backends.push(new CyberArkBackend({
      ccp: c.cyberarkUrl !== undefined && c.cyberarkAppId !== undefined ? { url: c.cyberarkUrl, appId: c.cyberarkAppId, clientCert, ca, timeoutMs } : undefined,
      conjur: c.conjurUrl !== undefined && c.conjurLogin !== undefined && c.conjurApiKey !== undefined
        ? { url: c.conjurUrl, login: c.conjurLogin, apiKey: credential('PROBECTL_SECRETS_CONJUR_API_KEY', c.conjurApiKey, env), authenticator: c.conjurAuthenticator, ca, timeoutMs, ...(opts.clock ? { clock: opts.clock } : {}) }
        : undefined,
    }));
  }

  backends.push(...buildCloudBackends(c));
  return backends;
}

export function buildSecretResolver(c: SecretsConfig, opts: SecretsSetupOptions = {}): SecretResolver {
  return new SecretResolver({ backends: buildSecretBackends(c, opts), leaseMs: c.secretsLease, timeoutMs: c.secretsTimeout, ...(opts.clock ? { clock: opts.clock } : {}) });
}
