//! A fleet's targets: the databases one command runs on, from a targets file
//! (`--targets FILE`) or a group of `[package.metadata.migrate.targets]`
//! (`--group NAME`), and how many run at once. Pure: no I/O but what the
//! caller hands in (the file's text, the metadata's value, the environment).

use crate::error::{Error, Kind, Result};

/// One database of the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `name=` of its line, else its masked `user@host:port/db`.
    pub name: String,
    pub url: String,
}

/// A targets file: one URL or `name=URL` a line; `#` starts a comment line,
/// blank lines are skipped. `${VAR}` (or `$VAR`) is replaced by the variable,
/// so the file need not hold passwords. `origin` names the file in errors.
pub fn parse(text: &str, origin: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Target>> {
    let mut targets = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        targets.push(entry(line, &format!("{origin}:{}", n + 1), env)?);
    }
    check(targets, origin)
}

/// The entries of a metadata group, each as a line of a targets file.
pub fn from_entries(entries: &[String], origin: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Target>> {
    let targets = entries
        .iter()
        .enumerate()
        .map(|(i, e)| entry(e.trim(), &format!("{origin}[{i}]"), env))
        .collect::<Result<Vec<_>>>()?;
    check(targets, origin)
}

fn entry(line: &str, at: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Target> {
    let line = expand(line, at, env)?;
    // A URL has no `=` before its `://`; `name=` comes first when there is one.
    let (name, url) = match line.split_once('=') {
        Some((name, url)) if !name.contains("://") && !name.trim().contains(' ') => (Some(name.trim()), url.trim()),
        _ => (None, line.as_str()),
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(Error::new(Kind::BadTargets, format!("{at}: a target must be a postgres:// URL or name=URL"))
            .hint(
                "write one target a line: `postgres://user@host:5432/db` or `eu1=postgres://…`; # starts a comment",
            ));
    }
    if name.is_some_and(|n| n.is_empty() || !n.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c))) {
        return Err(Error::new(Kind::BadTargets, format!("{at}: a target's name takes letters, digits, _ - . only"))
            .hint("write `name=postgres://…`, e.g. `tenant_42=postgres://…`"));
    }
    let name = name.map(str::to_string).unwrap_or_else(|| crate::url::target_of(url));
    Ok(Target { name, url: url.to_string() })
}

/// `${VAR}` and `$VAR` from the environment; an unset one is an error (a
/// target without its password would be a confusing login failure later).
fn expand(line: &str, at: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String> {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => {
                    return Err(Error::new(Kind::BadTargets, format!("{at}: `${{` is never closed with `}}`"))
                        .hint("write ${VARIABLE}"))
                }
            },
            None => {
                let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        let value = env(name).ok_or_else(|| {
            Error::new(Kind::BadTargets, format!("{at}: ${name} is not set; no target was run"))
                .hint(format!("set {name} in the environment (or .env), or write the value in the targets"))
        })?;
        out.push_str(&value);
        rest = &after[len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A fleet of no target, or with a name twice, is a mistake.
fn check(targets: Vec<Target>, origin: &str) -> Result<Vec<Target>> {
    if targets.is_empty() {
        return Err(Error::new(Kind::BadTargets, format!("{origin} names no target; nothing was run"))
            .hint("write one postgres:// URL (or name=URL) a line"));
    }
    for (i, t) in targets.iter().enumerate() {
        if targets[..i].iter().any(|o| o.name == t.name) {
            return Err(Error::new(Kind::BadTargets, format!("{origin}: the target {} is named twice", t.name))
                .hint("give each target a name of its own: `name=postgres://…`"));
        }
    }
    Ok(targets)
}

/// What bounds the number of targets run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub targets: usize,
    pub cores: usize,
    /// Connections the busiest server still accepts (max_connections, less
    /// the superuser reserve, less those in use); None when unknown.
    pub free_connections: Option<usize>,
}

/// `--jobs` when not given: a target needs one connection and little of this
/// machine (the server does the work, the client waits for commits), so four
/// per core; never more than half the connections the server has free, so the
/// applications keep theirs; never more than there are targets.
pub fn default_jobs(l: Limits) -> usize {
    let by_machine = l.cores.max(1) * 4;
    let by_server = l.free_connections.map(|free| (free / 2).max(1)).unwrap_or(usize::MAX);
    l.targets.min(by_machine).min(by_server).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        (k == "PW").then(|| "s3cret".to_string())
    }

    #[test]
    fn lines_urls_and_names() {
        let text = "# tenants\n\npostgres://u@h:5432/a\n eu1 = postgres://u:${PW}@h/b \nus=postgresql://u:$PW@h/c?sslmode=require\n";
        let t = parse(text, "t.txt", &env).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].name, "u@h:5432/a");
        assert_eq!(t[1], Target { name: "eu1".into(), url: "postgres://u:s3cret@h/b".into() });
        assert_eq!(t[2].url, "postgresql://u:s3cret@h/c?sslmode=require");
    }

    #[test]
    fn mistakes_are_refused_with_the_line() {
        let bad = |text: &str| parse(text, "t.txt", &env).unwrap_err();
        assert!(bad("mysql://x\n").message.starts_with("t.txt:1:"));
        assert!(bad("\npostgres://u:$NOPE@h/a\n").message.starts_with("t.txt:2: $NOPE is not set"));
        assert!(bad("# nothing\n").message.contains("names no target"));
        assert!(bad("a=postgres://h/x\na=postgres://h/y\n").message.contains("named twice"));
        assert!(bad("bad name=postgres://h/x\n").message.contains("t.txt:1"));
        assert_eq!(bad("x").kind, Kind::BadTargets);
    }

    #[test]
    fn a_url_with_equals_in_its_query_is_no_name() {
        let t = parse("postgres://h/db?options=-c%20x=1\n", "f", &env).unwrap();
        assert_eq!(t[0].url, "postgres://h/db?options=-c%20x=1");
    }

    #[test]
    fn jobs_follow_the_tightest_bound() {
        let l = |targets, cores, free| Limits { targets, cores, free_connections: free };
        assert_eq!(default_jobs(l(200, 2, Some(280))), 8);
        assert_eq!(default_jobs(l(200, 16, Some(40))), 20);
        assert_eq!(default_jobs(l(3, 16, None)), 3);
        assert_eq!(default_jobs(l(200, 2, Some(0))), 1);
    }
}
