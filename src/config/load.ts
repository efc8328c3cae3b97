import { ProbectlError } from '../core/errors.ts';
import { isLoopbackHost } from '../core/net.ts';
import { cloudSecretsVars, type CloudSecretsConfig } from '../secrets/backends/cloud-config.ts';
import { referenceBackendProblems, secretsCrossChecks, secretsVars, type SecretsSection } from '../secrets/config.ts';
import { collectReferences } from '../secrets/references.ts';
import { DEVICE_CRED_PATTERN, readDeviceCredentials, type DeviceCredentialSpec } from '../secrets/device-config.ts';
import { siemSettings, siemVars, type SiemSettings, type SiemVars } from '../siem/config.ts';
import { coreVars } from './core.ts';
import { readSection, type ConfigProblem, type SectionValue, type Vars } from './section.ts';

/** Every section's variables, in documentation order. Later integrations add theirs here. */
export const CONFIG_SECTIONS = {
  core: { title: 'Core', vars: coreVars },
  secrets: { title: 'Secret references and TLS identities', vars: secretsVars },
  cloudSecrets: { title: 'Cloud secret backends (AWS, Azure, GCP)', vars: cloudSecretsVars },
  siem: { title: 'SIEM export', vars: siemVars, nestedAs: 'siemVars' },
} as const satisfies Record<string, { title: string; vars: Vars; nestedAs?: string }>;

/** The parsed values of one section: most sections are flat in Config, some are nested under a key. */
export function sectionValues(config: Config, key: keyof typeof CONFIG_SECTIONS): Readonly<Record<string, unknown>> {
  const section = CONFIG_SECTIONS[key] as { nestedAs?: string };
  const all = config as unknown as Record<string, unknown>;
  return section.nestedAs ? (all[section.nestedAs] as Record<string, unknown>) : all;
}

/** Variables that are read by name patterns rather than fixed names. */
export const DYNAMIC_VARIABLE_PATTERNS: readonly RegExp[] = [DEVICE_CRED_PATTERN];

/** PROBECTL_* variables that belong to the test and CI harness, never to the server. */
const HARNESS_PREFIXES = ['PROBECTL_TEST_', 'PROBECTL_BENCH_'];

export type Config = SectionValue<typeof coreVars> & SecretsSection & CloudSecretsConfig & {
  /** PROBECTL_DEVICE_CRED_<NAME>_<FIELD>, grouped by device. */
  readonly deviceCredentials: readonly DeviceCredentialSpec[];
  /** PROBECTL_SIEM_* as parsed. */
  readonly siemVars: SiemVars;
  /** The validated export settings; undefined while PROBECTL_SIEM_ENABLED is false. */
  readonly siem: SiemSettings | undefined;
};

export function knownVariableNames(): string[] {
  return Object.values(CONFIG_SECTIONS).flatMap((s) => Object.values(s.vars).map((v) => v.name));
}

/**
 * Parses the environment once into one frozen Config. All problems are
 * collected and reported together in one error; secret values never appear.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: ConfigProblem[] = [];
  const core = readSection(env, coreVars, problems);
  const secrets = readSection(env, secretsVars, problems);
  const cloudSecrets = readSection(env, cloudSecretsVars, problems);
  const deviceCredentials = readDeviceCredentials(env, problems);
  const siemParseProblems = problems.length;
  const siemRaw = readSection(env, siemVars, problems);
  const siemParsed = problems.length === siemParseProblems;
  checkUnknown(env, problems);
  let siem: SiemSettings | undefined;
  if (problems.length === 0) {
    crossChecks(core, problems);
    secretsCrossChecks(secrets, core, problems);
  }
  // The SIEM variables are checked together whenever they parsed, export on or off: a value that
  // would be refused once export is enabled is refused now.
  if (siemParsed) siem = siemSettings(siemRaw, problems);
  const parsed: Readonly<Record<string, Readonly<Record<string, unknown>>>> = { core, secrets, cloudSecrets, siem: siemRaw };
  referenceBackendProblems(collectReferences(CONFIG_SECTIONS, (key) => parsed[key] ?? {}, deviceCredentials), secrets, problems);
  if (problems.length > 0) throw configError(problems);
  return Object.freeze({ ...core, ...secrets, ...cloudSecrets, deviceCredentials, siemVars: Object.freeze(siemRaw), siem: siem ? Object.freeze(siem) : undefined });
}

function crossChecks(c: SectionValue<typeof coreVars>, problems: ConfigProblem[]): void {
  if ((c.tlsCertFile === undefined) !== (c.tlsKeyFile === undefined)) {
    const missing = c.tlsCertFile === undefined ? 'PROBECTL_TLS_CERT_FILE' : 'PROBECTL_TLS_KEY_FILE';
    problems.push({ variable: missing, problem: 'must be set together with its pair', accepts: 'both PROBECTL_TLS_CERT_FILE and PROBECTL_TLS_KEY_FILE, or neither' });
  }
  if (c.allowPlaintextHttp && !isLoopbackHost(c.listen.host)) {
    problems.push({ variable: 'PROBECTL_ALLOW_PLAINTEXT_HTTP', problem: `plain HTTP refused on non-loopback listen address ${c.listen.host}`, accepts: 'true only with a loopback PROBECTL_LISTEN (127.0.0.1, ::1, localhost)' });
  }
  if (c.databaseUrl?.scheme === 'literal' && !/^postgres(ql)?:\/\//.test(c.databaseUrl.value)) {
    problems.push({ variable: 'PROBECTL_DATABASE_URL', problem: 'not a postgres:// URL', accepts: 'postgres://user@host:5432/db (or a secret reference resolving to one)' });
  }
  if (c.databasePassword !== undefined && c.databaseUrl === undefined) {
    problems.push({ variable: 'PROBECTL_DATABASE_PASSWORD', problem: 'set without PROBECTL_DATABASE_URL', accepts: 'a password only together with a PostgreSQL URL' });
  }
}

function checkUnknown(env: NodeJS.ProcessEnv, problems: ConfigProblem[]): void {
  const known = new Set(knownVariableNames());
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('PROBECTL_') || known.has(name)) continue;
    if (HARNESS_PREFIXES.some((p) => name.startsWith(p))) continue;
    if (DYNAMIC_VARIABLE_PATTERNS.some((re) => re.test(name))) continue;
    const hint = closest(name, [...known]);
    problems.push({ variable: name, problem: `unknown variable${hint ? ` (did you mean ${hint}?)` : ''}`, accepts: 'a variable listed in docs/configuration.md' });
  }
}

function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] as number;
}

/**
 * One error naming every problem: `invalid configuration, <refused> (n problems):`
 * then one `VARIABLE: problem; accepted: …` line each. `refused` says what was
 * refused (startup, by default; a command that only reads the configuration
 * names itself).
 */
export function configError(problems: readonly ConfigProblem[], refused = 'startup refused'): ProbectlError {
  const lines = problems.map((p) => `  ${p.variable}: ${p.problem}; accepted: ${p.accepts}`);
  return new ProbectlError(
    'PROBECTL_ERR_CONFIG_INVALID',
    `invalid configuration, ${refused} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    { details: { problems: problems.map((p) => ({ ...p })) } },
  );
}
