import type { ConfigProblem, Vars } from '../../config/section.ts';
import type { SecretRef } from '../../secrets/ref.ts';
import type { SiemSettings, SiemTransport } from '../config.ts';
import type { SiemFormat, SiemFormatter } from '../formatters/index.ts';
import type { FormatOptions } from '../formatters/options.ts';
import type { Sender } from '../senders/types.ts';
import type { BearerSource } from './shared/bearer.ts';
import type { Target } from './types.ts';

/** A preset of the SIEM export spec's table: what PROBECTL_SIEM_PRESET=<name> means over HTTPS. */
export interface PresetSpec {
  readonly name: string;
  /** The scheme of `Authorization: <scheme> <token>` for targets that send the token that way. */
  readonly authScheme: 'Splunk' | 'Bearer' | 'ApiKey';
  /** The spec's default format; a mode that cannot carry it has its own (sentinel's Logs Ingestion API: dcr, Chronicle events:import: udm). */
  readonly defaultFormat: SiemFormat;
  /** The default format over syslog+tls (sentinel: CEF for an Azure Monitor Agent forwarder). */
  readonly syslogFormat: 'syslog' | 'cef';
  /** Whether PROBECTL_SIEM_TOKEN must be set for an https:// endpoint (sentinel and chronicle decide per mode). */
  readonly tokenRequired: boolean;
  /** Example endpoints `siem preview` shows for the preset, one per mode. */
  readonly examples: readonly string[];
  /** What choosing the preset does, for PROBECTL_SIEM_PRESET's description (`Authorization: Splunk`, cef). */
  readonly summary: string;
}

/** A target's own settings, decided by its `configure`: at least the request kind and the format. */
export interface TargetSettings {
  /** The request kind (`splunk-raw`, `elastic-bulk`, `sentinel-dcr`, `chronicle-events`, `syslog`, `post`, …). */
  readonly kind: string;
  /** The registry name of the provider that configured it. */
  readonly provider: string;
  readonly format: SiemFormat;
}

/** What a provider checks when its endpoint is chosen. Problems go to `problems`; values are never echoed. */
export interface ConfigureContext {
  readonly url: URL;
  readonly transport: SiemTransport;
  /** PROBECTL_SIEM_FORMAT when set. */
  readonly format: SiemFormat | undefined;
  readonly preset: PresetSpec;
  /** Every PROBECTL_SIEM_* value, the provider's own variables included (by key). */
  readonly vars: Readonly<Record<string, unknown>>;
  readonly token: SecretRef | undefined;
  /** PROBECTL_SIEM_ENABLED: what export needs to run is required only then. */
  readonly enabled: boolean;
  readonly problems: ConfigProblem[];
}

/** Overrides of what a target would make itself (tests, `siem preview`). */
export interface BuildOverrides {
  sender?: Sender;
  bearer?: BearerSource;
  splunkChannel?: string;
}

/** Resolves a secret reference at use time; the plaintext lives only for the request. */
export type TokenSource = (ref: SecretRef) => Promise<string>;

export interface BuildContext {
  readonly formatter: SiemFormatter;
  readonly formatOptions: FormatOptions;
  readonly resolveToken: TokenSource;
  /** PEM material of PROBECTL_SIEM_CA_FILE and the client certificate, read once. */
  readonly tls: { ca?: string[] | undefined; cert?: string | undefined; key?: string | undefined };
  readonly overrides: BuildOverrides;
}

/**
 * One kind of SIEM receiver, in its own folder under src/siem/targets/ and one
 * line of the registry (./registry.ts): its variables and their validation,
 * how it builds requests and classifies answers (its Target), and what
 * `siem preview` says about it. A new target touches no other target.
 */
export interface TargetProvider<S extends TargetSettings = TargetSettings> {
  /** The folder and registry name. */
  readonly name: string;
  /** The preset this provider implements over HTTPS, if any. The syslog provider serves every preset over syslog+tls. */
  readonly preset?: PresetSpec;
  /** Which endpoints it serves: its preset's https:// ones, or any syslog+tls/syslog+tcp one. */
  readonly serves: 'https' | 'syslog';
  /** Its own PROBECTL_SIEM_* variables, merged into the SIEM configuration section. */
  readonly vars: Vars;
  /**
   * Problems for its variables set while it is not the chosen target (by
   * variable key); the default says the variable is not used.
   */
  readonly unused?: Readonly<Record<string, { problem: string; accepts: string }>>;
  /** Validates the endpoint and its variables for this target; its settings, or undefined after pushing problems. */
  configure(ctx: ConfigureContext): S | undefined;
  /** Builds the target for validated settings. */
  build(settings: SiemSettings, target: S, ctx: BuildContext): Target;
  /** How `siem preview` describes its requests' credentials (`Authorization: Splunk <token>`). */
  describe(settings: SiemSettings, target: S): string;
  /** PROBECTL_SIEM_* placeholder values `siem preview` needs for this endpoint (credentials it never uses). */
  previewCredentials?(url: URL): Record<string, string>;
  /** The placeholder OAuth token `siem preview` shows, for targets that sign in. */
  previewBearer?: string;
}

export const problem = (variable: string, what: string, accepts: string): ConfigProblem => ({ variable, problem: what, accepts });
