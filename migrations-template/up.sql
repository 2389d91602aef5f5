-- {{title}}
--
-- What this migration does:
-- - 
--
-- It runs in one transaction: if any statement fails, none of it is applied.
-- A statement that cannot run in a transaction (CREATE INDEX CONCURRENTLY)
-- needs a metadata.toml beside this file with `run_in_transaction = false`.
-- On Supabase, every new table gets `ALTER TABLE ... ENABLE ROW LEVEL SECURITY;`.

