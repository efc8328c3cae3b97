import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * The deployment suite's tools (helm, kubeconform, tofu, checkov, kubernetes-validate), as
 * .ci/install-deploy-tools.sh installs them into .ci/tools/. A missing tool fails the test that
 * needs it, naming the install script: this suite never skips.
 */
export const ROOT = new URL('../../', import.meta.url).pathname;
export const CHART = join(ROOT, 'deploy/helm/probectl');
export const TOOLS = join(ROOT, '.ci/tools');
const BIN = join(TOOLS, 'bin');

/** The Kubernetes version the chart is rendered and validated for (a current minor with offline schemas). */
export const KUBE_VERSION = '1.37.0';

export type ToolName = 'helm' | 'kubeconform' | 'tofu' | 'checkov';

/** Absolute path of a tool: .ci/tools/bin first, then PATH. Throws (fails the test) when it is missing. */
export function tool(name: ToolName): string {
  for (const dir of [BIN, ...(process.env.PATH ?? '').split(delimiter)]) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} is not installed: run bash .ci/install-deploy-tools.sh (it installs the pinned helm, kubeconform, tofu, checkov and kubernetes-validate into .ci/tools/)`);
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion or kills it at the deadline (status null then). */
export function run(file: string, args: readonly string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): RunResult {
  const res = spawnSync(file, args, {
    cwd: opts.cwd ?? ROOT, encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000, maxBuffer: 256 * 1024 * 1024,
    env: opts.env ?? process.env, input: opts.input,
  });
  if (res.error && (res.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw res.error;
  return { status: res.status, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
}

/** A temporary directory removed when the callback's test ends (pass t.after). */
export function tempDir(after: (fn: () => void) => void, prefix = 'probectl-deploy-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes a values file (JSON is YAML) and returns its path. */
export function valuesFile(dir: string, name: string, values: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(values, null, 2));
  return path;
}

/** A rendered Kubernetes object. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [key: string]: unknown;
}

/** Parses a multi-document YAML stream into its objects (empty documents dropped). */
export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(`rendered YAML does not parse: ${d.errors[0]?.message}`);
    return d.toJS() as K8sObject | null;
  }).filter((o): o is K8sObject => o !== null && o !== undefined);
}

export interface Render extends RunResult {
  objects: K8sObject[];
}

export const NAMESPACE = 'probectl';

/** `helm template` of the chart with these values files (in order) and --set flags. */
export function template(valueFiles: readonly string[], sets: readonly string[] = [], release = 'probectl'): Render {
  const args = ['template', release, CHART, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION, ...valueFiles.flatMap((f) => ['-f', f]), ...sets.flatMap((s) => ['--set', s])];
  const res = run(tool('helm'), args);
  return { ...res, objects: res.status === 0 ? parseObjects(res.stdout) : [] };
}
