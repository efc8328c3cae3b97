import { run, tool } from './tools.ts';

/** One check result of checkov's JSON report. */
export interface CheckResult {
  check_id: string;
  resource: string;
  file_path: string;
  suppress_comment?: string;
  check_result: { result: string; suppress_comment?: string };
}

export interface CheckovReport {
  passed: CheckResult[];
  failed: CheckResult[];
  skipped: CheckResult[];
  parsingErrors: number;
  raw: string;
}

/**
 * Runs checkov (pinned, .ci/install-deploy-tools.sh) on files or a directory with one framework,
 * offline (--skip-download: no call to the vendor's platform), and returns its JSON report.
 */
export function checkov(framework: 'kubernetes' | 'dockerfile' | 'terraform', target: { files?: string[]; dir?: string }): CheckovReport {
  const args = ['--skip-download', '--framework', framework, '-o', 'json', ...(target.files ?? []).flatMap((f) => ['-f', f]), ...(target.dir ? ['-d', target.dir] : [])];
  const r = run(tool('checkov'), args, { timeoutMs: 300_000, env: { ...process.env, BC_SKIP_MAPPING: 'TRUE', CHECKOV_NO_OUTPUT_COLOR: '1' } });
  if (r.status === null) throw new Error('checkov did not finish within 300 s');
  let out: any;
  try {
    out = JSON.parse(r.stdout);
  } catch {
    throw new Error(`checkov printed no JSON report (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  }
  const reports = Array.isArray(out) ? out : [out];
  const pick = (key: string) => reports.flatMap((x: any) => (x.results?.[key] ?? []) as CheckResult[]);
  return {
    passed: pick('passed_checks'),
    failed: pick('failed_checks'),
    skipped: pick('skipped_checks'),
    parsingErrors: reports.reduce((n: number, x: any) => n + (x.summary?.parsing_errors ?? x.parsing_errors ?? 0), 0),
    raw: r.stdout,
  };
}

export function describeFailures(report: CheckovReport): string[] {
  return report.failed.map((f) => `${f.check_id} ${f.resource} (${f.file_path})`);
}
