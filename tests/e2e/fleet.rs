//! `--targets FILE` / `--group NAME`: one command on many databases of the
//! test server, each target's history read back from its own catalog.

use std::collections::BTreeMap;

use crate::harness::*;

/// Databases made for one test from templates, dropped when it ends.
struct Fleet {
    names: Vec<String>,
}

impl Fleet {
    fn admin() -> String {
        format!("{}/postgres", cluster().base_url)
    }

    /// `n` copies of `template` (a database of the cluster), named `<prefix>_<i>`.
    fn copies(&mut self, template: &str, prefix: &str, n: usize) -> Vec<String> {
        let names: Vec<String> = (0..n).map(|i| format!("{prefix}_{i}")).collect();
        let statements: Vec<String> = names
            .iter()
            .map(|d| format!("CREATE DATABASE \"{d}\" TEMPLATE \"{template}\" STRATEGY FILE_COPY"))
            .collect();
        let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
        try_psql_session(&Self::admin(), &refs).unwrap();
        self.names.extend(names.iter().cloned());
        names
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let statements: Vec<String> =
            self.names.iter().map(|d| format!("DROP DATABASE IF EXISTS \"{d}\" WITH (FORCE)")).collect();
        let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
        let _ = try_psql_session(&Self::admin(), &refs);
    }
}

fn url_of(db: &str) -> String {
    format!("{}/{db}", cluster().base_url)
}

fn versions(db: &str) -> Vec<String> {
    Db { url: url_of(db) }.applied()
}

const M1: &str = "20250101000000";
const M2: &str = "20250102000000";
const M3: &str = "20250103000000";

fn by_name(j: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    j["targets"].as_array().unwrap().iter().map(|t| (t["name"].as_str().unwrap().to_string(), t.clone())).collect()
}

