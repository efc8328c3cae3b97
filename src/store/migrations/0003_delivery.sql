-- The shared delivery engine (src/delivery): per consumer (siem, notify, …),
-- tenant and stream, a durable cursor and the items refused permanently. The
-- SIEM-only tables of 0002 move here without loss (consumer 'siem') and go.

CREATE TABLE delivery_cursors (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  consumer text NOT NULL CHECK (consumer ~ '^[a-z][a-z0-9_]{0,31}$'),
  stream text NOT NULL CHECK (stream ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  cursor bigint NOT NULL DEFAULT 0 CHECK (cursor >= 0),
  delivered_total bigint NOT NULL DEFAULT 0,
  parked_total bigint NOT NULL DEFAULT 0,
  last_success_at timestamptz,
  last_delivered_time timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, consumer, stream)
);

CREATE TABLE delivery_parked (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  consumer text NOT NULL CHECK (consumer ~ '^[a-z][a-z0-9_]{0,31}$'),
  stream text NOT NULL,
  seq bigint NOT NULL,
  event_id uuid NOT NULL,
  parked_at timestamptz NOT NULL,
  status integer,
  reason text NOT NULL,
  response text NOT NULL DEFAULT '',
  attempts integer NOT NULL DEFAULT 1,
  PRIMARY KEY (tenant_id, consumer, stream, seq)
);

-- Replicas announce themselves per consumer so each takes a fair share of tenant streams.
-- Not tenant data: written and read only in the owner's system scope.
CREATE TABLE delivery_replicas (
  consumer text NOT NULL,
  id uuid NOT NULL,
  seen_at timestamptz NOT NULL,
  PRIMARY KEY (consumer, id)
);

-- The owner runs migrations and row-level security is forced on the old tables, with
-- policies only for probectl_app: lift the force so the copy sees every tenant's rows.
ALTER TABLE siem_delivery NO FORCE ROW LEVEL SECURITY;
ALTER TABLE siem_parked NO FORCE ROW LEVEL SECURITY;
ALTER TABLE siem_replicas NO FORCE ROW LEVEL SECURITY;

INSERT INTO delivery_cursors (tenant_id, consumer, stream, cursor, delivered_total, parked_total, last_success_at, last_delivered_time, updated_at)
  SELECT tenant_id, 'siem', stream, cursor, delivered_total, parked_total, last_success_at, last_delivered_time, updated_at FROM siem_delivery;
INSERT INTO delivery_parked (tenant_id, consumer, stream, seq, event_id, parked_at, status, reason, response, attempts)
  SELECT tenant_id, 'siem', stream, seq, event_id, parked_at, status, reason, response, attempts FROM siem_parked;
INSERT INTO delivery_replicas (consumer, id, seen_at) SELECT 'siem', id, seen_at FROM siem_replicas;
DROP TABLE siem_delivery;
DROP TABLE siem_parked;
DROP TABLE siem_replicas;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['delivery_cursors', 'delivery_parked'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO probectl_app USING (tenant_id = probectl_tenant()) WITH CHECK (tenant_id = probectl_tenant())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT ON delivery_cursors TO probectl_app;
GRANT UPDATE (cursor, delivered_total, parked_total, last_success_at, last_delivered_time, updated_at) ON delivery_cursors TO probectl_app;
GRANT SELECT, INSERT, DELETE ON delivery_parked TO probectl_app;
GRANT UPDATE (parked_at, status, reason, response, attempts) ON delivery_parked TO probectl_app;

ALTER TABLE delivery_replicas ENABLE ROW LEVEL SECURITY;
ALTER TABLE delivery_replicas FORCE ROW LEVEL SECURITY;
CREATE POLICY system_scope ON delivery_replicas TO CURRENT_USER USING (probectl_system_scope()) WITH CHECK (probectl_system_scope());
