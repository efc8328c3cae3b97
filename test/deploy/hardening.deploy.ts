import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { CHART, KUBE_VERSION, NAMESPACE, parseObjects, run, tempDir, template, tool, valuesFile, type K8sObject } from './tools.ts';

/**
 * The review's findings against the chart, each rendered with the real helm: YAML injection through
 * string values (F3), allow-all NetworkPolicy peers (F4), the ingress-nginx TLS annotations (F5),
 * encryption keys probectl refuses (F7) and zero resources (F8).
 */
const BASE = {
  database: { existingSecret: 'db' },
  encryption: { existingSecret: 'enc' },
  tls: { existingSecret: 'probectl-tls' },
  networkPolicy: { egress: { database: { cidrs: ['10.20.0.0/24'] } } },
};

function refused(dir: string, name: string, values: unknown): string {
  const r = template([valuesFile(dir, name, values)]);
  assert.notEqual(r.status, 0, `${name}: rendered, should be refused:\n${r.stdout.slice(0, 2000)}`);
  return r.stderr;
}

/** Every key anywhere in the rendered objects (recursively). */
function keys(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keys(v, out);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) { out.add(k); keys(v, out); }
  return out;
}

function podSpec(objects: K8sObject[], kind: string): Record<string, any> {
  const o = objects.find((x) => x.kind === kind) as any;
  assert.ok(o, `no ${kind}`);
  return o.spec.template.spec;
}

const INJECTIONS: [string, Record<string, unknown>][] = [
  ['priorityClassName', { priorityClassName: 'high\n      hostNetwork: true' }],
  ['tls.existingSecret', { tls: { existingSecret: 'probectl-tls\n        - name: hostroot\n          hostPath: {path: /}' } }],
  ['database.existingSecret', { database: { existingSecret: 'db\n      hostNetwork: true' } }],
  ['serviceAccount.name', { serviceAccount: { name: 'sa\n      hostNetwork: true' } }],
  ['image.repository', { image: { repository: 'ghcr.io/x/y\n          securityContext: {privileged: true}\n      hostNetwork: true\n      x: ' } }],
  ['files[].secretName', { files: [{ name: 'ca', secretName: 'ca\n          hostPath: {path: /}' }] }],
];

