/**
 * Receiver of probectl's generic `webhook` connector (docs/oncall.md
 * "webhook"), strict the way a receiver following that page is: it verifies
 * `X-Probectl-Signature` (sha256 HMAC of "<X-Probectl-Timestamp>.<raw body>"
 * under the shared secret, timestamp within 5 minutes) and answers 401
 * otherwise, takes only application/json, and keeps one document per
 * `Idempotency-Key`, answering 409 for a key it already has. Faults and the
 * request log come from the harness (harness.ts). Each path is a separate
 * receiver (`received(path)`).
 */
import { createHmac } from 'node:crypto';
import { StandIn, type VendorRequest } from './harness.ts';

export interface WebhookDoc {
  version: number;
  action: 'open' | 'update' | 'acknowledge' | 'resolve';
  key: string;
  idempotency_key: string;
  incident: { id: string; tenant: string; title: string; severity: string; status: string; target: string; kind_family: string; signal_count: number; opened_at: string };
  /** open only, when the CMDB found some (docs/cmdb.md). */
  configuration_items?: Array<{ provider: string; id: string; name: string; class: string; role: string | null; ips: string[]; fqdn: string | null; owner: string | null; location: string | null; status: string | null; link: string }>;
  update?: { signals: number; severity_from: string; severity_to: string };
}

export class WebhookReceiver {
  readonly server: StandIn;
  readonly secret: string;
  /** Stored documents in arrival order, with the path they came to. */
  readonly docs: Array<{ path: string; doc: WebhookDoc }> = [];
  private readonly keys = new Set<string>();

  private constructor(server: StandIn, secret: string) {
    this.server = server;
    this.secret = secret;
  }

  static async start(secret: string): Promise<WebhookReceiver> {
    let r: WebhookReceiver | undefined;
    const server = await StandIn.start({ name: 'webhook', handle: (req) => r!.handle(req) });
    r = new WebhookReceiver(server, secret);
    return r;
  }

  get url(): string {
    return this.server.url;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  /** Documents stored for a path, optionally of one incident key. */
  received(path: string, key?: string): WebhookDoc[] {
    return this.docs.filter((d) => d.path === path && (key === undefined || d.doc.key === key)).map((d) => d.doc);
  }

  private handle(req: VendorRequest) {
    const ts = String(req.headers['x-probectl-timestamp'] ?? '');
    const expected = `sha256=${createHmac('sha256', this.secret).update(`${ts}.`).update(req.raw).digest('hex')}`;
    if (req.method !== 'POST') return { status: 405, body: { error: 'POST only' } };
    if (req.headers['x-probectl-signature'] !== expected || !/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return { status: 401, body: { error: 'bad signature' } };
    if (req.contentType !== 'application/json') return { status: 415, body: { error: 'application/json only' } };
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '') return { status: 400, body: { error: 'Idempotency-Key required' } };
    if (this.keys.has(`${req.path}|${key}`)) return { status: 409, body: { error: 'duplicate Idempotency-Key' } };
    this.keys.add(`${req.path}|${key}`);
    this.docs.push({ path: req.path, doc: JSON.parse(req.raw.toString('utf8')) as WebhookDoc });
    return { status: 200, body: { ok: true } };
  }
}
