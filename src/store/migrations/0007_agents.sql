-- The agent registry (src/agents): the probes a tenant runs, with the host
-- name and address a CMDB knows them by (GET /v1/agents/{id}/ci). Tenant-owned,
-- RLS enabled and forced like every tenant table; the app role may list and
-- register agents, nothing else.
CREATE TABLE agents (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  name text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$'),
  hostname text CHECK (hostname IS NULL OR length(hostname) BETWEEN 1 AND 253),
  address text CHECK (address IS NULL OR length(address) BETWEEN 1 AND 64),
  created_at timestamptz NOT NULL,
  CHECK (hostname IS NOT NULL OR address IS NOT NULL),
  UNIQUE (tenant_id, name)
);
CREATE INDEX agents_tenant ON agents (tenant_id, created_at, id);

ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
ALTER TABLE agents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON agents TO probectl_app USING (tenant_id = probectl_tenant()) WITH CHECK (tenant_id = probectl_tenant());
GRANT SELECT, INSERT ON agents TO probectl_app;