describe('F3: string values cannot inject YAML into the manifests', () => {
  for (const [path, values] of INJECTIONS) {
    it(`${path} with a newline and YAML is refused by the schema`, (t) => {
      const dir = tempDir(t.after.bind(t));
      const err = refused(dir, 'v.yaml', { ...BASE, ...values });
      assert.match(err, /does not match pattern/);
    });
  }

  it('even without the schema (--skip-schema-validation), the values render inert: no hostNetwork, no hostPath anywhere', (t) => {
    const dir = tempDir(t.after.bind(t));
    let rendered = 0;
    for (const [path, values] of INJECTIONS) {
      const f = valuesFile(dir, 'v.yaml', { ...BASE, ...values });
      const r = run(tool('helm'), ['template', 'probectl', CHART, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION, '--skip-schema-validation', '-f', f]);
      if (r.status !== 0) continue; // refused by a template check: also inert
      rendered += 1;
      const objects = parseObjects(r.stdout);
      const all = keys(objects);
      assert.ok(!all.has('hostNetwork'), `${path}: hostNetwork rendered`);
      assert.ok(!all.has('hostPath'), `${path}: hostPath rendered`);
      assert.ok(!all.has('privileged') || JSON.stringify(objects).includes('"privileged":false'), `${path}: privileged rendered`);
      for (const spec of [podSpec(objects, 'Deployment'), podSpec(objects, 'Job')]) assert.equal(spec.hostNetwork, undefined, path);
    }
    assert.ok(rendered >= 4, `only ${rendered} of ${INJECTIONS.length} injections rendered: the inertness is not exercised`);
  });

  it('valid names still render, quoted', (t) => {
    const dir = tempDir(t.after.bind(t));
    const r = template([valuesFile(dir, 'v.yaml', { ...BASE, priorityClassName: 'probectl-high', image: { repository: 'registry.corp.test:5000/platform/probectl' } })]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(podSpec(r.objects, 'Deployment').priorityClassName, 'probectl-high');
    assert.match(podSpec(r.objects, 'Deployment').containers[0].image, /^registry\.corp\.test:5000\/platform\/probectl:/);
  });
});

describe('F4: the NetworkPolicy cannot be made allow-all', () => {
  const net = (n: Record<string, unknown>, egress: Record<string, unknown> = {}) => ({ ...BASE, networkPolicy: { ...n, egress: { database: { cidrs: ['10.20.0.0/24'] }, ...egress } } });
  const cases: [string, unknown][] = [
    ['ingress namespaceSelectors [{}]', net({ ingress: { namespaceSelectors: [{}] } })],
    ['ingress namespaceSelectors [{matchLabels: {}}]', net({ ingress: { namespaceSelectors: [{ matchLabels: {} }] } })],
    ['ingress podSelectors [{}]', net({ ingress: { podSelectors: [{}] } })],
    ['integration with cidrs: []', net({}, { integrations: [{ name: 'siem', cidrs: [] }] })],
    ['integration with namespaceSelector: {}', net({}, { integrations: [{ name: 'siem', namespaceSelector: {} }] })],
    ['integration with no destination', net({}, { integrations: [{ name: 'siem', ports: [443] }] })],
    ['database namespaceSelector {matchLabels: {}}', { ...BASE, networkPolicy: { egress: { database: { namespaceSelector: { matchLabels: {} } } } } }],
  ];
  for (const [name, values] of cases) {
    it(`${name} is refused`, (t) => {
      const dir = tempDir(t.after.bind(t));
      refused(dir, 'v.yaml', values);
    });
  }

  it('the template refuses the same values when the schema is skipped (fail, naming the value)', (t) => {
    const dir = tempDir(t.after.bind(t));
    for (const [name, values] of cases) {
      const r = run(tool('helm'), ['template', 'probectl', CHART, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION, '--skip-schema-validation', '-f', valuesFile(dir, 'v.yaml', values)]);
      assert.notEqual(r.status, 0, `${name}: rendered without the schema`);
      assert.match(r.stderr, /probectl: networkPolicy\.(ingress|egress)\.[a-zA-Z]+(\[\d+\])?[.a-zA-Z]* (is empty|has no destination)/, name);
    }
  });

  it('a database podSelector alone selects pods of the release namespace only, never every namespace', (t) => {
    const dir = tempDir(t.after.bind(t));
    const r = template([valuesFile(dir, 'v.yaml', { ...BASE, networkPolicy: { egress: { database: { podSelector: { matchLabels: { app: 'postgres' } } } } } })]);
    assert.equal(r.status, 0, r.stderr);
    const policies = r.objects.filter((o) => o.kind === 'NetworkPolicy') as any[];
    assert.equal(policies.length, 2);
    for (const p of policies) {
      for (const rule of p.spec.egress) {
        assert.ok(Array.isArray(rule.to) && rule.to.length > 0, `${p.metadata.name}: an egress rule with an empty to`);
        for (const peer of rule.to) {
          if (!peer.namespaceSelector) continue;
          assert.ok(Object.keys(peer.namespaceSelector.matchLabels ?? {}).length > 0 || (peer.namespaceSelector.matchExpressions ?? []).length > 0, `${p.metadata.name}: namespaceSelector {} (every namespace)`);
        }
      }
      const db = p.spec.egress.find((e: any) => e.ports.some((x: any) => x.port === 5432));
      assert.deepEqual(db.to, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NAMESPACE } }, podSelector: { matchLabels: { app: 'postgres' } } }]);
    }
  });
});

