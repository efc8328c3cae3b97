import { configError, readSection, type ConfigProblem, type SectionValue, type Vars } from './config/section.ts';
import { unknownVariables } from './config/unknown.ts';
import type { VarSpec } from './config/vars.ts';
import { encryptionKeyProblem } from './core/envelope.ts';
import { isLoopbackHost } from './core/net.ts';
import { INTEGRATIONS } from './integrations/registry.ts';
import type { Integration } from './integrations/types.ts';
import { cloudSecretsVars, type CloudSecretsConfig } from './secrets/backends/cloud-config.ts';
import { referenceBackendProblems, secretsCrossChecks, secretsVars, type SecretsSection } from './secrets/config.ts';
import { DEVICE_CRED_FIELD_DOCS, DEVICE_CRED_FIELDS, DEVICE_CRED_PATTERN, deviceCredVariable, readDeviceCredentials, type DeviceCredField, type DeviceCredentialSpec } from './secrets/device-config.ts';
import { redactRef } from './secrets/ref.ts';
import { collectReferences, type ConfiguredReference } from './secrets/references.ts';
import { serverVars } from './server/config.ts';
import { databaseUrlProblem } from './store/open.ts';

/**
 * The whole configuration, assembled here at the composition root: the
 * server's own section, the secret backends, device credentials, and one
 * section per registered integration (src/integrations/registry.ts). The
 * config/ toolkit knows none of them.
 */
export type Config = SectionValue<typeof serverVars> & SecretsSection & CloudSecretsConfig & {
  /** PROBECTL_DEVICE_CRED_<NAME>_<FIELD>, grouped by device. */
  readonly deviceCredentials: readonly DeviceCredentialSpec[];
  /** Each integration's settings by name; undefined while it is off. */
  readonly integrations: Readonly<Record<string, unknown>>;
  /** Each integration's variables as parsed, by integration name. */
  readonly integrationValues: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
};

/** One section of the configuration: its variables and where a loaded Config keeps their values. */
export interface ConfigSection {
  readonly key: string;
  readonly title: string;
  readonly vars: Vars;
  values(config: Config): Readonly<Record<string, unknown>>;
}

const flat = (config: Config) => config as unknown as Readonly<Record<string, unknown>>;

/** Every section, in documentation order: the server's, the secret backends', then the integrations'. */
export const CONFIG_SECTIONS: readonly ConfigSection[] = [
  { key: 'server', title: 'Core', vars: serverVars, values: flat },
  { key: 'secrets', title: 'Secret references and TLS identities', vars: secretsVars, values: flat },
  { key: 'cloudSecrets', title: 'Cloud secret backends (AWS, Azure, GCP)', vars: cloudSecretsVars, values: flat },
  ...INTEGRATIONS.map((i) => ({ key: i.name, title: i.config.title, vars: i.config.vars, values: (c: Config) => c.integrationValues[i.name] ?? {} })),
];

/** Variables that are read by name patterns rather than fixed names. */
export const DYNAMIC_VARIABLE_PATTERNS: readonly RegExp[] = [DEVICE_CRED_PATTERN, ...INTEGRATIONS.flatMap((i) => i.config.dynamic ?? [])];

/** PROBECTL_* variables that belong to the test and CI harness, never to the server. */
const HARNESS_PREFIXES = ['PROBECTL_TEST_', 'PROBECTL_BENCH_'];

export function knownVariableNames(): string[] {
  return CONFIG_SECTIONS.flatMap((s) => Object.values(s.vars).map((v) => v.name));
}

/** The settings of an integration in a loaded configuration (undefined while it is off). */
export function integrationSettings<S>(config: Config, integration: Integration<S, unknown> | Integration): S | undefined {
  return config.integrations[integration.name] as S | undefined;
}

