-- The newest sample's value of each compacted chunk (the IEEE-754 bits as int8,
-- like metric_samples.v), so the latest sample of a series — federation and
-- instant queries — is read without decoding its chunk: (max_t, last_v).
-- NULL for chunks written before this column existed (those are decoded).
ALTER TABLE metric_chunks ADD COLUMN last_v bigint;
