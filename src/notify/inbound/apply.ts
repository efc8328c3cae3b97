import { appendAudit } from '../../audit/log.ts';
import type { Clock } from '../../core/clock.ts';
import type { IncidentListener } from '../../incidents/listeners.ts';
import { changeIncidentStatuses, type StatusChangeBy } from '../../incidents/status.ts';
import type { Db } from '../../store/db.ts';
import { inTenant, type TenantTx } from '../../store/scope.ts';
import type { InboundConfig } from '../config/connectors.ts';
import { STATUS_RANK } from '../links.ts';
import { markOrigin } from '../listener.ts';
import { incidentIdOfKey } from '../providers/shared/keys.ts';
import type { InboundChange } from '../providers/types.ts';

type Status = 'open' | 'acknowledged' | 'resolved';

export type InboundResult =
  | { result: 'applied' | 'unchanged'; incident: string; status: string }
  | { result: 'unknown_ref' | 'ambiguous_ref' }
  | { result: 'ignored'; reason: string };

/** Thrown inside the apply transaction when the delivery's signature was accepted before (nothing is written). */
export class ReplayedDelivery extends Error {}

const clipRef = (s: string | undefined): string | null => (s === undefined ? null : s.slice(0, 256));

async function noop(tx: TenantTx, clock: Clock, inbound: InboundConfig, result: InboundResult, change: InboundChange | undefined, source: string): Promise<InboundResult> {
  await appendAudit(tx, clock, {
    actor: `inbound:${inbound.id}`, action: 'notify.inbound.noop', target: `notify:inbound:${inbound.id}`,
    outcome: result.result === 'unknown_ref' || result.result === 'ambiguous_ref' ? 'failure' : 'success',
    data: { inbound: inbound.id, provider: inbound.provider.name, source, ...result, ref: clipRef(change?.ref), incident_key: clipRef(change?.incidentKey), status: change?.status ?? null },
  });
  return result;
}

/**
 * The connectors a change came from, among the matched links of the
 * credential's connectors: the one whose recorded vendor object the delivery
 * names (the issue closed in one of two Jira projects is not the other
 * project's issue, which is synced like any other link); when the delivery
 * names no recorded object, every open link found (it cannot be told
 * which). When it names an object several links share — two PagerDuty
 * services (or Opsgenie teams, webhooks) of one tenant, bound to one
 * credential, all record the
 * incident key as their ref — it cannot be told which of them it came
 * from either, but each of the others still holds an open page: none is
 * the origin, and every one gets the status (for the one it came from, a
 * resolve or acknowledge by the same key that it already has: a no-op
 * there), so no page is left triggered for a resolved incident.
 * A link whose open is not recorded yet (pending, failed) is never
 * the origin: its vendor may have acted on an unanswered open, and a
 * retried open re-creates the object there (PagerDuty and Opsgenie open a
 * new alert for a resolved key), so the status must follow it.
 */
function originOf(links: ReadonlyArray<{ connector: string; state: string; ref_keys: string[] }>, change: InboundChange): string[] {
  const open = links.filter((l) => l.state === 'open');
  const names = [change.ref, change.incidentKey].filter((k): k is string => k !== undefined);
  const named = open.filter((l) => l.ref_keys.some((k) => names.includes(k)));
  if (named.length > 1) return [];
  return (named.length === 1 ? named : open).map((l) => l.connector);
}

/**
 * Applies an authenticated inbound change in one transaction of the
 * credential's tenant — never a tenant named by the payload: an HMAC
 * signature is recorded first (a second delivery of it is a replay, and
 * nothing is written); the link is found by the vendor's ref (or the incident
 * key) among that tenant's links of the credential's connectors (never another
 * connector of the same provider: another Jira site's SEC-12 is not this
 * one's); the links it
 * came from are marked with the new status (so it is never echoed back); the
 * incident changes through changeIncidentStatuses (audited, actor
 * `inbound:<id>`, origin = the inbound id), whose listeners sync every other
 * linked connector through the outbox. A repeated or unknown delivery is a
 * no-op, recorded in the audit log (`notify.inbound.noop`). Throws
 * ReplayedDelivery for a replay, GroupConflict when the incident changed
 * after it was read (nothing kept: apply it again).
 */
export async function applyInbound(
  db: Db, clock: Clock, inbound: InboundConfig, change: InboundChange | { ignore: string }, signature: string | undefined,
  listeners: readonly IncidentListener[], source: string,
): Promise<InboundResult> {
  // A group of one: the same statements and records as any group commit.
  const [result] = await inTenant(db, inbound.tenant, (tx) => applyInboundGroup(tx, clock, [{ inbound, change, signature, source }], listeners));
  if (result === REPLAYED || result === undefined) throw new ReplayedDelivery('replayed delivery: this signature was accepted before');
  return result;
}

