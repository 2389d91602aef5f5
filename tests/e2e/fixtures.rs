//! The same small schema written in each other tool's layout: accounts,
//! posts referencing them, an index built CONCURRENTLY where the layout can
//! say "no transaction", and a SQL function whose body has a `;` and needs
//! `posts` to exist (so running it out of order fails). What each layout
//! must produce, in place or after `import`, is `schema(db)` == `SCHEMA`.

use crate::harness::*;

const ACCOUNTS: &str = "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n";
const POSTS: &str =
    "CREATE TABLE posts (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, title text);\n";
const INDEX: &str = "CREATE INDEX CONCURRENTLY posts_account_idx ON posts (account_id);\n";
const INDEX_IN_TX: &str = "CREATE INDEX posts_account_idx ON posts (account_id);\n";
const FUNCTION: &str =
    "CREATE FUNCTION post_count(a bigint) RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM posts WHERE account_id = a; $$;\n";

/// Columns, indexes and the function, as one comparable text.
pub const SCHEMA: &str = "accounts.id,accounts.email,posts.id,posts.account_id,posts.title|accounts_pkey,posts_account_idx,posts_pkey|post_count";

pub fn schema(db: &Db) -> String {
    db.query(
        "SELECT (SELECT string_agg(table_name || '.' || column_name, ',' ORDER BY table_name, ordinal_position)
                   FROM information_schema.columns WHERE table_schema = 'public' AND table_name IN ('accounts', 'posts'))
           || '|' || (SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes
                        WHERE schemaname = 'public' AND tablename IN ('accounts', 'posts'))
           || '|' || coalesce((SELECT proname::text FROM pg_proc WHERE proname = 'post_count'), '')",
    )
}

/// Nothing of the fixture's schema is left.
pub fn is_empty_schema(db: &Db) -> bool {
    !db.table_exists("accounts") && !db.table_exists("posts")
}

pub fn sqlx(p: &Project, dir: &str) {
    let w = |f: &str, t: &str| p.write(&format!("{dir}/{f}"), t);
    w("20240101000000_create_accounts.up.sql", ACCOUNTS);
    w("20240101000000_create_accounts.down.sql", "DROP TABLE accounts;\n");
    w("20240102000000_create_posts.up.sql", POSTS);
    w("20240102000000_create_posts.down.sql", "DROP TABLE posts;\n");
    w("20240103000000_index_posts.up.sql", &format!("-- no-transaction\n{INDEX}"));
    w("20240103000000_index_posts.down.sql", "-- no-transaction\nDROP INDEX CONCURRENTLY posts_account_idx;\n");
    w("20240104000000_post_count.up.sql", FUNCTION);
    w("20240104000000_post_count.down.sql", "DROP FUNCTION post_count(bigint);\n");
}

pub fn golang_migrate(p: &Project, dir: &str) {
    let w = |f: &str, t: &str| p.write(&format!("{dir}/{f}"), t);
    w("000001_create_accounts.up.sql", ACCOUNTS);
    w("000001_create_accounts.down.sql", "DROP TABLE IF EXISTS accounts;\n");
    w("000002_create_posts.up.sql", POSTS);
    w("000002_create_posts.down.sql", "DROP TABLE IF EXISTS posts;\n");
    w("000003_index_posts.up.sql", INDEX);
    w("000003_index_posts.down.sql", "DROP INDEX CONCURRENTLY IF EXISTS posts_account_idx;\n");
    w("000004_post_count.up.sql", FUNCTION);
    w("000004_post_count.down.sql", "DROP FUNCTION IF EXISTS post_count(bigint);\n");
}

/// refinery: up-only, and `V10` after `V3` (as numbers, not text).
pub fn refinery(p: &Project, dir: &str) {
    let w = |f: &str, t: &str| p.write(&format!("{dir}/{f}"), t);
    w("V1__create_accounts.sql", ACCOUNTS);
    w("V2__create_posts.sql", POSTS);
    w("V3__index_posts.sql", INDEX_IN_TX);
    w("V10__post_count.sql", FUNCTION);
}

/// Flyway: the same, with undo files.
pub fn flyway(p: &Project, dir: &str) {
    refinery(p, dir);
    let w = |f: &str, t: &str| p.write(&format!("{dir}/{f}"), t);
    w("U1__create_accounts.sql", "DROP TABLE accounts;\n");
    w("U2__create_posts.sql", "DROP TABLE posts;\n");
    w("U3__index_posts.sql", "DROP INDEX posts_account_idx;\n");
    w("U10__post_count.sql", "DROP FUNCTION post_count(bigint);\n");
}

pub fn goose(p: &Project, dir: &str) {
    let w = |f: &str, t: &str| p.write(&format!("{dir}/{f}"), t);
    w("00001_create_accounts.sql", &format!("-- +goose Up\n{ACCOUNTS}\n-- +goose Down\nDROP TABLE accounts;\n"));
    w("00002_create_posts.sql", &format!("-- +goose Up\n{POSTS}\n-- +goose Down\nDROP TABLE posts;\n"));
    w(
        "00003_index_posts.sql",
        &format!("-- +goose NO TRANSACTION\n-- +goose Up\n{INDEX}\n-- +goose Down\nDROP INDEX CONCURRENTLY posts_account_idx;\n"),
    );
    w(
        "00004_post_count.sql",
        &format!(
            "-- +goose Up\n-- +goose StatementBegin\n{FUNCTION}-- +goose StatementEnd\n\n-- +goose Down\n-- +goose StatementBegin\nDROP FUNCTION post_count(bigint);\n-- +goose StatementEnd\n"
        ),
    );
}

/// Prisma: folders of `migration.sql`, up-only, beside migration_lock.toml.
pub fn prisma(p: &Project, dir: &str) {
    let w = |f: &str, t: &str| p.write(&format!("{dir}/{f}"), t);
    w("migration_lock.toml", "provider = \"postgresql\"\n");
    w("20240101000000_create_accounts/migration.sql", &format!("-- CreateTable\n{ACCOUNTS}"));
    w("20240102000000_create_posts/migration.sql", POSTS);
    w("20240103000000_index_posts/migration.sql", INDEX_IN_TX);
    w("20240104000000_post_count/migration.sql", FUNCTION);
}
