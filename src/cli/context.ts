import type { Integration } from '../integrations/types.ts';

/** What the CLI needs of a loaded configuration (the composition root's Config satisfies it). */
export interface CliConfig {
  readonly dataDir: string;
  readonly databaseUrl: unknown;
  readonly shutdownTimeout: number;
}

/** The running server, as `probectl serve` drives it. */
export interface CliServer {
  readonly log: { info(obj: object, msg: string): void; error(msg: string): void };
  closeAllConnections(): void;
  close(): Promise<void>;
}

/** The app in this process (no server): what the CLI calls through fastify's inject. */
export interface CliInProcessApp {
  readonly app: { inject(opts: { method: string; url: string; headers?: Record<string, string>; payload?: string; payloadAsStream?: boolean }): Promise<InjectedResponse> };
  readonly adminTokenFile: string;
  close(): Promise<void>;
}

export interface InjectedResponse {
  readonly statusCode: number;
  body: string;
  stream(): NodeJS.ReadableStream;
}

/**
 * What the composition root (src/main.ts) hands the CLI: configuration
 * loading and rendering, the server, the in-process app, the integrations.
 * The CLI never imports the layer above it.
 */
export interface CliContext<C extends CliConfig = CliConfig> {
  loadConfig(env?: NodeJS.ProcessEnv): C;
  /** `probectl config check`: every variable with its effective value, secrets redacted. */
  renderEffectiveConfig(config: C): string;
  startServer(config: C): Promise<CliServer>;
  openInProcessApp(config: C): Promise<CliInProcessApp>;
  /** `probectl migrate`: applies pending migrations; returns what the report says. */
  migrate(config: C): Promise<{ applied: string[]; current: number }>;
  /** `probectl secrets check`: one line per reference, and how many failed (of how many). */
  checkSecrets(config: C): Promise<{ lines: string[]; failed: number; total: number }>;
  /** `probectl keys new`: the embedded key file's new key (the old one kept as the previous key file); both key ids. */
  newEncryptionKey(config: C): { current: string; previous: string; previousFile: string };
  readonly integrations: readonly Integration[];
  readonly env: NodeJS.ProcessEnv;
}