/**
 * Parses the environment once into one frozen Config. All problems are
 * collected and reported together in one error; secret values never appear.
 * Every integration's variables are checked whether it is on or off.
 *
 * Cross-checks (pairs, the plaintext rule, a target's own rules) run even when
 * some variables failed to parse, so one start names every bad variable: a
 * variable that failed stands at its default for them, and a finding about a
 * failed variable, naming one, or depending on one (ConfigProblem.depends) is
 * withheld, since it may be wrong.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: ConfigProblem[] = [];
  const server = readSection(env, serverVars, problems);
  const secrets = readSection(env, secretsVars, problems);
  const cloudSecrets = readSection(env, cloudSecretsVars, problems);
  const deviceCredentials = readDeviceCredentials(env, problems);
  const integrationValues: Record<string, Readonly<Record<string, unknown>>> = {};
  const integrations: Record<string, unknown> = {};
  for (const i of INTEGRATIONS) integrationValues[i.name] = Object.freeze(readSection(env, i.config.vars, problems));
  unknownVariables(env, new Set(knownVariableNames()), DYNAMIC_VARIABLE_PATTERNS, HARNESS_PREFIXES, problems);
  const failed = new Set(problems.map((p) => p.variable));
  const crossCheck = (check: (found: ConfigProblem[]) => void): void => {
    const found: ConfigProblem[] = [];
    try {
      check(found);
    } catch (err) {
      if (failed.size === 0) throw err;
      return; // a check that cannot run on defaults stands in for a failed value: the failure is reported already
    }
    problems.push(...(failed.size === 0 ? found : found.filter((p) => !failed.has(p.variable) && !(p.depends ?? []).some((d) => failed.has(d)) && ![...failed].some((f) => mentions(`${p.problem} ${p.accepts}`, f)))));
  };
  const serverChecked = withDefaults(server, serverVars, failed);
  crossCheck((found) => serverCrossChecks(serverChecked, found));
  crossCheck((found) => secretsCrossChecks(withDefaults(secrets, secretsVars, failed), serverChecked, found));
  // An integration's variables are checked together, on or off: a value that would be refused once it is enabled is refused now.
  for (const i of INTEGRATIONS) {
    const values = withDefaults(integrationValues[i.name] as Record<string, unknown>, i.config.vars, failed);
    const clean = Object.values(i.config.vars).every((spec) => !failed.has(spec.name));
    crossCheck((found) => {
      const settings = i.config.settings(values, found);
      if (clean) integrations[i.name] = settings === undefined ? undefined : Object.freeze(settings);
    });
  }
  const partial = { ...server, ...secrets, ...cloudSecrets, deviceCredentials, integrations, integrationValues } as unknown as Config;
  referenceBackendProblems(configReferences(partial), secrets, problems);
  if (problems.length > 0) throw configError(problems);
  return Object.freeze({ ...partial, integrations: Object.freeze(integrations), integrationValues: Object.freeze(integrationValues) });
}

/** Whether a finding's text names the variable (as a whole word: PROBECTL_SIEM_TOKEN is not PROBECTL_SIEM_TOKEN_FILE). */
function mentions(text: string, variable: string): boolean {
  return new RegExp(`\\b${variable}\\b`).test(text);
}

/** A section's values with every variable that failed to parse at its default (undefined where it has none). */
function withDefaults<T extends Record<string, unknown>>(values: T, vars: Vars, failed: ReadonlySet<string>): T {
  const out: Record<string, unknown> = { ...values };
  for (const [key, spec] of Object.entries(vars)) {
    if (!failed.has(spec.name)) continue;
    try {
      out[key] = spec.parse(undefined);
    } catch {
      out[key] = undefined;
    }
  }
  return out as T;
}

function serverCrossChecks(c: SectionValue<typeof serverVars>, problems: ConfigProblem[]): void {
  if ((c.tlsCertFile === undefined) !== (c.tlsKeyFile === undefined)) {
    const missing = c.tlsCertFile === undefined ? 'PROBECTL_TLS_CERT_FILE' : 'PROBECTL_TLS_KEY_FILE';
    problems.push({ variable: missing, problem: 'must be set together with its pair', accepts: 'both PROBECTL_TLS_CERT_FILE and PROBECTL_TLS_KEY_FILE, or neither' });
  }
  if (c.allowPlaintextHttp && !isLoopbackHost(c.listen.host)) {
    problems.push({ variable: 'PROBECTL_ALLOW_PLAINTEXT_HTTP', problem: `plain HTTP refused on non-loopback listen address ${c.listen.host}`, accepts: 'true only with a loopback PROBECTL_LISTEN (127.0.0.1, ::1, localhost)' });
  }
  if (c.databaseUrl?.scheme === 'literal' && !/^postgres(ql)?:\/\//.test(c.databaseUrl.value)) {
    problems.push({ variable: 'PROBECTL_DATABASE_URL', problem: 'not a postgres:// URL', accepts: 'postgres://user@host:5432/db (or a secret reference resolving to one)' });
  } else if (c.databaseUrl?.scheme === 'literal') {
    // The same rule serve applies when it opens the database, so `config check` never calls OK what serve refuses.
    const problem = databaseUrlProblem(c.databaseUrl.value);
    if (problem) problems.push({ variable: 'PROBECTL_DATABASE_URL', problem, accepts: 'postgres://user@host:5432/db, with sslmode=verify-full for a remote server (or a secret reference resolving to one)' });
  }
  encryptionKeyChecks(c, problems);
  if (c.databasePassword !== undefined && c.databaseUrl === undefined) {
    problems.push({ variable: 'PROBECTL_DATABASE_PASSWORD', problem: 'set without PROBECTL_DATABASE_URL', accepts: 'a password only together with a PostgreSQL URL' });
  }
}

const KEY_ACCEPTS = '32 random bytes, base64 (`openssl rand -base64 32`), or a secret reference resolving to one';

