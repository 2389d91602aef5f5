//! The planner on hand-built catalogs.

use super::*;
use crate::db::catalog::*;

fn col(name: &str, ty: &str) -> Column {
    Column { name: name.into(), data_type: ty.into(), local: true, ..Default::default() }
}

fn table(cols: Vec<Column>) -> Table {
    Table { persistence: 'p', columns: cols, owner: "postgres".into(), ..Default::default() }
}

fn with_table(name: &str, t: Table) -> Catalog {
    let mut c = Catalog::default();
    c.schemas.insert("public".into(), Schema { owner: "pg_database_owner".into(), ..Default::default() });
    c.tables.insert(name.into(), t);
    c
}

fn sql(p: &Plan) -> Vec<String> {
    p.statements.iter().map(|s| s.sql.clone()).collect()
}

#[test]
fn equal_catalogs_plan_nothing() {
    let a = with_table("public.t", table(vec![col("id", "bigint")]));
    assert!(plan(&a, &a.clone(), &[]).is_empty());
}

#[test]
fn a_new_table_is_created_and_dropped_back() {
    let from = with_table("public.a", table(vec![col("id", "bigint")]));
    let mut to = from.clone();
    to.tables.insert("public.t".into(), table(vec![col("id", "bigint"), col("name", "text")]));
    let up = plan(&from, &to, &[]);
    assert_eq!(sql(&up), ["CREATE TABLE public.t (\n    id bigint,\n    name text\n);"]);
    assert!(up.hazards.is_empty());
    let down = plan(&to, &from, &[]);
    assert_eq!(sql(&down), ["DROP TABLE public.t;"]);
    assert!(down.destructive());
    assert_eq!(down.hazards[0].kind, HazardKind::DropsTable);
}

#[test]
fn a_dropped_column_is_a_hazard_and_a_same_typed_add_a_likely_rename() {
    let from = with_table("public.t", table(vec![col("id", "bigint"), col("name", "text")]));
    let to = with_table("public.t", table(vec![col("id", "bigint"), col("full_name", "text")]));
    let p = plan(&from, &to, &[]);
    assert!(p.destructive());
    let kinds: Vec<HazardKind> = p.hazards.iter().map(|h| h.kind).collect();
    assert_eq!(kinds, [HazardKind::DropsColumn, HazardKind::LikelyRename]);
    assert!(p.hazards[1].message.contains("--rename public.t.name:public.t.full_name"));
    // Said to be a rename: a rename, nothing lost.
    let renamed = plan(&from, &to, &[Rename { from: "public.t.name".into(), to: "public.t.full_name".into() }]);
    assert_eq!(sql(&renamed), ["ALTER TABLE public.t RENAME COLUMN name TO full_name;"]);
    assert!(renamed.hazards.is_empty());
}

#[test]
fn a_table_rename_carries_its_constraints() {
    let mut from = with_table("public.a", table(vec![col("id", "bigint")]));
    from.constraints.insert(
        "a_pkey on public.a".into(),
        Constraint {
            table: "public.a".into(),
            name: "a_pkey".into(),
            kind: 'p',
            definition: "PRIMARY KEY (id)".into(),
            comment: None,
        },
    );
    let mut to = with_table("public.b", table(vec![col("id", "bigint")]));
    to.constraints.insert(
        "a_pkey on public.b".into(),
        Constraint {
            table: "public.b".into(),
            name: "a_pkey".into(),
            kind: 'p',
            definition: "PRIMARY KEY (id)".into(),
            comment: None,
        },
    );
    let guessed = plan(&from, &to, &[]);
    assert!(guessed
        .hazards
        .iter()
        .any(|h| h.kind == HazardKind::LikelyRename && h.message.contains("--rename public.a:public.b")));
    let p = plan(&from, &to, &[Rename { from: "public.a".into(), to: "public.b".into() }]);
    assert_eq!(sql(&p), ["ALTER TABLE public.a RENAME TO b;"]);
}

