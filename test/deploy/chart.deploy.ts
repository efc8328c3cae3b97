import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { CREDENTIAL_VARIABLES, EXISTING_SECRETS, OVERLAYS } from './profiles.ts';
import { CHART, ROOT, KUBE_VERSION, run, tempDir, template, tool, valuesFile, type K8sObject } from './tools.ts';

/**
 * The chart with the real helm (pinned by .ci/install-deploy-tools.sh): lint and template of the
 * defaults and every size overlay; refusal to render without real credentials, with placeholders
 * (including every example the values file shows) and with a key of the wrong length or with every byte the same, each with the
 * message that says what to set; the existing-Secret and inline paths; overlays that change sizing
 * only; the Grafana data source matching deploy/grafana/probectl-datasource.yaml.
 */
const NET = { networkPolicy: { egress: { database: { cidrs: ['10.20.0.0/24'] } } } };
const TLS = { tls: { existingSecret: 'probectl-tls' } };
const KEY = () => randomBytes(32).toString('base64');

function refused(values: unknown, dir: string, name: string): string {
  const r = template([valuesFile(dir, name, values)]);
  assert.notEqual(r.status, 0, `rendering ${name} should fail but succeeded`);
  return r.stderr;
}

describe('helm lint and template: the defaults and every size overlay', () => {
  for (const profile of ['base', ...OVERLAYS]) {
    it(`${profile}: helm lint --strict passes and helm template renders`, (t) => {
      const dir = tempDir(t.after.bind(t));
      const creds = valuesFile(dir, 'creds.yaml', EXISTING_SECRETS);
      const files = profile === 'base' ? [creds] : [join(CHART, `values-${profile}.yaml`), creds];
      const lint = run(tool('helm'), ['lint', CHART, '--strict', '--kube-version', KUBE_VERSION, ...files.flatMap((f) => ['-f', f])]);
      assert.equal(lint.status, 0, `helm lint: ${lint.stdout}${lint.stderr}`);
      assert.match(lint.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      const r = template(files);
      assert.equal(r.status, 0, r.stderr);
      const kinds = r.objects.map((o) => o.kind).sort();
      for (const k of ['ConfigMap', 'Deployment', 'Job', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount']) assert.ok(kinds.includes(k), `${profile}: no ${k} rendered`);
      // Credentials from existing Secrets: the chart makes no Secret of its own.
      assert.equal(r.objects.filter((o) => o.kind === 'Secret').length, 0);
    });
  }

  it('helm lint of the bare defaults reports every missing credential (lint mode reports template fail calls)', () => {
    // helm lint renders in lint mode, where `fail` is reported, not fatal; helm template and install stop on it.
    const lint = run(tool('helm'), ['lint', CHART, '--kube-version', KUBE_VERSION]);
    const out = lint.stdout + lint.stderr;
    for (const m of [/no database credentials: set database\.existingSecret/, /no encryption key: set encryption\.existingSecret/, /no server certificate \(HTTPS only\)/, /set networkPolicy\.egress\.database\.cidrs/]) assert.match(out, m);
  });
});

describe('the chart refuses to render without real credentials', () => {
  it('no credentials at all: the database is named first', () => {
    const r = template([]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /probectl: no database credentials: set database\.existingSecret \(a Secret with the PostgreSQL URL under database\.urlKey\) or database\.url/);
  });

  it('a database but no encryption key', (t) => {
    const dir = tempDir(t.after.bind(t));
    const err = refused({ database: { existingSecret: 'db' }, ...TLS, ...NET }, dir, 'v.yaml');
    assert.match(err, /probectl: no encryption key: set encryption\.existingSecret .* or encryption\.key \(32 random bytes, base64: openssl rand -base64 32\)/);
  });

  it('no server certificate: HTTPS only, no way around it', (t) => {
    const dir = tempDir(t.after.bind(t));
    const err = refused({ database: { existingSecret: 'db' }, encryption: { existingSecret: 'enc' }, ...NET }, dir, 'v.yaml');
    assert.match(err, /no server certificate \(HTTPS only\): set tls\.existingSecret .* or tls\.certManager\.enabled/);
    // There is no value that turns plaintext on: the schema refuses unknown values and config refuses the variable.
    const plain = refused({ database: { existingSecret: 'db' }, encryption: { existingSecret: 'enc' }, ...TLS, ...NET, config: { PROBECTL_ALLOW_PLAINTEXT_HTTP: 'true' } }, dir, 'plain.yaml');
    assert.match(plain, /at '\/config\/PROBECTL_ALLOW_PLAINTEXT_HTTP': 'not' failed/);
    const listen = refused({ database: { existingSecret: 'db' }, encryption: { existingSecret: 'enc' }, ...TLS, ...NET, http: { enabled: true } }, dir, 'http.yaml');
    assert.match(listen, /additional properties 'http' not allowed|additionalProperties/);
  });

  it('no database location for the NetworkPolicy', (t) => {
    const dir = tempDir(t.after.bind(t));
    const err = refused({ database: { existingSecret: 'db' }, encryption: { existingSecret: 'enc' }, ...TLS }, dir, 'v.yaml');
    assert.match(err, /set networkPolicy\.egress\.database\.cidrs or networkPolicy\.egress\.database\.namespaceSelector/);
  });

  for (const [label, url, expected] of [
    ['changeme as the password', 'postgres://probectl:changeme@pg.db.svc:5432/probectl?sslmode=verify-full', /database\.url is a placeholder \("changeme"\): set it to the real credential/],
    ['password as the password', 'postgres://probectl:password@pg.db.svc:5432/probectl?sslmode=verify-full', /database\.url is the placeholder password "password": set it to the real credential/],
    ['CHANGEME in capitals', 'postgres://probectl:CHANGEME@pg.db.svc:5432/probectl', /database\.url is a placeholder \("changeme"\)/],
  ] as const) {
    it(`a placeholder database URL (${label}) is refused`, (t) => {
      const dir = tempDir(t.after.bind(t));
      assert.match(refused({ database: { url }, encryption: { key: KEY() }, ...TLS, ...NET }, dir, 'v.yaml'), expected);
    });
  }

  it('a placeholder database password is refused', (t) => {
    const dir = tempDir(t.after.bind(t));
    const err = refused({ database: { url: 'postgres://probectl@pg.db.svc:5432/probectl?sslmode=verify-full', password: 'changeme' }, encryption: { key: KEY() }, ...TLS, ...NET }, dir, 'v.yaml');
    assert.match(err, /database\.password is the placeholder "changeme": set it to the real credential/);
  });

  for (const [label, key, expected] of [
    ['16 bytes', randomBytes(16).toString('base64'), /encryption\.key is 16 bytes once decoded, not 32: set 32 random bytes, base64 \(openssl rand -base64 32\)/],
    ['31 bytes', randomBytes(31).toString('base64'), /encryption\.key is 31 bytes once decoded, not 32/],
    ['all-zero bytes', Buffer.alloc(32).toString('base64'), /encryption\.key is a placeholder \(every byte the same\), not a random key: set 32 random bytes/],
    ['changeme', 'changeme', /encryption\.key is the placeholder "changeme"/],
    ['not base64 (a passphrase)', 'correct horse battery staple and more words here', /encryption\/key|encryption\.key/],
  ] as const) {
    it(`an encryption key that is ${label} is refused`, (t) => {
      const dir = tempDir(t.after.bind(t));
      assert.match(refused({ database: { existingSecret: 'db' }, encryption: { key }, ...TLS, ...NET }, dir, 'v.yaml'), expected);
    });
  }

  it('a short previous key (rotation) is refused too', (t) => {
    const dir = tempDir(t.after.bind(t));
    const err = refused({ database: { existingSecret: 'db' }, encryption: { key: KEY(), previousKey: randomBytes(8).toString('base64') }, ...TLS, ...NET }, dir, 'v.yaml');
    assert.match(err, /encryption\.previousKey is 8 bytes once decoded, not 32/);
  });

  it("every example the values file shows (lines with 'e.g.') is refused when used as a credential", (t) => {
    const dir = tempDir(t.after.bind(t));
    const text = readFileSync(join(CHART, 'values.yaml'), 'utf8');
    const examples = [...text.matchAll(/^\s*# e\.g\. ((?:postgres|vault)\S+)$/gm)].map((m) => m[1] as string);
    assert.ok(examples.length >= 3, `values.yaml shows ${examples.length} credential examples`);
    for (const [i, example] of examples.entries()) {
      const values = example.includes('encryption') ? { database: { existingSecret: 'db' }, encryption: { key: example } } : { database: { url: example }, encryption: { existingSecret: 'enc' } };
      const err = refused({ ...values, ...TLS, ...NET }, dir, `example-${i}.yaml`);
      assert.match(err, /is a placeholder|is the placeholder/, `the example ${example} was not refused as a placeholder: ${err}`);
    }
  });

  it('a credential variable in config must be a secret reference, never a literal', (t) => {
    const dir = tempDir(t.after.bind(t));
    const base = { database: { existingSecret: 'db' }, encryption: { existingSecret: 'enc' }, ...TLS, ...NET };
    assert.match(refused({ ...base, config: { PROBECTL_SIEM_TOKEN: 'a-literal-hec-token' } }, dir, 'a.yaml'), /config\.PROBECTL_SIEM_TOKEN holds a credential: give a secret reference .* or move it to secretEnv/);
    assert.match(refused({ ...base, config: { PROBECTL_DEVICE_CRED_CORE_SW_COMMUNITY: 'public' } }, dir, 'b.yaml'), /config\.PROBECTL_DEVICE_CRED_CORE_SW_COMMUNITY holds a credential/);
    assert.match(refused({ ...base, config: { PROBECTL_SIEM_TOKEN: 'vault:kv/probectl/example#token' } }, dir, 'c.yaml'), /config\.PROBECTL_SIEM_TOKEN is a placeholder/);
    assert.match(refused({ ...base, config: { PROBECTL_DATABASE_URL: 'vault:kv/x#url' } }, dir, 'd.yaml'), /PROBECTL_DATABASE_URL/);
    const ok = template([valuesFile(dir, 'ok.yaml', { ...base, config: { PROBECTL_SIEM_TOKEN: 'vault:kv/probectl/siem#token', PROBECTL_SECRETS_VAULT_ADDR: 'https://vault.vault.svc:8200' } })]);
    assert.equal(ok.status, 0, ok.stderr);
  });

  it('the chart covers every credential variable probectl documents (🔒): none can go into the ConfigMap as a literal', () => {
    const helpers = readFileSync(join(CHART, 'templates/_helpers.tpl'), 'utf8');
    const listed = /define "probectl\.secretVariables"[\s\S]*?list ([^|]*)\|/.exec(helpers)?.[1]?.match(/"PROBECTL_[A-Z0-9_]+"/g)?.map((s) => s.slice(1, -1)) ?? [];
    const secretVars = [...CREDENTIAL_VARIABLES];
    assert.ok(secretVars.length >= 10);
    assert.deepEqual(secretVars.filter((n) => !listed.includes(n)), [], 'credential variables the chart would accept as literals in config');
    for (const name of ['PROBECTL_ENCRYPTION_KEY', 'PROBECTL_ENCRYPTION_KEY_PREVIOUS']) assert.ok(listed.includes(name));
  });
});

describe('the accepted credential paths', () => {
  it('existing Secrets: every credential is a secretKeyRef, and the chart makes no Secret', (t) => {
    const dir = tempDir(t.after.bind(t));
    const r = template([valuesFile(dir, 'v.yaml', EXISTING_SECRETS)]);
    assert.equal(r.status, 0, r.stderr);
    const deploy = r.objects.find((o) => o.kind === 'Deployment') as K8sObject;
    const env = (deploy.spec as any).template.spec.containers[0].env as { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
    const ref = (n: string) => env.find((e) => e.name === n)?.valueFrom?.secretKeyRef;
    assert.deepEqual(ref('PROBECTL_DATABASE_URL'), { name: 'probectl-database', key: 'url' });
    assert.deepEqual(ref('PROBECTL_DATABASE_PASSWORD'), { name: 'probectl-database', key: 'password' });
    assert.deepEqual(ref('PROBECTL_ENCRYPTION_KEY'), { name: 'probectl-encryption', key: 'key' });
    assert.deepEqual(ref('PROBECTL_ENCRYPTION_KEY_PREVIOUS'), { name: 'probectl-encryption', key: 'previous' });
    assert.equal(r.objects.filter((o) => o.kind === 'Secret').length, 0);
  });

  it('secret references are passed as plain values (probectl resolves them), and make no Secret', (t) => {
    const dir = tempDir(t.after.bind(t));
    const r = template([valuesFile(dir, 'v.yaml', { database: { url: 'vault:kv/probectl/db#url' }, encryption: { key: 'aws:probectl/encryption#key' }, ...TLS, ...NET })]);
    assert.equal(r.status, 0, r.stderr);
    const env = ((r.objects.find((o) => o.kind === 'Deployment') as any).spec.template.spec.containers[0].env) as { name: string; value?: string }[];
    assert.equal(env.find((e) => e.name === 'PROBECTL_DATABASE_URL')?.value, 'vault:kv/probectl/db#url');
    assert.equal(env.find((e) => e.name === 'PROBECTL_ENCRYPTION_KEY')?.value, 'aws:probectl/encryption#key');
    assert.equal(r.objects.filter((o) => o.kind === 'Secret').length, 0);
  });

  it('inline literals go into the chart\'s Secret (a pre-install hook, before the migration Job), read by secretKeyRef', (t) => {
    const dir = tempDir(t.after.bind(t));
    const key = KEY();
    const url = 'postgres://probectl@pg.db.svc:5432/probectl?sslmode=verify-full';
    const password = randomBytes(12).toString('hex');
    const r = template([valuesFile(dir, 'v.yaml', { database: { url, password }, encryption: { key }, ...TLS, ...NET })]);
    assert.equal(r.status, 0, r.stderr);
    const secret = r.objects.find((o) => o.kind === 'Secret') as K8sObject;
    assert.equal(secret.metadata.annotations?.['helm.sh/hook'], 'pre-install,pre-upgrade');
    assert.ok(Number(secret.metadata.annotations?.['helm.sh/hook-weight']) < Number((r.objects.find((o) => o.kind === 'Job') as K8sObject).metadata.annotations?.['helm.sh/hook-weight']));
    const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    assert.deepEqual(data, { 'database-url': url, 'database-password': password, 'encryption-key': key });
    for (const kind of ['Deployment', 'Job']) {
      const spec = (r.objects.find((o) => o.kind === kind) as any).spec.template.spec;
      const env = spec.containers[0].env as { name: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
      assert.deepEqual(env.find((e) => e.name === 'PROBECTL_ENCRYPTION_KEY')?.valueFrom?.secretKeyRef, { name: secret.metadata.name, key: 'encryption-key' }, kind);
    }
  });

  it('a changed configuration changes the pods\' checksum annotation (pods roll)', (t) => {
    const dir = tempDir(t.after.bind(t));
    const a = template([valuesFile(dir, 'a.yaml', EXISTING_SECRETS)]);
    const b = template([valuesFile(dir, 'a.yaml', EXISTING_SECRETS)], ['config.PROBECTL_LOG_LEVEL=debug']);
    const sum = (r: typeof a) => (r.objects.find((o) => o.kind === 'Deployment') as any).spec.template.metadata.annotations['checksum/config'] as string;
    assert.match(sum(a), /^[0-9a-f]{64}$/);
    assert.notEqual(sum(a), sum(b));
    assert.equal(sum(a), sum(template([valuesFile(dir, 'a.yaml', EXISTING_SECRETS)])));
  });

  it('values.schema.json takes conditional requirements: a path half-given is refused by the schema', (t) => {
    const dir = tempDir(t.after.bind(t));
    const base = { encryption: { existingSecret: 'enc' }, ...TLS, ...NET };
    assert.match(refused({ ...base, database: { existingSecret: 'db', url: 'postgres://x@y:5432/z' } }, dir, 'a.yaml'), /\/database\/url/);
    assert.match(refused({ ...base, database: { existingSecret: 'db', urlKey: '' } }, dir, 'b.yaml'), /\/database\/urlKey/);
    assert.match(refused({ ...base, database: { url: 'postgres://x@y:5432/z', passwordKey: 'pw' } }, dir, 'c.yaml'), /\/database\/existingSecret/);
    assert.match(refused({ database: { existingSecret: 'db' }, encryption: { existingSecret: 'enc' }, ...NET, tls: { certManager: { enabled: true } } }, dir, 'd.yaml'), /\/tls\/certManager\/issuerRef/);
    assert.match(refused({ ...base, database: { existingSecret: 'db' }, image: { tag: 'latest' } }, dir, 'e.yaml'), /\/image\/tag/);
    assert.match(refused({ ...base, database: { existingSecret: 'db' }, networkPolicy: { enabled: false } }, dir, 'f.yaml'), /enabled/);
  });
});

describe('size overlays change sizing only', () => {
  const SIZING_KEYS = new Set(['replicaCount', 'resources', 'autoscaling', 'tuning', 'migration']);
  const TUNING_VARS = ['PROBECTL_DATABASE_POOL_SIZE', 'PROBECTL_SIEM_INFLIGHT', 'PROBECTL_SIEM_BUFFER_EVENTS', 'PROBECTL_NOTIFY_CONCURRENCY', 'PROBECTL_NOTIFY_BUFFER_OPERATIONS', 'PROBECTL_METRICS_MAX_CONCURRENT_QUERIES'];

  /** The rendered objects with every sizing field removed: what must be identical across sizes. */
  function withoutSizing(objects: K8sObject[]): K8sObject[] {
    return structuredClone(objects).filter((o) => o.kind !== 'HorizontalPodAutoscaler').map((o) => {
      const spec = o.spec as any;
      if (o.kind === 'Deployment') {
        delete spec.replicas;
        delete spec.template.spec.topologySpreadConstraints;
        delete spec.template.metadata.annotations['checksum/config'];
      }
      if (o.kind === 'Deployment' || o.kind === 'Job') {
        for (const c of spec.template.spec.containers) {
          delete c.resources;
          if (c.env) c.env = c.env.filter((e: { name: string }) => !TUNING_VARS.includes(e.name));
        }
      }
      if (o.kind === 'ConfigMap' && o.data) for (const v of TUNING_VARS) delete o.data[v];
      return o;
    });
  }

  for (const overlay of OVERLAYS) {
    it(`values-${overlay}.yaml sets only sizing values, and its rendering differs from the base only in sizing`, (t) => {
      const file = join(CHART, `values-${overlay}.yaml`);
      const values = parse(readFileSync(file, 'utf8')) as Record<string, any>;
      assert.deepEqual(Object.keys(values).filter((k) => !SIZING_KEYS.has(k)), [], `values-${overlay}.yaml sets non-sizing values`);
      if (values.migration) assert.deepEqual(Object.keys(values.migration), ['resources']);
      const dir = tempDir(t.after.bind(t));
      const creds = valuesFile(dir, 'creds.yaml', EXISTING_SECRETS);
      const base = template([creds]);
      const sized = template([file, creds]);
      assert.equal(sized.status, 0, sized.stderr);
      assert.deepEqual(withoutSizing(sized.objects), withoutSizing(base.objects));
      // The sizing really is what the overlay says.
      const deploy = sized.objects.find((o) => o.kind === 'Deployment') as any;
      const config = (sized.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-config')) as K8sObject).data ?? {};
      assert.equal(config.PROBECTL_DATABASE_POOL_SIZE, String(values.tuning.databasePoolSize));
      assert.equal(config.PROBECTL_SIEM_INFLIGHT, String(values.tuning.siemInflight));
      assert.equal(config.PROBECTL_NOTIFY_CONCURRENCY, String(values.tuning.notifyConcurrency));
      assert.deepEqual(deploy.spec.template.spec.containers[0].resources, values.resources);
      const hpa = sized.objects.find((o) => o.kind === 'HorizontalPodAutoscaler') as any;
      if (values.autoscaling.enabled) {
        assert.equal(deploy.spec.replicas, undefined, 'the HPA owns the replica count');
        assert.equal(hpa.spec.minReplicas, values.autoscaling.minReplicas);
        assert.equal(hpa.spec.maxReplicas, values.autoscaling.maxReplicas);
      } else {
        assert.equal(hpa, undefined);
        assert.equal(deploy.spec.replicas, values.replicaCount);
      }
      const multi = values.autoscaling.enabled || values.replicaCount > 1;
      assert.equal(deploy.spec.template.spec.topologySpreadConstraints !== undefined, multi, 'topology spread exactly when more than one replica can run');
    });
  }

  it('the overlays differ from each other (they are real sizes, not copies)', () => {
    const texts = OVERLAYS.map((o) => JSON.stringify(parse(readFileSync(join(CHART, `values-${o}.yaml`), 'utf8'))));
    assert.equal(new Set(texts).size, OVERLAYS.length);
  });
});

describe('Grafana data source provisioning', () => {
  it('the optional ConfigMap holds deploy/grafana/probectl-datasource.yaml (docs/federation.md) with the Service URL filled in, and no secret', (t) => {
    const dir = tempDir(t.after.bind(t));
    const r = template([valuesFile(dir, 'v.yaml', { ...EXISTING_SECRETS, grafanaDatasource: { enabled: true } })]);
    assert.equal(r.status, 0, r.stderr);
    const cm = r.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-grafana-datasource')) as K8sObject;
    assert.equal(cm.metadata.labels?.grafana_datasource, '1');
    const rendered = parse(cm.data?.['probectl-datasource.yaml'] ?? '') as any;
    const reference = parse(readFileSync(join(ROOT, 'deploy/grafana/probectl-datasource.yaml'), 'utf8')) as any;
    assert.equal(rendered.datasources[0].url, 'https://probectl.probectl.svc:443/v1/grafana');
    reference.datasources[0].url = rendered.datasources[0].url;
    assert.deepEqual(rendered, reference);
    assert.equal(template([valuesFile(dir, 'w.yaml', EXISTING_SECRETS)]).objects.some((o) => o.metadata.name.endsWith('-grafana-datasource')), false, 'off by default');
  });
});
