//! `create --table`: the seed's table pattern as up.sql and its exact reverse
//! as down.sql. RLS is always on unless `--no-rls` says otherwise.

use crate::error::{Error, Result};

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
        [p, column] if p == "owner" => Ok(Policy::Owner(identifier(column, "owner column")?)),
        _ => Err(Error::new("bad_policy", format!("unknown policy `{}`", args.join(" ")))
            .usage()
            .hint("use --policy read-all, --policy authenticated or --policy owner <column>")),
    }
}

/// A lower snake_case SQL identifier of at most 63 bytes (PostgreSQL's limit).
pub fn identifier(name: &str, what: &str) -> Result<String> {
    let ok = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(name.to_string())
    } else {
        Err(Error::new("bad_identifier", format!("invalid {what} `{name}`"))
            .usage()
            .hint("use lower snake_case, at most 63 characters, e.g. `meeting_participants`"))
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
        "CREATE FUNCTION public.{f}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.updated_at = now();\n  RETURN NEW;\nEND;\n$$;\n\n"
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
        let policy = match &spec.policy {
            Policy::None => {
                up.push_str(
                    "-- No policy yet: only service_role can read or write. Add one, e.g. --policy owner user_id.\n",
                );
                None
            }
            Policy::ReadAll => Some((
                format!("{t} are readable by everyone"),
                "FOR SELECT TO anon, authenticated USING (true)".to_string(),
            )),
            Policy::Authenticated => Some((
                format!("signed-in users manage {t}"),
                "FOR ALL TO authenticated USING (true) WITH CHECK (true)".to_string(),
            )),
            Policy::Owner(c) => Some((
                format!("owners manage their {t}"),
                format!("FOR ALL TO authenticated USING ({c} = auth.uid()) WITH CHECK ({c} = auth.uid())"),
            )),
        };
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
            "USING (owner_id = auth.uid())",
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
        assert!(identifier(&"a".repeat(64), "table").is_err());
    }
}
