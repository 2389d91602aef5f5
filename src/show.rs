//! Text as a user may see it: every line passes through `redact`, so a
//! password can never reach the terminal, a CI log or a JSON consumer; text
//! that came from files or the server passes through `clean`, so it cannot
//! carry terminal escape codes; paths are shown relative to where the user
//! stands. A leaf: every stage may use it, it uses nothing of theirs.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Mutex;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static SHOW_SECRETS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The user asked to see the password (`--show-password`).
pub fn allow_secrets() {
    SHOW_SECRETS.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// The free-text safety net: a secret registered here is replaced by `****`
/// wherever it appears. URLs are masked structurally (`url::mask`); this only
/// catches a password echoed elsewhere (a server message, a SQL line), and
/// takes only secrets that cannot be mistaken for ordinary words.
pub fn add_secret(secret: &str) {
    if !crate::url::worth_redacting(secret) {
        return;
    }
    let mut secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_string());
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

pub fn redact(text: &str) -> Cow<'_, str> {
    if SHOW_SECRETS.load(std::sync::atomic::Ordering::SeqCst) {
        return Cow::Borrowed(text);
    }
    let secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    // Passwords that SQL quotes (a role's, a URL's) are masked wherever a
    // line of a file or a server message shows them.
    let mut out = crate::lint::secrets::mask_passwords(text);
    for s in secrets.iter() {
        if out.contains(s.as_str()) {
            out = Cow::Owned(out.replace(s.as_str(), "****"));
        }
    }
    out
}

/// Text from a file name, a SQL file or the server, made safe to print:
/// control characters (escape codes, carriage returns) become `�`.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(|c| if c.is_control() && c != '\n' && c != '\t' { '\u{fffd}' } else { c }).collect())
}

/// A name (of a migration, a file, another tool's history entry) for one
/// line of output: every control character, newline and tab included, shown
/// escaped (`\n`, `\u{1b}`), so a name can neither break a line nor drive
/// the terminal.
pub fn escape(name: &str) -> Cow<'_, str> {
    if !name.chars().any(char::is_control) {
        return Cow::Borrowed(name);
    }
    Cow::Owned(
        name.chars().map(|c| if c.is_control() { c.escape_debug().to_string() } else { c.to_string() }).collect(),
    )
}

/// A path as the user should see it: relative to where they stand when inside it.
pub fn display_path(path: &Path) -> String {
    // Asked once a run: every migration's script names its file.
    static CWD: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    let shown = match CWD.get_or_init(|| std::env::current_dir().ok()) {
        Some(cwd) => path.strip_prefix(cwd).unwrap_or(path).display().to_string(),
        None => path.display().to_string(),
    };
    clean(&shown).into_owned()
}

/// A path for JSON: lossy where it is not UTF-8 (JSON strings must be).
pub fn json_path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// How many statements of a migration ran: "no statement", "statement 1",
/// "statements 1–N".
pub fn ran(n: usize) -> String {
    match n {
        0 => "no statement".into(),
        1 => "statement 1".into(),
        n => format!("statements 1–{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_only_secrets_that_cannot_be_ordinary_words() {
        add_secret("hunter2-Secret");
        assert_eq!(redact("url postgres://u:hunter2-Secret@h"), "url postgres://u:****@h");
        add_secret("postgres");
        assert_eq!(redact("postgres://postgres@h/postgres"), "postgres://postgres@h/postgres");
    }

    #[test]
    fn clean_removes_escape_codes() {
        assert_eq!(clean("a\u{1b}[31mred\rb\nc\td"), "a\u{fffd}[31mred\u{fffd}b\nc\td");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
    }
}