/** PROBECTL_ENCRYPTION_KEY(_PREVIOUS): required with a PostgreSQL database; a literal is checked now, a reference when it is resolved at startup. */
function encryptionKeyChecks(c: SectionValue<typeof serverVars>, problems: ConfigProblem[]): void {
  if (c.encryptionKey === undefined && c.databaseUrl !== undefined) {
    problems.push({ variable: 'PROBECTL_ENCRYPTION_KEY', problem: 'required when PROBECTL_DATABASE_URL is set (the payloads kept in the database are encrypted with it)', accepts: KEY_ACCEPTS, depends: ['PROBECTL_DATABASE_URL'] });
  }
  if (c.encryptionKeyPrevious !== undefined && c.encryptionKey === undefined) {
    problems.push({ variable: 'PROBECTL_ENCRYPTION_KEY_PREVIOUS', problem: 'set without PROBECTL_ENCRYPTION_KEY (a rotation names the new key explicitly)', accepts: 'the key being replaced, together with PROBECTL_ENCRYPTION_KEY' });
  }
  for (const [variable, ref] of [['PROBECTL_ENCRYPTION_KEY', c.encryptionKey], ['PROBECTL_ENCRYPTION_KEY_PREVIOUS', c.encryptionKeyPrevious]] as const) {
    const problem = ref?.scheme === 'literal' ? encryptionKeyProblem(ref.value) : undefined;
    if (problem) problems.push({ variable, problem, accepts: KEY_ACCEPTS });
  }
}

/** Every secret reference in a loaded configuration: every section's reference-valued variables and the device credentials. */
export function configReferences(config: Config): ConfiguredReference[] {
  const sections = Object.fromEntries(CONFIG_SECTIONS.map((s) => [s.key, { vars: s.vars }]));
  return collectReferences(sections, (key) => (CONFIG_SECTIONS.find((s) => s.key === key) as ConfigSection).values(config), config.deviceCredentials);
}

/** `probectl config check` output: every variable with its effective value, secrets shown only as redacted references. */
export function renderEffectiveConfig(config: Config): string {
  const lines: string[] = [];
  for (const section of CONFIG_SECTIONS) {
    lines.push(`# ${section.title}`);
    const values = section.values(config);
    const notes = INTEGRATIONS.find((i) => i.name === section.key)?.config.effective?.(values) ?? {};
    for (const [key, spec] of Object.entries(section.vars) as [string, VarSpec<unknown>][]) {
      // A note only where it says more than the value shown (an unset variable, or a default another variable shortens).
      const shown = spec.show(values[key]);
      const note = notes[spec.name] !== shown ? notes[spec.name] : undefined;
      lines.push(`${spec.name}=${shown}${note === undefined ? '' : ` (effective: ${note})`}`);
    }
    if (section.key === 'cloudSecrets') {
      lines.push('# Device credentials (PROBECTL_DEVICE_CRED_<NAME>_<FIELD>)');
      if (config.deviceCredentials.length === 0) lines.push('(none configured)');
      for (const device of config.deviceCredentials) {
        for (const [field, ref] of Object.entries(device.fields)) lines.push(`${deviceCredVariable(device.name, field as DeviceCredField)}=${redactRef(ref)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The variables table of docs/configuration.md, generated from the same specs the loader uses. */
export function renderConfigReference(): string {
  const out: string[] = [];
  for (const section of CONFIG_SECTIONS) {
    out.push(`## ${section.title}`, '', '| Variable | Default | Accepted | Description |', '|---|---|---|---|');
    for (const spec of Object.values(section.vars) as VarSpec<unknown>[]) {
      const def = spec.defaultText === undefined ? '(unset)' : `\`${spec.defaultText}\``;
      out.push(`| \`${spec.name}\`${spec.secret ? ' 🔒' : ''} | ${def} | ${escapeCell(spec.accepts)} | ${escapeCell(spec.doc)} |`);
    }
    out.push('');
  }
  out.push(
    '## Device credentials (a family of names)', '',
    'One group of variables per device: `PROBECTL_DEVICE_CRED_<NAME>_<FIELD>`, where `<NAME>` is upper-case letters, digits and underscores (`CORE_SW`) and `<FIELD>` is one of the fields below. Every value may be a literal or a secret reference; a device needs AUTH_PASS (SNMPv3), COMMUNITY (SNMPv2c) or PASSWORD. See [secrets.md](secrets.md#device-credentials).', '',
    '| Variable | Default | Accepted | Description |', '|---|---|---|---|',
    ...DEVICE_CRED_FIELDS.map((field) => `| \`PROBECTL_DEVICE_CRED_<NAME>_${field}\` 🔒 | (unset) | a literal value or a secret reference | ${escapeCell(DEVICE_CRED_FIELD_DOCS[field])} |`),
    '',
  );
  return out.join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