describe('F5: ingress-nginx annotations for passthrough and reencrypt', () => {
  const ingress = (objects: K8sObject[]) => objects.find((o) => o.kind === 'Ingress') as K8sObject;

  it('passthrough: ssl-passthrough and force-ssl-redirect (no tls block to key ssl-redirect on)', (t) => {
    const dir = tempDir(t.after.bind(t));
    const r = template([valuesFile(dir, 'v.yaml', { ...BASE, ingress: { enabled: true, mode: 'passthrough', host: 'probectl.corp.test', className: 'nginx' } })]);
    assert.equal(r.status, 0, r.stderr);
    const ing = ingress(r.objects);
    const a = ing.metadata.annotations ?? {};
    assert.equal(a['nginx.ingress.kubernetes.io/ssl-passthrough'], 'true');
    assert.equal(a['nginx.ingress.kubernetes.io/force-ssl-redirect'], 'true');
    assert.equal(a['nginx.ingress.kubernetes.io/backend-protocol'], 'HTTPS');
    assert.equal((ing.spec as any).tls, undefined);
  });

  it('reencrypt: the controller verifies probectl (proxy-ssl-verify, proxy-ssl-secret with the CA, proxy-ssl-name)', (t) => {
    const dir = tempDir(t.after.bind(t));
    const ing = { enabled: true, mode: 'reencrypt', host: 'probectl.corp.test', tlsSecretName: 'edge-tls' };
    assert.match(refused(dir, 'noca.yaml', { ...BASE, ingress: ing }), /ingress\.mode reencrypt needs ingress\.backendCaSecret/);
    const r = template([valuesFile(dir, 'v.yaml', { ...BASE, ingress: { ...ing, backendCaSecret: 'probectl-ca' } })]);
    assert.equal(r.status, 0, r.stderr);
    const a = ingress(r.objects).metadata.annotations ?? {};
    assert.equal(a['nginx.ingress.kubernetes.io/backend-protocol'], 'HTTPS');
    assert.equal(a['nginx.ingress.kubernetes.io/proxy-ssl-verify'], 'on');
    assert.equal(a['nginx.ingress.kubernetes.io/proxy-ssl-secret'], `${NAMESPACE}/probectl-ca`);
    assert.equal(a['nginx.ingress.kubernetes.io/proxy-ssl-name'], `probectl.${NAMESPACE}.svc`);
    assert.equal(a['nginx.ingress.kubernetes.io/force-ssl-redirect'], 'true');
    assert.deepEqual((ingress(r.objects).spec as any).tls, [{ hosts: ['probectl.corp.test'], secretName: 'edge-tls' }]);
    const named = template([valuesFile(dir, 'n.yaml', { ...BASE, ingress: { ...ing, backendCaSecret: 'probectl-ca', backendHostname: 'api.probectl.corp.test' } })]);
    assert.equal(ingress(named.objects).metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-ssl-name'], 'api.probectl.corp.test');
  });
});

describe("F7: the chart accepts only keys probectl accepts (src/core/envelope.ts's rule)", () => {
  const withKey = (key: string) => ({ ...BASE, encryption: { key } });
  it('a 48-byte key is refused with the decoded length', (t) => {
    const dir = tempDir(t.after.bind(t));
    assert.match(refused(dir, 'v.yaml', withKey(randomBytes(48).toString('base64'))), /probectl: encryption\.key is 48 bytes once decoded, not 32: set 32 random bytes/);
    assert.match(refused(dir, 'w.yaml', withKey(randomBytes(31).toString('base64'))), /encryption\.key is 31 bytes once decoded, not 32/);
  });
  it('every byte the same (0xFF, 0x00, 0x41) is refused as a placeholder', (t) => {
    const dir = tempDir(t.after.bind(t));
    for (const b of [0xff, 0x00, 0x41]) {
      assert.match(refused(dir, `k${b}.yaml`, withKey(Buffer.alloc(32, b).toString('base64'))), /encryption\.key is a placeholder \(every byte the same\), not a random key/);
    }
    assert.match(refused(dir, 'prev.yaml', { ...withKey(randomBytes(32).toString('base64')), encryption: { key: randomBytes(32).toString('base64'), previousKey: Buffer.alloc(32, 0xff).toString('base64') } }), /encryption\.previousKey is a placeholder \(every byte the same\)/);
  });
  it('32 random bytes render', (t) => {
    const dir = tempDir(t.after.bind(t));
    const r = template([valuesFile(dir, 'v.yaml', withKey(randomBytes(32).toString('base64')))]);
    assert.equal(r.status, 0, r.stderr);
  });
});

describe('F8: zero resources are refused', () => {
  for (const [name, resources] of [
    ['limits.cpu "0"', { limits: { cpu: '0' } }],
    ['limits.memory 0', { limits: { memory: 0 } }],
    ['requests.cpu "0m"', { requests: { cpu: '0m' } }],
    ['requests.memory "0.0Mi"', { requests: { memory: '0.0Mi' } }],
  ] as const) {
    it(`${name} is refused, in resources and migration.resources`, (t) => {
      const dir = tempDir(t.after.bind(t));
      assert.match(refused(dir, 'a.yaml', { ...BASE, resources }), /\/resources\/(limits|requests)\/(cpu|memory)/);
      assert.match(refused(dir, 'b.yaml', { ...BASE, migration: { resources } }), /\/migration\/resources\/(limits|requests)\/(cpu|memory)/);
    });
  }
  it('non-zero quantities render', (t) => {
    const dir = tempDir(t.after.bind(t));
    const r = template([valuesFile(dir, 'v.yaml', { ...BASE, resources: { requests: { cpu: '0.5', memory: '512Mi' }, limits: { cpu: 2, memory: '1Gi' } } })]);
    assert.equal(r.status, 0, r.stderr);
  });
});
