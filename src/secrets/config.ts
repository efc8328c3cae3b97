import { accessSync, constants } from 'node:fs';
import { transportProblem } from '../core/http/transport.ts';
import { secretRef } from '../secrets/config-var.ts';
import type { ConfigProblem, SectionValue } from '../config/section.ts';
import { duration, optStr, readableFile, str, VarProblem, type VarSpec } from '../config/vars.ts';
import { redactRef, type SecretRef } from './ref.ts';
import type { ConfiguredReference } from './references.ts';

/** An https:// base URL (http:// only to loopback), without credentials, query or fragment. */
function backendUrl(name: string, doc: string): VarSpec<string | undefined> {
  const base = optStr(name, { doc, accepts: 'an https:// URL (http:// only to a loopback host)' });
  return {
    ...base,
    parse(raw) {
      if (raw === undefined || raw === '') return undefined;
      const problem = transportProblem(raw);
      if (problem) throw new VarProblem(problem);
      const u = new URL(raw);
      if (u.search !== '' || u.hash !== '') throw new VarProblem('a base URL takes no query or fragment');
      return raw.replace(/\/+$/, '');
    },
  };
}

const MOUNT = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

export const secretsVars = {
  secretsLease: duration('PROBECTL_SECRETS_LEASE', { default: '5m', minMs: 1000, maxMs: 86_400_000, doc: 'How long a resolved secret is held (sealed in memory) before the next use resolves it again. A shorter lease from the backend (Vault `lease_duration`) wins.' }),
  secretsTimeout: duration('PROBECTL_SECRETS_TIMEOUT', { default: '10s', minMs: 100, maxMs: 120_000, doc: 'Deadline for one secret fetch, a login and retries included: a transient failure (reset or refused connection, an attempt timing out after half of this, HTTP 408/429/5xx) is retried with backoff until then; past it the use fails.' }),
  secretsCaFile: readableFile('PROBECTL_SECRETS_CA_FILE', { doc: 'PEM bundle of CAs trusted for every secret backend, in addition to the system roots.' }),
  vaultAddr: backendUrl('PROBECTL_SECRETS_VAULT_ADDR', 'HashiCorp Vault address, e.g. `https://vault.example:8200`. Enables `vault:<mount>/<path>#<field>` references (KV version 2).'),
  vaultToken: secretRef('PROBECTL_SECRETS_VAULT_TOKEN', { backendCredential: true, doc: 'Vault token (token auth). A literal or `env:NAME`. Exactly one of token, AppRole or Kubernetes auth.' }),
  vaultRoleId: optStr('PROBECTL_SECRETS_VAULT_ROLE_ID', { secret: true, doc: 'AppRole role_id (AppRole auth, with PROBECTL_SECRETS_VAULT_SECRET_ID).' }),
  vaultSecretId: secretRef('PROBECTL_SECRETS_VAULT_SECRET_ID', { backendCredential: true, doc: 'AppRole secret_id. A literal or `env:NAME`.' }),
  vaultApproleMount: str('PROBECTL_SECRETS_VAULT_APPROLE_MOUNT', { default: 'approle', pattern: MOUNT, accepts: 'a Vault auth mount path', doc: 'Mount path of the AppRole auth method.' }),
  vaultK8sRole: optStr('PROBECTL_SECRETS_VAULT_K8S_ROLE', { doc: 'Vault role for Kubernetes auth: probectl logs in with its service-account token.' }),
  vaultK8sTokenFile: str('PROBECTL_SECRETS_VAULT_K8S_TOKEN_FILE', { default: '/var/run/secrets/kubernetes.io/serviceaccount/token', doc: 'Service-account JWT for Kubernetes auth; read again at each login (projected tokens rotate).' }),
  vaultK8sMount: str('PROBECTL_SECRETS_VAULT_K8S_MOUNT', { default: 'kubernetes', pattern: MOUNT, accepts: 'a Vault auth mount path', doc: 'Mount path of the Kubernetes auth method.' }),
  vaultNamespace: optStr('PROBECTL_SECRETS_VAULT_NAMESPACE', { doc: 'Vault Enterprise / HCP namespace, sent as X-Vault-Namespace.' }),
  vaultCaFile: readableFile('PROBECTL_SECRETS_VAULT_CA_FILE', { doc: 'PEM bundle of CAs trusted for Vault, in addition to the system roots.' }),
  cyberarkUrl: backendUrl('PROBECTL_SECRETS_CYBERARK_URL', 'CyberArk Central Credential Provider host, e.g. `https://ccp.example` (probectl appends /AIMWebService/api/Accounts). Enables `cyberark:<Key=Value;...>#<field>` references.'),
  cyberarkAppId: optStr('PROBECTL_SECRETS_CYBERARK_APP_ID', { doc: 'The CCP application ID probectl authenticates as.' }),
  cyberarkClientCertFile: readableFile('PROBECTL_SECRETS_CYBERARK_CLIENT_CERT_FILE', { doc: 'PEM client certificate, when the CCP application authenticates by certificate.' }),
  cyberarkClientKeyFile: readableFile('PROBECTL_SECRETS_CYBERARK_CLIENT_KEY_FILE', { doc: 'PEM private key of PROBECTL_SECRETS_CYBERARK_CLIENT_CERT_FILE.' }),
  cyberarkCaFile: readableFile('PROBECTL_SECRETS_CYBERARK_CA_FILE', { doc: 'PEM bundle of CAs trusted for the CCP and Conjur, in addition to the system roots.' }),
  conjurUrl: backendUrl('PROBECTL_SECRETS_CONJUR_URL', 'CyberArk Conjur address, e.g. `https://conjur.example` (Conjur Cloud: include the `/api` prefix). Enables `cyberark:conjur/<account>/<variable-id>` references.'),
  conjurLogin: optStr('PROBECTL_SECRETS_CONJUR_LOGIN', { doc: 'Conjur identity probectl authenticates as, e.g. `host/probectl`.' }),
  conjurApiKey: secretRef('PROBECTL_SECRETS_CONJUR_API_KEY', { backendCredential: true, doc: 'API key of PROBECTL_SECRETS_CONJUR_LOGIN. A literal or `env:NAME`.' }),
  conjurAuthenticator: str('PROBECTL_SECRETS_CONJUR_AUTHENTICATOR', { default: 'authn', pattern: /^authn(-[a-z0-9]+)*(\/[A-Za-z0-9_.-]+)?$/, accepts: 'authn, or authn-<type>/<service-id>', doc: 'Conjur authenticator the API key is presented to.' }),
  tlsCertRef: secretRef('PROBECTL_TLS_CERT', { doc: 'The server certificate (PEM, with chain) from a secret reference, instead of PROBECTL_TLS_CERT_FILE. Re-resolved at each lease end; a renewed certificate applies to new connections.' }),
  tlsKeyRef: secretRef('PROBECTL_TLS_KEY', { doc: 'The server private key (PEM) from a secret reference, instead of PROBECTL_TLS_KEY_FILE.' }),
  tlsReloadInterval: duration('PROBECTL_TLS_RELOAD_INTERVAL', { default: '30s', minMs: 1000, maxMs: 86_400_000, doc: 'How often TLS identities (the server certificate, client certificates) are checked for in-place renewal: a replaced file or an expired reference lease. A renewal that does not parse or does not match its key is refused and the previous identity kept.' }),
};