/** applyInboundGroup's answer for a replayed signature (nothing was written). */
export const REPLAYED = Symbol('replayed');

/** One delivery of a group (see applyInboundGroup). */
export interface GroupDelivery {
  inbound: InboundConfig;
  change: InboundChange | { ignore: string };
  signature: string | undefined;
  source: string;
}

/**
 * Records a group's signatures and finds each delivery's links with its incident's status
 * ($1 tenant; $2..$9 and $11 the deliveries as parallel arrays: index, inbound id, provider,
 * signature, vendor ref, the two incident ids its keys name, whether to look, and the ids of
 * the connectors its credential speaks for joined by "," (InboundConfig.connectors: only
 * their links are candidates — one Jira site's webhook never matches another site's issue
 * key); $10 now).
 * Every lookup is an index lookup under row-level security — by vendor ref through
 * notify_link_refs, by incident id through an index of notify_links (test/store/rls-indexes.test.ts).
 */
export const FIND_DELIVERY_LINKS = `WITH it AS (
       SELECT * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::uuid[], $9::bool[], $11::text[])
         AS it(idx, inbound, provider, signature, ref, k1, k2, look, connectors)
     ), seen AS (
       INSERT INTO notify_inbound_seen (tenant_id, inbound, signature, seen_at) SELECT $1, inbound, signature, $10 FROM it WHERE signature IS NOT NULL
       ON CONFLICT DO NOTHING RETURNING inbound, signature
     )
     SELECT it.idx, it.signature IS NULL OR EXISTS (SELECT 1 FROM seen WHERE seen.inbound = it.inbound AND seen.signature = it.signature) AS fresh,
            l.connector, l.incident_id, l.state, l.ref_keys, i.status AS incident_status
       FROM it
       LEFT JOIN LATERAL (
              SELECT x.connector, x.incident_id, x.state, x.ref_keys FROM notify_link_refs r
                JOIN notify_links x ON x.tenant_id = r.tenant_id AND x.connector = r.connector AND x.incident_id = r.incident_id
               WHERE it.look AND r.tenant_id = $1 AND r.ref = it.ref AND x.provider = it.provider
                 AND x.connector = ANY (string_to_array(it.connectors, ','))
              UNION
              SELECT x.connector, x.incident_id, x.state, x.ref_keys FROM notify_links x
               WHERE it.look AND x.tenant_id = $1 AND x.provider = it.provider AND x.incident_id IN (it.k1, it.k2)
                 AND x.connector = ANY (string_to_array(it.connectors, ','))
            ) l ON true
       LEFT JOIN incidents i ON i.tenant_id = $1 AND i.id = l.incident_id
      ORDER BY it.idx, l.connector`;

/** Thrown by applyInboundGroup when an incident changed after it was read: the caller rolls back and applies each delivery alone. */
export class GroupConflict extends Error {}

type LinkRow = { connector: string; incident_id: string; state: string; ref_keys: string[]; incident_status: Status };

/**
 * Applies several authenticated deliveries of one tenant (see applyInbound)
 * in the caller's transaction, with the same answers and records as applying
 * them one after another, in a few statements: one records every signature (a
 * signature repeated within the group is a replay of the first) and finds
 * every delivery's links; then, in rounds that hold at most one change per
 * incident (a second delivery for an incident waits for the next round and
 * sees the first one's result), one statement moves the round's incidents
 * and one their links (changeIncidentStatuses). Audit records and outbox
 * operations go through appendAudit and enqueue (deferred by a group commit).
 * Throws GroupConflict when an incident's status changed since it was read
 * (a concurrent change): the caller rolls back and applies each alone.
 */
