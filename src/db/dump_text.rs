//! The schema file's text, from pg_dump's: pure, so it is tested without a
//! server. pg_dump's plain output is a list of entries, each under a
//! `-- Name: …; Type: …; Schema: …; Owner: …` header; what varies between
//! runs and pg_dump versions (the version banner, `\restrict` keys, the
//! session `SET`s of the preamble) is dropped and one fixed preamble of ours
//! is written instead, so two dumps of the same schema are the same bytes.

/// The first line of every file `dump` writes (and how `--from-schema` knows one).
pub const HEADER: &str = "-- The database schema, written by `cargo migrate dump` from pg_dump --schema-only.";

/// Our preamble: the session settings a load needs (function bodies are not
/// checked against tables made later; every name in the file is qualified).
const PREAMBLE: &str = "\
-- Regenerate it with `cargo migrate dump`; load it with `cargo migrate up --from-schema`.

SET statement_timeout = 0;
SET lock_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET client_min_messages = warning;
SET row_security = off;
";

/// Session settings pg_dump writes in its preamble (and before some
/// entries); which ones, and in which order, changes with its version.
const SESSION_SETTINGS: &[&str] = &[
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "transaction_timeout",
    "client_encoding",
    "standard_conforming_strings",
    "check_function_bodies",
    "xmloption",
    "client_min_messages",
    "row_security",
    "default_tablespace",
    "default_table_access_method",
    "default_with_oids",
];

/// One entry of pg_dump's output: its header's fields and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    kind: String,
    /// `-` for objects outside any schema.
    schema: String,
    text: String,
}

/// A line pg_dump writes that says nothing about the schema.
fn is_noise(line: &str) -> bool {
    let t = line.trim_end();
    if t.starts_with("-- Dumped from database version")
        || t.starts_with("-- Dumped by pg_dump version")
        || t.starts_with("-- Started on")
        || t.starts_with("-- Completed on")
        || t == "-- PostgreSQL database dump"
        || t == "-- PostgreSQL database dump complete"
        || t.starts_with("\\restrict ")
        || t.starts_with("\\unrestrict ")
        || t == "SELECT pg_catalog.set_config('search_path', '', false);"
    {
        return true;
    }
    // `SET name = value;` at the start of a line, outside any entry's body.
    t.strip_prefix("SET ")
        .and_then(|rest| rest.split([' ', '=']).next())
        .is_some_and(|name| SESSION_SETTINGS.contains(&name) && t.ends_with(';'))
}

/// `-- Name: x; Type: TABLE; Schema: public; Owner: -` → (name, type, schema).
fn header_of(line: &str) -> Option<(String, String, String)> {
    let rest = line.strip_prefix("-- Name: ")?;
    let (name, rest) = rest.split_once("; Type: ")?;
    let (kind, rest) = rest.split_once("; Schema: ")?;
    let schema = rest.split("; ").next()?;
    Some((name.to_string(), kind.to_string(), schema.to_string()))
}

/// Split pg_dump's text into entries (the text before the first header is the preamble, dropped).
fn entries(raw: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let lines: Vec<&str> = raw.lines().collect();
    let mut quote: Option<String> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        // A header is `--`, `-- Name: …`, `--`.
        if line == "--" && i + 2 < lines.len() && lines[i + 2] == "--" {
            if let Some((name, kind, schema)) = header_of(lines[i + 1]) {
                out.push(Entry { name, kind, schema, text: format!("--\n{}\n--\n", strip_owner(lines[i + 1])) });
                quote = None;
                i += 3;
                continue;
            }
            // `-- PostgreSQL database dump complete` between its two `--`.
            if is_noise(lines[i + 1]) {
                i += 3;
                continue;
            }
        }
        if let Some(last) = out.last_mut() {
            if !is_noise(line) {
                // Trailing spaces go, but inside a dollar-quoted body (a function's), which keeps its text.
                let inside = quote.is_some();
                dollar_quotes(line, &mut quote);
                last.text.push_str(if inside || quote.is_some() { line } else { line.trim_end() });
                last.text.push('\n');
            }
        }
        i += 1;
    }
    out
}

