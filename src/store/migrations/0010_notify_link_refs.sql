-- notify_link_refs: each vendor ref of a link (its ref_keys), one row each, so
-- an inbound webhook finds the link it names by btree equality. The GIN index
-- on notify_links.ref_keys could not serve that lookup under row-level
-- security: array containment (@>) is not leakproof, so PostgreSQL applies it
-- only after the tenant policy, to every row of the tenant — every inbound
-- delivery that named a vendor ref (a Jira key, a ServiceNow sys_id, an
-- Opsgenie alias) read all of its tenant's links. Written by recordOpens
-- (src/notify/links.ts) in the transaction that records the refs.
CREATE TABLE notify_link_refs (
  tenant_id uuid NOT NULL,
  ref text NOT NULL,
  connector text NOT NULL,
  incident_id uuid NOT NULL,
  PRIMARY KEY (tenant_id, ref, connector, incident_id),
  FOREIGN KEY (tenant_id, connector, incident_id) REFERENCES notify_links (tenant_id, connector, incident_id) ON DELETE CASCADE
);
CREATE INDEX notify_link_refs_link ON notify_link_refs (tenant_id, connector, incident_id);

-- The refs recorded so far (row security forced on the owner is lifted for
-- this transaction only, as in 0009).
ALTER TABLE notify_links NO FORCE ROW LEVEL SECURITY;
INSERT INTO notify_link_refs (tenant_id, ref, connector, incident_id)
  SELECT l.tenant_id, k, l.connector, l.incident_id FROM notify_links l CROSS JOIN LATERAL unnest(l.ref_keys) AS k
   WHERE k <> ''
  ON CONFLICT DO NOTHING;
ALTER TABLE notify_links FORCE ROW LEVEL SECURITY;

ALTER TABLE notify_link_refs ENABLE ROW LEVEL SECURITY;
ALTER TABLE notify_link_refs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notify_link_refs TO probectl_app USING (tenant_id = probectl_tenant()) WITH CHECK (tenant_id = probectl_tenant());
GRANT SELECT, INSERT, DELETE ON notify_link_refs TO probectl_app;

DROP INDEX notify_links_ref;
