-- Encryption at rest (docs/encryption.md): the sensitive payloads become bytea
-- holding an AES-256-GCM envelope (src/core/envelope.ts) sealed with
-- PROBECTL_ENCRYPTION_KEY, bound to table, column, tenant and row.
--
-- A migration has no key, so the rows already stored keep their text as UTF-8
-- bytes: PostgreSQL text never holds NUL and every envelope starts with 0x00,
-- so old rows are told apart and still read; `probectl keys rotate` seals them.
-- Row-level security, policies and column grants are unchanged by a type change;
-- the rotation re-seals every column in place, so probectl_app may update them.

ALTER TABLE delivery_parked
  ALTER COLUMN reason TYPE bytea USING convert_to(reason, 'UTF8'),
  ALTER COLUMN response DROP DEFAULT,
  ALTER COLUMN response TYPE bytea USING convert_to(response, 'UTF8');

ALTER TABLE notify_outbox
  ALTER COLUMN incident TYPE bytea USING convert_to(incident::text, 'UTF8'),
  ALTER COLUMN detail TYPE bytea USING convert_to(detail::text, 'UTF8'),
  ALTER COLUMN reason TYPE bytea USING convert_to(reason, 'UTF8');
GRANT UPDATE (incident, detail) ON notify_outbox TO probectl_app;

ALTER TABLE notify_links
  ALTER COLUMN ref_data TYPE bytea USING convert_to(ref_data::text, 'UTF8'),
  ALTER COLUMN failure TYPE bytea USING convert_to(failure, 'UTF8');
