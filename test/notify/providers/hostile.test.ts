import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listenHttps } from '../../helpers/https-stand-in.ts';
import { testCa } from '../../helpers/tls.ts';
import type { Operation, OperationResult } from '../../../src/notify/providers/types.ts';
import { connector, testIncident as incident } from '../helpers/provider-endpoint.ts';

const SECRET = 'cnryHostileVendor7Q2x9Lm4';
const EMAIL = 'oncall@acme.example';

/** Every provider, its credential in each place a vendor takes one. */
function entries(origin: string): string[] {
  return [
    `pagerduty|${origin}/v2/enqueue|${SECRET}`,
    `opsgenie|${origin}/v2/alerts|${SECRET}`,
    `slack|${origin}/api/chat.postMessage?channel=C0123ABCD|xoxb-${SECRET}`,
    `slack|${origin}/services/T0000/B0000/${SECRET}`,
    `teams|${origin}/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=${SECRET}`,
    `teams|${origin}/workflows/abc/triggers/manual/paths/invoke?api-version=1|${SECRET}`,
    `servicenow|${origin}/api/now/table/incident|probectl.integration:${SECRET}`,
    `servicenow|${origin}/api/now/table/incident|${SECRET}`,
    `jira|${origin}/rest/api/3/issue?project=OPS|${EMAIL}:${SECRET}`,
    `jira|${origin}/rest/api/2/issue?project=OPS|${SECRET}`,
    `webhook|${origin}/hook|${SECRET}`,
  ];
}

/** The lookup (where the provider has one) and each action once, against whatever the stand-in answers. */
async function everyCall(t: Parameters<typeof connector>[0], ca: string, entry: string, requests = () => 0): Promise<Array<{ what: string; result: OperationResult | { kind: string }; sent: boolean }>> {
  const { config, ep } = connector(t, ca, entry);
  const inc = incident();
  const out: Array<{ what: string; result: OperationResult | { kind: string }; sent: boolean }> = [];
  let before = requests();
  const push = (what: string, result: OperationResult | { kind: string }) => {
    out.push({ what, result, sent: requests() > before });
    before = requests();
  };
  if (config.provider.lookup) push(`${config.provider.name} lookup`, await config.provider.lookup(inc, ep, undefined));
  for (const action of ['open', 'update', 'acknowledge', 'resolve'] as const) {
    const op: Operation = {
      action, incident: inc, idempotencyKey: '6f1c2d3e-4b5a-4c6d-8e7f-901234567890',
      ref: action === 'open' ? undefined : { id: 'OPS-1', data: { channel: 'C0123ABCD', ts: '1700000000.000100', sys_id: 'a'.repeat(32), issue_id: '10001' } },
      ...(action === 'update' ? { update: { signals: 2, severityFrom: 'warning' as const, severityTo: 'critical' as const } } : {}),
    };
    push(`${config.provider.name} ${action}`, await config.provider.perform(op, ep, undefined));
  }
  return out;
}

/** Vendors that misbehave as a whole: what they answer must never leak a credential or park every incident. */
describe('providers against hostile or misconfigured vendors', () => {
  it('a vendor echoing the whole request (URL, headers, body) in its error: no credential in any reason, in any form', async (t) => {
    let status = 400;
    const srv = await listenHttps(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const password = basic === undefined ? '' : Buffer.from(basic, 'base64').toString('utf8').split(':').slice(1).join(':');
      const echo = `url=${req.url} headers=${JSON.stringify(req.headers)} body=${Buffer.concat(chunks).toString()} password=${password}`;
      // Every vendor's error field at once, so each provider's own reader finds the echo.
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: echo, errorMessages: [echo], errors: { field: echo }, error: { code: echo, message: echo, detail: echo }, ok: false, status: 'failure' }));
      return status;
    }, () => ({ status: 0 }));
    t.after(() => srv.close());
    const ca = (await testCa()).certPem;
    const forms = [SECRET, encodeURIComponent(SECRET), Buffer.from(`${EMAIL}:${SECRET}`).toString('base64'), Buffer.from(`probectl.integration:${SECRET}`).toString('base64'), Buffer.from(`xoxb-${SECRET}`).toString('base64')];
    for (const code of [400, 401, 404, 422, 500]) {
      status = code;
      for (const entry of entries(srv.origin)) {
        for (const { what, result } of await everyCall(t, ca, entry)) {
          const text = JSON.stringify(result);
          for (const form of forms) assert.ok(!text.includes(form) && !text.includes(form.slice(2, 18)), `${what} on ${code}: the reason holds the credential (${form.slice(0, 6)}…): ${text.slice(0, 400)}`);
        }
      }
    }
  });

  it('an endpoint answering a redirect (never followed) or 405: the connector pauses with an alarm, no incident\'s operation is marked failed', async (t) => {
    let status = 301;
    let requests = 0;
    const srv = await listenHttps(async (req, res) => {
      requests += 1;
      for await (const _ of req) void _;
      res.writeHead(status, { 'content-type': 'text/html', location: `https://login.proxy.example/sso?token=${SECRET}` });
      res.end('<html><body>Moved</body></html>');
      return status;
    }, () => ({ status: 0 }));
    t.after(() => srv.close());
    const ca = (await testCa()).certPem;
    for (const code of [301, 302, 303, 307, 308, 405]) {
      status = code;
      for (const entry of entries(srv.origin)) {
        for (const { what, result, sent } of await everyCall(t, ca, entry, () => requests)) {
          if (!sent) continue; // a pager's follow-up, an incoming webhook's lookup: nothing asked
          assert.equal(result.kind, 'paused', `${what} on ${code}: ${JSON.stringify(result)}`);
          assert.match((result as { reason: string }).reason, new RegExp(`${code}`), `${what}: the reason names the status`);
          assert.ok(!JSON.stringify(result).includes(SECRET), `${what}: no credential from the Location`);
        }
      }
    }
  });
});
