CREATE INDEX CONCURRENTLY posts_account_idx ON posts (account_id);
