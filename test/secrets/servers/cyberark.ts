import { randomBytes } from 'node:crypto';
import { startHttpsServer, type RecordedRequest, type TestPki, type TestReply, type TestServer } from '../../core/http/test-server.ts';

interface CcpAccount {
  Content: string;
  UserName: string;
  Address?: string;
  changing?: boolean;
}

const CCP_PARAMS = new Set(['AppID', 'Safe', 'Folder', 'Object', 'UserName', 'Address', 'Database', 'PolicyID', 'Query', 'QueryFormat', 'Reason', 'ConnectionTimeout', 'FailRequestOnPasswordChange']);

/**
 * A local CyberArk Central Credential Provider: GET
 * /AIMWebService/api/Accounts with AppID and a Safe/Object query, the
 * application authenticated by its client certificate (TLS requires one from
 * the test CA; the AppID must be bound to that certificate's CN). Errors look
 * like CCP's ({ErrorCode, ErrorMsg}) and quote the query, as CCP's do.
 */
export class FakeCcp {
  server!: TestServer;
  readonly accounts = new Map<string, CcpAccount>();
  override: TestReply | undefined;
  calls = 0;
  readonly appId: string;
  readonly certCn: string | undefined;

  constructor(appId: string, certCn: string | undefined) {
    this.appId = appId;
    this.certCn = certCn;
  }

  static async start(pki: TestPki, opts: { appId: string; certCn?: string }): Promise<FakeCcp> {
    const ccp = new FakeCcp(opts.appId, opts.certCn);
    ccp.server = await startHttpsServer(pki, (req) => ccp.handle(req), { requestClientCert: opts.certCn !== undefined });
    return ccp;
  }

  get url(): string {
    return this.server.url;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  set(safe: string, object: string, account: CcpAccount): void {
    this.accounts.set(`${safe}/Root/${object}`, account);
  }

  private handle(req: RecordedRequest): TestReply {
    if (this.override) return this.override;
    const url = new URL(req.url, 'https://ccp.test');
    if (url.pathname !== '/AIMWebService/api/Accounts') return { status: 404, body: 'Not Found' };
    if (req.method !== 'GET') return { status: 405, body: 'Method Not Allowed' };
    this.calls += 1;
    for (const key of url.searchParams.keys()) {
      if (!CCP_PARAMS.has(key)) return ccpError(400, 'APPAP133E', `Invalid query parameter [${key}]`);
    }
    const query = [...url.searchParams.entries()].filter(([k]) => k !== 'AppID').map(([k, v]) => `${k}=${v}`).join(';');
    if (url.searchParams.get('AppID') !== this.appId) return ccpError(403, 'APPAP282E', `Application [${url.searchParams.get('AppID')}] is not authorized for query [${query}]`);
    if (this.certCn !== undefined && req.clientCn !== this.certCn) return ccpError(403, 'APPAP282E', 'Client certificate does not authenticate the application');
    const safe = url.searchParams.get('Safe');
    const object = url.searchParams.get('Object');
    if (!safe || !object) return ccpError(400, 'APPAP227E', `Too many objects or no object matches query [${query}]`);
    const folder = url.searchParams.get('Folder') ?? 'Root';
    const account = this.accounts.get(`${safe}/${folder}/${object}`);
    if (!account) return ccpError(404, 'APPAP004E', `Password object matching query [${query}] was not found (Diagnostic Info: 5).`);
    if (account.changing && url.searchParams.get('FailRequestOnPasswordChange') === 'true') return ccpError(500, 'APPAP306E', `Password of object matching query [${query}] is being changed`);
    return {
      status: 200,
      body: {
        Content: account.Content, UserName: account.UserName, Address: account.Address ?? '', Database: '', Folder: folder, Name: object, Safe: safe,
        PolicyID: 'UnixSSH', DeviceType: 'Operating System', CreationMethod: 'PVWA', PasswordChangeInProcess: account.changing ? 'True' : 'False',
      },
    };
  }
}

function ccpError(status: number, code: string, msg: string): TestReply {
  return { status, body: { ErrorCode: code, ErrorMsg: msg } };
}

/**
 * A local Conjur: POST /authn/<account>/<url-encoded login>/authenticate with
 * the API key as the body returns a JSON access token; GET
 * /secrets/<account>/variable/<url-encoded id> needs
 * `Authorization: Token token="<base64 of that token>"` (401 without, or once
 * the token expired), the role's permission on the variable (403), and
 * answers the raw value.
 */
export class FakeConjur {
  server!: TestServer;
  readonly variables = new Map<string, string>();
  readonly denied = new Set<string>();
  readonly tokens = new Map<string, number>();
  override: TestReply | undefined;
  authentications = 0;
  reads = 0;
  readonly account: string;
  readonly login: string;
  apiKey: string;

  constructor(account: string, login: string, apiKey: string) {
    this.account = account;
    this.login = login;
    this.apiKey = apiKey;
  }

  static async start(pki: TestPki, opts: { account: string; login: string; apiKey: string }): Promise<FakeConjur> {
    const c = new FakeConjur(opts.account, opts.login, opts.apiKey);
    c.server = await startHttpsServer(pki, (req) => c.handle(req));
    return c;
  }

  get url(): string {
    return this.server.url;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  expireTokens(): void {
    this.tokens.clear();
  }

  private handle(req: RecordedRequest): TestReply {
    if (this.override) return this.override;
    const path = new URL(req.url, 'https://conjur.test').pathname;
    const segments = path.split('/').slice(1);
    if (segments[0] === 'authn' && segments.length === 4 && segments[3] === 'authenticate') {
      if (req.method !== 'POST') return { status: 405, body: '' };
      this.authentications += 1;
      const [, account, login] = segments.map(decodeURIComponent);
      if (account !== this.account || login !== this.login || req.body.toString('utf8') !== this.apiKey) return { status: 401, body: 'Unauthorized' };
      const payload = Buffer.from(JSON.stringify({ sub: login, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 480 })).toString('base64url');
      const token = JSON.stringify({ protected: Buffer.from('{"alg":"conjur.org/slosilo/v2","kid":"test"}').toString('base64url'), payload, signature: randomBytes(32).toString('base64url') });
      this.tokens.set(Buffer.from(token).toString('base64'), Date.now() + 480_000);
      return { status: 200, headers: { 'content-type': 'application/json' }, body: token };
    }
    if (segments[0] === 'secrets' && segments.length === 4 && segments[2] === 'variable') {
      if (req.method !== 'GET') return { status: 405, body: '' };
      const m = /^Token token="([A-Za-z0-9+/=]+)"$/.exec(String(req.headers.authorization ?? ''));
      const exp = m ? this.tokens.get(m[1] as string) : undefined;
      if (exp === undefined || exp < Date.now()) return { status: 401, body: 'Unauthorized' };
      const account = decodeURIComponent(segments[1] as string);
      const id = decodeURIComponent(segments[3] as string);
      if (account !== this.account) return { status: 404, body: { error: { code: 'not_found', message: `Account '${account}' not found` } } };
      this.reads += 1;
      if (this.denied.has(id)) return { status: 403, body: { error: { code: 'forbidden', message: 'Forbidden' } } };
      const value = this.variables.get(id);
      if (value === undefined) return { status: 404, body: { error: { code: 'not_found', message: `Variable ${account}:variable:${id} is empty or not found.` } } };
      return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: value };
    }
    return { status: 404, body: '' };
  }
}