/// 200 databases: 60 already migrated, 79 with one pending, 59 with all
/// pending, one where the last migration fails, and one that cannot be
/// reached (with a password, which is never shown). Every reachable target
/// ends migrated but the failing one, which keeps what applied before its
/// failure; a second run after the fix does only what was left there.
#[test]
fn up_on_200_databases_completes_the_others_when_one_fails_and_one_is_unreachable() {
    let template = Db::new("fleet_tpl");
    let p = Project::new(&template);
    p.table_migration(M1, "first");
    p.table_migration(M2, "second");
    let partly = Db::new("fleet_tpl_two");
    p.cargo_migrate(&["up", "--database-url", &partly.url]).ok();
    p.table_migration(M3, "third");
    let migrated = Db::new("fleet_tpl_all");
    p.cargo_migrate(&["up", "--database-url", &migrated.url]).ok();

    let id = run_id();
    let mut fleet = Fleet { names: Vec::new() };
    let done = fleet.copies(migrated.name(), &format!("fl{id}_done"), 60);
    let one = fleet.copies(partly.name(), &format!("fl{id}_one"), 79);
    let all = fleet.copies(template.name(), &format!("fl{id}_all"), 59);
    let failing = fleet.copies(template.name(), &format!("fl{id}_bad"), 1).remove(0);
    // `third` is there already: the third migration fails on it, after the first two applied.
    psql(&url_of(&failing), "CREATE TABLE third (id int)");
    let closed = free_port_for_test();
    let unreachable = format!("postgres://fleet:Sekr3tPW@127.0.0.1:{closed}/nowhere");

    let mut file = String::from("# the whole fleet\n\n");
    for d in done.iter().chain(&one).chain(&all) {
        file.push_str(&format!("{d}={}\n", url_of(d)));
    }
    file.push_str(&format!("bad=${{BAD_URL}}\ngone={unreachable}\n"));
    p.write("targets.txt", &file);
    let mut p = p;
    p.env.push(("BAD_URL".into(), url_of(&failing)));

    let r = p.cargo_migrate_json(&["up", "--targets", "targets.txt", "--connect-timeout", "2"]).fails(1);
    assert!(!r.all().contains("Sekr3tPW"), "{}", r.all());
    let j = r.json();
    assert_eq!(j["ok"], false);
    assert_eq!(j["error"]["kind"], "fleet_failed", "{j}");
    assert_eq!(j["summary"]["targets"], 200);
    assert_eq!(j["summary"]["completed"], 198);
    assert_eq!(j["summary"]["failed"], 2);
    assert_eq!(j["summary"]["migrations"], 79 + 59 * 3 + 2);
    let jobs = j["jobs"].as_u64().unwrap();
    assert!((1..=200).contains(&jobs), "{jobs}");
    let t = by_name(&j);
    assert_eq!(t["bad"]["state"], "failed");
    assert_eq!(t["bad"]["error"]["kind"], "migration_failed");
    assert_eq!(t["bad"]["migrations"].as_array().unwrap().len(), 2, "{}", t["bad"]);
    assert_eq!(t["gone"]["state"], "unreachable");
    assert_eq!(t["gone"]["error"]["kind"], "connect");
    assert_eq!(t["gone"]["database"], format!("postgres://fleet:****@127.0.0.1:{closed}/nowhere"));
    assert_eq!(t[&done[0]]["state"], "up_to_date");
    assert_eq!(t[&one[0]]["state"], "applied");
    assert_eq!(t[&all[0]]["migrations"].as_array().unwrap().len(), 3);
    for d in done.iter().chain(&one).chain(&all) {
        assert_eq!(versions(d), [M1, M2, M3], "{d}");
        assert_eq!(t[d]["applied"], 3, "{d}");
    }
    assert_eq!(versions(&failing), [M1, M2]);

    // Fixed, the same command does only what is left: one migration, on `bad`.
    psql(&url_of(&failing), "DROP TABLE third");
    let j = p.cargo_migrate_json(&["up", "--targets", "targets.txt", "--connect-timeout", "2"]).fails(1).json();
    assert_eq!(j["summary"]["migrations"], 1, "{j}");
    assert_eq!(j["summary"]["failed"], 1);
    assert_eq!(by_name(&j)["bad"]["state"], "applied");
    assert_eq!(versions(&failing), [M1, M2, M3]);
    // The human report names the failure, with the password masked.
    let r = p.cargo_migrate(&["up", "--targets", "targets.txt", "--connect-timeout", "2", "--jobs", "16"]).fails(1);
    assert!(!r.all().contains("Sekr3tPW"), "{}", r.all());
    assert!(r.all().contains("fleet:****@127.0.0.1"), "{}", r.all());

    // status: one row per target; --exit-code says 3 while a target has something pending.
    let reachable: String = file.lines().filter(|l| !l.starts_with("gone=")).map(|l| format!("{l}\n")).collect();
    p.write("reachable.txt", &reachable);
    let j = p.cargo_migrate_json(&["status", "--targets", "reachable.txt", "--exit-code"]).ok().json();
    assert_eq!(j["targets"].as_array().unwrap().len(), 199);
    assert!(j["targets"].as_array().unwrap().iter().all(|t| t["state"] == "up_to_date" && t["pending"] == 0));
    psql(&url_of(&one[3]), &format!("DELETE FROM __diesel_schema_migrations WHERE version = '{M3}'"));
    let j = p.cargo_migrate_json(&["status", "--targets", "reachable.txt", "--exit-code"]).fails(3).json();
    let t = by_name(&j);
    assert_eq!(t[&one[3]]["state"], "pending");
    assert_eq!(t[&one[3]]["pending"], 1);
    assert_eq!(t[&one[2]]["state"], "up_to_date");
}

