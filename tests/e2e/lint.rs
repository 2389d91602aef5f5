//! `cargo migrate lint` on the files (static) and `up`'s checks before and
//! after it runs: the real binary, real files, a real database for what is
//! pending and applied.

use crate::harness::*;

fn rules(j: &serde_json::Value) -> Vec<(String, String, u64)> {
    j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = f["file"].as_str().unwrap();
            let short = file.rsplit('/').take(2).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("/");
            (f["rule"].as_str().unwrap().to_string(), short, f["line"].as_u64().unwrap())
        })
        .collect()
}

#[test]
fn lint_checks_the_pending_files_and_all_with_all() {
    let db = Db::new("lint_pending");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "items");
    p.cargo_migrate(&["up", "--no-lint"]).ok();
    p.migration(
        "20250102000000_index_items",
        "-- an index on a table that exists\nCREATE INDEX items_id ON items (id);\n",
        Some("DROP INDEX items_id;\n"),
    );
    let r = p.cargo_migrate(&["lint", "--format", "json"]).ok();
    let j = r.json();
    assert_eq!(j["checked"], "pending");
    assert_eq!(j["migrations"], 1);
    let found = rules(&j);
    assert_eq!(
        found,
        [
            ("create_index_not_concurrently".to_string(), "20250102000000_index_items/up.sql".to_string(), 2),
            ("missing_lock_timeout".into(), "20250102000000_index_items/up.sql".into(), 2),
        ]
    );
    let f = &j["findings"][0];
    assert_eq!((f["severity"].as_str(), f["column"].as_u64()), (Some("warn"), Some(1)));
    assert_eq!(f["statement"], "CREATE INDEX items_id ON items (id);");
    assert!(f["fix"].as_str().unwrap().contains("CONCURRENTLY"), "{f}");
    assert_eq!(j["summary"]["warnings"], 2);

    // Human: grouped by migration, file:line:col, why and fix, one summary line.
    let human = p.cargo_migrate(&["lint"]).ok().stdout;
    assert!(human.starts_with("20250102000000_index_items\n"), "{human}");
    assert!(
        human.contains("warning[create_index_not_concurrently] migrations/20250102000000_index_items/up.sql:2:1:"),
        "{human}"
    );
    assert!(human.contains("why:") && human.contains("fix:"), "{human}");
    assert!(
        human.trim_end().ends_with("1 pending migration(s) checked: 0 error(s), 2 warning(s), 0 info(s)"),
        "{human}"
    );
    // --fail-on warn turns warnings into a failing exit code.
    p.cargo_migrate(&["lint", "--fail-on", "warn"]).fails(1);

    // --all sees the applied one too (its table has no RLS), and needs no database.
    let j = p.cargo_migrate(&["lint", "--all", "--format", "json"]).ok().json();
    assert_eq!((j["checked"].as_str(), j["migrations"].as_u64()), (Some("all"), Some(2)));
    assert_eq!(rules(&j)[0], ("rls_disabled_in_public".into(), "20250101000000_create_items/up.sql".into(), 1));
    let mut offline = Project::bare("offline");
    offline.env = vec![("DATABASE_URL".into(), "postgres://nobody@127.0.0.1:1/none".into())];
    offline.table_migration("20250101000000", "items");
    let j = offline.cargo_migrate(&["lint", "--all", "--format", "json"]).ok().json();
    assert_eq!(j["migrations"], 1);
    let r = offline.cargo_migrate_json(&["lint"]).fails_with(1, "connect");
    assert!(r.hint().contains("cargo migrate lint --all"), "the way without a database: {}", r.stdout);
    p.cargo_migrate(&["up", "--no-lint"]).ok();
    let clean = p.cargo_migrate(&["lint"]).ok().stdout;
    assert_eq!(clean.trim(), "✓ nothing to check: no pending migration(s) (--all checks every migration)");
}