export async function applyInboundGroup(tx: TenantTx, clock: Clock, group: readonly GroupDelivery[], listeners: readonly IncidentListener[]): Promise<Array<InboundResult | typeof REPLAYED>> {
  const results: Array<InboundResult | typeof REPLAYED | undefined> = group.map(() => undefined);
  // A signature repeated within the group: the later deliveries are replays of the first (nothing written).
  const firstOf = new Map<string, number>();
  const asked: number[] = [];
  for (const [i, d] of group.entries()) {
    const signed = d.signature === undefined ? undefined : `${d.inbound.id}\u0000${d.signature}`;
    if (signed !== undefined && firstOf.has(signed)) results[i] = REPLAYED;
    else {
      if (signed !== undefined) firstOf.set(signed, i);
      asked.push(i);
    }
  }
  const look = (d: GroupDelivery) => !('ignore' in d.change);
  const keyed = (d: GroupDelivery) => ('ignore' in d.change ? [] : [d.change.incidentKey, d.change.ref].map((k) => (k === undefined ? undefined : incidentIdOfKey(k))).filter((k): k is string => k !== undefined));
  const at = asked.map((i) => group[i] as GroupDelivery);
  const found = await tx.query<{ idx: number; fresh: boolean; connector: string | null; incident_id: string | null; state: string | null; ref_keys: string[] | null; incident_status: Status | null }>(
    FIND_DELIVERY_LINKS,
    [
      tx.tenantId, asked, at.map((d) => d.inbound.id), at.map((d) => d.inbound.provider.name), at.map((d) => d.signature ?? null),
      at.map((d) => ('ignore' in d.change ? '' : d.change.ref ?? '')), at.map((d) => keyed(d)[0] ?? null), at.map((d) => keyed(d)[1] ?? null),
      at.map(look), new Date(clock.now()), at.map((d) => d.inbound.connectors.join(',')),
    ],
  );
  const rowsOf = new Map<number, typeof found.rows>();
  for (const r of found.rows) rowsOf.set(r.idx, [...(rowsOf.get(r.idx) ?? []), r]);
  // What each delivery names, decided once (links do not change with a status).
  type Named = { links: LinkRow[]; id: string };
  const named = new Map<number, Named>();
  const status = new Map<string, Status>();
  for (const i of asked) {
    const d = group[i] as GroupDelivery;
    const rows = rowsOf.get(i) ?? [];
    if (!rows[0]?.fresh) {
      results[i] = REPLAYED;
      continue;
    }
    if ('ignore' in d.change) {
      results[i] = await noop(tx, clock, d.inbound, { result: 'ignored', reason: d.change.ignore }, undefined, d.source);
      continue;
    }
    const change = d.change;
    const linked = rows.filter((r): r is typeof r & LinkRow => r.connector !== null && r.incident_status !== null);
    const labelled = change.incidentKey === undefined ? undefined : incidentIdOfKey(change.incidentKey);
    const links = labelled === undefined ? linked : linked.filter((l) => l.incident_id === labelled);
    const ids = [...new Set(links.map((l) => l.incident_id))];
    if (ids.length !== 1) {
      results[i] = await noop(tx, clock, d.inbound, { result: ids.length === 0 ? 'unknown_ref' : 'ambiguous_ref' }, change, d.source);
      continue;
    }
    const id = ids[0] as string;
    // A vendor object named besides the incident key (a Jira issue carrying the incident's label) that is none of
    // the objects the incident's links recorded, while every link has recorded its own: a clone or copy of the
    // mirror (Jira copies labels when an issue is cloned), not the mirror — closing it changes nothing.
    const ref = change.ref;
    if (ref !== undefined && change.incidentKey !== undefined && ref !== change.incidentKey
      && links.every((l) => l.state === 'open') && !links.some((l) => l.ref_keys.includes(ref))) {
      results[i] = await noop(tx, clock, d.inbound, { result: 'unknown_ref' }, change, d.source);
      continue;
    }
    named.set(i, { links, id });
    if (!status.has(id)) status.set(id, (links[0] as LinkRow).incident_status);
  }
  // Rounds: at most one change per incident each, in arrival order.
  let waiting = [...named.keys()];
  while (waiting.length > 0) {
    const claimed = new Set<string>();
    const next: number[] = [];
    const round: Array<{ i: number; id: string; from: Status; to: 'acknowledged' | 'resolved'; by: StatusChangeBy }> = [];
    for (const i of waiting) {
      const d = group[i] as GroupDelivery & { change: InboundChange };
      const { links, id } = named.get(i) as Named;
      if (claimed.has(id)) {
        next.push(i);
        continue;
      }
      const current = status.get(id) as Status;
      if (STATUS_RANK[current] >= STATUS_RANK[d.change.status]) {
        results[i] = await noop(tx, clock, d.inbound, { result: 'unchanged', incident: id, status: current }, d.change, d.source);
        continue;
      }
      claimed.add(id);
      markOrigin(tx, id, originOf(links, d.change));
      round.push({
        i, id, from: current, to: d.change.status, by: {
          actor: `inbound:${d.inbound.id}`, origin: d.inbound.id,
          data: { via: 'inbound webhook', inbound: d.inbound.id, provider: d.inbound.provider.name, ref: clipRef(d.change.ref ?? d.change.incidentKey), source: d.source },
        },
      });
    }
    if (round.length > 0) {
      const moved = await changeIncidentStatuses(tx, clock, round, listeners);
      if (!moved) throw new GroupConflict('an incident changed while the group was applied');
      for (const [k, c] of round.entries()) {
        markOrigin(tx, c.id, []);
        status.set(c.id, c.to);
        results[c.i] = { result: 'applied', incident: c.id, status: (moved[k] as { status: string }).status };
      }
    }
    waiting = next;
  }
  return results.map((r) => {
    if (r === undefined) throw new Error('a delivery of the group was left unanswered');
    return r;
  });
}
