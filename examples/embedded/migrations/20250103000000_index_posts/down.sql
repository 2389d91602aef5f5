DROP INDEX CONCURRENTLY posts_account_idx;