#[test]
fn the_tools_own_table_template_lints_clean() {
    let p = Project::bare("app");
    p.cargo_migrate(&["create", "add_notes", "--table", "notes", "--policy", "owner", "user_id", "--realtime"]).ok();
    p.cargo_migrate(&["create", "add_rooms", "--table", "rooms", "--policy", "read-all"]).ok();
    p.cargo_migrate(&["create", "add_tags", "--table", "tags", "--policy", "authenticated"]).ok();
    p.cargo_migrate(&["create", "add_logs", "--table", "logs"]).ok();
    // A plain template (comments only) has nothing to say either.
    p.cargo_migrate(&["create", "add_something"]).ok();
    let r = p.cargo_migrate(&["lint", "--all", "--fail-on", "warn"]).ok();
    assert_eq!(r.stdout, "✓ 5 migration(s) checked: no findings\n", "one line for a clean project");
    // Without RLS it is not clean, and says why.
    p.cargo_migrate(&["create", "add_open", "--table", "open", "--no-rls"]).ok();
    let j = p.cargo_migrate(&["lint", "--all", "--format", "json"]).ok().json();
    assert_eq!(rules(&j).iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["rls_disabled_in_public"]);
}

#[test]
fn up_stops_on_lint_errors_before_anything_runs() {
    let db = Db::new("lint_up_errors");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "items");
    p.migration(
        "20250102000000_definer",
        "CREATE FUNCTION public.api_key() RETURNS text LANGUAGE sql SET search_path = ''\n  AS $$ SELECT 'sb_secret_0123456789abcdefghij'::text $$;\n",
        Some("DROP FUNCTION public.api_key();\n"),
    );
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "lint_failed");
    assert!(r.hint().contains("--no-lint"), "{}", r.stdout);
    assert!(db.applied().is_empty() && !db.table_exists("items"), "nothing was applied");
    // `lint` says the same and fails, and so does `up --dry-run` (it would not send that SQL).
    let j = p.cargo_migrate_json(&["lint"]).fails(1).json();
    let errors: Vec<_> = rules(&j).into_iter().filter(|(rule, ..)| rule == "hardcoded_secret").collect();
    assert_eq!(errors, [("hardcoded_secret".into(), "20250102000000_definer/up.sql".into(), 2)], "{j}");
    p.cargo_migrate_json(&["up", "--dry-run"]).fails_with(1, "lint_failed");
    let r = p.cargo_migrate(&["up", "--dry-run", "--no-lint"]).ok();
    assert!(r.stdout.contains("public.api_key()"), "{}", r.stdout);

    // Silenced on the statement, it runs (and the warnings still show).
    p.migration(
        "20250102000000_definer",
        "-- migrate:ignore hardcoded_secret -- a test key\nCREATE FUNCTION public.api_key() RETURNS text LANGUAGE sql SET search_path = ''\n  AS $$ SELECT 'sb_secret_0123456789abcdefghij'::text $$;\n",
        Some("DROP FUNCTION public.api_key();\n"),
    );
    let r = p.cargo_migrate(&["up"]).ok();
    assert!(r.stderr.contains("warning[rls_disabled_in_public]"), "{}", r.stderr);
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    // After applying, the advisor's summary (items has no RLS).
    assert!(r.stderr.contains("advice:") && r.stderr.contains("rls_disabled_in_public"), "{}", r.stderr);
    assert!(r.stderr.contains("cargo migrate lint --database"), "{}", r.stderr);

    // --no-lint skips both.
    p.cargo_migrate(&["down", "--count", "2"]).ok();
    p.migration(
        "20250102000000_definer",
        "CREATE FUNCTION public.api_key() RETURNS text LANGUAGE sql SET search_path = ''\n  AS $$ SELECT 'sb_secret_0123456789abcdefghij'::text $$;\n",
        Some("DROP FUNCTION public.api_key();\n"),
    );
    let r = p.cargo_migrate(&["up", "--no-lint"]).ok();
    assert!(!r.stderr.contains("warning[") && !r.stderr.contains("advice:"), "{}", r.stderr);
    assert_eq!(db.applied().len(), 2);
}

