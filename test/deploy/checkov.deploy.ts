import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { checkov, describeFailures } from './checkov.ts';
import { renderProfiles, type Profile } from './profiles.ts';
import { ROOT, tempDir } from './tools.ts';

/**
 * checkov (pinned) on the rendered chart of every profile, the Dockerfile and the Terraform:
 * zero failed checks, and every skipped check is one written next to its object with a reason
 * (a checkov.io/skipN annotation, a `# checkov:skip=` comment). A negative control per framework
 * proves checkov really checks what it is given.
 */
describe('checkov on the rendered chart (every profile)', () => {
  let profiles: Profile[] = [];
  const dir = tempDir(after);
  before(() => {
    profiles = renderProfiles(dir);
  });

  it('zero failed checks; the only skips are annotated on their objects with a reason', () => {
    const files = profiles.map((p) => {
      const file = join(dir, `${p.name}.k8s.yaml`);
      writeFileSync(file, p.render.objects.map((o) => stringify(o, { version: '1.1' })).join('---\n'));
      return file;
    });
    const report = checkov('kubernetes', { files });
    assert.equal(report.parsingErrors, 0);
    assert.deepEqual(describeFailures(report), [], 'failed checks');
    assert.ok(report.passed.length > 500, `only ${report.passed.length} checks passed: did checkov read the manifests?`);
    // Every skip: the check and its reason stand in an annotation of the object itself.
    for (const s of report.skipped) {
      assert.ok(['CKV_K8S_35', 'CKV_K8S_43'].includes(s.check_id), `unexpected skip ${s.check_id} on ${s.resource}`);
      assert.ok((s.check_result.suppress_comment ?? s.suppress_comment ?? '').length > 40, `${s.check_id} on ${s.resource}: no reason`);
    }
    // CKV_K8S_35 (secrets as env): both workloads of every profile; CKV_K8S_43 (digest) only where no digest is set.
    assert.equal(report.skipped.filter((s) => s.check_id === 'CKV_K8S_35').length, profiles.length * 2);
    const withoutDigest = profiles.filter((p) => !p.name.startsWith('full')).length;
    assert.equal(report.skipped.filter((s) => s.check_id === 'CKV_K8S_43').length, withoutDigest * 2);
    process.stdout.write(`# checkov kubernetes: ${report.passed.length} passed, ${report.failed.length} failed, ${report.skipped.length} skipped (annotated)\n`);
  });

  it('negative control: a privileged root pod without limits fails checkov', () => {
    const file = join(dir, 'bad.k8s.yaml');
    writeFileSync(file, stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad', namespace: 'probectl' }, spec: { containers: [{ name: 'c', image: 'busybox:latest', securityContext: { privileged: true, runAsUser: 0 } }] } }));
    const ids = new Set(checkov('kubernetes', { files: [file] }).failed.map((f) => f.check_id));
    for (const id of ['CKV_K8S_16', 'CKV_K8S_11', 'CKV_K8S_22']) assert.ok(ids.has(id), `${id} did not fail on a bad pod`);
  });
});

describe('checkov on the Dockerfile', () => {
  it('zero failed checks; the one skip (HEALTHCHECK) carries its reason in the Dockerfile', () => {
    const report = checkov('dockerfile', { files: [join(ROOT, 'deploy/Dockerfile')] });
    assert.deepEqual(describeFailures(report), []);
    assert.ok(report.passed.length > 20);
    assert.deepEqual(report.skipped.map((s) => s.check_id), ['CKV_DOCKER_2']);
    assert.match(report.skipped[0]?.check_result.suppress_comment ?? report.skipped[0]?.suppress_comment ?? '', /probes call \/healthz and \/readyz over HTTPS/);
    for (const id of ['CKV_DOCKER_3', 'CKV_DOCKER_7', 'CKV_DOCKER_8']) assert.ok(report.passed.some((p) => p.check_id === id), `${id} (user, pinned base, non-root) passed`);
  });

  it('negative control: a root image on :latest fails checkov', (t) => {
    const d = tempDir(t.after.bind(t));
    writeFileSync(join(d, 'Dockerfile'), 'FROM node:latest\nUSER root\nCMD ["node"]\n');
    const ids = new Set(checkov('dockerfile', { files: [join(d, 'Dockerfile')] }).failed.map((f) => f.check_id));
    assert.ok(ids.has('CKV_DOCKER_7') && ids.has('CKV_DOCKER_8'), [...ids].join(','));
  });
});

describe('checkov on the Terraform', () => {
  it('the module and the example parse and fail no check', () => {
    for (const d of ['deploy/terraform/modules/probectl', 'deploy/terraform/examples/basic']) {
      const report = checkov('terraform', { dir: join(ROOT, d) });
      assert.equal(report.parsingErrors, 0, d);
      assert.deepEqual(describeFailures(report), [], d);
      assert.deepEqual(report.skipped, [], d);
    }
    // checkov has no policy for helm_release itself: what the release deploys is checked above, rendered.
    process.stdout.write('# checkov terraform: no failed check; checkov has no helm_release policies, the chart it installs is checked rendered\n');
  });

  it('negative control: an unpinned remote module source fails checkov', (t) => {
    const d = tempDir(t.after.bind(t));
    writeFileSync(join(d, 'main.tf'), 'module "x" {\n  source = "git::https://git.corp.test/modules/x.git"\n}\n');
    const ids = new Set(checkov('terraform', { dir: d }).failed.map((f) => f.check_id));
    assert.ok(ids.has('CKV_TF_1'), [...ids].join(','));
  });
});
