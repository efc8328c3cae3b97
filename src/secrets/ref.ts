/**
 * Secret references: where a credential lives, never the credential itself
 * (except `literal:` and bare values, the escape hatch). Parsing is pure; a
 * malformed reference produces a problem that names what is wrong without the
 * text of the reference.
 */
export type SecretRef =
  | { readonly scheme: 'literal'; readonly value: string }
  | { readonly scheme: 'env'; readonly name: string }
  | { readonly scheme: 'vault'; readonly mount: string; readonly path: string; readonly field: string }
  | { readonly scheme: 'cyberark'; readonly form: 'ccp'; readonly query: string; readonly field: string }
  | { readonly scheme: 'cyberark'; readonly form: 'conjur'; readonly account: string; readonly variable: string }
  | { readonly scheme: 'aws'; readonly secretId: string; readonly field: string | undefined; readonly versionStage: string | undefined }
  | { readonly scheme: 'azure'; readonly vault: string; readonly name: string; readonly version: string | undefined }
  | { readonly scheme: 'gcp'; readonly project: string; readonly secret: string; readonly version: string };

export type SecretScheme = SecretRef['scheme'];
export const REFERENCE_SCHEMES = ['env', 'vault', 'cyberark', 'aws', 'azure', 'gcp'] as const;
export type BackendScheme = (typeof REFERENCE_SCHEMES)[number];

export class SecretRefError extends Error {}

const SCHEME_RE = /^(literal|env|vault|cyberark|aws|azure|gcp):/;

export function isReference(text: string): boolean {
  const m = SCHEME_RE.exec(text);
  return m !== null && m[1] !== 'literal';
}

export function parseSecretRef(text: string): SecretRef {
  const m = SCHEME_RE.exec(text);
  if (!m) return { scheme: 'literal', value: text };
  const body = text.slice(m[0].length);
  switch (m[1] as SecretScheme) {
    case 'literal':
      return { scheme: 'literal', value: body };
    case 'env':
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(body)) throw new SecretRefError('env: reference must be env:NAME with a valid variable name');
      return { scheme: 'env', name: body };
    case 'vault':
      return parseVault(body);
    case 'cyberark':
      return parseCyberArk(body);
    case 'aws':
      return parseAws(body);
    case 'azure':
      return parseAzure(body);
    case 'gcp':
      return parseGcp(body);
  }
}

function splitField(body: string, what: string, required: boolean): [string, string | undefined] {
  const hash = body.lastIndexOf('#');
  if (hash < 0) {
    if (required) throw new SecretRefError(`${what} reference needs a #<field>`);
    return [body, undefined];
  }
  const field = body.slice(hash + 1);
  if (field === '') throw new SecretRefError(`${what} reference has an empty #field`);
  return [body.slice(0, hash), field];
}

function parseVault(body: string): SecretRef {
  const [location, field] = splitField(body, 'vault:', true);
  const segments = location.split('/');
  if (segments.length < 2 || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new SecretRefError('vault: reference must be vault:<mount>/<path>#<field>');
  }
  return { scheme: 'vault', mount: segments[0] as string, path: segments.slice(1).join('/'), field: field as string };
}

function parseCyberArk(body: string): SecretRef {
  if (body.startsWith('conjur/')) {
    const rest = body.slice('conjur/'.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1) throw new SecretRefError('cyberark: Conjur reference must be cyberark:conjur/<account>/<variable-id>');
    return { scheme: 'cyberark', form: 'conjur', account: rest.slice(0, slash), variable: rest.slice(slash + 1) };
  }
  const [query, field] = splitField(body, 'cyberark:', true);
  const pairs = query.split(';');
  if (pairs.some((p) => !/^[A-Za-z]+=[^;=]+$/.test(p))) throw new SecretRefError('cyberark: reference must be cyberark:<Key=Value;...>#<field>, e.g. Safe=netops;Object=snmp#Content');
  return { scheme: 'cyberark', form: 'ccp', query, field: field as string };
}

function parseAws(body: string): SecretRef {
  let rest = body;
  let versionStage: string | undefined;
  const semi = rest.indexOf(';');
  if (semi >= 0) {
    const opt = rest.slice(semi + 1);
    const sm = /^stage=([A-Za-z0-9_-]{1,256})$/.exec(opt);
    if (!sm) throw new SecretRefError('aws: reference option must be ;stage=<version-stage>');
    versionStage = sm[1];
    rest = rest.slice(0, semi);
  }
  const [secretId, field] = splitField(rest, 'aws:', false);
  if (!/^[A-Za-z0-9/_+=.@:-]{1,2048}$/.test(secretId)) throw new SecretRefError('aws: reference must be aws:<secret-id or ARN>[#<json-field>][;stage=<stage>]');
  return { scheme: 'aws', secretId, field, versionStage };
}

function parseAzure(body: string): SecretRef {
  const parts = body.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) throw new SecretRefError('azure: reference must be azure:<vault>/<name>[/<version>]');
  const [vault, name, version] = parts as [string, string, string | undefined];
  if (!/^[A-Za-z0-9-]{3,24}$/.test(vault) && !/^[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:\d+)?$/.test(vault)) throw new SecretRefError('azure: vault must be a Key Vault name or host name');
  if (!/^[A-Za-z0-9-]{1,127}$/.test(name)) throw new SecretRefError('azure: secret name may hold only letters, digits and dashes');
  if (version !== undefined && !/^[A-Za-z0-9]{1,64}$/.test(version)) throw new SecretRefError('azure: version must be alphanumeric');
  return { scheme: 'azure', vault, name, version };
}

function parseGcp(body: string): SecretRef {
  const parts = body.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) throw new SecretRefError('gcp: reference must be gcp:<project>/<secret>[/<version>]');
  const [project, secret, version] = parts as [string, string, string | undefined];
  if (!/^[a-z0-9.:-]{1,100}$/.test(project)) throw new SecretRefError('gcp: project id is malformed');
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(secret)) throw new SecretRefError('gcp: secret id may hold only letters, digits, _ and -');
  if (version !== undefined && !/^(latest|\d+)$/.test(version)) throw new SecretRefError('gcp: version must be a number or latest');
  return { scheme: 'gcp', project, secret, version: version ?? 'latest' };
}

/**
 * A form of the reference safe for startup errors and `secrets check`: it keeps
 * where to look (scheme and location) and hides the field, version and any
 * literal value.
 */
export function redactRef(ref: SecretRef): string {
  switch (ref.scheme) {
    case 'literal':
      return '[literal]';
    case 'env':
      return `env:${ref.name}`;
    case 'vault':
      return `vault:${ref.mount}/${ref.path}#…`;
    case 'cyberark':
      return ref.form === 'ccp' ? 'cyberark:…#…' : `cyberark:conjur/${ref.account}/…`;
    case 'aws':
      return `aws:${ref.secretId}${ref.field === undefined ? '' : '#…'}`;
    case 'azure':
      return `azure:${ref.vault}/${ref.name}${ref.version === undefined ? '' : '/…'}`;
    case 'gcp':
      return `gcp:${ref.project}/${ref.secret}/…`;
  }
}

/** A stable identity of the reference, used as the cache key and sealing AAD. */
export function refKey(ref: SecretRef): string {
  return JSON.stringify(ref);
}
