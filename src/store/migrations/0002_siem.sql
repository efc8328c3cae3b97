-- SIEM export: a durable per-tenant, per-stream delivery cursor and the events
-- a SIEM refused permanently. Both tenant-owned, RLS forced like every other.

CREATE TABLE siem_delivery (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  stream text NOT NULL CHECK (stream IN ('audit', 'threat')),
  cursor bigint NOT NULL DEFAULT 0 CHECK (cursor >= 0),
  delivered_total bigint NOT NULL DEFAULT 0,
  parked_total bigint NOT NULL DEFAULT 0,
  last_success_at timestamptz,
  last_delivered_time timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, stream)
);

CREATE TABLE siem_parked (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  stream text NOT NULL CHECK (stream IN ('audit', 'threat')),
  seq bigint NOT NULL,
  event_id uuid NOT NULL,
  parked_at timestamptz NOT NULL,
  status integer,
  reason text NOT NULL,
  response text NOT NULL DEFAULT '',
  attempts integer NOT NULL DEFAULT 1,
  PRIMARY KEY (tenant_id, stream, seq)
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['siem_delivery', 'siem_parked'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO probectl_app USING (tenant_id = probectl_tenant()) WITH CHECK (tenant_id = probectl_tenant())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT ON siem_delivery TO probectl_app;
GRANT UPDATE (cursor, delivered_total, parked_total, last_success_at, last_delivered_time, updated_at) ON siem_delivery TO probectl_app;
GRANT SELECT, INSERT, DELETE ON siem_parked TO probectl_app;
GRANT UPDATE (parked_at, status, reason, response, attempts) ON siem_parked TO probectl_app;

-- Replicas announce themselves so each can take a fair share of tenant streams.
-- Not tenant data: written and read only in the owner's system scope.
CREATE TABLE siem_replicas (
  id uuid PRIMARY KEY,
  seen_at timestamptz NOT NULL
);
ALTER TABLE siem_replicas ENABLE ROW LEVEL SECURITY;
ALTER TABLE siem_replicas FORCE ROW LEVEL SECURITY;
CREATE POLICY system_scope ON siem_replicas TO CURRENT_USER USING (probectl_system_scope()) WITH CHECK (probectl_system_scope());
