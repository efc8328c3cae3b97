-- Row-level security lets PostgreSQL use an index for a tenant's statement only
-- through leakproof operators: the tenant policy is applied first, and a
-- function that is not leakproof is evaluated only on rows that passed it.
-- `labels ->> '__name__'` (jsonb_object_field_text) and `labels @> …`
-- (jsonb_contains) are not leakproof, so neither metric_series_name (an
-- expression index) nor metric_series_labels (GIN) served any tenant's query:
-- every selector read all of its tenant's series.
--
-- The metric name becomes a plain column (generated from labels, so it can
-- never disagree with them) with a btree index, which a selector's name
-- (`text = text`, leakproof) uses. The GIN index served nothing and cost every
-- new series a write into it: it goes.
ALTER TABLE metric_series ADD COLUMN name text GENERATED ALWAYS AS (labels ->> '__name__') STORED;
DROP INDEX metric_series_name;
CREATE INDEX metric_series_name ON metric_series (tenant_id, name);
DROP INDEX metric_series_labels;
