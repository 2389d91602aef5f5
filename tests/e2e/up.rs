use crate::harness::*;

/// An up.sql with no statement is refused, saying what it holds: nothing,
/// only `;` and comments, or the untouched template.
#[test]
fn an_up_sql_without_a_statement_says_what_it_is() {
    let db = Db::new("up_no_statement");
    let p = Project::new(&db);
    for (up, says) in
        [("", "it is empty"), ("\n  \n", "it is empty"), (";;;\n-- later\n", "only comments and semicolons")]
    {
        p.migration("20250101000000_nothing", up, Some("SELECT 1;"));
        let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
        assert_eq!(r.json()["error"]["kind"], "empty_up", "{}", r.stdout);
        let r = p.cargo_migrate(&["up"]).fails(1);
        assert!(r.stderr.contains(says) && !r.stderr.contains("template"), "{up:?}: {}", r.stderr);
    }
    assert!(db.applied().is_empty());
}
