-- Embedded metrics store (src/federation/store): series, recent samples, and
-- compacted chunks. Tenant-owned, RLS enabled and forced like every tenant table.
--
-- Values are stored as the IEEE-754 bits of the float64 reinterpreted as a
-- signed 64-bit integer (never float8, which may canonicalise NaN payloads such
-- as Prometheus's stale marker 0x7ff0000000000002). Timestamps are ms int64.

-- One row per series. `labels` holds the label set without tenant_id (that is
-- the tenant_id column) and without empty values (an empty value is the same as
-- an absent label in Prometheus); `fingerprint` is sha256 of its canonical form.
-- first_t/last_t bound the sample times loosely (last_t lags the newest sample
-- by at most the store's slack), seen_ms is when a sample last arrived (also
-- coarse) and counts the series as active.
CREATE TABLE metric_series (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  series_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  fingerprint bytea NOT NULL CHECK (length(fingerprint) = 32),
  labels jsonb NOT NULL CHECK (jsonb_typeof(labels) = 'object' AND labels ? '__name__'),
  first_t bigint NOT NULL,
  last_t bigint NOT NULL,
  seen_ms bigint NOT NULL,
  UNIQUE (tenant_id, fingerprint)
) WITH (fillfactor = 80);
CREATE INDEX metric_series_name ON metric_series (tenant_id, (labels ->> '__name__'));
CREATE INDEX metric_series_labels ON metric_series USING gin (labels jsonb_path_ops);

-- Every (name, value) pair some series of the tenant carries: regular
-- expression matchers are evaluated (RE2 semantics, in the application) against
-- these values and become equality sets.
CREATE TABLE metric_label_values (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  name text NOT NULL,
  value text NOT NULL,
  PRIMARY KEY (tenant_id, name, value)
);

-- Recent samples, one narrow row each; compaction moves them into chunks.
-- (series_id, t) is unique: a re-sent sample is stored once. No foreign key on
-- this hot append table (like audit_events): rows are written only inside a
-- tenant scope for series resolved in that scope.
CREATE TABLE metric_samples (
  tenant_id uuid NOT NULL,
  series_id bigint NOT NULL,
  t bigint NOT NULL,
  v bigint NOT NULL,
  PRIMARY KEY (series_id, t)
);

-- Compacted samples: Prometheus TSDB XOR chunks (2-byte big-endian sample count,
-- then delta-of-delta timestamps and XOR-encoded values). A chunk never crosses
-- a 2-hour window aligned on the epoch; chunks of a series never overlap.
CREATE TABLE metric_chunks (
  tenant_id uuid NOT NULL,
  series_id bigint NOT NULL,
  min_t bigint NOT NULL,
  max_t bigint NOT NULL CHECK (max_t >= min_t),
  data bytea NOT NULL,
  PRIMARY KEY (series_id, min_t)
);
CREATE INDEX metric_chunks_expiry ON metric_chunks (tenant_id, max_t);
-- The encoded data does not compress further: skip PostgreSQL's compression attempt.
ALTER TABLE metric_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['metric_series', 'metric_label_values', 'metric_samples', 'metric_chunks'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO probectl_app USING (tenant_id = probectl_tenant()) WITH CHECK (tenant_id = probectl_tenant())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT, DELETE ON metric_series TO probectl_app;
GRANT UPDATE (first_t, last_t, seen_ms) ON metric_series TO probectl_app;
DO $$
BEGIN
  EXECUTE format('GRANT USAGE ON SEQUENCE %s TO probectl_app', pg_get_serial_sequence('metric_series', 'series_id'));
END $$;
GRANT SELECT, INSERT, DELETE ON metric_label_values TO probectl_app;
GRANT SELECT, INSERT, DELETE ON metric_samples TO probectl_app;
GRANT SELECT, INSERT, DELETE ON metric_chunks TO probectl_app;