#[test]
fn narrowing_is_a_hazard_widening_is_not() {
    let from = with_table("public.t", table(vec![col("n", "bigint"), col("s", "character varying(10)")]));
    let to = with_table("public.t", table(vec![col("n", "integer"), col("s", "text")]));
    let p = plan(&from, &to, &[]);
    let narrowing: Vec<&Hazard> = p.hazards.iter().filter(|h| h.kind == HazardKind::NarrowsType).collect();
    assert_eq!(narrowing.len(), 1);
    assert_eq!(narrowing[0].object, "public.t.n");
    assert!(tables::widens("character varying(10)", "character varying(20)"));
    assert!(!tables::widens("character varying(20)", "character varying(10)"));
    assert!(tables::widens("numeric(10,2)", "numeric(12,2)"));
    assert!(!tables::widens("text", "integer"));
}

#[test]
fn an_index_on_an_existing_table_warns_about_the_lock() {
    let from = with_table("public.t", table(vec![col("id", "bigint")]));
    let mut to = from.clone();
    to.indexes.insert(
        "public.t_id".into(),
        Index {
            table: "public.t".into(),
            definition: "CREATE INDEX t_id ON public.t USING btree (id)".into(),
            comment: None,
        },
    );
    let p = plan(&from, &to, &[]);
    assert_eq!(p.hazards[0].kind, HazardKind::IndexLocksTable);
    assert!(!p.destructive());
    // On a new table there is nothing to lock.
    let fresh = plan(&Catalog::default(), &to, &[]);
    assert!(fresh.hazards.iter().all(|h| h.kind != HazardKind::IndexLocksTable));
}

#[test]
fn creates_follow_dependencies_and_drops_reverse_them() {
    let mut to = with_table("public.t", table(vec![col("id", "bigint")]));
    let view = |def: &str| View {
        materialized: false,
        definition: def.into(),
        options: vec![],
        columns: vec![("id".into(), "bigint".into())],
        owner: "postgres".into(),
        comment: None,
        acl: Acl::new(),
    };
    to.views.insert("public.a".into(), view(" SELECT id FROM public.b;"));
    to.views.insert("public.b".into(), view(" SELECT id FROM public.t;"));
    to.depends.insert(("view public.a".into(), "view public.b".into()));
    to.depends.insert(("view public.b".into(), "table public.t".into()));
    let up = sql(&plan(&Catalog::default(), &to, &[]));
    let at = |s: &str| up.iter().position(|x| x.starts_with(s)).unwrap_or_else(|| panic!("{s} in {up:?}"));
    assert!(at("CREATE SCHEMA public") < at("CREATE TABLE public.t"));
    assert!(at("CREATE TABLE public.t") < at("CREATE VIEW public.b"));
    assert!(at("CREATE VIEW public.b") < at("CREATE VIEW public.a"));
    let down = sql(&plan(&to, &Catalog::default(), &[]));
    let at = |s: &str| down.iter().position(|x| x.starts_with(s)).unwrap_or_else(|| panic!("{s} in {down:?}"));
    assert!(at("DROP VIEW public.a") < at("DROP VIEW public.b"));
    assert!(at("DROP VIEW public.b") < at("DROP TABLE public.t"));
    assert!(at("DROP TABLE public.t") < at("DROP SCHEMA public"));
}

#[test]
fn a_column_type_change_recreates_the_views_on_it() {
    let mut from = with_table("public.t", table(vec![col("n", "integer")]));
    from.views.insert(
        "public.v".into(),
        View {
            materialized: false,
            definition: " SELECT n FROM public.t;".into(),
            options: vec![],
            columns: vec![("n".into(), "integer".into())],
            owner: "postgres".into(),
            comment: None,
            acl: Acl::new(),
        },
    );
    from.depends.insert(("view public.v".into(), "table public.t".into()));
    let mut to = from.clone();
    to.tables.get_mut("public.t").unwrap().columns[0].data_type = "bigint".into();
    to.views.get_mut("public.v").unwrap().columns[0].1 = "bigint".into();
    let p = sql(&plan(&from, &to, &[]));
    assert_eq!(p[0], "DROP VIEW public.v;");
    assert_eq!(p[1], "ALTER TABLE public.t ALTER COLUMN n TYPE bigint USING n::bigint;");
    assert!(p[2].starts_with("CREATE VIEW public.v"));
}