export type SecretsSection = SectionValue<typeof secretsVars>;

export function secretsCrossChecks(s: SecretsSection, core: { tlsCertFile: string | undefined; tlsKeyFile: string | undefined }, problems: ConfigProblem[]): void {
  const add = (variable: string, problem: string, accepts: string) => problems.push({ variable, problem, accepts });

  const vaultMethods = [
    s.vaultToken !== undefined ? 'token' : undefined,
    s.vaultRoleId !== undefined || s.vaultSecretId !== undefined ? 'AppRole' : undefined,
    s.vaultK8sRole !== undefined ? 'Kubernetes' : undefined,
  ].filter((m) => m !== undefined);
  if (s.vaultAddr === undefined) {
    for (const [value, variable] of [[s.vaultToken, 'PROBECTL_SECRETS_VAULT_TOKEN'], [s.vaultRoleId, 'PROBECTL_SECRETS_VAULT_ROLE_ID'], [s.vaultSecretId, 'PROBECTL_SECRETS_VAULT_SECRET_ID'], [s.vaultK8sRole, 'PROBECTL_SECRETS_VAULT_K8S_ROLE'], [s.vaultNamespace, 'PROBECTL_SECRETS_VAULT_NAMESPACE'], [s.vaultCaFile, 'PROBECTL_SECRETS_VAULT_CA_FILE']] as const) {
      if (value !== undefined) add(variable, 'set without PROBECTL_SECRETS_VAULT_ADDR', 'Vault settings only together with PROBECTL_SECRETS_VAULT_ADDR');
    }
  } else if (vaultMethods.length !== 1) {
    add('PROBECTL_SECRETS_VAULT_ADDR', vaultMethods.length === 0 ? 'no Vault auth method is set' : `more than one Vault auth method is set (${vaultMethods.join(', ')})`, 'exactly one of PROBECTL_SECRETS_VAULT_TOKEN, PROBECTL_SECRETS_VAULT_ROLE_ID + PROBECTL_SECRETS_VAULT_SECRET_ID, or PROBECTL_SECRETS_VAULT_K8S_ROLE');
  } else if (vaultMethods[0] === 'AppRole' && (s.vaultRoleId === undefined || s.vaultSecretId === undefined)) {
    add(s.vaultRoleId === undefined ? 'PROBECTL_SECRETS_VAULT_ROLE_ID' : 'PROBECTL_SECRETS_VAULT_SECRET_ID', 'AppRole auth needs both role_id and secret_id', 'PROBECTL_SECRETS_VAULT_ROLE_ID together with PROBECTL_SECRETS_VAULT_SECRET_ID');
  } else if (vaultMethods[0] === 'Kubernetes') {
    try {
      accessSync(s.vaultK8sTokenFile, constants.R_OK);
    } catch {
      add('PROBECTL_SECRETS_VAULT_K8S_TOKEN_FILE', 'file is missing or unreadable', 'the path of the pod\'s service-account token');
    }
  }

  if (s.cyberarkUrl === undefined) {
    for (const [value, variable] of [[s.cyberarkAppId, 'PROBECTL_SECRETS_CYBERARK_APP_ID'], [s.cyberarkClientCertFile, 'PROBECTL_SECRETS_CYBERARK_CLIENT_CERT_FILE'], [s.cyberarkClientKeyFile, 'PROBECTL_SECRETS_CYBERARK_CLIENT_KEY_FILE']] as const) {
      if (value !== undefined) add(variable, 'set without PROBECTL_SECRETS_CYBERARK_URL', 'CCP settings only together with PROBECTL_SECRETS_CYBERARK_URL');
    }
  } else if (s.cyberarkAppId === undefined) {
    add('PROBECTL_SECRETS_CYBERARK_APP_ID', 'required with PROBECTL_SECRETS_CYBERARK_URL', 'the CCP application ID');
  }
  if ((s.cyberarkClientCertFile === undefined) !== (s.cyberarkClientKeyFile === undefined)) {
    add(s.cyberarkClientCertFile === undefined ? 'PROBECTL_SECRETS_CYBERARK_CLIENT_CERT_FILE' : 'PROBECTL_SECRETS_CYBERARK_CLIENT_KEY_FILE', 'must be set together with its pair', 'both the client certificate and its key, or neither');
  }

  if (s.conjurUrl === undefined) {
    for (const [value, variable] of [[s.conjurLogin, 'PROBECTL_SECRETS_CONJUR_LOGIN'], [s.conjurApiKey, 'PROBECTL_SECRETS_CONJUR_API_KEY']] as const) {
      if (value !== undefined) add(variable, 'set without PROBECTL_SECRETS_CONJUR_URL', 'Conjur settings only together with PROBECTL_SECRETS_CONJUR_URL');
    }
  } else {
    if (s.conjurLogin === undefined) add('PROBECTL_SECRETS_CONJUR_LOGIN', 'required with PROBECTL_SECRETS_CONJUR_URL', 'the Conjur identity, e.g. host/probectl');
    if (s.conjurApiKey === undefined) add('PROBECTL_SECRETS_CONJUR_API_KEY', 'required with PROBECTL_SECRETS_CONJUR_URL', 'the API key of PROBECTL_SECRETS_CONJUR_LOGIN');
  }

  if ((s.tlsCertRef === undefined) !== (s.tlsKeyRef === undefined)) {
    add(s.tlsCertRef === undefined ? 'PROBECTL_TLS_CERT' : 'PROBECTL_TLS_KEY', 'must be set together with its pair', 'both PROBECTL_TLS_CERT and PROBECTL_TLS_KEY, or neither');
  }
  if (s.tlsCertRef !== undefined && (core.tlsCertFile !== undefined || core.tlsKeyFile !== undefined)) {
    add('PROBECTL_TLS_CERT', 'set together with PROBECTL_TLS_CERT_FILE/PROBECTL_TLS_KEY_FILE', 'the server identity from files or from references, not both');
  }
}