/// `--fail-fast` starts no target after the first failure; `down` on a fleet
/// needs --yes; a group of Cargo.toml names its targets; --jobs is taken.
#[test]
fn fail_fast_groups_down_and_jobs() {
    let template = Db::new("fleet_ff_tpl");
    let p = Project::new(&template);
    p.table_migration(M1, "first");
    let id = run_id();
    let mut fleet = Fleet { names: Vec::new() };
    let dbs = fleet.copies(template.name(), &format!("ff{id}"), 4);
    psql(&url_of(&dbs[0]), "CREATE TABLE first (id int)");
    let file: String = dbs.iter().map(|d| format!("{}\n", url_of(d))).collect();
    p.write("targets.txt", &file);
    let j = p.cargo_migrate_json(&["up", "--targets", "targets.txt", "--jobs", "1", "--fail-fast"]).fails(1).json();
    assert_eq!(j["jobs"], 1);
    assert_eq!(j["summary"]["failed"], 1, "{j}");
    assert_eq!(j["summary"]["not_started"], 3, "{j}");
    assert!(dbs[1..].iter().all(|d| versions(d).is_empty()));

    // A group in Cargo.toml, its URLs from the environment.
    let mut p = p;
    p.env.push(("TENANT_B".into(), url_of(&dbs[2])));
    let manifest = std::fs::read_to_string(p.root.join("Cargo.toml")).unwrap();
    p.write(
        "Cargo.toml",
        &format!(
            "{manifest}\n[package.metadata.migrate.targets]\neu = [\"a={}\", \"b=${{TENANT_B}}\"]\nus = \"us.txt\"\n",
            url_of(&dbs[1])
        ),
    );
    p.write("us.txt", &format!("{}\n", url_of(&dbs[3])));
    let j = p.cargo_migrate_json(&["up", "--group", "eu", "--jobs", "4"]).ok().json();
    assert_eq!(j["jobs"], 2, "no more jobs than targets");
    assert_eq!(j["summary"]["migrations"], 2);
    assert_eq!(versions(&dbs[1]), [M1]);
    assert_eq!(versions(&dbs[2]), [M1]);
    assert!(versions(&dbs[3]).is_empty());
    p.cargo_migrate_json(&["up", "--group", "us"]).ok();
    assert_eq!(versions(&dbs[3]), [M1]);
    let r = p.cargo_migrate_json(&["up", "--group", "asia"]).fails(2);
    assert_eq!(r.kind(), "bad_targets");

    // down: not without --yes; with it, on each target.
    let r = p.cargo_migrate_json(&["down", "--group", "eu"]).fails(1);
    assert_eq!(r.kind(), "confirmation_needed");
    let j = p.cargo_migrate_json(&["down", "--group", "eu", "--yes"]).ok().json();
    assert!(j["targets"].as_array().unwrap().iter().all(|t| t["state"] == "reverted"), "{j}");
    assert!(versions(&dbs[1]).is_empty() && versions(&dbs[2]).is_empty());

    // A malformed targets file is refused before anything runs.
    p.write("bad.txt", "mysql://nope\n");
    assert_eq!(p.cargo_migrate_json(&["up", "--targets", "bad.txt"]).fails(2).kind(), "bad_targets");
    let r = p.cargo_migrate(&["up", "--targets", "targets.txt", "--database-url", &template.url]);
    assert_eq!(r.code, 2, "{}", r.all());
}

/// `verify` on a fleet verifies each target's pending migrations on scratch databases.
#[test]
fn verify_on_a_fleet() {
    let template = Db::new("fleet_verify_tpl");
    let p = Project::new(&template);
    p.table_migration(M1, "first");
    p.migration(&format!("{M2}_leaky"), "CREATE TABLE leaky (id int);\n", Some("SELECT 1;\n"));
    let id = run_id();
    let mut fleet = Fleet { names: Vec::new() };
    let dbs = fleet.copies(template.name(), &format!("fv{id}"), 2);
    p.write("targets.txt", &dbs.iter().map(|d| format!("{}\n", url_of(d))).collect::<String>());
    let scratch = Db::new("fleet_verify_scratch");
    let j = p
        .cargo_migrate_json(&["verify", "--targets", "targets.txt", "--scratch-url", &scratch.url, "--no-lint"])
        .fails(1)
        .json();
    assert!(j["targets"].as_array().unwrap().iter().all(|t| t["error"]["kind"] == "not_reversible"), "{j}");
    p.write(&format!("migrations/{M2}_leaky/down.sql"), "DROP TABLE leaky;\n");
    let j = p.cargo_migrate_json(&["verify", "--targets", "targets.txt", "--scratch-url", &scratch.url]).ok().json();
    assert!(j["targets"].as_array().unwrap().iter().all(|t| t["state"] == "verified"), "{j}");
    // Only read: nothing applied on the targets.
    assert!(dbs.iter().all(|d| versions(d).is_empty()));
}

fn free_port_for_test() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn shipped(file: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci").join(file)).unwrap()
}