#[test]
fn enum_values_are_added_in_place_and_removed_by_rebuilding() {
    let mut from = Catalog::default();
    let e = |labels: &[&str]| Type {
        kind: TypeKind::Enum(labels.iter().map(|l| l.to_string()).collect()),
        owner: "postgres".into(),
        comment: None,
    };
    from.types.insert("public.mood".into(), e(&["sad", "happy"]));
    let mut to = from.clone();
    to.types.insert("public.mood".into(), e(&["sad", "ok", "happy"]));
    assert_eq!(sql(&plan(&from, &to, &[])), ["ALTER TYPE public.mood ADD VALUE E'ok' AFTER E'sad';"]);
    let back = plan(&to, &from, &[]);
    assert_eq!(back.hazards[0].kind, HazardKind::DropsEnumValue);
    assert!(back.destructive());
    assert!(sql(&back)[0].starts_with("ALTER TYPE public.mood RENAME TO"));
}

#[test]
fn grants_policies_and_rls_both_ways() {
    let mut from = with_table("public.t", table(vec![col("id", "bigint")]));
    from.tables.get_mut("public.t").unwrap().acl.insert(Grant {
        grantee: "postgres".into(),
        privilege: "SELECT".into(),
        grantable: false,
    });
    let mut to = from.clone();
    {
        let t = to.tables.get_mut("public.t").unwrap();
        t.rls = true;
        t.acl.insert(Grant { grantee: "anon".into(), privilege: "SELECT".into(), grantable: false });
        t.columns[0].acl.insert(Grant {
            grantee: "authenticated".into(),
            privilege: "UPDATE".into(),
            grantable: false,
        });
    }
    to.policies.insert(
        "p on public.t".into(),
        Policy {
            table: "public.t".into(),
            name: "p".into(),
            permissive: true,
            command: "SELECT".into(),
            roles: vec!["anon".into()],
            using: Some("true".into()),
            with_check: None,
            comment: None,
        },
    );
    let up = sql(&plan(&from, &to, &[]));
    assert!(up.contains(&"GRANT UPDATE (id) ON TABLE public.t TO authenticated;".to_string()), "{up:?}");
    assert!(up.contains(&"GRANT SELECT ON TABLE public.t TO anon;".to_string()), "{up:?}");
    assert!(up.contains(&"ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;".to_string()), "{up:?}");
    assert!(
        up.contains(&"CREATE POLICY p ON public.t AS PERMISSIVE FOR SELECT TO anon USING (true);".to_string()),
        "{up:?}"
    );
    let down = sql(&plan(&to, &from, &[]));
    assert!(down.contains(&"DROP POLICY p ON public.t;".to_string()), "{down:?}");
    assert!(down.contains(&"REVOKE SELECT ON TABLE public.t FROM anon;".to_string()), "{down:?}");
    assert!(down.contains(&"ALTER TABLE public.t DISABLE ROW LEVEL SECURITY;".to_string()), "{down:?}");
}

#[test]
fn a_dropped_table_takes_its_dependents_along() {
    let mut from = with_table("public.t", table(vec![col("id", "bigint")]));
    from.constraints.insert(
        "t_pkey on public.t".into(),
        Constraint {
            table: "public.t".into(),
            name: "t_pkey".into(),
            kind: 'p',
            definition: "PRIMARY KEY (id)".into(),
            comment: None,
        },
    );
    from.sequences.insert(
        "public.t_id_seq".into(),
        Sequence { owned_by: Some(("public.t".into(), "id".into())), data_type: "bigint".into(), ..Default::default() },
    );
    let mut to = from.clone();
    to.tables.clear();
    to.constraints.clear();
    to.sequences.clear();
    assert_eq!(sql(&plan(&from, &to, &[])), ["DROP TABLE public.t;"]);
}

