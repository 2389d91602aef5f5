-- Built without blocking writes: CONCURRENTLY cannot run in a transaction,
-- so metadata.toml opts this migration out of one.
CREATE INDEX CONCURRENTLY IF NOT EXISTS meetings_starts_at_idx ON meetings (starts_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS meetings_title_idx ON meetings (lower(title));
