-- On-call and ITSM mirroring (src/notify). Tenant-owned, RLS enabled and forced
-- like every tenant table.
--
-- notify_outbox: the operations of each connector (a delivery stream of the
-- shared engine, named by the connector id), written in the transaction of the
-- incident change that causes them. seq is gapless per tenant and connector;
-- its head is the stream_heads row 'notify:<connector>'. done_at/result mark an
-- operation the drainer finished (sent, or skipped because the connector's open
-- failed permanently), so a batch re-sent after a crash skips what is done.
-- No foreign keys on this append-hot table (like audit_events): rows are
-- written only inside the tenant's scope, for incidents of that scope.
CREATE TABLE notify_outbox (
  tenant_id uuid NOT NULL,
  connector text NOT NULL CHECK (connector ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  seq bigint NOT NULL CHECK (seq >= 1),
  id uuid NOT NULL,
  incident_id uuid NOT NULL,
  action text NOT NULL CHECK (action IN ('open', 'update', 'acknowledge', 'resolve')),
  incident jsonb NOT NULL,
  detail jsonb,
  created_at timestamptz NOT NULL,
  done_at timestamptz,
  result text CHECK (result IN ('sent', 'skipped')),
  reason text,
  PRIMARY KEY (tenant_id, connector, seq)
);
CREATE INDEX notify_outbox_skipped ON notify_outbox (tenant_id, connector) WHERE result = 'skipped';

-- notify_links: an incident's mirror at one connector instance. state: pending
-- (open enqueued), open (the vendor's ref recorded), failed (the open was
-- refused permanently; `failure` says why). status: the incident status last
-- sent there, or marked as already there when an inbound webhook from that
-- vendor made the change (never echoed back). ref_keys: the ref id and its
-- aliases, matched by inbound webhooks. pending_*/update_due_at: follow-up
-- signals waiting for the next coalesced update (PROBECTL_NOTIFY_UPDATE_INTERVAL).
CREATE TABLE notify_links (
  tenant_id uuid NOT NULL,
  connector text NOT NULL CHECK (connector ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  incident_id uuid NOT NULL REFERENCES incidents (id),
  provider text NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'open', 'failed')),
  status text NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
  ref_id text,
  ref_keys text[] NOT NULL DEFAULT '{}',
  ref_data jsonb,
  failure text,
  skipped_status text CHECK (skipped_status IN ('acknowledged', 'resolved')),
  pending_signals integer NOT NULL DEFAULT 0,
  pending_from text CHECK (pending_from IN ('info', 'warning', 'critical')),
  last_update_at timestamptz,
  update_due_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, connector, incident_id)
);
CREATE INDEX notify_links_incident ON notify_links (tenant_id, incident_id);
CREATE INDEX notify_links_ref ON notify_links USING gin (ref_keys);
CREATE INDEX notify_links_due ON notify_links (tenant_id, update_due_at) WHERE update_due_at IS NOT NULL;

-- Signatures of accepted HMAC-signed inbound deliveries, kept for the 5-minute
-- window (and a margin) so a replay is refused on every replica.
CREATE TABLE notify_inbound_seen (
  tenant_id uuid NOT NULL,
  inbound text NOT NULL,
  signature text NOT NULL,
  seen_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, inbound, signature)
);
CREATE INDEX notify_inbound_seen_age ON notify_inbound_seen (tenant_id, seen_at);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['notify_outbox', 'notify_links', 'notify_inbound_seen'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO probectl_app USING (tenant_id = probectl_tenant()) WITH CHECK (tenant_id = probectl_tenant())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT ON notify_outbox TO probectl_app;
GRANT UPDATE (done_at, result, reason) ON notify_outbox TO probectl_app;
GRANT SELECT, INSERT ON notify_links TO probectl_app;
GRANT UPDATE (state, status, ref_id, ref_keys, ref_data, failure, skipped_status, pending_signals, pending_from, last_update_at, update_due_at, updated_at) ON notify_links TO probectl_app;
GRANT SELECT, INSERT, DELETE ON notify_inbound_seen TO probectl_app;
