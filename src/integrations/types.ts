import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ConfigProblem, Vars } from '../config/section.ts';
import type { SensitiveReads } from '../audit/sensitive-reads.ts';
import type { Clock } from '../core/clock.ts';
import type { IncidentEnricher } from '../incidents/configuration-items.ts';
import type { IncidentListener } from '../incidents/listeners.ts';
import type { SecretResolver } from '../secrets/resolver.ts';
import type { Db } from '../store/db.ts';
import type { RouteDef } from './route.ts';

/**
 * An integration's configuration section: its PROBECTL_<NAME>_* variables
 * (docs/configuration.md is generated from them) and the check of their
 * values together. `settings` pushes every problem it finds (never echoing a
 * secret) and returns the integration's settings, or undefined while it is
 * off (outbound integrations are off until configured) or when something is wrong.
 */
export interface IntegrationConfig<S> {
  readonly title: string;
  readonly vars: Vars;
  /** Variables read by name pattern rather than fixed name (e.g. PROBECTL_DEVICE_CRED_*). */
  readonly dynamic?: readonly RegExp[];
  settings(values: Readonly<Record<string, unknown>>, problems: ConfigProblem[]): S | undefined;
  /**
   * `config check`: what a variable amounts to when another decides it (the
   * SIEM format the preset and endpoint choose while it is unset; a CMDB
   * default a shorter TTL or timeout shortens), by variable name. Shown as
   * "(effective: …)" where it differs from the value printed.
   */
  effective?(values: Readonly<Record<string, unknown>>): Readonly<Record<string, string>>;
}

/** What an integration's background work gets when the server starts it. */
export interface IntegrationStartDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  /** The server's metrics registry (GET /metrics): `probectl_<name>_*` metrics go here. */
  registry: Registry;
  /** Resolves secret references at use time. */
  secrets: SecretResolver;
  version: string;
  /** PROBECTL_TLS_RELOAD_INTERVAL: how often reloadable TLS identities are checked. */
  tlsReloadIntervalMs: number;
  providerTenantId: string;
  /**
   * True in the server: start background work (drainers, pollers). False when
   * the CLI runs the app in-process without a server: only what the routes
   * need to act (a target to re-send parked events), nothing in the background.
   */
  background: boolean;
  /**
   * The enrichers other integrations offer (the CMDB's configuration items),
   * filled in as integrations start: read it when an incident is handled,
   * not at start. An integration never imports another; this is the seam.
   */
  enrichers: readonly IncidentEnricher[];
}

/** A started integration: what its routes and commands use, and how it stops. */
export interface IntegrationRuntime<R> {
  readonly runtime: R;
  /** A few non-secret facts for the startup log line and GET /v1/integrations (endpoint hosts, counts). */
  summary(): Record<string, unknown>;
  /** Stops background work, letting work in flight finish within the server's shutdown timeout. */
  stop(): Promise<void>;
  /** Told of every incident change inside its transaction (an on-call mirror writes its outbox there). */
  readonly incidentListener?: IncidentListener;
  /** Offered to the other integrations (IntegrationStartDeps.enrichers): the CMDB's CIs of a new incident's targets. */
  readonly incidentEnricher?: IncidentEnricher;
}

/** What an integration's routes get as `deps`. */
export interface IntegrationRouteDeps<R> {
  db: Db;
  clock: Clock;
  log: Logger;
  secrets: SecretResolver;
  providerTenantId: string;
  /** The running integration; undefined while it is off (routes answer with a clear error then). */
  runtime: R | undefined;
  /** Every started integration's incident listener, for routes that change incidents (inbound webhooks). */
  incidentListeners: readonly IncidentListener[];
  /** Audits sensitive reads (CMDB lookups) once per token, action and target per interval. */
  sensitiveReads: SensitiveReads;
}

/** The API a CLI command calls: the running server through its control socket, or the same app in-process (no server). */
export interface ApiClient {
  /** A JSON request; resolves to the parsed answer, throws ProbectlError with the server's code on an error answer. */
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** A request whose answer is NDJSON lines, each handed to onLine as it arrives. */
  stream(method: string, path: string, body: unknown, onLine: (value: unknown) => void): Promise<void>;
}

/** What the CLI lends an integration's commands (implemented by src/cli). */
export interface CliKit {
  /** Runs fn with an API client for the current configuration and closes it afterwards. */
  withApi<T>(opts: { tokenFile?: string | undefined }, fn: (api: ApiClient) => Promise<T>): Promise<T>;
  /** The `--token-file` option every server-reaching command takes. */
  readonly tokenFileOption: readonly [string, string];
  printJson(value: unknown): void;
  printTable(rows: Record<string, unknown>[], columns: string[]): void;
  /** A `--tenant` value as a lower-case UUID, or PROBECTL_ERR_CLI_USAGE naming the flag. */
  tenantArg(value: string, flag?: string): string;
  /** The environment the command runs with. */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * One integration (SIEM export, on-call, federation, CMDB): its folder plus one
 * line in the registry (./registry.ts). The configuration loader, the
 * server (dependencies, routes, background work, startup log), the CLI and the
 * generated docs all loop over the registry; adding an integration touches its
 * folder, the registry line and, when it stores state, a migration.
 */
export interface Integration<S = unknown, R = unknown> {
  /** Lower-case name: the CLI command (`probectl <name>`), the settings key, the route tag. */
  readonly name: string;
  /** One line for `probectl <name> --help` and GET /v1/integrations. */
  readonly description: string;
  readonly config: IntegrationConfig<S>;
  /** Its API routes, registered whether it is on or off (off: they answer that it is off). */
  readonly routes: readonly RouteDef<IntegrationRouteDeps<R>>[];
  /** Adds its subcommands to `probectl <name>`. */
  commands?(command: Command, cli: CliKit): void;
  /** Adds commands of its own at the top of the tree, where the spec names them so (`probectl webhook sign`). */
  rootCommands?(program: Command, cli: CliKit): void;
  /** Starts its background work; called only when its settings are defined (it is on). */
  start?(settings: S, deps: IntegrationStartDeps): Promise<IntegrationRuntime<R>>;
}

/** Erases an integration's types for the registry list. */
export function integration<S, R>(def: Integration<S, R>): Integration {
  return def as unknown as Integration;
}