#[test]
fn qualified_names_split_outside_quotes() {
    assert_eq!(split_last("public.\"a.b\""), Some(("public", "\"a.b\"")));
    assert_eq!(split_last("public.t.c"), Some(("public.t", "c")));
}

fn default_privilege(
    role: &str,
    schema: Option<&str>,
    objects: &str,
    grantee: &str,
    privilege: &str,
) -> DefaultPrivilege {
    DefaultPrivilege {
        role: role.into(),
        schema: schema.map(Into::into),
        objects: objects.into(),
        grant: Grant { grantee: grantee.into(), privilege: privilege.into(), grantable: false },
    }
}

/// `ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC` leaves a
/// global entry holding only the owner's own privilege (basejump's first
/// migration): the change is the revoke from PUBLIC, not a grant to the owner.
#[test]
fn a_global_default_entry_is_compared_with_postgresqls_built_in_defaults() {
    let from = Catalog::default();
    let mut to = Catalog::default();
    to.default_privileges.insert(default_privilege("postgres", None, "FUNCTIONS", "postgres", "EXECUTE"));
    to.default_privileges.insert(default_privilege("postgres", Some("public"), "FUNCTIONS", "anon", "EXECUTE"));
    assert_eq!(
        sql(&plan(&from, &to, &[])),
        [
            "ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;",
            "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO anon;",
        ]
    );
    assert_eq!(
        sql(&plan(&to, &from, &[])),
        [
            "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public REVOKE EXECUTE ON FUNCTIONS FROM anon;",
            "ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT EXECUTE ON FUNCTIONS TO PUBLIC;",
        ]
    );
    // A global entry on tables holds the owner's privileges only: nothing to say.
    let mut tables = Catalog::default();
    tables.default_privileges.insert(default_privilege("postgres", None, "TABLES", "postgres", "SELECT"));
    assert!(plan(&from, &tables, &[]).is_empty());
}

/// A default privilege the declared schema drops is revoked before the
/// migration creates anything, so a new function gets none of it: what it
/// should have (basejump's functions for `authenticated`) is granted.
#[test]
fn a_new_objects_grants_count_with_the_default_privileges_in_force_when_it_is_made() {
    let mut from = Catalog::default();
    from.default_privileges.insert(default_privilege(
        "postgres",
        Some("public"),
        "FUNCTIONS",
        "authenticated",
        "EXECUTE",
    ));
    let mut to = Catalog::default();
    let grant = |grantee: &str| Grant { grantee: grantee.into(), privilege: "EXECUTE".into(), grantable: false };
    to.functions.insert(
        "public.f()".into(),
        Function {
            procedure: false,
            definition: "CREATE OR REPLACE FUNCTION public.f()\n RETURNS int\n LANGUAGE sql\nAS $function$ SELECT 1 $function$\n"
                .into(),
            arguments: String::new(),
            result: Some("integer".into()),
            owner: "postgres".into(),
            comment: None,
            acl: [grant("postgres"), grant("authenticated")].into(),
        },
    );
    let up = sql(&plan(&from, &to, &[]));
    let revoke = up.iter().position(|s| s.contains("REVOKE EXECUTE ON FUNCTIONS FROM authenticated")).expect("revoked");
    let create = up.iter().position(|s| s.starts_with("CREATE OR REPLACE FUNCTION public.f()")).expect("created");
    assert!(revoke < create, "{up:?}");
    assert!(up.contains(&"GRANT EXECUTE ON FUNCTION public.f() TO authenticated;".to_string()), "{up:?}");
    assert!(up.contains(&"REVOKE EXECUTE ON FUNCTION public.f() FROM PUBLIC;".to_string()), "{up:?}");
}
