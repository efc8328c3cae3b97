import { readFileSync } from 'node:fs';
import type { SiemSettings } from '../config.ts';
import { formatterFor } from '../formatters/index.ts';
import type { FormatOptions } from '../formatters/options.ts';
import type { BuildOverrides, TokenSource } from './provider.ts';
import { providerNamed } from './registry.ts';
import type { Target } from './types.ts';

export type { TokenSource };

/**
 * Builds the target the settings describe — the one place targets are
 * constructed, for the server, the CLI, `siem preview` and the tests: the
 * provider that configured the settings builds it, with the TLS material
 * (PROBECTL_SIEM_CA_FILE, the client certificate) read once. Overrides replace
 * the sender, the OAuth token source or the Splunk channel (tests, preview).
 */
export function buildTarget(settings: SiemSettings, formatOptions: FormatOptions, resolveToken: TokenSource, overrides: BuildOverrides = {}): Target {
  const provider = providerNamed(settings.target.provider);
  if (!provider) throw new RangeError(`no SIEM target ${settings.target.provider}`);
  const tls = {
    ca: settings.caFile ? [readFileSync(settings.caFile, 'utf8')] : undefined,
    cert: settings.clientCertFile ? readFileSync(settings.clientCertFile, 'utf8') : undefined,
    key: settings.clientKeyFile ? readFileSync(settings.clientKeyFile, 'utf8') : undefined,
  };
  return provider.build(settings, settings.target, { formatter: formatterFor(settings.format), formatOptions, resolveToken, tls, overrides });
}
