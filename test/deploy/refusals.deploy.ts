import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, tempDir, template, valuesFile } from './tools.ts';

/**
 * docs/deploy.md's refusal table says what the chart prints: each row's message is rendered here
 * with values that trigger it, and the real helm output must contain it word for word. Every
 * `helm template`/`helm lint` example of the page passes --kube-version (the chart needs ≥ 1.29).
 */
const DOC = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
const NET = { networkPolicy: { egress: { database: { cidrs: ['10.20.0.0/24'] } } } };
const OK = { database: { existingSecret: 'db' }, encryption: { existingSecret: 'enc' }, tls: { existingSecret: 'probectl-tls' }, ...NET };

/** The values that produce each documented message. */
const CASES: Record<string, unknown> = {
  'probectl: no database credentials': {},
  'probectl: no encryption key': { database: { existingSecret: 'db' }, tls: { existingSecret: 't' }, ...NET },
  'probectl: database.url is a placeholder': { ...OK, database: { url: 'postgres://probectl:s3cret@db.example.com:5432/probectl' } },
  'probectl: database.url is the placeholder password "password"': { ...OK, database: { url: 'postgres://probectl:password@pg.db.svc:5432/probectl' } },
  'probectl: database.url is a placeholder ("changeme")': { ...OK, database: { url: 'postgres://probectl:changeme@pg.db.svc:5432/probectl' } },
  "at '/database/url': 'changeme' does not match pattern": { ...OK, database: { url: 'changeme' } },
  'probectl: encryption.key is 48 bytes once decoded, not 32': { ...OK, encryption: { key: randomBytes(48).toString('base64') } },
  'probectl: encryption.key is a placeholder (every byte the same), not a random key': { ...OK, encryption: { key: Buffer.alloc(32).toString('base64') } },
  "at '/encryption/key': 'correct horse battery staple' does not match pattern": { ...OK, encryption: { key: 'correct horse battery staple' } },
  'probectl: no server certificate (HTTPS only)': { database: { existingSecret: 'db' }, encryption: { existingSecret: 'enc' }, ...NET },
  'probectl: the NetworkPolicy needs to know where PostgreSQL is': { database: { existingSecret: 'db' }, encryption: { existingSecret: 'enc' }, tls: { existingSecret: 't' } },
  "at '/networkPolicy/ingress/namespaceSelectors/0': 'anyOf' failed": { ...OK, networkPolicy: { ...NET.networkPolicy, ingress: { namespaceSelectors: [{}] } } },
  'probectl: config.PROBECTL_SIEM_TOKEN holds a credential': { ...OK, config: { PROBECTL_SIEM_TOKEN: 'a-literal-token' } },
  "at '/config/PROBECTL_ALLOW_PLAINTEXT_HTTP': 'not' failed": { ...OK, config: { PROBECTL_ALLOW_PLAINTEXT_HTTP: 'true' } },
  "at '/resources/limits/cpu': 'anyOf' failed": { ...OK, resources: { limits: { cpu: 0 } } },
  "at '/priorityClassName': 'high": { ...OK, priorityClassName: 'high\n      hostNetwork: true' },
  'probectl: ingress.mode reencrypt needs ingress.backendCaSecret': { ...OK, ingress: { enabled: true, mode: 'reencrypt', host: 'probectl.corp.test', tlsSecretName: 'edge' } },
};

function documented(): string[] {
  const section = DOC.slice(DOC.indexOf('## What the chart refuses'), DOC.indexOf('## Credentials'));
  return [...section.matchAll(/^\| [^|]+ \| `([^`]+)`/gm)].map((m) => m[1] as string).filter((m) => m !== 'The output contains');
}

describe("docs/deploy.md's refusal table is what the chart prints", () => {
  it('the table lists the refusals, and each has a case here', () => {
    const rows = documented();
    assert.ok(rows.length >= 14, `only ${rows.length} rows parsed`);
    assert.deepEqual(rows.filter((m) => !(m in CASES)), [], 'documented messages with no rendering case');
  });

  for (const message of documented()) {
    it(`renders to: ${message}`, (t) => {
      const values = CASES[message];
      assert.ok(values !== undefined, `no case for ${message}`);
      const r = template([valuesFile(tempDir(t.after.bind(t)), 'v.yaml', values)]);
      assert.notEqual(r.status, 0, 'rendered, should be refused');
      assert.ok(r.stderr.includes(message), `helm printed:\n${r.stderr}\nnot: ${message}`);
    });
  }

  it('every helm template / helm lint example of the page passes --kube-version', () => {
    const commands = DOC.replaceAll('\\\n', ' ').split('\n').filter((l) => /^\s*helm (template|lint)\b/.test(l));
    assert.ok(commands.length >= 1, 'the page shows an offline render');
    for (const c of commands) assert.match(c, /--kube-version v1\.(29|[3-9]\d)\.\d+/, c);
  });
});
