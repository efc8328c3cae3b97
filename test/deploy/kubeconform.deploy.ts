import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { renderProfiles, type Profile } from './profiles.ts';
import { KUBE_VERSION, TOOLS, run, tempDir, tool, type K8sObject } from './tools.ts';

/**
 * Every rendered object of every profile validated by kubeconform in strict mode (unknown fields
 * refused) against the Kubernetes OpenAPI schemas that the PyPI package kubernetes-validate ships,
 * offline (.ci/install-deploy-tools.sh prepares them). Objects of CRDs (cert-manager, Prometheus
 * Operator, Gateway API) have no schema there: they are listed by name, kept apart, and checked
 * against the fields their projects document and the objects they point at.
 */
const SCHEMAS = join(TOOLS, 'schemas');
const LOCATION = `${SCHEMAS}/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`;
const CRD_GROUPS = new Set(['cert-manager.io', 'monitoring.coreos.com', 'gateway.networking.k8s.io']);
const isCrd = (o: K8sObject) => CRD_GROUPS.has(o.apiVersion.split('/')[0] ?? '');

interface Result { filename: string; kind: string; name: string; version: string; status: string; msg: string }

function kubeconform(file: string): { results: Result[]; summary: Record<string, number>; stderr: string; status: number | null } {
  const r = run(tool('kubeconform'), ['-strict', '-summary', '-output', 'json', '-kubernetes-version', KUBE_VERSION.replace(/^v/, ''), '-schema-location', LOCATION, file]);
  const out = JSON.parse(r.stdout) as { resources?: Result[]; summary: Record<string, number> };
  return { results: out.resources ?? [], summary: out.summary, stderr: r.stderr, status: r.status };
}

describe(`kubeconform -strict against the Kubernetes ${KUBE_VERSION} schemas (kubernetes-validate), offline`, () => {
  let profiles: Profile[] = [];
  const dir = tempDir(after);
  before(() => {
    assert.ok(existsSync(join(SCHEMAS, `v${KUBE_VERSION}-local-strict`, 'deployment-apps-v1.json')), `the offline schemas are missing: run bash .ci/install-deploy-tools.sh`);
    profiles = renderProfiles(dir);
  });

  it('the validator is live: a Deployment with an unknown field and a mistyped port is refused', () => {
    const bad = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bad' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { bogus: true, containers: [{ name: 'c', image: 'i:1', ports: [{ containerPort: '8443' }] }] } } } };
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, stringify(bad));
    const r = kubeconform(file);
    assert.equal(r.summary.invalid, 1, JSON.stringify(r));
    assert.match(r.results[0]?.msg ?? '', /additional properties 'bogus' not allowed/);
    assert.match(r.results[0]?.msg ?? '', /containerPort.*want integer/);
  });

  it('every core object of every profile is valid (no schema missing, nothing skipped)', () => {
    let validated = 0;
    const kinds = new Set<string>();
    for (const p of profiles) {
      const core = p.render.objects.filter((o) => !isCrd(o));
      const file = join(dir, `${p.name}.yaml`);
      // YAML 1.1, as kubeconform and kubectl read it: strings such as "on" stay quoted (YAML 1.2 would emit them bare, read back as booleans).
      writeFileSync(file, core.map((o) => stringify(o, { version: '1.1' })).join('---\n'));
      const r = kubeconform(file);
      const bad = r.results.filter((x) => x.status !== 'statusValid');
      assert.deepEqual(bad.map((x) => `${x.kind}/${x.name}: ${x.status} ${x.msg}`), [], `${p.name}: kubeconform`);
      assert.equal(r.summary.valid, core.length, `${p.name}: every object validated (${JSON.stringify(r.summary)})`);
      assert.equal(r.summary.skipped, 0);
      assert.equal(r.status, 0, r.stderr);
      validated += core.length;
      for (const o of core) kinds.add(o.kind);
    }
    for (const k of ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Ingress', 'Job', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Service', 'ServiceAccount']) assert.ok(kinds.has(k), `${k} was validated`);
    process.stdout.write(`# kubeconform: ${validated} objects of ${profiles.length} profiles valid against Kubernetes ${KUBE_VERSION} (strict)\n`);
  });

  it('CRD objects (no schema offline) are exactly the expected kinds, and each has its documented required fields and points at what exists', () => {
    const seen = new Set<string>();
    for (const p of profiles) {
      const svc = p.render.objects.find((o) => o.kind === 'Service') as any;
      const svcPort = svc.spec.ports[0];
      for (const o of p.render.objects.filter(isCrd) as any[]) {
        seen.add(`${o.apiVersion} ${o.kind}`);
        assert.equal(o.metadata.namespace, 'probectl');
        switch (`${o.apiVersion} ${o.kind}`) {
          case 'cert-manager.io/v1 Certificate': {
            const deploy = p.render.objects.find((x) => x.kind === 'Deployment') as any;
            const tls = deploy.spec.template.spec.volumes.find((v: any) => v.name === 'tls');
            assert.equal(o.spec.secretName, tls.secret.secretName, 'the Certificate writes the Secret the pods mount');
            assert.ok(o.spec.issuerRef.name && ['Issuer', 'ClusterIssuer'].includes(o.spec.issuerRef.kind));
            assert.ok(o.spec.dnsNames.includes(`${svc.metadata.name}.probectl.svc`));
            break;
          }
          case 'monitoring.coreos.com/v1 ServiceMonitor':
            assert.equal(o.spec.endpoints[0].port, svcPort.name);
            assert.equal(o.spec.endpoints[0].scheme, 'https');
            assert.ok(o.spec.endpoints[0].authorization.credentials.name);
            assert.equal(o.spec.endpoints[0].tlsConfig.insecureSkipVerify, undefined, 'certificate validation is never disabled');
            break;
          case 'gateway.networking.k8s.io/v1alpha2 TLSRoute':
          case 'gateway.networking.k8s.io/v1 HTTPRoute':
            assert.ok(o.spec.parentRefs.length > 0);
            assert.deepEqual(o.spec.rules[0].backendRefs, [{ name: svc.metadata.name, port: svcPort.port }]);
            break;
          case 'gateway.networking.k8s.io/v1 BackendTLSPolicy':
            assert.deepEqual(o.spec.targetRefs, [{ group: '', kind: 'Service', name: svc.metadata.name, sectionName: svcPort.name }]);
            assert.ok(o.spec.validation.hostname && o.spec.validation.caCertificateRefs.length === 1);
            break;
          default:
            assert.fail(`unexpected CRD object ${o.apiVersion} ${o.kind}`);
        }
      }
    }
    assert.deepEqual([...seen].sort(), ['cert-manager.io/v1 Certificate', 'gateway.networking.k8s.io/v1 BackendTLSPolicy', 'gateway.networking.k8s.io/v1 HTTPRoute', 'gateway.networking.k8s.io/v1alpha2 TLSRoute', 'monitoring.coreos.com/v1 ServiceMonitor']);
    process.stdout.write(`# kubeconform: no offline schema for the CRD kinds ${[...seen].sort().join(', ')}: checked structurally instead\n`);
  });
});
