//! `cargo migrate check`: a git repository with a base branch and a feature
//! branch, checked by the very step of the shipped workflow (docs/ci/check.yml).

use std::path::Path;
use std::process::Command;

use crate::harness::*;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn workflow() -> serde_yaml_ng::Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci/check.yml")).unwrap();
    serde_yaml_ng::from_str(&text).expect("docs/ci/check.yml is YAML")
}

/// The workflow's `cargo migrate check` step, as the shell would run it on a
/// pull request into main.
fn check_step() -> String {
    let w = workflow();
    let steps = w["jobs"]["check"]["steps"].as_sequence().expect("jobs.check.steps");
    let run = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .find(|r| r.starts_with("cargo migrate check"))
        .expect("a step that runs cargo migrate check");
    run.replace("${{ github.base_ref }}", "main")
}

/// main with one migration, published as origin; a feature branch adding two.
fn repository(p: &Project) {
    p.table_migration("20250101000000", "first");
    p.write(".gitignore", "target/\n");
    git(&p.root, &["init", "-q"]);
    git(&p.root, &["add", "-A"]);
    git(&p.root, &["commit", "-qm", "base"]);
    let origin = p.root.join("target/origin.git");
    git(&p.root, &["clone", "-q", "--bare", ".", origin.to_str().unwrap()]);
    git(&p.root, &["remote", "add", "origin", origin.to_str().unwrap()]);
    git(&p.root, &["fetch", "-q", "origin"]);
    git(&p.root, &["remote", "set-head", "origin", "main"]);
    git(&p.root, &["checkout", "-qb", "feature"]);
    p.migration(
        "20250102000000_notes",
        "CREATE TABLE notes (id int PRIMARY KEY);\nALTER TABLE notes ENABLE ROW LEVEL SECURITY;\n",
        Some("DROP TABLE notes;\n"),
    );
    p.migration(
        "20250103000000_leaky",
        "ALTER TABLE first ADD COLUMN tag text;\n",
        Some("SELECT 1; -- forgets the column\n"),
    );
    git(&p.root, &["add", "-A"]);
    git(&p.root, &["commit", "-qm", "feature"]);
}

#[test]
fn the_workflow_step_checks_what_the_branch_adds() {
    let scratch = Db::new("check_scratch");
    let mut p = Project::bare("app");
    repository(&p);
    let summary = p.root.join("target/summary.md");
    std::fs::create_dir_all(summary.parent().unwrap()).unwrap();
    // The workflow's environment: the scratch server it names, and what GitHub sets.
    let w = workflow();
    assert!(w["jobs"]["check"]["env"]["MIGRATE_SCRATCH_URL"].is_string());
    assert!(w["jobs"]["check"]["steps"][0]["with"]["fetch-depth"] == 0);
    p.env.push(("MIGRATE_SCRATCH_URL".into(), scratch.url.clone()));
    p.env.push(("GITHUB_STEP_SUMMARY".into(), summary.display().to_string()));
    p.env.push(("CI".into(), "true".into()));

    let mut sh = Command::new("sh");
    sh.args(["-c", &check_step()]).current_dir(&p.root);
    p.environment(&mut sh);
    let r = to_run(sh.output().unwrap());
    assert_eq!(r.code, 1, "the leaky migration fails the check\n{}", r.all());

    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("| `20250102000000_notes` | added |"), "{md}");
    assert!(md.contains("| ❌ not reversible |"), "{md}");
    assert!(md.contains("left behind: column public.first.tag text"), "{md}");
    assert!(md.contains("- `CREATE TABLE notes (id int PRIMARY KEY)`"), "{md}");
    assert!(md.contains("INSERT INTO public.__diesel_schema_migrations"), "the SQL up would send\n{md}");
    assert!(!md.contains("20250101000000_first"), "the base's migration is not the branch's\n{md}");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.root.join("migrations.sarif")).unwrap()).unwrap();
    let uris: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap())
        .collect();
    assert!(uris.contains(&"migrations/20250103000000_leaky/up.sql"), "{uris:?}");

    // The same check in JSON, the base found by itself (origin/HEAD).
    let r = p.cargo_migrate_json(&["check"]).fails(1);
    let j = r.json();
    assert_eq!(j["base"], "origin/HEAD");
    assert_eq!(j["base_commit"], git(&p.root, &["rev-parse", "main"]));
    assert_eq!(j["error"]["kind"], "check_failed");
    let m = j["migrations"].as_array().unwrap();
    assert_eq!(m.len(), 2, "{j}");
    assert_eq!((m[0]["status"].as_str(), m[0]["verify"].as_str()), (Some("added"), Some("reversible")));
    assert_eq!((m[1]["status"].as_str(), m[1]["verify"].as_str()), (Some("added"), Some("not_reversible")));
    assert!(m[1]["findings"].as_array().unwrap().iter().any(|f| f["rule"] == "missing_lock_timeout"), "{j}");
    assert_eq!(m[1]["verify_details"][0], "left behind: column public.first.tag text");
    assert!(m[0]["sql"][0].as_str().unwrap().contains("CREATE TABLE notes"), "{j}");
    // Only scratch databases were used, and they are gone.
    let left = scratch.query("SELECT count(*) FROM pg_database WHERE datname LIKE 'cargo_migrate_verify_%'");
    assert_eq!(left, "0");

    // Report only.
    p.cargo_migrate_json(&["check", "--fail-on", "never"]).ok();

    // Fixed: it passes; an edit of main's migration is an error of its own.
    p.write("migrations/20250103000000_leaky/down.sql", "ALTER TABLE first DROP COLUMN tag;\n");
    p.write("migrations/20250101000000_create_first/up.sql", "CREATE TABLE first (id int PRIMARY KEY);\n");
    git(&p.root, &["commit", "-qam", "fix and edit"]);
    let j = p.cargo_migrate_json(&["check", "--base", "main"]).fails(1).json();
    let m = j["migrations"].as_array().unwrap();
    assert_eq!(m[0]["status"], "modified", "{j}");
    assert!(m[0]["findings"].as_array().unwrap().iter().any(|f| f["rule"] == "edited_migration"));
    assert_eq!(m[2]["verify"], "reversible");
    git(&p.root, &["checkout", "-q", "main", "--", "migrations/20250101000000_create_first"]);
    git(&p.root, &["commit", "-qm", "undo the edit"]);
    let j = p.cargo_migrate_json(&["check", "--base", "main"]).ok().json();
    assert_eq!(j["summary"]["errors"], 0, "{j}");
    // The leaky migration's table-less ALTER has no warning; --fail-on warning fails on any.
    let warnings = j["summary"]["warnings"].as_u64().unwrap();
    let code = p.cargo_migrate_json(&["check", "--base", "main", "--fail-on", "warning"]).code;
    assert_eq!(code, if warnings > 0 { 1 } else { 0 });

    // A base that does not exist.
    assert_eq!(p.cargo_migrate_json(&["check", "--base", "nope"]).fails(1).kind(), "git");
}

