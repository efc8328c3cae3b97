-- notify_links.state gains `skipped`: a pager's open that was never sent because
-- the incident was resolved first (src/notify/sink.ts). Nobody was paged; the
-- resolve went out by the incident key. `failure` holds the reason. Before,
-- such a link read `pending` for good.
ALTER TABLE notify_links DROP CONSTRAINT notify_links_state_check;
ALTER TABLE notify_links ADD CONSTRAINT notify_links_state_check CHECK (state IN ('pending', 'open', 'failed', 'skipped'));