#[test]
fn concurrently_in_a_transaction_names_the_metadata_file() {
    let db = Db::new("lint_concurrently");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_index",
        "SET lock_timeout = '5s';\nCREATE INDEX CONCURRENTLY i ON public.t (id);\n",
        Some("DROP INDEX CONCURRENTLY i;\n"),
    );
    p.cargo_migrate_json(&["up"]).fails_with(1, "lint_failed");
    let j = p.cargo_migrate_json(&["lint"]).fails(1).json();
    let finding = j["findings"].as_array().unwrap().iter().find(|f| f["rule"] == "concurrently_in_transaction");
    let fix = finding.and_then(|f| f["fix"].as_str()).unwrap_or_else(|| panic!("{j}"));
    assert!(fix.ends_with("migrations/20250101000000_index/metadata.toml"), "names the file to write: {fix}");
    p.write("migrations/20250101000000_index/metadata.toml", "run_in_transaction = false\n");
    let j = p.cargo_migrate(&["lint", "--all", "--format", "json"]).ok().json();
    assert_eq!(j["findings"].as_array().unwrap().len(), 0, "{j}");
}

#[test]
fn secrets_are_reported_masked_and_stop_up() {
    let db = Db::new("lint_secrets");
    let p = Project::new(&db);
    let secret = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";
    p.migration(
        "20250101000000_settings",
        &format!("CREATE TABLE private.settings (k text, v text);\nINSERT INTO private.settings VALUES ('key', '{secret}');\n"),
        Some("DROP TABLE private.settings;\n"),
    );
    for args in [
        &["lint", "--all"][..],
        &["lint", "--all", "--format", "json"],
        &["lint", "--all", "--format", "sarif"],
        &["up"],
    ] {
        let r = p.cargo_migrate(args).fails(1);
        assert!(!r.all().contains("N7UND0UgjKTVK"), "{args:?} shows the secret:\n{}", r.all());
        assert!(r.all().contains("hardcoded_secret"), "{args:?}:\n{}", r.all());
    }
    let j = p.cargo_migrate(&["lint", "--all", "--format", "json"]).fails(1).json();
    assert_eq!(j["findings"][0]["statement"], "INSERT INTO private.settings VALUES ('key', 'sb_secret_****');");
    assert_eq!((j["findings"][0]["line"].as_u64(), j["findings"][0]["column"].as_u64()), (Some(2), Some(46)));
    assert!(db.applied().is_empty());
}

#[test]
fn cargo_toml_configures_the_rules() {
    let p = Project::bare("app");
    p.migration("20250101000000_t", "CREATE TABLE t (id int);\n", Some("DROP TABLE t;\n"));
    p.migration("20250102000000_u", "CREATE TABLE u (at timestamp);\n", Some("SELECT 1;\n"));
    let found = |p: &Project| -> Vec<String> {
        let j = p.cargo_migrate(&["lint", "--all", "--format", "json"]).json();
        j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{}:{}", f["rule"].as_str().unwrap(), f["severity"].as_str().unwrap()))
            .collect()
    };
    assert_eq!(
        found(&p),
        [
            "rls_disabled_in_public:warn",
            "rls_disabled_in_public:warn",
            "down_does_not_undo:warn",
            "timestamp_without_time_zone:warn"
        ]
    );
    let manifest = "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n";
    p.write(
        "Cargo.toml",
        &format!("{manifest}[package.metadata.migrate.lint]\nignore = [\"timestamp_without_time_zone\"]\nseverity = {{ down_does_not_undo = \"error\" }}\nexposed_schemas = [\"api\"]\n"),
    );
    assert_eq!(found(&p), ["down_does_not_undo:error"]);
    p.cargo_migrate(&["lint", "--all"]).fails(1);
    // A misspelt rule is an error that names the rules.
    p.write("Cargo.toml", &format!("{manifest}[package.metadata.migrate.lint]\nignore = [\"timestamp_without_tz\"]\n"));
    let r = p.cargo_migrate_json(&["lint", "--all"]).fails_with(1, "bad_metadata");
    let error = r.json()["error"].to_string();
    assert!(error.contains("timestamp_without_tz") && error.contains("timestamp_without_time_zone"), "{error}");
}