/// A project that keeps a schema file: the check runs `dump --check`, and a
/// branch that adds a migration without the file it makes fails.
#[test]
fn check_fails_while_the_committed_schema_file_is_stale() {
    let p = Project::bare("app");
    p.write(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.migrate]\nschema = \"db/schema.sql\"\n",
    );
    p.write(".gitignore", "target/\n");
    p.table_migration("20250101000000", "first");
    // `up` keeps the schema file.
    p.cargo_migrate(&["up"]).ok();
    assert!(std::fs::read_to_string(p.root.join("db/schema.sql")).unwrap().contains("CREATE TABLE public.first ("));
    git(&p.root, &["init", "-q"]);
    git(&p.root, &["add", "-A"]);
    git(&p.root, &["commit", "-qm", "base"]);
    git(&p.root, &["checkout", "-qb", "feature"]);
    p.table_migration("20250102000000", "second");
    git(&p.root, &["add", "-A"]);
    git(&p.root, &["commit", "-qm", "a migration, not the schema file it makes"]);

    let r = p.cargo_migrate_json(&["check", "--base", "main"]).fails(1);
    let j = r.json();
    assert_eq!(j["error"]["kind"], "check_failed", "{j}");
    assert_eq!(j["dump"]["file"], "db/schema.sql", "{j}");
    assert_eq!(j["dump"]["state"], "stale", "{j}");
    assert!(j["dump"]["diff"].as_str().unwrap().contains("+CREATE TABLE public.second ("), "{j}");
    assert_eq!(j["migrations"][0]["verify"], "reversible", "only the file is wrong: {j}");
    assert_eq!(j["summary"]["errors"], 1, "{j}");
    let summary = p.root.join("target/summary.md");
    p.cargo_migrate(&["check", "--base", "main", "--summary", summary.to_str().unwrap()]).fails(1);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("### Schema file `db/schema.sql`"), "{md}");
    assert!(md.contains("+CREATE TABLE public.second ("), "{md}");

    // The file brought up to date and committed: the check passes.
    p.cargo_migrate(&["up"]).ok();
    git(&p.root, &["commit", "-qam", "the schema file"]);
    let j = p.cargo_migrate_json(&["check", "--base", "main"]).ok().json();
    assert_eq!(j["dump"]["state"], "current", "{j}");
    assert_eq!(j["summary"]["errors"], 0, "{j}");
}
