//! `create --table`: the usual Supabase table (uuid id, timestamps, an updated_at trigger, row level security) as up.sql and its exact reverse
//! as down.sql. RLS is always on unless `--no-rls` says otherwise.

use crate::error::{Error, Kind, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// No policy: with RLS on, only service_role (and the owner) can read or write.
    None,
    /// Everyone, signed in or not, may read.
    ReadAll,
    /// Signed-in users may read and write every row.
    Authenticated,
    /// Signed-in users read and write the rows whose column holds their id.
    Owner(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub table: String,
    pub rls: bool,
    pub policy: Policy,
    pub realtime: bool,
}

/// Parse `--policy read-all | authenticated | owner [COLUMN]`.
pub fn policy(args: Option<&[String]>) -> Result<Policy> {
    let Some(args) = args else { return Ok(Policy::None) };
    match args {
        [p] if p == "read-all" => Ok(Policy::ReadAll),
        [p] if p == "authenticated" => Ok(Policy::Authenticated),
        [p] if p == "owner" => Ok(Policy::Owner("user_id".into())),
        [p, column] if p == "owner" => {
            let column = identifier(column, "owner column")?;
            if PATTERN_COLUMNS.contains(&column.as_str()) {
                // Reusing it cannot work either: `id` is the row's own key and
                // the timestamps are not user ids.
                return Err(Error::new(
                    Kind::BadPolicy,
                    format!("the owner column cannot be `{column}`: the table pattern has its own `{column}` column"),
                )
                .hint("name the column that holds the owner's user id, e.g. --policy owner user_id"));
            }
            Ok(Policy::Owner(column))
        }
        _ => Err(Error::new(Kind::BadPolicy, format!("unknown policy `{}`", args.join(" ")))
            .hint("use --policy read-all, --policy authenticated or --policy owner <column>")),
    }
}

/// The columns `render` writes into every table.
const PATTERN_COLUMNS: &[&str] = &["id", "created_at", "updated_at"];

/// PostgreSQL's reserved key words (also those reserved except as a function
/// or type name): unquoted, none of them can name a table or column.
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// PostgreSQL's identifier limit, in bytes: longer names are cut silently.
const MAX_IDENT: usize = 63;

/// A lower snake_case SQL identifier that is not a reserved word.
pub fn identifier(name: &str, what: &str) -> Result<String> {
    let shape = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !shape {
        return Err(Error::new(Kind::BadIdentifier, format!("invalid {what} `{}`", crate::show::clean(name)))
            .hint("use lower snake_case, e.g. `meeting_participants`"));
    }
    if RESERVED.contains(&name) {
        return Err(Error::new(Kind::BadIdentifier, format!("the {what} `{name}` is a reserved word in PostgreSQL"))
            .hint(format!("choose another name, e.g. `{name}s` or `app_{name}`")));
    }
    if name.len() > MAX_IDENT {
        return Err(Error::new(
            Kind::BadIdentifier,
            format!("the {what} `{name}` is longer than {MAX_IDENT} characters"),
        )
        .hint("PostgreSQL would cut it silently: choose a shorter name"));
    }
    Ok(name.to_string())
}

impl TableSpec {
    /// Every name the pattern derives from the table's (trigger function,
    /// index, policy) must fit PostgreSQL's limit too, or up.sql and down.sql
    /// would disagree about what they name.
    pub fn check(&self) -> Result<()> {
        let longest = derived_names(self).into_iter().max_by_key(|n| n.len()).unwrap_or_default();
        if longest.len() > MAX_IDENT {
            let spare = longest.len() - MAX_IDENT;
            return Err(Error::new(
                Kind::BadIdentifier,
                format!("the table name `{}` is too long for the names made from it (`{longest}` has {} characters, the limit is {MAX_IDENT})", self.table, longest.len()),
            )
            .hint(format!("shorten the table (or owner column) name by at least {spare} characters")));
        }
        Ok(())
    }
}

fn derived_names(spec: &TableSpec) -> Vec<String> {
    let t = &spec.table;
    let mut names = vec![format!("{t}_set_updated_at")];
    if let Policy::Owner(c) = &spec.policy {
        names.push(format!("{t}_{c}_idx"));
    }
    if spec.rls {
        if let Some((name, _)) = policy_sql(spec) {
            names.push(name);
        }
    }
    names
}

fn policy_sql(spec: &TableSpec) -> Option<(String, String)> {
    let t = &spec.table;
    match &spec.policy {
        Policy::None => None,
        Policy::ReadAll => Some((
            format!("{t} are readable by everyone"),
            "FOR SELECT TO anon, authenticated USING (true)".to_string(),
        )),
        Policy::Authenticated => Some((
            format!("signed-in users manage {t}"),
            "FOR ALL TO authenticated USING (true) WITH CHECK (true)".to_string(),
        )),
        // `(select auth.uid())` is evaluated once per statement, not once per row.
        Policy::Owner(c) => Some((
            format!("owners manage their {t}"),
            format!(
                "FOR ALL TO authenticated USING ({c} = (select auth.uid())) WITH CHECK ({c} = (select auth.uid()))"
            ),
        )),
    }
}

/// (up.sql, down.sql) for the table; `header` goes on top of up.sql.
pub fn render(spec: &TableSpec, header: &str) -> (String, String) {
    let t = &spec.table;
    let f = format!("{t}_set_updated_at");
    let mut up = format!("{header}\n");
    let mut down = Vec::new();
    let owner_col = match &spec.policy {
        Policy::Owner(c) => Some(c.as_str()),
        _ => None,
    };
    up.push_str(&format!("CREATE TABLE public.{t} (\n  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n"));
    if let Some(c) = owner_col {
        up.push_str(&format!("  {c} uuid NOT NULL DEFAULT auth.uid() REFERENCES auth.users (id) ON DELETE CASCADE,\n"));
    }
    up.push_str(
        "  -- your columns here\n  created_at timestamptz NOT NULL DEFAULT now(),\n  updated_at timestamptz NOT NULL DEFAULT now()\n);\n\n",
    );
    down.push(format!("DROP TABLE public.{t};"));
    up.push_str(&format!(
        "CREATE FUNCTION public.{f}() RETURNS trigger LANGUAGE plpgsql SET search_path = '' AS $$\nBEGIN\n  NEW.updated_at = pg_catalog.now();\n  RETURN NEW;\nEND;\n$$;\n\n"
    ));
    down.push(format!("DROP FUNCTION public.{f}();"));
    up.push_str(&format!(
        "CREATE TRIGGER {f} BEFORE UPDATE ON public.{t}\n  FOR EACH ROW EXECUTE FUNCTION public.{f}();\n\n"
    ));
    down.push(format!("DROP TRIGGER {f} ON public.{t};"));
    if let Some(c) = owner_col {
        up.push_str(&format!("CREATE INDEX {t}_{c}_idx ON public.{t} ({c});\n\n"));
        down.push(format!("DROP INDEX public.{t}_{c}_idx;"));
    }
    if spec.rls {
        up.push_str(&format!("ALTER TABLE public.{t} ENABLE ROW LEVEL SECURITY;\n"));
        down.push(format!("ALTER TABLE public.{t} DISABLE ROW LEVEL SECURITY;"));
        if spec.policy == Policy::None {
            up.push_str(
                "-- No policy yet: only service_role can read or write. Add one, e.g. --policy owner user_id.\n",
            );
        }
        let policy = policy_sql(spec);
        if let Some((name, body)) = policy {
            up.push_str(&format!("\nCREATE POLICY \"{name}\" ON public.{t}\n  {body};\n"));
            down.push(format!("DROP POLICY \"{name}\" ON public.{t};"));
        }
    } else {
        up.push_str(
            "-- RLS left off (--no-rls): anon and authenticated can read and write every row through the API.\n",
        );
    }
    if spec.realtime {
        up.push_str(&format!("\nALTER PUBLICATION supabase_realtime ADD TABLE public.{t};\n"));
        down.push(format!("ALTER PUBLICATION supabase_realtime DROP TABLE public.{t};"));
    }
    down.reverse();
    let down = format!("-- Reverts up.sql, in reverse order.\n{}\n", down.join("\n"));
    (up, down)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(policy: Policy, realtime: bool) -> TableSpec {
        TableSpec { table: "meetings".into(), rls: true, policy, realtime }
    }

    #[test]
    fn owner_policy_with_realtime() {
        let (up, down) = render(&spec(Policy::Owner("owner_id".into()), true), "-- h");
        for needle in [
            "id uuid PRIMARY KEY DEFAULT gen_random_uuid()",
            "owner_id uuid NOT NULL DEFAULT auth.uid()",
            "created_at timestamptz NOT NULL DEFAULT now()",
            "updated_at timestamptz NOT NULL DEFAULT now()",
            "CREATE TRIGGER meetings_set_updated_at",
            "ENABLE ROW LEVEL SECURITY",
            "USING (owner_id = (select auth.uid()))",
            "ALTER PUBLICATION supabase_realtime ADD TABLE public.meetings",
        ] {
            assert!(up.contains(needle), "{needle} in\n{up}");
        }
        // The exact reverse, in reverse order.
        let lines: Vec<&str> = down.lines().skip(1).collect();
        assert_eq!(
            lines,
            [
                "ALTER PUBLICATION supabase_realtime DROP TABLE public.meetings;",
                "DROP POLICY \"owners manage their meetings\" ON public.meetings;",
                "ALTER TABLE public.meetings DISABLE ROW LEVEL SECURITY;",
                "DROP INDEX public.meetings_owner_id_idx;",
                "DROP TRIGGER meetings_set_updated_at ON public.meetings;",
                "DROP FUNCTION public.meetings_set_updated_at();",
                "DROP TABLE public.meetings;",
            ]
        );
    }

    #[test]
    fn rls_is_on_unless_explicitly_off() {
        let (up, _) = render(&spec(Policy::None, false), "");
        assert!(up.contains("ENABLE ROW LEVEL SECURITY") && up.contains("No policy yet"));
        let (up, down) = render(&TableSpec { rls: false, ..spec(Policy::None, false) }, "");
        assert!(!up.contains("ENABLE ROW LEVEL SECURITY") && up.contains("--no-rls"));
        assert!(!down.contains("ROW LEVEL"));
    }

    #[test]
    fn parses_policies() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(policy(None).unwrap(), Policy::None);
        assert_eq!(policy(Some(&s(&["read-all"]))).unwrap(), Policy::ReadAll);
        assert_eq!(policy(Some(&s(&["owner"]))).unwrap(), Policy::Owner("user_id".into()));
        assert_eq!(policy(Some(&s(&["owner", "created_by"]))).unwrap(), Policy::Owner("created_by".into()));
        assert!(policy(Some(&s(&["everyone"]))).is_err());
        assert!(policy(Some(&s(&["owner", "Bad-Col"]))).is_err());
        for own in PATTERN_COLUMNS {
            assert_eq!(policy(Some(&s(&["owner", own]))).unwrap_err().kind, Kind::BadPolicy, "{own}");
        }
        assert!(identifier(&"a".repeat(64), "table").is_err());
        assert_eq!(identifier("user", "table name").unwrap_err().kind, Kind::BadIdentifier);
        assert_eq!(policy(Some(&s(&["owner", "user"]))).unwrap_err().kind, Kind::BadIdentifier);
        let long =
            TableSpec { table: "a".repeat(50), rls: true, policy: Policy::Owner("user_id".into()), realtime: false };
        assert!(long.check().unwrap_err().message.contains("too long"));
        assert!(spec(Policy::Owner("owner_id".into()), true).check().is_ok());
    }
}
