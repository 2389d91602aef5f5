//! `cargo migrate up` on a terminal shows a progress line (`n/N`, the running
//! migration, its time, the statement count outside a transaction), redrawn in
//! place; with `--format json` on the same terminal there is none. Without a
//! terminal nothing of it exists: the snapshot tests of `up` (up.rs) pin that
//! output byte for byte.

use std::process::Stdio;

use crate::harness::*;

/// `cargo-migrate ARGS` on a pseudo-terminal (util-linux `script`, in every
/// Debian and Ubuntu base system): everything the terminal received.
fn on_a_terminal(p: &Project, args: &str) -> Run {
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-q", "-e", "-c", &format!("cargo-migrate {args}"), "/dev/null"]).current_dir(&p.root);
    p.environment(&mut cmd);
    cmd.env("TERM", "xterm");
    to_run(cmd.stdin(Stdio::null()).output().expect("run script (util-linux)"))
}

#[test]
fn up_on_a_terminal_shows_its_progress_and_json_does_not() {
    let db = Db::new("up_progress");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.migration(
        "20250102000000_slow",
        "CREATE TABLE slow (id int);\nSELECT pg_sleep(0.6);\n",
        Some("DROP TABLE slow;\n"),
    );
    p.migration(
        "20250103000000_outside",
        "SELECT pg_sleep(0.4);\nCREATE INDEX CONCURRENTLY slow_id ON slow (id);\nSELECT pg_sleep(0.4);\n",
        Some("DROP INDEX slow_id;\n"),
    );
    p.write("migrations/20250103000000_outside/metadata.toml", "run_in_transaction = false\n");
    p.table_migration("20250104000000", "d");
    let r = on_a_terminal(&p, "up --no-lint").ok();
    let screen = r.stdout;
    // The progress line, drawn while the slow ones ran, and cleared in place (\r, erase line).
    // The first two run in one round trip: the line names both, and counts to the second.
    assert!(screen.contains("2/4 20250101000000_create_a … 20250102000000_slow (2 together)"), "{screen:?}");
    assert!(screen.contains("3/4 20250103000000_outside"), "{screen:?}");
    assert!(screen.contains("(statement 1/3)") || screen.contains("(statement 2/3)"), "{screen:?}");
    assert!(screen.contains("\r\u{1b}[2K"), "{screen:?}");
    // The lines a run prints are all there, in order, and the summary last.
    let text = plain(&screen);
    let at: Vec<usize> =
        ["20250101000000_create_a", "20250102000000_slow", "20250103000000_outside", "20250104000000_create_d"]
            .iter()
            .map(|name| text.find(&format!("applied  {name}")).unwrap_or_else(|| panic!("{name}: {text}")))
            .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!(
        text.trim_end().ends_with("applied 4 migration(s) in") || text.contains("✓ applied 4 migration(s)"),
        "{text}"
    );
    assert_eq!(db.applied().len(), 4);

    // --format json on a terminal: the document alone, no progress.
    let r = on_a_terminal(&p, "down --all --format json").ok();
    assert!(!r.stdout.contains("/4 ") && !r.stdout.contains('\u{1b}'), "{:?}", r.stdout);
    let j: serde_json::Value = serde_json::from_str(&r.stdout.replace("\r\n", "\n")).expect("JSON");
    assert_eq!(j["migrations"].as_array().unwrap().len(), 4);
}

/// What the terminal shows as text: escape sequences and carriage returns left out.
fn plain(screen: &str) -> String {
    let mut out = String::new();
    let mut chars = screen.chars();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ parameters, then one letter.
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}
