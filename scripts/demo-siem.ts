/**
 * `npm run demo [-- --format cef|syslog|ecs|otlp]`: probectl on the embedded
 * database, SIEM export on, a local HTTPS SIEM receiver that prints what
 * arrives, and synthetic audit and threat activity — the feature working in
 * well under a minute. Everything lives in a temporary directory.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { issueCertificate } from '../src/core/x509.ts';
import { SIEM_FORMATS, isSiemFormat, type SiemFormat } from '../src/siem/formatters/index.ts';
import { bold, dim, runInTempDir, startDemoService } from './demo-run.ts';

const USAGE = `usage: npm run demo [-- --format ${SIEM_FORMATS.join('|')}] (on-call mirroring: npm run demo -- --oncall)`;

/** The demo's one flag; anything else is a usage error (exit status 2) before anything is created. */
function parseFormat(argv: string[]): SiemFormat {
  let values: { format?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({ args: argv, options: { format: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    process.stderr.write(`probectl demo: ${(err as Error).message} [PROBECTL_ERR_CLI_USAGE]\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const format = (values.format ?? 'cef').trim().toLowerCase();
  if (!isSiemFormat(format)) {
    process.stderr.write(`probectl demo: --format: ${JSON.stringify(values.format)} is not a format; accepted: ${SIEM_FORMATS.join(', ')} [PROBECTL_ERR_CLI_USAGE]\n${USAGE}\n`);
    process.exit(2);
  }
  return format;
}

const format = parseFormat(process.argv.slice(2));
await runInTempDir('probectl-demo-', runDemo);

async function runDemo(dir: string, onClose: (close: () => unknown) => void): Promise<void> {
  const ca = await issueCertificate({ commonName: 'demo SIEM CA', isCa: true });
  const cert = await issueCertificate({ commonName: 'localhost', altNames: ['localhost', '127.0.0.1'], issuer: ca });
  writeFileSync(join(dir, 'siem-ca.pem'), ca.certPem);
  const token = 'demo-siem-token';

  let received = 0;
  const counts = new Map<string, number>();
  const siem = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401).end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      // One OTLP request carries many log records; the line formats carry one event per line.
      const records = format === 'otlp' ? [body] : body.split('\n').filter(Boolean);
      for (const r of records) {
        const categories = format === 'otlp'
          ? [...r.matchAll(/"probectl\.category","value":\{"stringValue":"(\w+)"/g)].map((m) => m[1] as string)
          : [/cat=audit|category="audit"|"category":\["(?:authentication|configuration|iam)/.test(r) || /"dataset":"probectl\.audit"/.test(r) ? 'audit' : 'threat'];
        for (const c of categories) counts.set(c, (counts.get(c) ?? 0) + 1);
        received += categories.length;
        process.stdout.write(`${bold('SIEM ←')} ${r.length > 260 ? `${r.slice(0, 260)}…` : r}\n`);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  onClose(() => {
    siem.closeAllConnections();
    siem.close();
  });
  await new Promise<void>((resolve) => siem.listen(0, '127.0.0.1', resolve));
  const siemPort = (siem.address() as AddressInfo).port;

  process.stdout.write(`${bold('probectl demo')}: SIEM export in ${bold(format)} to a local receiver at https://127.0.0.1:${siemPort}/ingest\n${dim(`data directory ${dir}`)}\n\n`);
  const env = {
    PROBECTL_DATA_DIR: dir, PROBECTL_LISTEN: '127.0.0.1:0', PROBECTL_LOG_LEVEL: 'warn',
    PROBECTL_SIEM_ENABLED: 'true', PROBECTL_SIEM_PRESET: 'generic', PROBECTL_SIEM_FORMAT: format,
    PROBECTL_SIEM_ENDPOINT: `https://127.0.0.1:${siemPort}/ingest`, PROBECTL_SIEM_TOKEN: token,
    PROBECTL_SIEM_CA_FILE: join(dir, 'siem-ca.pem'), PROBECTL_SIEM_POLL_INTERVAL: '200ms',
  };
  const { api } = await startDemoService(dir, env, onClose);
  const say = (s: string) => process.stdout.write(`\n${dim('probectl ▸')} ${s}\n`);
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  say('create tenant "acme" and a token for its sensors');
  const acme = (await api('POST', '/v1/tenants', { name: 'acme' })).json.id as string;
  const sensor = (await api('POST', '/v1/tokens', { tenant: acme, permissions: ['signals-write', 'incidents-read', 'incidents-write', 'admin'], name: 'sensor' })).json.token as string;
  await pause(800);

  say('a failed login with a forged token (recorded, rate-limited, never the token itself)');
  await api('GET', '/v1/incidents', undefined, `pcl_${'x'.repeat(43)}`);
  await pause(800);

  say('threat signals: an expiring certificate, then it expires (one incident, severity escalates)');
  await api('POST', '/v1/signals', { kind: 'tls.expiring', severity: 'warning', confidence: 100, target: 'payments.acme.example:443', title: 'certificate expires in 3 days', attributes: { days_left: 3 } }, sensor);
  await api('POST', '/v1/signals', { kind: 'tls.expired', severity: 'critical', confidence: 100, target: 'payments.acme.example:443', title: 'certificate expired', attributes: { api_key: 'not-exported', note: 'secret keys are redacted' } }, sensor);
  await pause(800);

  say('an indicator feed entry, then an observation that hits it (ioc.match)');
  await api('POST', '/v1/indicators', { indicators: [{ value: '203.0.113.66', confidence: 90, source: 'demo-feed' }] }, sensor);
  await api('POST', '/v1/observations', { observations: [{ src_ip: '10.1.2.3', dst_ip: '203.0.113.66', agent: 'probe-7' }] }, sensor);
  await pause(800);

  say('the on-call engineer acknowledges, then resolves the certificate incident');
  const incidents = (await api('GET', '/v1/incidents', undefined, sensor)).json.incidents as Array<{ id: string; target: string }>;
  const cert443 = incidents.find((i) => i.target.startsWith('payments'));
  if (cert443) {
    await api('PATCH', `/v1/incidents/${cert443.id}`, { status: 'acknowledged' }, sensor);
    await api('PATCH', `/v1/incidents/${cert443.id}`, { status: 'resolved' }, sensor);
  }
  await pause(2000);

  const status = (await api('GET', `/v1/siem/status?tenant=${acme}`)).json as { streams: Array<{ stream: string; cursor: number; head: number; delivered_total: number }> };
  say(`delivered: ${received} events to the SIEM (${[...counts].map(([k, v]) => `${v} ${k}`).join(', ')})`);
  for (const s of status.streams ?? []) process.stdout.write(`  acme ${s.stream}: cursor ${s.cursor} of ${s.head}, ${s.delivered_total} delivered\n`);
  process.stdout.write(`\n${dim('Try another format: npm run demo -- --format syslog | ecs | otlp | cef')}\n`);
}
