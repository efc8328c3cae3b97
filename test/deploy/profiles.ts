import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { VarSpec } from '../../src/config/vars.ts';
import { CONFIG_SECTIONS } from '../../src/settings.ts';
import { CHART, template, valuesFile, type Render } from './tools.ts';

/** The credential variables (🔒 in docs/configuration.md, from the same specs) and the encryption keys the chart wires. */
export const CREDENTIAL_VARIABLES: ReadonlySet<string> = new Set([
  ...CONFIG_SECTIONS.flatMap((s) => Object.values(s.vars) as VarSpec<unknown>[]).filter((v) => v.secret).map((v) => v.name),
  'PROBECTL_ENCRYPTION_KEY', 'PROBECTL_ENCRYPTION_KEY_PREVIOUS',
]);

export function isCredentialVariable(name: string): boolean {
  return CREDENTIAL_VARIABLES.has(name) || name.startsWith('PROBECTL_DEVICE_CRED_');
}

/**
 * The rendering profiles the deployment suite checks: the chart's defaults and each size overlay
 * (credentials through existing Secrets), and "full" profiles with every optional object on and
 * inline credentials (so the chart's own Secret, cert-manager, ServiceMonitor, Ingress, Gateway
 * and the Grafana data source are rendered and checked too).
 */
export const OVERLAYS = ['small', 'medium', 'large', 'multitenant'] as const;

/** Credentials by reference to Secrets the operator manages: the recommended path. */
export const EXISTING_SECRETS = {
  database: { existingSecret: 'probectl-database', urlKey: 'url', passwordKey: 'password' },
  encryption: { existingSecret: 'probectl-encryption', secretKey: 'key', previousSecretKey: 'previous' },
  tls: { existingSecret: 'probectl-tls' },
  networkPolicy: { egress: { database: { cidrs: ['10.20.0.0/24'] } } },
};

/** Literal credentials the "full" profile gives inline: none of them may appear outside a Secret. */
export interface InlineSecrets {
  databaseUrl: string;
  databasePassword: string;
  encryptionKey: string;
  previousKey: string;
}

export function inlineSecrets(): InlineSecrets {
  return {
    databaseUrl: 'postgres://probectl_app@pg-primary.databases.svc:5432/probectl?sslmode=verify-full',
    databasePassword: randomBytes(18).toString('base64url'),
    encryptionKey: randomBytes(32).toString('base64'),
    previousKey: randomBytes(32).toString('base64'),
  };
}

/** Every optional object on, inline literal credentials, integrations configured. */
export function fullValues(s: InlineSecrets, gatewayMode: 'passthrough' | 'reencrypt' = 'passthrough'): Record<string, unknown> {
  return {
    image: { digest: `sha256:${'ab'.repeat(32)}` },
    database: { url: s.databaseUrl, password: s.databasePassword, ca: { configMapName: 'pg-ca' } },
    encryption: { key: s.encryptionKey, previousKey: s.previousKey },
    tls: { certManager: { enabled: true, issuerRef: { name: 'internal-ca' }, dnsNames: ['probectl.corp.test'] } },
    config: {
      PROBECTL_LOG_LEVEL: 'info',
      PROBECTL_SECRETS_VAULT_ADDR: 'https://vault.vault.svc:8200',
      PROBECTL_SIEM_ENABLED: 'true',
      PROBECTL_SIEM_PRESET: 'splunk',
      PROBECTL_SIEM_ENDPOINT: 'https://splunk-hec.siem.svc:8088/services/collector/event',
      PROBECTL_SIEM_TOKEN: 'vault:kv/probectl/siem#token',
      PROBECTL_SIEM_CA_FILE: '/etc/probectl/files/siem-ca/ca.crt',
      PROBECTL_METRICS_SELF_INTERVAL: '30s',
    },
    secretEnv: [{ name: 'PROBECTL_SECRETS_VAULT_TOKEN', secretName: 'probectl-vault', key: 'token' }],
    files: [{ name: 'siem-ca', configMapName: 'siem-ca' }],
    networkPolicy: {
      ingress: { namespaceSelectors: [{ matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }, { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }] },
      egress: {
        database: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'databases' } }, podSelector: { matchLabels: { app: 'pg-primary' } } },
        integrations: [
          { name: 'splunk', namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'siem' } }, ports: [8088] },
          { name: 'vault', cidrs: ['10.30.0.0/24'], ports: [8200], secretBackend: true },
          { name: 'pagerduty', cidrs: ['0.0.0.0/0'], ports: [443] },
        ],
      },
    },
    serviceMonitor: { enabled: true, tokenSecret: { name: 'probectl-metrics-token', key: 'token' }, caSecret: { name: 'probectl-ca', key: 'ca.crt' } },
    ingress: { enabled: true, className: 'nginx', mode: 'reencrypt', host: 'probectl.corp.test', tlsSecretName: 'probectl-ingress-tls', backendCaSecret: 'probectl-ca' },
    gateway: gatewayMode === 'passthrough'
      ? { enabled: true, mode: 'passthrough', parentRefs: [{ name: 'edge', namespace: 'gateway', sectionName: 'tls' }], hostnames: ['probectl.corp.test'] }
      : { enabled: true, mode: 'reencrypt', parentRefs: [{ name: 'edge', namespace: 'gateway', sectionName: 'https' }], hostnames: ['probectl.corp.test'], backendCaConfigMap: 'probectl-ca', backendHostname: 'probectl.probectl.svc' },
    grafanaDatasource: { enabled: true },
  };
}

export interface Profile {
  name: string;
  /** Values files after the chart's values.yaml, in order. */
  files: string[];
  render: Render;
  /** Literal credentials given in values (empty for the existing-Secret profiles). */
  secrets: string[];
}

/** Renders every profile: base, each overlay, and the full profiles. Throws when one does not render. */
export function renderProfiles(dir: string): Profile[] {
  const creds = valuesFile(dir, 'existing-secrets.yaml', EXISTING_SECRETS);
  const out: Profile[] = [];
  const add = (name: string, files: string[], secrets: string[]) => {
    const render = template(files);
    if (render.status !== 0) throw new Error(`profile ${name} does not render: ${render.stderr}`);
    out.push({ name, files, render, secrets });
  };
  add('base', [creds], []);
  for (const o of OVERLAYS) add(o, [join(CHART, `values-${o}.yaml`), creds], []);
  for (const mode of ['passthrough', 'reencrypt'] as const) {
    const s = inlineSecrets();
    add(`full-${mode}`, [join(CHART, 'values-large.yaml'), valuesFile(dir, `full-${mode}.yaml`, fullValues(s, mode))], Object.values(s));
  }
  return out;
}
