import { isIP } from 'node:net';
import type { SignalInput } from '../incidents/model.ts';
import type { TenantTx } from '../store/scope.ts';
import { matchDomains, matchIps, plainIpFamily, type IndicatorHit } from './indicators.ts';

/** Something a probe or agent saw on the network; the matcher only reads it. */
export interface Observation {
  src_ip?: string | undefined;
  dst_ip?: string | undefined;
  domain?: string | undefined;
  url?: string | undefined;
  agent?: string | undefined;
  observed_at?: string | undefined;
}

const IP_FIELDS = ['src_ip', 'dst_ip'] as const;

function observedDomains(o: Observation): string[] {
  const out: string[] = [];
  if (o.domain) out.push(o.domain.toLowerCase().replace(/\.$/, ''));
  if (o.url) {
    try {
      const host = new URL(o.url).hostname.replace(/^\[|\]$/g, '');
      if (isIP(host)) return out;
      out.push(host.toLowerCase());
    } catch {
      // a malformed URL simply matches nothing
    }
  }
  return out;
}

/** The address of an observed IP; an IPv6 zone id (`fe80::1%eth0`) names the link, not the address, and is not matched. */
function observedAddress(text: string): string {
  const zone = text.indexOf('%');
  return zone > 0 && isIP(text) === 6 ? text.slice(0, zone) : text;
}

function observedIps(o: Observation): string[] {
  const ips = IP_FIELDS.map((f) => o[f]).filter((v): v is string => typeof v === 'string').map(observedAddress).filter((v) => plainIpFamily(v) !== 0);
  if (o.url) {
    try {
      const host = new URL(o.url).hostname.replace(/^\[|\]$/g, '');
      if (isIP(host)) ips.push(host);
    } catch {
      // ignored, as above
    }
  }
  return ips;
}

/**
 * Matches observations against the tenant's indicators and returns one
 * `ioc.match` signal per (observation, indicator) hit, carrying the
 * indicator's confidence and source. Detection only: nothing is blocked.
 */
export async function matchObservations(tx: TenantTx, observations: readonly Observation[]): Promise<SignalInput[]> {
  const signals: SignalInput[] = [];
  for (const o of observations) {
    const hits: IndicatorHit[] = [...(await matchIps(tx, observedIps(o))), ...(await matchDomains(tx, observedDomains(o)))];
    const seen = new Set<string>();
    for (const hit of hits) {
      const dedupe = `${hit.indicator.id}|${hit.observed}`;
      if (seen.has(dedupe)) continue;
      seen.add(dedupe);
      signals.push({
        kind: 'ioc.match',
        severity: hit.indicator.severity,
        confidence: hit.indicator.confidence,
        target: hit.observed,
        title: `${hit.observed} matches ${hit.indicator.kind} indicator ${hit.indicator.value} (${hit.indicator.source})`,
        attributes: {
          indicator: hit.indicator.value,
          indicator_type: hit.indicator.kind,
          indicator_id: hit.indicator.id,
          source: hit.indicator.source,
          observation: { ...o },
        },
      });
    }
  }
  return signals;
}
