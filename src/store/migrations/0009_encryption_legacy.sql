-- Plaintext from before encryption (docs/encryption.md, F6 of issue 13): a value
-- not starting with 0x00 reads as the text stored before migration 0008 only in a
-- tenant listed here — one that held such rows when this migration ran. A
-- completed `probectl keys rotate` of the tenant seals them and removes its row;
-- from then on (and always, for a tenant not listed: new installs and tenants
-- created later) a plaintext value is refused (PROBECTL_ERR_ENCRYPTION_DECRYPT),
-- so plaintext written into a sealed column is never taken for a value.
CREATE TABLE encryption_legacy (
  tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE
);
ALTER TABLE encryption_legacy ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON encryption_legacy TO probectl_app USING (tenant_id = probectl_tenant()) WITH CHECK (tenant_id = probectl_tenant());
CREATE POLICY system_scope ON encryption_legacy TO CURRENT_USER USING (probectl_system_scope()) WITH CHECK (false);
GRANT SELECT, DELETE ON encryption_legacy TO probectl_app;

-- The owner reads every tenant's rows here and lists them (row security forced on
-- the owner is lifted for this transaction only).
ALTER TABLE delivery_parked NO FORCE ROW LEVEL SECURITY;
ALTER TABLE notify_outbox NO FORCE ROW LEVEL SECURITY;
ALTER TABLE notify_links NO FORCE ROW LEVEL SECURITY;
INSERT INTO encryption_legacy (tenant_id)
  SELECT tenant_id FROM delivery_parked WHERE substring(reason FROM 1 FOR 1) <> '\x00'::bytea OR substring(response FROM 1 FOR 1) <> '\x00'::bytea
  UNION SELECT tenant_id FROM notify_outbox WHERE substring(incident FROM 1 FOR 1) <> '\x00'::bytea OR substring(detail FROM 1 FOR 1) <> '\x00'::bytea OR substring(reason FROM 1 FOR 1) <> '\x00'::bytea
  UNION SELECT tenant_id FROM notify_links WHERE substring(ref_data FROM 1 FOR 1) <> '\x00'::bytea OR substring(failure FROM 1 FOR 1) <> '\x00'::bytea;
ALTER TABLE delivery_parked FORCE ROW LEVEL SECURITY;
ALTER TABLE notify_outbox FORCE ROW LEVEL SECURITY;
ALTER TABLE notify_links FORCE ROW LEVEL SECURITY;
ALTER TABLE encryption_legacy FORCE ROW LEVEL SECURITY;
