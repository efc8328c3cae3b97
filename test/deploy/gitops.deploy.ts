import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { schemaErrors } from './schema.ts';
import { CHART, ROOT, tempDir, template, valuesFile } from './tools.ts';

/**
 * The Argo CD Application and the Flux GitRepository + HelmRelease parse, point at the chart that
 * exists in this repository, use only value files that exist, and give only values the chart's
 * schema accepts — and helm renders the chart with exactly those values.
 */
const GITOPS = join(ROOT, 'deploy/gitops');

function load(path: string): any {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  assert.equal(docs.length, 1, `${path}: one document`);
  const doc = docs[0] as (typeof docs)[number];
  assert.deepEqual(doc.errors, [], `${path} does not parse`);
  return doc.toJS();
}

describe('Argo CD', () => {
  it('the Application syncs the chart path automatically with prune and self-heal, with values the schema accepts', (t) => {
    const app = load(join(GITOPS, 'argocd/application.yaml'));
    assert.equal(app.apiVersion, 'argoproj.io/v1alpha1');
    assert.equal(app.kind, 'Application');
    assert.equal(app.spec.source.path, 'deploy/helm/probectl');
    assert.ok(existsSync(join(ROOT, app.spec.source.path, 'Chart.yaml')), 'the chart path exists');
    assert.deepEqual(app.spec.syncPolicy.automated, { prune: true, selfHeal: true });
    assert.equal(app.spec.destination.namespace, 'probectl');
    const files: string[] = app.spec.source.helm.valueFiles;
    for (const f of files) assert.ok(existsSync(join(CHART, f)), `value file ${f} exists in the chart`);
    const layers = files.map((f) => parse(readFileSync(join(CHART, f), 'utf8')) as Record<string, unknown>);
    assert.deepEqual(schemaErrors(...layers, app.spec.source.helm.valuesObject), []);
    // No credential inline: the Application names Secrets only.
    assert.ok(app.spec.source.helm.valuesObject.database.existingSecret && !app.spec.source.helm.valuesObject.database.url);
    assert.ok(app.spec.source.helm.valuesObject.encryption.existingSecret && !app.spec.source.helm.valuesObject.encryption.key);
    const dir = tempDir(t.after.bind(t));
    const r = template([...files.map((f) => join(CHART, f)), valuesFile(dir, 'argo.yaml', app.spec.source.helm.valuesObject)], [], app.spec.source.helm.releaseName);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.objects.some((o) => o.kind === 'Certificate'));
  });
});

describe('Flux', () => {
  const repo = load(join(GITOPS, 'flux/gitrepository.yaml'));
  const release = load(join(GITOPS, 'flux/helmrelease.yaml'));
  const external = load(join(GITOPS, 'flux/externalsecret.yaml'));

  it('the GitRepository and the HelmRelease fit together and name the chart that exists', () => {
    assert.equal(repo.apiVersion, 'source.toolkit.fluxcd.io/v1');
    assert.equal(repo.kind, 'GitRepository');
    assert.equal(release.apiVersion, 'helm.toolkit.fluxcd.io/v2');
    assert.equal(release.kind, 'HelmRelease');
    const spec = release.spec.chart.spec;
    assert.deepEqual(spec.sourceRef, { kind: 'GitRepository', name: repo.metadata.name, namespace: repo.metadata.namespace });
    assert.ok(existsSync(join(ROOT, spec.chart, 'Chart.yaml')), `${spec.chart} is the chart`);
    for (const f of spec.valuesFiles) assert.ok(existsSync(join(ROOT, f)), `${f} exists`);
    // The repository's ignore rules keep the chart: gitignore re-includes a path only when each directory above it is re-included.
    const rules = (repo.spec.ignore as string).split('\n').map((l) => l.trim()).filter(Boolean);
    const parts = (spec.chart as string).replace(/^\.\//, '').split('/');
    for (let i = 1; i < parts.length; i++) {
      const dirPath = `/${parts.slice(0, i).join('/')}/`;
      const reinclude = rules.indexOf(`!${dirPath}`);
      assert.ok(reinclude >= 0 || !rules.some((r) => !r.startsWith('!') && dirPath.startsWith(r.replace(/\*$/, ''))), `${dirPath} is ignored and never re-included`);
    }
    assert.ok(rules.includes('!/deploy/helm/'), 'the chart directory is re-included');
    const kustomization = parse(readFileSync(join(GITOPS, 'flux/kustomization.yaml'), 'utf8')) as { resources: string[] };
    for (const r of kustomization.resources) assert.ok(existsSync(join(GITOPS, 'flux', r)), r);
  });

  it('valuesFrom is a Secret that external-secrets builds; with it, the values pass the schema and helm renders', (t) => {
    assert.deepEqual(release.spec.valuesFrom, [{ kind: 'Secret', name: 'probectl-credentials-values', valuesKey: 'values.yaml' }]);
    assert.equal(external.kind, 'ExternalSecret');
    assert.equal(external.spec.target.name, 'probectl-credentials-values');
    assert.equal(external.metadata.namespace, release.metadata.namespace);
    const tpl: string = external.spec.target.template.data['values.yaml'];
    // What external-secrets renders: the template with the store's values in place.
    const url = `postgres://probectl_app:${randomBytes(12).toString('hex')}@pg.databases.svc:5432/probectl?sslmode=verify-full`;
    const key = randomBytes(32).toString('base64');
    const fromSecret = parse(tpl.replace('{{ .database_url | quote }}', JSON.stringify(url)).replace('{{ .encryption_key | quote }}', JSON.stringify(key))) as Record<string, unknown>;
    assert.deepEqual(fromSecret, { database: { url }, encryption: { key } });
    for (const d of external.spec.data) assert.ok(tpl.includes(`.${d.secretKey}`), `${d.secretKey} is used by the template`);
    const files = (release.spec.chart.spec.valuesFiles as string[]).map((f) => parse(readFileSync(join(ROOT, f), 'utf8')) as Record<string, unknown>);
    // Flux merges valuesFrom, then values, over the listed files.
    assert.deepEqual(schemaErrors(...files, fromSecret, release.spec.values), []);
    // The schema check has teeth: a misspelt or misplaced value is refused.
    assert.notDeepEqual(schemaErrors(...files, fromSecret, { ...release.spec.values, networkPolicy: { enabled: false } }), []);
    assert.notDeepEqual(schemaErrors(...files, { databse: fromSecret.database }), []);
    const dir = tempDir(t.after.bind(t));
    const layered = [...(release.spec.chart.spec.valuesFiles as string[]).map((f) => join(ROOT, f)), valuesFile(dir, 'secret.yaml', fromSecret), valuesFile(dir, 'values.yaml', release.spec.values)];
    const r = template(layered, [], release.spec.releaseName);
    assert.equal(r.status, 0, r.stderr);
    // Without the Secret, helm refuses and says what to set.
    const without = template([...(release.spec.chart.spec.valuesFiles as string[]).map((f) => join(ROOT, f)), valuesFile(dir, 'values.yaml', release.spec.values)]);
    assert.match(without.stderr, /no database credentials/);
    // The credentials end up only in the chart's Secret.
    const text = r.objects.filter((o) => o.kind !== 'Secret').map((o) => JSON.stringify(o)).join('\n');
    assert.ok(!text.includes(key) && !text.includes(url));
  });
});
