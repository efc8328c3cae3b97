-- notify_links.state gains `skipped`: a pager's open that was never sent because
-- the incident was resolved first (src/notify/sink.ts). Nobody was paged; the
-- resolve went out by the incident key. `failure` holds the reason. Before,
-- such a link read `pending` for good.
ALTER TABLE notify_links DROP CONSTRAINT notify_links_state_check;
ALTER TABLE notify_links ADD CONSTRAINT notify_links_state_check CHECK (state IN ('pending', 'open', 'failed', 'skipped'));

-- The links such an open left `pending` before this migration (an open operation
-- finished `skipped`; only a pager's open resolved first is ever skipped): skipped
-- now. Their reason is in the outbox row (`failure` is sealed, and a migration has
-- no key: it stays empty). Row security forced on the owner is lifted for this
-- transaction only, as in 0010.
ALTER TABLE notify_links NO FORCE ROW LEVEL SECURITY;
ALTER TABLE notify_outbox NO FORCE ROW LEVEL SECURITY;
UPDATE notify_links l SET state = 'skipped'
 WHERE l.state = 'pending'
   AND EXISTS (SELECT 1 FROM notify_outbox o
                WHERE o.tenant_id = l.tenant_id AND o.connector = l.connector AND o.incident_id = l.incident_id
                  AND o.action = 'open' AND o.result = 'skipped');
ALTER TABLE notify_outbox FORCE ROW LEVEL SECURITY;
ALTER TABLE notify_links FORCE ROW LEVEL SECURITY;