/// Follow `$tag$` quotes through `line`: `open` is the tag of the body the
/// line ends inside, if any.
fn dollar_quotes(line: &str, open: &mut Option<String>) {
    let mut rest = line;
    while let Some(start) = rest.find('$') {
        let after = &rest[start + 1..];
        let Some(len) = after.find('$') else { return };
        let tag = &after[..len];
        if !tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || tag.starts_with(|c: char| c.is_ascii_digit())
        {
            rest = after;
            continue;
        }
        let token = &rest[start..start + len + 2];
        match open {
            Some(t) if t == token => *open = None,
            Some(_) => {}
            None => *open = Some(token.to_string()),
        }
        rest = &rest[start + len + 2..];
    }
}

/// The header's `; Owner: …` differs between servers (and `--no-owner` still writes it).
fn strip_owner(header: &str) -> &str {
    header.split_once("; Owner:").map(|(h, _)| h).unwrap_or(header)
}

/// Collapse runs of blank lines to one and end with one newline.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    let trimmed = out.trim_matches('\n');
    format!("{trimmed}\n")
}

/// What Supabase makes in every database, left out of the file.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeftOut<'a> {
    /// Publications: their creation goes, their members stay.
    pub publications: &'a [String],
    /// Schemas pg_dump was told to leave out: what it still writes of them
    /// (the privileges on their extensions' functions, on the schema itself) goes too.
    pub schemas: &'a [String],
}

impl LeftOut<'_> {
    fn drops(&self, e: &Entry) -> bool {
        let named = |list: &[String], name: &str| list.iter().any(|p| crate::sql::ident(p) == name || p == name);
        match e.kind.as_str() {
            "PUBLICATION" => named(self.publications, &e.name),
            // An extension's comment is its control file's (and a stand-in's differs from the real one's).
            "COMMENT" if e.name.starts_with("EXTENSION ") => true,
            "ACL" if e.schema == "-" => e.name.strip_prefix("SCHEMA ").is_some_and(|s| named(self.schemas, s)),
            _ => named(self.schemas, &e.schema),
        }
    }
}

/// Every schema's default privileges of the roles the loading user may act
/// for, taken back (but those of `{skipped}`, the schemas the file leaves out).
const TAKE_BACK: &str = "\
DO $$
DECLARE d record;
BEGIN
  FOR d IN SELECT pg_catalog.pg_get_userbyid(a.defaclrole) AS role, n.nspname AS schema,
                  CASE a.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'
                                       WHEN 'f' THEN 'FUNCTIONS' ELSE 'TYPES' END AS objects,
                  CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                       ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.grantee)) END AS grantee
             FROM pg_catalog.pg_default_acl a
             JOIN pg_catalog.pg_namespace n ON n.oid = a.defaclnamespace
            CROSS JOIN LATERAL pg_catalog.aclexplode(a.defaclacl) x
            WHERE pg_catalog.pg_has_role(a.defaclrole, 'MEMBER') AND a.defaclobjtype IN ('r', 'S', 'f', 'T')
              AND n.nspname <> ALL (ARRAY[{skipped}]::text[])
  LOOP
    EXECUTE pg_catalog.format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I REVOKE ALL ON %s FROM %s',
                              d.role, d.schema, d.objects, d.grantee);
  END LOOP;
END $$;
";

/// `ALTER DEFAULT PRIVILEGES … GRANT x ON TABLES TO r;` → the same `REVOKE ALL … FROM r;`.
fn undo_default_grant(line: &str) -> Option<String> {
    let (head, rest) = line.strip_prefix("ALTER DEFAULT PRIVILEGES ")?.split_once(" GRANT ")?;
    let (_, rest) = rest.split_once(" ON ")?;
    let (kind, grantee) = rest.split_once(" TO ")?;
    let grantee = grantee.trim_end_matches(';').trim_end_matches(" WITH GRANT OPTION");
    Some(format!("ALTER DEFAULT PRIVILEGES {head} REVOKE ALL ON {} FROM {grantee};", kind.trim()))
}

