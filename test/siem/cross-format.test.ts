import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from '../../src/audit/chain.ts';
import type { SiemEvent } from '../../src/siem/event.ts';
import { FORMATTERS, SIEM_FORMATS, type SiemFormat } from '../../src/siem/formatters/index.ts';
import { auditToEvent } from '../../src/siem/mapping.ts';
import { parseCef } from './helpers/cef.ts';
import { decodeOtlpJson } from './helpers/otlp.ts';
import { parse5424, sdParams } from './helpers/rfc5424.ts';
import { FORGED_TENANT, OPTS, REDACTOR, STRESS_AUDIT, stressEvents, TENANT } from './fixtures.ts';

const CUT = Symbol('cut to the CEF length of cs3');

// Distinctive parts of the planted secrets that no format escapes.
const NEEDLES = ['hunter2-top-secret', 'sk_live_NESTED_51', 'abc.def.ghi', 'session-cookie-99', 'ssn-123-45-6789', 'private-key-material-PEM', 'zzz-extra-zzz'];

/** Per format: the tenant stamp and the attributes object of each record, read back from the bytes. */
function readBack(format: SiemFormat, body: Buffer): Array<{ tenant: unknown; attributes: unknown }> {
  const text = body.toString('utf8');
  switch (format) {
    case 'syslog':
      return text.trimEnd().split('\n').map((l) => {
        const p = sdParams(parse5424(l), `probectl@${OPTS.syslogPen}`);
        return { tenant: p.get('tenant'), attributes: JSON.parse(p.get('attributes') as string) };
      });
    case 'cef':
      return text.trimEnd().split('\n').map((l) => {
        const x = parseCef(l).extension;
        const cs3 = x.get('cs3') as string;
        // cs3 holds at most 4000 characters (the CEF dictionary); a longer JSON text is cut and no longer parses.
        return { tenant: x.get('cs1'), attributes: cs3.endsWith('…[truncated]') ? CUT : JSON.parse(cs3) };
      });
    case 'ecs':
      return text.trimEnd().split('\n').map((l) => {
        const d = JSON.parse(l) as { organization: { id: string }; probectl: { attributes: unknown } };
        return { tenant: d.organization.id, attributes: d.probectl.attributes };
      });
    case 'otlp':
      return decodeOtlpJson(JSON.parse(text)).map((l) => ({ tenant: l.resource['probectl.tenant_id'], attributes: l.attributes['probectl.attributes'] }));
    case 'udm':
      return text.trimEnd().split('\n').map((l) => {
        const d = JSON.parse(l) as { additional: { probectl_tenant: string; probectl_attributes: unknown } };
        return { tenant: d.additional.probectl_tenant, attributes: d.additional.probectl_attributes };
      });
    case 'dcr':
      return (JSON.parse(text) as Array<{ Tenant: string; Attributes: unknown }>).map((r) => ({ tenant: r.Tenant, attributes: r.Attributes }));
  }
}

describe('every format', () => {
  const extra = auditToEvent({ ...(STRESS_AUDIT[0] as AuditEvent), seq: 50, data: { deep: [{ 'X-Custom-Secret': 'zzz-extra-zzz' }] } }, TENANT, { redactor: REDACTOR });
  const events: SiemEvent[] = [...stressEvents(), extra];

  for (const format of SIEM_FORMATS) {
    it(`${format}: no planted secret leaves, at any depth; the redacted keys are still there`, () => {
      const body = FORMATTERS[format].batch(events, OPTS);
      const text = body.toString('utf8');
      for (const needle of NEEDLES) assert.equal(text.includes(needle), false, `${needle} leaked in ${format}`);
      const back = readBack(format, body);
      assert.equal(back.length, events.length);
      const attrs = back.map((b) => b.attributes as Record<string, unknown>);
      assert.equal(attrs[0]?.password, '[redacted]');
      assert.deepEqual(attrs[2]?.nested, { deeper: [{ api_key: '[redacted]' }, { Authorization: '[redacted]' }] });
      assert.deepEqual(attrs[2]?.headers, { Cookie: '[redacted]' });
      assert.equal(attrs[3]?.ssn, '[redacted]');
      if (format === 'cef') assert.equal(back[5]?.attributes, CUT, 'the 4,000-character attributes of record 6 exceed cs3');
      else assert.equal(attrs[5]?.private_key, '[redacted]');
      assert.deepEqual(attrs[attrs.length - 1], { deep: [{ 'X-Custom-Secret': '[redacted]' }] });
    });

    it(`${format}: the tenant stamp is the drained tenant; a forged tenant in the data stays data`, () => {
      const back = readBack(format, FORMATTERS[format].batch(events, OPTS));
      for (const b of back) assert.equal(b.tenant, TENANT);
      const forged = back[1]?.attributes as Record<string, unknown>;
      assert.equal(forged.tenant, FORGED_TENANT);
      assert.deepEqual(forged.organization, { id: FORGED_TENANT });
      assert.equal(FORMATTERS[format].batch(events, OPTS).toString('utf8').includes(FORGED_TENANT), true, 'kept as data, not dropped');
    });
  }
});
