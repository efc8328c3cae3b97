import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { evaluate, MODULE, tofu } from './tofu.ts';
import { CHART, ROOT, tempDir, template, valuesFile } from './tools.ts';

/**
 * F1: the credential variables the chart and the Terraform module guard are exactly those
 * docs/configuration.md marks 🔒, so a new credential variable cannot silently land in the
 * ConfigMap or the Terraform state. Parses the docs table, the chart's list and the module's lists.
 */

/** Names docs/configuration.md marks 🔒: exact names, and name patterns (`<NAME>`) as their fixed prefix. */
function documentedSecrets(): { names: Set<string>; prefixes: Set<string> } {
  const doc = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
  const names = new Set<string>();
  const prefixes = new Set<string>();
  for (const m of doc.matchAll(/^\| `(PROBECTL_[A-Z0-9_<>]+)` 🔒 \|/gm)) {
    const name = m[1] as string;
    if (name.includes('<')) prefixes.add(name.slice(0, name.indexOf('<')));
    else names.add(name);
  }
  return { names, prefixes };
}

const quoted = (text: string): string[] => (text.match(/"PROBECTL_[A-Z0-9_]+"/g) ?? []).map((s) => s.slice(1, -1));

function chartList(): { names: string[]; helpers: string } {
  const helpers = readFileSync(join(CHART, 'templates/_helpers.tpl'), 'utf8');
  const list = /define "probectl\.secretVariables"[\s\S]*?\{\{- list ([^|]*)\|/.exec(helpers)?.[1] ?? '';
  return { names: quoted(list), helpers };
}

function terraformList(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const block = /^variable "config" \{[\s\S]*?\n\}/m.exec(text)?.[0] ?? '';
  return quoted(/!contains\(\[([\s\S]*?)\]/.exec(block)?.[1] ?? '');
}

const BASE = { database: { existingSecret: 'db' }, encryption: { existingSecret: 'enc' }, tls: { existingSecret: 'probectl-tls' }, networkPolicy: { egress: { database: { cidrs: ['10.20.0.0/24'] } } } };

describe('credential variables: the chart and the Terraform module follow docs/configuration.md (🔒)', () => {
  it('the docs mark the credential variables the review found missing', () => {
    const { names, prefixes } = documentedSecrets();
    assert.ok(names.size >= 16, `only ${names.size} 🔒 variables parsed`);
    for (const n of ['PROBECTL_CMDB_SECRET', 'PROBECTL_METRICS_UPSTREAM_TOKEN', 'PROBECTL_ENCRYPTION_KEY']) assert.ok(names.has(n), n);
    assert.deepEqual([...prefixes], ['PROBECTL_DEVICE_CRED_']);
  });

  it("the chart's secretVariables list equals the 🔒 set, and pattern variables are caught by prefix", () => {
    const { names, prefixes } = documentedSecrets();
    const { names: listed, helpers } = chartList();
    assert.deepEqual([...listed].sort(), [...names].sort());
    for (const p of prefixes) assert.ok(helpers.includes(`hasPrefix "${p}" $name`), `the chart does not guard ${p}*`);
  });

  it('the Terraform module refuses the same names in config (both variables.tf)', () => {
    const { names } = documentedSecrets();
    for (const f of ['variables.tf', 'values/variables.tf']) {
      const text = readFileSync(join(MODULE, f), 'utf8');
      assert.deepEqual(terraformList(join(MODULE, f)).sort(), [...names].sort(), f);
      assert.match(text, /!startswith\(k, "PROBECTL_DEVICE_CRED_"\)/, f);
    }
  });

  it('a literal PROBECTL_CMDB_SECRET or PROBECTL_METRICS_UPSTREAM_TOKEN in config is refused, naming the variable without echoing the value', (t) => {
    const dir = tempDir(t.after.bind(t));
    for (const name of ['PROBECTL_CMDB_SECRET', 'PROBECTL_METRICS_UPSTREAM_TOKEN']) {
      const r = template([valuesFile(dir, `${name}.yaml`, { ...BASE, config: { [name]: 'user:hunter2-literal' } })]);
      assert.notEqual(r.status, 0, `${name} literal rendered`);
      assert.match(r.stderr, new RegExp(`config\\.${name} holds a credential`));
      assert.doesNotMatch(r.stderr, /hunter2/);
    }
  });

  it('tofu refuses a credential variable in config', (t) => {
    const dir = tempDir(t.after.bind(t));
    const { error } = evaluate(dir, `
  database_secret_name   = "pg"
  encryption_secret_name = "enc"
  tls_secret_name        = "probectl-tls"
  database_cidrs         = ["10.20.0.0/24"]
  config                 = { PROBECTL_CMDB_SECRET = "vault:kv/probectl/cmdb#token" }`);
    assert.match(error ?? '', /config holds a credential variable/);
    const dev = evaluate(tempDir(t.after.bind(t)), `
  database_secret_name   = "pg"
  encryption_secret_name = "enc"
  tls_secret_name        = "probectl-tls"
  database_cidrs         = ["10.20.0.0/24"]
  config                 = { PROBECTL_DEVICE_CRED_CORE_COMMUNITY = "public" }`);
    assert.match(dev.error ?? '', /config holds a credential variable/);
  });

  it('extra_values refuses inline credentials and config (its validation block, evaluated by tofu)', (t) => {
    const block = /^variable "extra_values" \{[\s\S]*?\n\}/m.exec(readFileSync(join(MODULE, 'variables.tf'), 'utf8'))?.[0];
    assert.ok(block, 'variables.tf declares extra_values');
    const cases: [string, boolean][] = [
      ['{ database = { url = "postgres://u:p@db/x" } }', false],
      ['{ encryption = { key = "c2VjcmV0" } }', false],
      ['{ database = { password = "p" } }', false],
      ['{ config = { PROBECTL_SIEM_TOKEN = "t" } }', false],
      ['{ nodeSelector = { "kubernetes.io/os" = "linux" }, database = { urlKey = "uri" } }', true],
    ];
    for (const [value, ok] of cases) {
      const dir = tempDir(t.after.bind(t));
      const rc = join(dir, 'tofurc');
      writeFileSync(rc, '');
      writeFileSync(join(dir, 'main.tf'), `${block}\n\noutput "ok" {\n  value = true\n}\n`);
      writeFileSync(join(dir, 'terraform.tfvars'), `extra_values = ${value}\n`);
      assert.equal(tofu(['init', '-input=false', '-no-color'], dir, rc).status, 0);
      const r = tofu(['apply', '-auto-approve', '-input=false', '-no-color'], dir, rc);
      if (ok) assert.equal(r.status, 0, `${value}: ${r.stdout}${r.stderr}`);
      else assert.match(r.stdout + r.stderr, /extra_values may not hold credentials/, value);
    }
  });
});