/**
 * The variable that turns on the backend a reference names: Vault and the two
 * CyberArk services exist only when their address is set. Undefined for env:
 * and for aws:, azure:, gcp:, whose backends are always present (their SDKs'
 * default credential chains need no probectl setting).
 */
export function backendVariable(ref: SecretRef): 'PROBECTL_SECRETS_VAULT_ADDR' | 'PROBECTL_SECRETS_CYBERARK_URL' | 'PROBECTL_SECRETS_CONJUR_URL' | undefined {
  if (ref.scheme === 'vault') return 'PROBECTL_SECRETS_VAULT_ADDR';
  if (ref.scheme === 'cyberark') return ref.form === 'ccp' ? 'PROBECTL_SECRETS_CYBERARK_URL' : 'PROBECTL_SECRETS_CONJUR_URL';
  return undefined;
}

const BACKEND_ADDRESS = { PROBECTL_SECRETS_VAULT_ADDR: 'vaultAddr', PROBECTL_SECRETS_CYBERARK_URL: 'cyberarkUrl', PROBECTL_SECRETS_CONJUR_URL: 'conjurUrl' } as const;
const BACKEND_NAME = { PROBECTL_SECRETS_VAULT_ADDR: 'Vault', PROBECTL_SECRETS_CYBERARK_URL: 'CyberArk Central Credential Provider', PROBECTL_SECRETS_CONJUR_URL: 'CyberArk Conjur' } as const;

/**
 * Every reference in the configuration must name a configured backend: a
 * `vault:` reference without PROBECTL_SECRETS_VAULT_ADDR would pass every
 * syntax check and then refuse startup (or fail at first use). Adds one
 * problem per such variable naming the backend variable to set; variables
 * that already have a problem are left to it.
 */
export function referenceBackendProblems(refs: readonly ConfiguredReference[], s: SecretsSection, problems: ConfigProblem[]): void {
  for (const { variable, ref } of refs) {
    const needed = backendVariable(ref);
    if (needed === undefined || s[BACKEND_ADDRESS[needed]] !== undefined) continue;
    const base = variable.replace(/\[\d+\]$/, '');
    if (problems.some((p) => p.variable === variable || p.variable === base)) continue;
    problems.push({
      variable,
      problem: `refers to the ${BACKEND_NAME[needed]} backend (${redactRef(ref)}), which is not configured: ${needed} is not set`,
      accepts: `a reference to a configured backend (set ${needed} and its credentials, see docs/secrets.md), env:NAME, aws:, azure:, gcp: or a literal`,
    });
  }
}
