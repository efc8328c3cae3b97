-- probectl core schema: tenants, tokens, the audit chain, signals, incidents, indicators.
-- Tenant work runs as probectl_app (SET LOCAL ROLE inside inTenant), which owns
-- nothing, cannot bypass row-level security and holds only the grants below.

DO $$
BEGIN
  CREATE ROLE probectl_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'probectl_app', 'MEMBER') THEN
    EXECUTE format('GRANT probectl_app TO %I', current_user);
  END IF;
END $$;

-- The tenant of the current transaction; NULL (and so no rows) when unset.
CREATE FUNCTION probectl_tenant() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('probectl.tenant_id', true), '')::uuid $$;

-- True only inside inSystem(): the owner's narrow, explicit cross-tenant scope.
CREATE FUNCTION probectl_system_scope() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT coalesce(current_setting('probectl.scope', true), '') = 'system' $$;

CREATE TABLE tenants (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 128),
  provider boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tenants_one_provider ON tenants (provider) WHERE provider;

CREATE TABLE tokens (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  permissions text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX tokens_tenant ON tokens (tenant_id);

-- Per-tenant heads of the gapless streams (audit, signals). Updating the head
-- row takes its lock, which serializes appends per tenant.
-- stream_heads and audit_events carry no foreign key to tenants: every append
-- (one per audited request) would pay a referential-integrity trigger and a
-- KEY SHARE lock on the tenant row, about a quarter of the append's cost. Rows
-- are written only inside a tenant scope (RLS WITH CHECK binds tenant_id to the
-- authenticated tenant) and tenants are never deleted.
CREATE TABLE stream_heads (
  tenant_id uuid NOT NULL,
  stream text NOT NULL,
  seq bigint NOT NULL CHECK (seq >= 0),
  prev_hash text,
  hash text,
  PRIMARY KEY (tenant_id, stream)
);

CREATE TABLE audit_events (
  tenant_id uuid NOT NULL,
  seq bigint NOT NULL CHECK (seq >= 1),
  time timestamptz NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  target text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  data jsonb NOT NULL,
  prev_hash text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE incidents (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  correlation_key text NOT NULL,
  kind_family text NOT NULL,
  target text NOT NULL,
  title text NOT NULL,
  status text NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
  severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  signal_count integer NOT NULL DEFAULT 0,
  opened_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  last_signal_at timestamptz NOT NULL,
  acknowledged_at timestamptz,
  resolved_at timestamptz
);
CREATE INDEX incidents_open_key ON incidents (tenant_id, correlation_key) WHERE status <> 'resolved';
CREATE INDEX incidents_tenant_opened ON incidents (tenant_id, opened_at DESC, id);

CREATE TABLE signals (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  seq bigint NOT NULL CHECK (seq >= 1),
  id uuid NOT NULL UNIQUE,
  kind text NOT NULL,
  severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  confidence smallint NOT NULL CHECK (confidence BETWEEN 0 AND 100),
  target text NOT NULL,
  title text NOT NULL,
  attributes jsonb NOT NULL,
  received_at timestamptz NOT NULL,
  incident_id uuid NOT NULL REFERENCES incidents (id),
  PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX signals_incident ON signals (incident_id, seq);

CREATE TABLE indicators (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  kind text NOT NULL CHECK (kind IN ('ip', 'cidr', 'domain')),
  value text NOT NULL,
  net cidr,
  confidence smallint NOT NULL CHECK (confidence BETWEEN 0 AND 100),
  severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  source text NOT NULL,
  origin text NOT NULL,
  created_at timestamptz NOT NULL,
  CHECK ((kind = 'domain') = (net IS NULL)),
  UNIQUE (tenant_id, kind, value)
);
CREATE INDEX indicators_domain ON indicators (tenant_id, value) WHERE kind = 'domain';

-- Row-level security: enabled and forced on every tenant-owned table.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tokens', 'stream_heads', 'audit_events', 'incidents', 'signals', 'indicators'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO probectl_app USING (tenant_id = probectl_tenant()) WITH CHECK (tenant_id = probectl_tenant())', t);
  END LOOP;
END $$;

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants TO probectl_app USING (id = probectl_tenant()) WITH CHECK (false);

-- The owner's explicit system scope covers only what cross-tenant code needs:
-- the tenant registry and token lookup at authentication.
CREATE POLICY system_scope ON tenants TO CURRENT_USER USING (probectl_system_scope()) WITH CHECK (probectl_system_scope());
CREATE POLICY system_scope ON tokens TO CURRENT_USER USING (probectl_system_scope()) WITH CHECK (probectl_system_scope());

-- Least privilege for the application role.
GRANT SELECT ON tenants TO probectl_app;
GRANT SELECT, INSERT ON tokens TO probectl_app;
GRANT UPDATE (revoked_at) ON tokens TO probectl_app;
GRANT SELECT, INSERT ON stream_heads TO probectl_app;
GRANT UPDATE (seq, prev_hash, hash) ON stream_heads TO probectl_app;
GRANT SELECT, INSERT ON audit_events TO probectl_app;
GRANT SELECT, INSERT ON signals TO probectl_app;
GRANT SELECT, INSERT ON incidents TO probectl_app;
GRANT UPDATE (title, status, severity, signal_count, updated_at, last_signal_at, acknowledged_at, resolved_at) ON incidents TO probectl_app;
GRANT SELECT, INSERT, DELETE ON indicators TO probectl_app;
GRANT UPDATE (confidence, severity, source, created_at) ON indicators TO probectl_app;