/// pg_dump's text, normalised: our preamble, then its entries without what
/// `left_out` names. pg_dump writes each object's privileges as GRANTs over
/// its owner's, and the schema's default privileges last; a database that
/// has those defaults already (Supabase's, for `anon` in `public`) would add
/// them to every table made from the file. So they are taken back first,
/// and the file's end gives them back.
pub fn normalise(raw: &str, left_out: LeftOut<'_>) -> String {
    let kept: Vec<Entry> = entries(raw).into_iter().filter(|e| !left_out.drops(e)).collect();
    let mut out = format!("{HEADER}\n{PREAMBLE}\n");
    let undo: Vec<String> = kept
        .iter()
        .filter(|e| e.kind == "DEFAULT ACL")
        .flat_map(|e| e.text.lines().filter_map(undo_default_grant).collect::<Vec<_>>())
        .collect();
    if !undo.is_empty() || !left_out.schemas.is_empty() {
        out.push_str("-- Objects made below get only the privileges written for them: the default privileges\n");
        out.push_str("-- the database may have are taken back here, and given back at the end.\n");
        for line in undo {
            out.push_str(&line);
            out.push('\n');
        }
        // Those the loading database has and this one had not (Supabase's for anon in
        // public, which a migration revoked): every schema's, but for the schemas left out.
        let skipped: Vec<String> = left_out.schemas.iter().map(|s| crate::sql::literal(s)).collect();
        out.push_str(&TAKE_BACK.replace("{skipped}", &skipped.join(", ")));
        out.push('\n');
    }
    // Blank lines are collapsed between entries only: inside one they may be a
    // function's body, which must load as it was written.
    let mut out = tidy(&out);
    for e in kept {
        let mut lines = e.text.lines();
        let head: Vec<&str> = lines.by_ref().take(3).collect();
        let body: Vec<&str> = lines.collect();
        let first = body.iter().position(|l| !l.trim().is_empty()).unwrap_or(body.len());
        let last = body.iter().rposition(|l| !l.trim().is_empty()).map_or(first, |i| i + 1);
        out.push('\n');
        for line in head.iter().chain(&[""]).chain(&body[first..last]) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The whole file: the normalised dump, then what the migrations added to
/// Supabase's schemas, then the history rows.
pub fn assemble(normalised: &str, managed_extras: &[String], history_rows: &[String]) -> String {
    let mut out = normalised.trim_end().to_string();
    out.push('\n');
    if !managed_extras.is_empty() {
        out.push_str(
            "\n--\n-- What the migrations added to Supabase's schemas (policies, triggers, buckets, cron jobs)\n--\n\n",
        );
        for s in managed_extras {
            out.push_str(s.trim_end());
            out.push('\n');
        }
    }
    if !history_rows.is_empty() {
        out.push_str("\n--\n-- The migrations applied, so that a database loaded from this file knows them\n--\n\n");
        for s in history_rows {
            out.push_str(s.trim_end());
            out.push('\n');
        }
    }
    out
}

/// Whether `text` is a file `dump` wrote.
pub fn is_schema_file(text: &str) -> bool {
    text.starts_with(HEADER)
}

/// A unified diff of two schema files (`dump --check`); empty when equal.
pub fn diff(committed: &str, current: &str, committed_name: &str) -> String {
    if committed == current {
        return String::new();
    }
    similar::TextDiff::from_lines(committed, current)
        .unified_diff()
        .context_radius(3)
        .header(committed_name, "what the migrations make")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG15: &str = "--\n-- PostgreSQL database dump\n--\n\n\
-- Dumped from database version 15.8\n-- Dumped by pg_dump version 15.8\n\n\
SET statement_timeout = 0;\nSET lock_timeout = 0;\nSET idle_in_transaction_session_timeout = 0;\n\
SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n\
SELECT pg_catalog.set_config('search_path', '', false);\nSET check_function_bodies = false;\n\
SET xmloption = content;\nSET client_min_messages = warning;\nSET row_security = off;\n\n\
--\n-- Name: supabase_realtime; Type: PUBLICATION; Schema: -; Owner: postgres\n--\n\n\
CREATE PUBLICATION supabase_realtime WITH (publish = 'insert, update, delete, truncate');\n\n\n\
SET default_tablespace = '';\n\nSET default_table_access_method = heap;\n\n\
--\n-- Name: notes; Type: TABLE; Schema: public; Owner: postgres\n--\n\n\
CREATE TABLE public.notes (\n    id integer NOT NULL,\n    body text   \n);\n\n\n\
--\n-- Name: FUNCTION f(); Type: ACL; Schema: public; Owner: postgres\n--\n\n\
GRANT ALL ON FUNCTION public.f() TO anon;\n\n\
--\n-- Name: notes; Type: PUBLICATION TABLE; Schema: public; Owner: postgres\n--\n\n\
ALTER PUBLICATION supabase_realtime ADD TABLE ONLY public.notes;\n\n\
--\n-- PostgreSQL database dump complete\n--\n\n";

    /// The same schema from pg_dump 18: another banner, a `\restrict` key, a
    /// `transaction_timeout`, another owner.
    const PG18: &str = "--\n-- PostgreSQL database dump\n--\n\n\\restrict Zx81aBcDeF\n\n\
-- Dumped from database version 18.0\n-- Dumped by pg_dump version 18.0\n\n\
SET statement_timeout = 0;\nSET lock_timeout = 0;\nSET idle_in_transaction_session_timeout = 0;\n\
SET transaction_timeout = 0;\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n\
SELECT pg_catalog.set_config('search_path', '', false);\nSET check_function_bodies = false;\n\
SET xmloption = content;\nSET client_min_messages = warning;\nSET row_security = off;\n\n\
--\n-- Name: supabase_realtime; Type: PUBLICATION; Schema: -; Owner: supabase_admin\n--\n\n\
CREATE PUBLICATION supabase_realtime WITH (publish = 'insert, update, delete, truncate');\n\n\n\
SET default_tablespace = '';\n\nSET default_table_access_method = heap;\n\n\
--\n-- Name: notes; Type: TABLE; Schema: public; Owner: me\n--\n\n\
CREATE TABLE public.notes (\n    id integer NOT NULL,\n    body text\n);\n\n\n\
--\n-- Name: FUNCTION f(); Type: ACL; Schema: public; Owner: me\n--\n\n\
GRANT ALL ON FUNCTION public.f() TO anon;\n\n\
--\n-- Name: notes; Type: PUBLICATION TABLE; Schema: public; Owner: me\n--\n\n\
ALTER PUBLICATION supabase_realtime ADD TABLE ONLY public.notes;\n\n\
--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict Zx81aBcDeF\n\n";

    fn managed() -> Vec<String> {
        vec!["supabase_realtime".into()]
    }

    fn normalise(raw: &str, publications: &[String]) -> String {
        super::normalise(raw, LeftOut { publications, schemas: &["extensions".to_string()] })
    }

    #[test]
    fn two_pg_dump_versions_of_one_schema_normalise_to_the_same_bytes() {
        let a = normalise(PG15, &managed());
        assert_eq!(a, normalise(PG18, &managed()));
        assert!(a.starts_with(HEADER), "{a}");
        for gone in [
            "Dumped",
            "restrict",
            "Owner:",
            "transaction_timeout",
            "default_tablespace",
            "CREATE PUBLICATION",
            "complete",
        ] {
            assert!(!a.contains(gone), "{gone} in:\n{a}");
        }
        // Members of Supabase's publication are the project's: kept.
        assert!(a.contains("ALTER PUBLICATION supabase_realtime ADD TABLE ONLY public.notes;"), "{a}");
        assert!(a.contains("GRANT ALL ON FUNCTION public.f() TO anon;"), "{a}");
        assert!(a.contains("    body text\n);"), "trailing spaces go: {a}");
        assert!(!a.contains("\n\n\n"), "{a}");
        assert!(a.ends_with(";\n") && !a.ends_with("\n\n"), "{a}");
    }

    #[test]
    fn what_pg_dump_writes_of_a_left_out_schema_goes() {
        let raw = "--\n-- Name: FUNCTION digest(text); Type: ACL; Schema: extensions; Owner: x\n--\n\n\
GRANT ALL ON FUNCTION extensions.digest(text) TO anon;\n\n\
--\n-- Name: SCHEMA extensions; Type: ACL; Schema: -; Owner: x\n--\n\nGRANT USAGE ON SCHEMA extensions TO anon;\n\n\
--\n-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: x\n--\n\nGRANT ALL ON SCHEMA public TO anon;\n\n\
--\n-- Name: pgcrypto; Type: EXTENSION; Schema: -; Owner: -\n--\n\n\
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;\n\n\
--\n-- Name: EXTENSION pgcrypto; Type: COMMENT; Schema: -; Owner: \n--\n\n\
COMMENT ON EXTENSION pgcrypto IS 'cryptographic functions';\n";
        let a = normalise(raw, &[]);
        assert!(!a.contains("digest") && !a.contains("SCHEMA extensions TO") && !a.contains("COMMENT ON"), "{a}");
        assert!(a.contains("GRANT ALL ON SCHEMA public TO anon;"), "{a}");
        // The migrations may have created it: kept, and loading it again is harmless.
        assert!(a.contains("CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;"), "{a}");
    }

    #[test]
    fn default_privileges_are_taken_back_before_the_objects_and_given_back_after() {
        let raw =
            "--\n-- Name: notes; Type: TABLE; Schema: public; Owner: x\n--\n\nCREATE TABLE public.notes (id int);\n\n\
--\n-- Name: DEFAULT PRIVILEGES FOR TABLES; Type: DEFAULT ACL; Schema: public; Owner: postgres\n--\n\n\
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES  TO anon;\n\
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT SELECT ON TABLES  TO reader WITH GRANT OPTION;\n";
        let a = normalise(raw, &[]);
        let revoke = a.find("IN SCHEMA public REVOKE ALL ON TABLES FROM anon;").expect(&a);
        assert!(a.contains("IN SCHEMA public REVOKE ALL ON TABLES FROM reader;"), "{a}");
        let table = a.find("CREATE TABLE public.notes").unwrap();
        let grant = a.find("GRANT ALL ON TABLES  TO anon;").unwrap();
        assert!(revoke < table && table < grant, "{a}");
        // Also those the loading database has and the dumped one had not, but in the schemas left out.
        let b = super::normalise(raw, LeftOut { schemas: &["storage".into()], ..Default::default() });
        let all = b.find("REVOKE ALL ON %s FROM %s").expect(&b);
        assert!(all < b.find("CREATE TABLE public.notes").unwrap(), "{b}");
        assert!(b.contains("n.nspname <> ALL (ARRAY[E'storage']::text[])"), "{b}");
    }

    #[test]
    fn a_publication_of_the_project_is_kept() {
        let a = normalise(PG15, &[]);
        assert!(a.contains("CREATE PUBLICATION supabase_realtime"), "{a}");
    }

    #[test]
    fn a_set_inside_a_function_body_is_kept() {
        let raw = "--\n-- Name: f(); Type: FUNCTION; Schema: public; Owner: x\n--\n\n\
CREATE FUNCTION public.f() RETURNS void\n    LANGUAGE plpgsql\n    SET search_path TO ''\n    AS $$\nBEGIN\nSET LOCAL work_mem = '1MB';\nEND $$;\n";
        let a = normalise(raw, &[]);
        assert!(a.contains("    SET search_path TO ''"), "{a}");
        assert!(a.contains("SET LOCAL work_mem = '1MB';"), "{a}");
    }

    #[test]
    fn a_function_body_keeps_its_blank_lines_and_trailing_spaces() {
        let raw = "--\n-- Name: f(); Type: FUNCTION; Schema: public; Owner: x\n--\n\n\n\
CREATE FUNCTION public.f() RETURNS int\n    LANGUAGE plpgsql\n    AS $$\nBEGIN  \n\n\n    RETURN 1;\nEND $$;\n\n\n\n\
--\n-- Name: g(); Type: FUNCTION; Schema: public; Owner: x\n--\n\nCREATE FUNCTION public.g() RETURNS int\n    LANGUAGE sql\n    AS $$ SELECT 2 $$;\n";
        let a = normalise(raw, &[]);
        assert!(a.contains("AS $$\nBEGIN  \n\n\n    RETURN 1;\nEND $$;\n\n--\n-- Name: g()"), "{a}");
        assert!(a.contains("Schema: public\n--\n\nCREATE FUNCTION public.f()"), "{a}");
        assert!(a.ends_with("$$ SELECT 2 $$;\n"), "{a}");
    }

    #[test]
    fn the_file_holds_the_extras_and_the_history_after_the_dump() {
        let n = normalise(PG15, &managed());
        let f = assemble(
            &n,
            &["CREATE POLICY \"read\" ON storage.objects FOR SELECT TO authenticated USING (true);".into()],
            &["INSERT INTO public.__diesel_schema_migrations (version) VALUES ('1');".into()],
        );
        let policy = f.find("CREATE POLICY").unwrap();
        let insert = f.find("INSERT INTO public.__diesel").unwrap();
        assert!(f.find("CREATE TABLE public.notes").unwrap() < policy && policy < insert, "{f}");
        assert!(is_schema_file(&f));
        assert!(!is_schema_file("CREATE TABLE x ();"));
    }

    #[test]
    fn the_diff_is_empty_when_equal_and_names_the_changed_line() {
        assert_eq!(diff("a\nb\n", "a\nb\n", "schema.sql"), "");
        let d = diff("a\nb\n", "a\nc\n", "schema.sql");
        assert!(d.contains("--- schema.sql") && d.contains("-b\n") && d.contains("+c\n"), "{d}");
    }
}
