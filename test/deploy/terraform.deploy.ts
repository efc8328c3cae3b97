import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { schemaErrors } from './schema.ts';
import { evaluate, tofu } from './tofu.ts';
import { CHART, ROOT, tempDir, template, valuesFile, type K8sObject } from './tools.ts';

/**
 * The Terraform module with the real OpenTofu (pinned): `tofu fmt -check`; the values it builds,
 * evaluated offline by `tofu apply` of its provider-free ./values submodule, are accepted by the
 * chart's schema and rendered by helm into what the variables say; the module passes every
 * variable through, and no variable takes a secret value.
 */
const TF = join(ROOT, 'deploy/terraform');
const MODULE = join(TF, 'modules/probectl');

function variables(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^variable "([a-z0-9_]+)"/gm)].map((m) => m[1] as string);
}

describe('Terraform / OpenTofu', () => {
  it('ingress reencrypt: backend_ca_secret and backend_hostname reach the ingress-nginx verification annotations', (t) => {
    const dir = tempDir(t.after.bind(t));
    const { values, error } = evaluate(dir, `
  database_secret_name   = "pg"
  encryption_secret_name = "enc"
  tls_secret_name        = "probectl-tls"
  database_cidrs         = ["10.20.0.0/24"]
  ingress                = { host = "probectl.corp.test", mode = "reencrypt", tls_secret_name = "edge-tls", backend_ca_secret = "probectl-ca", backend_hostname = "probectl.probectl.svc" }`);
    assert.equal(error, undefined, error);
    const r = template([valuesFile(dir, 'tf.yaml', values)]);
    assert.equal(r.status, 0, r.stderr);
    const a = r.objects.find((o) => o.kind === 'Ingress')?.metadata.annotations ?? {};
    assert.equal(a['nginx.ingress.kubernetes.io/proxy-ssl-verify'], 'on');
    assert.equal(a['nginx.ingress.kubernetes.io/proxy-ssl-secret'], 'probectl/probectl-ca');
    assert.equal(a['nginx.ingress.kubernetes.io/proxy-ssl-name'], 'probectl.probectl.svc');
  });

  it('tofu fmt -check: the module and the example are formatted', (t) => {
    const rc = join(tempDir(t.after.bind(t)), 'tofurc');
    writeFileSync(rc, '');
    const r = tofu(['fmt', '-check', '-recursive', '-diff', '-no-color', TF], ROOT, rc);
    assert.equal(r.status, 0, `tofu fmt -check: ${r.stdout}${r.stderr}`);
    const version = tofu(['version'], ROOT, rc);
    assert.match(version.stdout, /^OpenTofu v1\.\d+\.\d+\n/);
  });

  it('the module passes every values variable through, and no variable takes a secret value', () => {
    const inner = variables(join(MODULE, 'values/variables.tf'));
    const outer = variables(join(MODULE, 'variables.tf'));
    const main = readFileSync(join(MODULE, 'main.tf'), 'utf8');
    const call = /module "values" \{([\s\S]*?)\n\}/.exec(main)?.[1] ?? '';
    for (const v of inner) {
      assert.ok(outer.includes(v), `variables.tf lacks ${v}`);
      assert.match(call, new RegExp(`\\n\\s*${v}\\s*=\\s*var\\.${v}(\\n|$)`), `module "values" is not given ${v}`);
    }
    // The wrapper re-declares the values module's variables (Terraform has no pass-through): word for word.
    const block = (file: string, v: string) => new RegExp(`^variable "${v}" \\{[\\s\\S]*?\\n\\}`, 'm').exec(readFileSync(file, 'utf8'))?.[0];
    for (const v of inner) assert.ok(block(join(MODULE, 'values/variables.tf'), v)?.includes('description'), v);
    for (const v of inner) assert.equal(block(join(MODULE, 'variables.tf'), v), block(join(MODULE, 'values/variables.tf'), v), `variable "${v}" differs between the module and ./values`);
    for (const v of [...inner, ...outer]) assert.doesNotMatch(v, /(password|token|_url|private|credential)$/, `${v} looks like a secret value`);
    const text = readFileSync(join(MODULE, 'variables.tf'), 'utf8') + readFileSync(join(MODULE, 'values/variables.tf'), 'utf8');
    assert.doesNotMatch(text, /sensitive\s*=\s*true/, 'no variable needs to be sensitive: none holds a secret');
    for (const size of ['small', 'medium', 'large', 'multitenant']) assert.match(text, new RegExp(`"${size}"`));
  });

  it('existing Secrets, CIDRs and a TLS Secret: the values pass the chart schema and render what the variables say', (t) => {
    const dir = tempDir(t.after.bind(t));
    const { values, error } = evaluate(dir, `
  database_secret_name   = "pg-credentials"
  database_password_key  = "password"
  encryption_secret_name = "enc-keys"
  tls_secret_name        = "probectl-tls"
  database_cidrs         = ["10.20.0.0/24"]
  ingress_namespaces     = ["ingress-nginx"]
  image_digest           = "sha256:${'cd'.repeat(32)}"
  config                 = { PROBECTL_LOG_LEVEL = "debug" }`);
    assert.equal(error, undefined, error);
    const overlay = parse(readFileSync(join(CHART, 'values-small.yaml'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(schemaErrors(overlay, values as Record<string, unknown>), []);
    const r = template([join(CHART, 'values-small.yaml'), valuesFile(dir, 'tf.yaml', values)]);
    assert.equal(r.status, 0, r.stderr);
    const deploy = r.objects.find((o) => o.kind === 'Deployment') as any;
    const env = deploy.spec.template.spec.containers[0].env as { name: string; valueFrom?: any }[];
    assert.deepEqual(env.find((e) => e.name === 'PROBECTL_DATABASE_URL')?.valueFrom.secretKeyRef, { name: 'pg-credentials', key: 'url' });
    assert.deepEqual(env.find((e) => e.name === 'PROBECTL_DATABASE_PASSWORD')?.valueFrom.secretKeyRef, { name: 'pg-credentials', key: 'password' });
    assert.deepEqual(env.find((e) => e.name === 'PROBECTL_ENCRYPTION_KEY')?.valueFrom.secretKeyRef, { name: 'enc-keys', key: 'key' });
    assert.equal(deploy.spec.template.spec.containers[0].image, `ghcr.io/probectl/probectl:0.1.0@sha256:${'cd'.repeat(32)}`);
    assert.equal(deploy.spec.replicas, 1, 'the small overlay sizes it');
    const np = r.objects.find((o) => o.kind === 'NetworkPolicy' && !o.metadata.name.endsWith('-migrate')) as any;
    assert.deepEqual(np.spec.egress[1].to, [{ ipBlock: { cidr: '10.20.0.0/24' } }]);
    assert.deepEqual(np.spec.ingress[0].from[0], { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } });
    assert.equal((r.objects.find((o) => o.kind === 'ConfigMap') as K8sObject).data?.PROBECTL_LOG_LEVEL, 'debug');
    assert.equal(r.objects.filter((o) => o.kind === 'Secret').length, 0, 'nothing secret passed through Terraform');
  });

  it('cert-manager, a database namespace, integrations, ServiceMonitor and Ingress map onto the chart too', (t) => {
    const dir = tempDir(t.after.bind(t));
    const { values, error } = evaluate(dir, `
  database_secret_name   = "pg-credentials"
  encryption_secret_name = "enc-keys"
  cert_manager_issuer    = { name = "internal-ca", dns_names = ["probectl.corp.test"] }
  database_namespace     = "databases"
  database_pod_labels    = { app = "pg" }
  integration_egress = [
    { name = "splunk", cidrs = ["10.40.0.0/24"], ports = [8088] },
    { name = "vault", namespace = "vault", ports = [8200], secret_backend = true },
  ]
  secret_env         = [{ name = "PROBECTL_SIEM_TOKEN", secret_name = "siem", key = "token" }]
  service_monitor    = { token_secret_name = "metrics-token", ca_secret_name = "probectl-ca" }
  ingress            = { host = "probectl.corp.test", mode = "passthrough", class_name = "nginx" }
  grafana_datasource = true`);
    assert.equal(error, undefined, error);
    for (const size of ['medium', 'multitenant']) {
      const overlay = join(CHART, `values-${size}.yaml`);
      assert.deepEqual(schemaErrors(parse(readFileSync(overlay, 'utf8')) as Record<string, unknown>, values as Record<string, unknown>), [], size);
      const r = template([overlay, valuesFile(dir, 'tf.yaml', values)]);
      assert.equal(r.status, 0, r.stderr);
      const kinds = new Set(r.objects.map((o) => o.kind));
      for (const k of ['Certificate', 'ServiceMonitor', 'Ingress']) assert.ok(kinds.has(k), `${size}: ${k}`);
      assert.ok(r.objects.some((o) => o.metadata.name.endsWith('-grafana-datasource')));
      const policies = r.objects.filter((o) => o.kind === 'NetworkPolicy') as any[];
      const server = policies.find((p) => !p.metadata.name.endsWith('-migrate'));
      const job = policies.find((p) => p.metadata.name.endsWith('-migrate'));
      assert.equal(server.spec.egress.length, 4, 'DNS, database, splunk, vault');
      assert.equal(job.spec.egress.length, 3, 'DNS, database, vault');
      assert.deepEqual(server.spec.egress[1].to[0], { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'databases' } }, podSelector: { matchLabels: { app: 'pg' } } });
    }
  });

  it('deploy/terraform/examples/basic: its module arguments pass the module\'s validations, the chart schema and helm template', (t) => {
    // No provider can be downloaded here, so the example's arguments (those the ./values submodule
    // takes; the outer-only ones are single-line) are evaluated through ./values, as the module does.
    const example = readFileSync(join(TF, 'examples/basic/main.tf'), 'utf8');
    const body = /module "probectl" \{\n([\s\S]*?)\n\}/.exec(example)?.[1];
    assert.ok(body, 'the example calls module "probectl"');
    const inner = new Set(variables(join(MODULE, 'values/variables.tf')));
    const outerOnly = new Set(['source', ...variables(join(MODULE, 'variables.tf')).filter((v) => !inner.has(v))]);
    const size = /^\s*size\s*=\s*"([a-z]+)"\s*$/m.exec(body)?.[1] ?? 'medium';
    const kept = body.split('\n').filter((line) => {
      const name = /^\s{2}([a-z0-9_]+)\s*=/.exec(line)?.[1];
      if (name && outerOnly.has(name)) {
        assert.doesNotMatch(line, /[{[]\s*$/, `${name} spans lines`);
        return false;
      }
      return true;
    });
    assert.ok(kept.some((l) => /^\s{2}database_secret_name\s*=/.test(l)), 'the example names the database Secret');
    const dir = tempDir(t.after.bind(t));
    const { values, error } = evaluate(dir, kept.join('\n'));
    assert.equal(error, undefined, `the example's arguments are refused by the module: ${error}`);
    const overlay = join(CHART, `values-${size}.yaml`);
    assert.deepEqual(schemaErrors(parse(readFileSync(overlay, 'utf8')) as Record<string, unknown>, values as Record<string, unknown>), []);
    const r = template([overlay, valuesFile(dir, 'tf.yaml', values)]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.objects.filter((o) => o.kind === 'Secret').length, 0, 'nothing secret passed through Terraform');
  });

  it('the module refuses what the chart would refuse: no database Secret name, an integration with no destination', (t) => {
    const a = evaluate(tempDir(t.after.bind(t)), `
  database_secret_name   = ""
  encryption_secret_name = "enc"
  tls_secret_name        = "tls"
  database_cidrs         = ["10.0.0.0/8"]`);
    assert.match(a.error ?? '', /database_secret_name names the Secret with the PostgreSQL URL/);
    const b = evaluate(tempDir(t.after.bind(t)), `
  database_secret_name   = "db"
  encryption_secret_name = "enc"
  tls_secret_name        = "tls"
  database_cidrs         = ["10.0.0.0/8"]
  integration_egress     = [{ name = "siem" }]`);
    assert.match(b.error ?? '', /Each integration_egress entry needs cidrs or a namespace/);
  });
});
