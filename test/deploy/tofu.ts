import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, run, tool } from './tools.ts';

/** The Terraform module (deploy/terraform/modules/probectl). */
export const MODULE = join(ROOT, 'deploy/terraform/modules/probectl');

/** Runs OpenTofu with an empty CLI configuration (no network, no plugin cache). */
export function tofu(args: string[], cwd: string, rc: string): ReturnType<typeof run> {
  return run(tool('tofu'), args, { cwd, timeoutMs: 180_000, env: { ...process.env, TF_CLI_CONFIG_FILE: rc, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' } });
}

/** Evaluates the values submodule with these HCL arguments; returns the values or the error text. */
export function evaluate(dir: string, hclArgs: string): { values?: Record<string, any>; error?: string } {
  const rc = join(dir, 'tofurc');
  writeFileSync(rc, '');
  writeFileSync(join(dir, 'main.tf'), `module "values" {\n  source = ${JSON.stringify(join(MODULE, 'values'))}\n${hclArgs}\n}\n\noutput "values" {\n  value = module.values.values\n}\n`);
  const init = tofu(['init', '-input=false', '-no-color'], dir, rc);
  assert.equal(init.status, 0, `tofu init: ${init.stdout}${init.stderr}`);
  const apply = tofu(['apply', '-auto-approve', '-input=false', '-no-color'], dir, rc);
  if (apply.status !== 0) return { error: apply.stdout + apply.stderr };
  const out = tofu(['output', '-json', 'values'], dir, rc);
  assert.equal(out.status, 0, out.stderr);
  return { values: JSON.parse(out.stdout) as Record<string, any> };
}

