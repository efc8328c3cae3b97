import { randomUUID } from 'node:crypto';
import { startHttpsServer, type RecordedRequest, type TestPki, type TestReply, type TestServer } from '../../core/http/test-server.ts';

/**
 * A local Vault speaking the documented HTTP API closely enough that a wrong
 * request fails: KV v2 reads at GET /v1/<mount>/data/<path> (X-Vault-Token,
 * policy by path prefix, X-Vault-Namespace when namespaced), AppRole login
 * (400 on bad credentials, like Vault), Kubernetes login (403 on a bad JWT),
 * login tokens that expire after their lease_duration, and a KV read
 * lease_duration the test can set.
 */
export interface FakeVaultOptions {
  /** KV v2 mounts this Vault serves. */
  mounts?: readonly string[];
  namespace?: string;
  approle?: { mount?: string; roleId: string; secretId: string; tokenTtlSeconds: number };
  kubernetes?: { mount?: string; role: string; jwt: string; tokenTtlSeconds: number };
}

interface TokenInfo {
  expiresAt: number;
  /** Path prefixes (mount/path) this token may read; `*` reads everything. */
  policy: readonly string[];
}

interface Stored {
  data: Record<string, unknown> | null;
  version: number;
}

export class FakeVault {
  server!: TestServer;
  readonly tokens = new Map<string, TokenInfo>();
  readonly secrets = new Map<string, Stored>();
  /** KV read lease_duration in seconds (KV v2 normally answers 0). */
  kvLeaseSeconds = 0;
  /** Set to answer every request with this instead. */
  override: TestReply | undefined;
  reads = 0;
  logins = 0;
  readonly opts: FakeVaultOptions;

  constructor(opts: FakeVaultOptions = {}) {
    this.opts = opts;
  }

  static async start(pki: TestPki, opts: FakeVaultOptions = {}): Promise<FakeVault> {
    const v = new FakeVault(opts);
    v.server = await startHttpsServer(pki, (req) => v.handle(req));
    return v;
  }

  get url(): string {
    return this.server.url;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  addToken(token: string, policy: readonly string[] = ['*'], ttlSeconds = 0): void {
    this.tokens.set(token, { expiresAt: ttlSeconds === 0 ? Infinity : Date.now() + ttlSeconds * 1000, policy });
  }

  put(mount: string, path: string, data: Record<string, unknown>): void {
    const key = `${mount}/${path}`;
    const prev = this.secrets.get(key);
    this.secrets.set(key, { data, version: (prev?.version ?? 0) + 1 });
  }

  softDelete(mount: string, path: string): void {
    const s = this.secrets.get(`${mount}/${path}`);
    if (s) s.data = null;
  }

  private handle(req: RecordedRequest): TestReply {
    if (this.override) return this.override;
    const url = new URL(req.url, 'https://vault.test');
    if (!url.pathname.startsWith('/v1/')) return errors(404, []);
    const ns = req.headers['x-vault-namespace'];
    if (this.opts.namespace !== undefined && ns !== this.opts.namespace) return errors(403, ['permission denied']);
    if (this.opts.namespace === undefined && ns !== undefined) return errors(400, ['namespaces feature not enabled']);
    const path = url.pathname.slice('/v1/'.length);

    const login = this.login(req, path);
    if (login) return login;

    const token = req.headers['x-vault-token'];
    const info = typeof token === 'string' ? this.tokens.get(token) : undefined;
    if (!info || info.expiresAt <= Date.now()) return errors(403, ['permission denied']);

    const [mount, kind, ...rest] = path.split('/');
    if (mount === undefined || !(this.opts.mounts ?? ['kv', 'secret']).includes(mount)) return errors(403, ['permission denied']);
    if (kind !== 'data' || rest.length === 0) return errors(404, [], ['Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use \'vault kv get\' for this operation.']);
    if (req.method !== 'GET') return errors(405, ['unsupported operation']);
    const secretPath = rest.map(decodeURIComponent).join('/');
    if (!info.policy.includes('*') && !info.policy.some((p) => `${mount}/${secretPath}`.startsWith(p))) return errors(403, ['permission denied']);
    if (url.search !== '' && !/^\?version=\d+$/.test(url.search)) return errors(400, ['invalid query']);
    this.reads += 1;
    const stored = this.secrets.get(`${mount}/${secretPath}`);
    if (!stored) return errors(404, []);
    const metadata = { created_time: new Date().toISOString(), custom_metadata: null, deletion_time: stored.data === null ? new Date().toISOString() : '', destroyed: false, version: stored.version };
    if (stored.data === null) return { status: 404, body: { request_id: randomUUID(), lease_id: '', renewable: false, lease_duration: 0, data: { data: null, metadata }, wrap_info: null, warnings: null, auth: null } };
    return {
      status: 200,
      body: { request_id: randomUUID(), lease_id: '', renewable: false, lease_duration: this.kvLeaseSeconds, data: { data: stored.data, metadata }, wrap_info: null, warnings: null, auth: null },
    };
  }

  private login(req: RecordedRequest, path: string): TestReply | undefined {
    const approleMount = this.opts.approle?.mount ?? 'approle';
    const k8sMount = this.opts.kubernetes?.mount ?? 'kubernetes';
    const isApprole = path === `auth/${approleMount}/login` && this.opts.approle;
    const isK8s = path === `auth/${k8sMount}/login` && this.opts.kubernetes;
    if (!isApprole && !isK8s) return path.startsWith('auth/') ? errors(404, ['no handler for route']) : undefined;
    if (req.method !== 'POST' && req.method !== 'PUT') return errors(405, ['unsupported operation']);
    if (req.headers['content-type'] !== 'application/json') return errors(400, ['unsupported content type']);
    let body: unknown;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return errors(400, ['failed to parse JSON input']);
    }
    if (typeof body !== 'object' || body === null) return errors(400, ['invalid body']);
    const b = body as Record<string, unknown>;
    this.logins += 1;
    if (isApprole) {
      const cfg = this.opts.approle!;
      if (typeof b.role_id !== 'string' || b.role_id === '') return errors(400, ['missing role_id']);
      if (b.role_id !== cfg.roleId || b.secret_id !== cfg.secretId) return errors(400, ['invalid role or secret ID']);
      return this.issue(cfg.tokenTtlSeconds, 'approle');
    }
    const cfg = this.opts.kubernetes!;
    if (typeof b.role !== 'string' || typeof b.jwt !== 'string') return errors(400, ['missing role or jwt']);
    if (b.role !== cfg.role || b.jwt !== cfg.jwt) return errors(403, ['permission denied']);
    return this.issue(cfg.tokenTtlSeconds, 'kubernetes');
  }

  private issue(ttlSeconds: number, method: string): TestReply {
    const token = `hvs.${randomUUID().replace(/-/g, '')}`;
    this.addToken(token, ['*'], ttlSeconds);
    return {
      status: 200,
      body: {
        request_id: randomUUID(), lease_id: '', renewable: false, lease_duration: 0, data: null, wrap_info: null, warnings: null,
        auth: { client_token: token, accessor: randomUUID(), policies: ['default', 'probectl'], token_policies: ['default', 'probectl'], metadata: { method }, lease_duration: ttlSeconds, renewable: true, entity_id: randomUUID(), token_type: 'service', orphan: true },
      },
    };
  }
}

function errors(status: number, list: string[], warnings?: string[]): TestReply {
  return { status, body: warnings ? { errors: list, warnings } : { errors: list } };
}