#[test]
fn sarif_is_sarif_2_1_0_that_code_scanning_reads() {
    let p = Project::bare("app");
    p.migration(
        "20250101000000_mixed",
        "SET lock_timeout = '1s';\nALTER TABLE public.t ADD COLUMN a int NOT NULL;\nBEGIN;\nSELECT 1;\nCOMMIT;\n",
        Some("ALTER TABLE public.t DROP COLUMN a;\n"),
    );
    let r = p.cargo_migrate(&["lint", "--all", "--format", "sarif"]).ok();
    let s: serde_json::Value = serde_json::from_str(&r.stdout).expect("SARIF is JSON");
    assert_eq!(s["version"], "2.1.0");
    assert!(s["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &s["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "cargo-migrate");
    let rule_ids: Vec<&str> = driver["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut unique = rule_ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), rule_ids.len(), "rule ids are unique");
    for rule in driver["rules"].as_array().unwrap() {
        assert!(["error", "warning", "note"].contains(&rule["defaultConfiguration"]["level"].as_str().unwrap()));
        assert!(!rule["shortDescription"]["text"].as_str().unwrap().is_empty() && rule["help"]["text"].is_string());
    }
    let base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"].as_str().unwrap();
    assert!(base.starts_with("file:///") && base.ends_with('/'), "{base}");
    let results = run["results"].as_array().unwrap();
    let found: Vec<(&str, &str)> =
        results.iter().map(|r| (r["ruleId"].as_str().unwrap(), r["level"].as_str().unwrap())).collect();
    assert_eq!(found, [("add_column_not_null_without_default", "warning"), ("transaction_control", "note")]);
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rule_ids[index], result["ruleId"], "ruleIndex points at its rule");
        assert!(!result["message"]["text"].as_str().unwrap().is_empty());
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().unwrap();
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(!uri.starts_with('/') && p.root.join(uri).is_file(), "{uri} is relative to the root");
        let region = &location["region"];
        for key in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(region[key].as_u64().unwrap() >= 1, "{key} in {region}");
        }
        assert!(region["endLine"].as_u64() >= region["startLine"].as_u64());
    }
    assert_eq!(results[0]["locations"][0]["physicalLocation"]["region"]["startLine"], 2);
    // Only lint writes SARIF.
    let r = p.cargo_migrate(&["status", "--format", "sarif"]).fails(2);
    assert!(r.stderr.contains("--format sarif is for `cargo migrate lint`"), "{}", r.stderr);
}

#[test]
fn the_seeds_example_migrations_have_only_real_findings() {
    let p = Project::bare("app");
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/meeting-platform/migrations");
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        for file in std::fs::read_dir(entry.path()).unwrap() {
            let file = file.unwrap();
            let folder = entry.file_name().to_string_lossy().into_owned();
            let name = file.file_name().to_string_lossy().into_owned();
            p.write(&format!("migrations/{folder}/{name}"), &std::fs::read_to_string(file.path()).unwrap());
        }
    }
    let j = p.cargo_migrate(&["lint", "--all", "--format", "json"]).ok().json();
    let found: Vec<String> = rules(&j).into_iter().map(|(r, f, l)| format!("{}:{l} {r}", &f[..14])).collect();
    // Each is real: docs/example.md says why each stays in the example project.
    assert_eq!(
        found,
        [
            "20250615051828:47 function_search_path_mutable",
            "20250615051828:75 auth_rls_initplan",
            // A table-wide UPDATE in one transaction: [backfill] would batch it.
            "20250615053210:7 unbatched_update",
            "20250615053210:8 missing_lock_timeout",
            "20250615053210:9 constraint_without_not_valid",
            "20250615053210:10 unique_without_using_index",
            "20250615053210:11 unique_without_using_index",
            "20250619185326:10 missing_lock_timeout",
            "20250619185326:13 add_column_rewrites_table",
            "20250619185326:15 create_index_not_concurrently",
            "20250619185326:17 create_index_not_concurrently",
            "20250619185326:18 create_index_not_concurrently",
            "20250619185326:19 create_index_not_concurrently",
            "20250628125031:24 missing_lock_timeout",
            "20250628125031:24 constraint_without_not_valid",
            "20250628125031:28 create_index_not_concurrently",
            "20250628125031:55 auth_rls_initplan",
        ]
    );
    assert_eq!(j["summary"]["errors"], 0, "nothing in the example stops `up`");
}