/// docs/ci/fleet-matrix.yml: each `cargo migrate` step of the workflow, run
/// for each group of its matrix as the runner's shell would, against that
/// group's databases named in Cargo.toml.
#[test]
fn the_shipped_actions_matrix_runs_each_group() {
    let w: serde_yaml_ng::Value = serde_yaml_ng::from_str(&shipped("fleet-matrix.yml")).unwrap();
    let job = &w["jobs"]["migrate"];
    assert_eq!(job["strategy"]["fail-fast"], false);
    let groups: Vec<&str> =
        job["strategy"]["matrix"]["group"].as_sequence().unwrap().iter().map(|g| g.as_str().unwrap()).collect();
    let runs: Vec<&str> = job["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .filter(|r| r.starts_with("cargo migrate"))
        .collect();
    assert!(runs.len() >= 2, "{runs:?}");
    let template = Db::new("fleet_matrix_tpl");
    let mut p = Project::bare("app");
    p.table_migration(M1, "first");
    let mut fleet = Fleet { names: Vec::new() };
    let id = run_id();
    let mut metadata = String::from("\n[package.metadata.migrate.targets]\n");
    let mut dbs = Vec::new();
    for g in &groups {
        let names = fleet.copies(template.name(), &format!("fm{id}_{g}"), 2);
        let entries: Vec<String> = names
            .iter()
            .map(|d| format!("\"{d}=postgres://postgres:${{FLEET_PASSWORD}}@127.0.0.1:{}/{d}\"", cluster_port()))
            .collect();
        metadata.push_str(&format!("{g} = [{}]\n", entries.join(", ")));
        dbs.push(names);
    }
    let manifest = std::fs::read_to_string(p.root.join("Cargo.toml")).unwrap();
    p.write("Cargo.toml", &(manifest + &metadata));
    // The job's environment, the secrets given by the test.
    for (k, v) in job["env"].as_mapping().unwrap() {
        let (k, v) = (k.as_str().unwrap(), v.as_str().unwrap());
        let v = if v.contains("${{ secrets.") { "not-needed-with-trust" } else { v };
        p.env.push((k.into(), v.into()));
    }
    for (g, names) in groups.iter().zip(&dbs) {
        for run in &runs {
            let line = run.replace("${{ matrix.group }}", g);
            let mut sh = std::process::Command::new("sh");
            sh.args(["-c", &line]).current_dir(&p.root);
            p.environment(&mut sh);
            let r = to_run(sh.output().unwrap());
            assert_eq!(r.code, 0, "{line}\n{}", r.all());
            assert!(!r.all().contains("not-needed-with-trust"), "{}", r.all());
        }
        assert!(names.iter().all(|d| versions(d) == [M1]), "{g}");
    }
}

/// docs/ci/fleet-job.yaml: an Indexed Job whose completions are its
/// ConfigMap's targets files; each index's container command, run as the
/// kubelet would (index substituted, the mounts at temporary folders), on
/// targets files of the same names that point at the test server.
#[test]
fn the_shipped_kubernetes_indexed_job_runs_each_index() {
    use serde::Deserialize;
    let text = shipped("fleet-job.yaml");
    let docs: Vec<serde_yaml_ng::Value> =
        serde_yaml_ng::Deserializer::from_str(&text).map(|d| serde_yaml_ng::Value::deserialize(d).unwrap()).collect();
    let config = docs.iter().find(|d| d["kind"] == "ConfigMap").expect("a ConfigMap");
    let job = docs.iter().find(|d| d["kind"] == "Job").expect("a Job");
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let files = config["data"].as_mapping().unwrap();
    let completions = job["spec"]["completions"].as_u64().unwrap() as usize;
    assert_eq!(completions, files.len(), "one targets file per index");
    let pod = &job["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let command: Vec<&str> = container["command"].as_sequence().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(command, ["cargo-migrate"]);
    let args: Vec<&str> = container["args"].as_sequence().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let mount = container["volumeMounts"][0]["mountPath"].as_str().unwrap();
    assert_eq!(pod["volumes"][0]["configMap"]["name"], config["metadata"]["name"]);

    let template = Db::new("fleet_job_tpl");
    let mut p = Project::bare("app");
    p.table_migration(M1, "first");
    p.env.push(("FLEET_PASSWORD".into(), "pw".into()));
    // The ConfigMap's own files are valid targets files (their servers do not exist here).
    p.write("configmap/0.txt", files.values().next().unwrap().as_str().unwrap());
    let j = p.cargo_migrate_json(&["status", "--targets", "configmap/0.txt", "--connect-timeout", "1"]).fails(1).json();
    assert!(j["targets"].as_array().unwrap().iter().all(|t| t["state"] == "unreachable"), "{j}");

    let mut fleet = Fleet { names: Vec::new() };
    let id = run_id();
    let mut groups = Vec::new();
    for (i, name) in files.keys().enumerate() {
        let dbs = fleet.copies(template.name(), &format!("fj{id}_{i}"), 2);
        let lines: String = dbs.iter().map(|d| format!("{}\n", url_of(d))).collect();
        p.write(&format!("targets/{}", name.as_str().unwrap()), &lines);
        groups.push(dbs);
    }
    for (index, dbs) in groups.iter().enumerate() {
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                a.replace("$(JOB_COMPLETION_INDEX)", &index.to_string())
                    .replace("/app/migrations", p.root.join("migrations").to_str().unwrap())
                    .replace(mount, p.root.join("targets").to_str().unwrap())
            })
            .collect();
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = p.cargo_migrate(&refs);
        assert_eq!(r.code, 0, "index {index}: {refs:?}\n{}", r.all());
        assert!(dbs.iter().all(|d| versions(d) == [M1]), "index {index}");
    }
}