/// Single files are checked where they are: a Supabase file at its own line,
/// a dbmate file's down section against its up section.
#[test]
fn single_file_layouts_are_linted_at_their_own_lines() {
    let p = Project::bare("app");
    p.write(
        "supabase/migrations/20240101000000_notes.sql",
        "-- notes\n\ncreate table public.notes (id int primary key);\n",
    );
    p.write(
        "supabase/migrations/20240102000000_index.sql",
        "create index concurrently notes_id on public.notes (id);\n",
    );
    let j = p.cargo_migrate(&["lint", "--all", "--format", "json"]).ok().json();
    let found = rules(&j);
    assert!(
        found.contains(&("rls_disabled_in_public".into(), "migrations/20240101000000_notes.sql".into(), 3)),
        "{found:?}"
    );
    // A Supabase file with CONCURRENTLY runs outside a transaction: nothing to report there.
    assert!(!found.iter().any(|f| f.0 == "concurrently_in_transaction"), "{found:?}");

    let q = Project::bare("app");
    q.write(
        "migrations/20240101000000_t.sql",
        "-- migrate:up\ncreate table t (id int primary key);\nalter table t enable row level security;\n\n-- migrate:down\nselect 1;\n",
    );
    let j = q.cargo_migrate(&["lint", "--all", "--format", "json"]).ok().json();
    let found = rules(&j);
    assert!(found.iter().any(|f| f.0 == "down_does_not_undo" && f.2 == 2), "{found:?}");
}

#[test]
fn lint_database_reports_what_supabase_advisor_would() {
    let p = Project::bare("app");
    p.migration(
        "20250101000000_careless",
        "CREATE TABLE open_table (id int PRIMARY KEY);\n\
         CREATE TABLE parent (id int PRIMARY KEY);\nALTER TABLE parent ENABLE ROW LEVEL SECURITY;\n\
         CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent);\nALTER TABLE child ENABLE ROW LEVEL SECURITY;\n\
         CREATE POLICY mine ON child FOR SELECT TO authenticated USING (parent_id::text = auth.uid()::text);\n\
         CREATE POLICY anyone_writes ON parent FOR UPDATE TO authenticated USING (true);\n\
         ALTER PUBLICATION supabase_realtime ADD TABLE open_table;\n\
         CREATE FUNCTION public.loose() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n\
         CREATE VIEW public.everything AS SELECT * FROM open_table;\n",
        Some("SELECT 1;"),
    );
    p.cargo_migrate(&["up"]).ok();
    let r = p.cargo_migrate(&["lint", "--database", "--format", "json"]).fails(1);
    let j = r.json();
    let rules: Vec<(String, String)> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["object"].as_str().unwrap().to_string()))
        .collect();
    for (rule, object) in [
        ("rls_disabled_in_public", "open_table"),
        ("unindexed_foreign_keys", "child"),
        ("auth_rls_initplan", "child"),
        ("rls_policy_always_true", "parent"),
        ("realtime_table_without_rls", "open_table"),
        ("function_search_path_mutable", "loose"),
        ("security_definer_view", "everything"),
    ] {
        assert!(rules.iter().any(|(r, o)| r == rule && o.contains(object)), "{rule} on {object} in {rules:?}");
    }
    let human = p.cargo_migrate(&["lint", "--database"]).fails(1);
    assert!(human.stdout.contains("error rls_disabled_in_public") && human.stdout.contains("fix:"), "{}", human.stdout);
    // The tool's own table pattern passes its own checks.
    let q = Project::bare("app2");
    q.cargo_migrate(&["create", "add_notes", "--table", "notes", "--policy", "owner", "user_id", "--realtime"]).ok();
    q.cargo_migrate(&["up"]).ok();
    let r = q.cargo_migrate(&["lint", "--database", "--fail-on", "warn", "--format", "json"]).ok();
    assert_eq!(r.json()["summary"]["warnings"], 0, "{}", r.stdout);
}
