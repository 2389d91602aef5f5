//! Secrets written into a migration (migrations are committed: they must never hold
//! sensitive data): found in the raw text, comments included, and never printed
//! whole. Supabase's publishable keys (`sb_publishable_…`, the `anon` JWT)
//! are meant to be public and are not reported.

use squawk_syntax::SyntaxKind;

use super::syntax;
use super::{Hit, Parsed, Side};

struct Found {
    start: usize,
    end: usize,
    /// What it is, for the message.
    what: String,
    /// How much of it may be shown.
    keep: usize,
}

fn token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn run(bytes: &[u8], from: usize, ok: impl Fn(u8) -> bool) -> usize {
    bytes[from..].iter().position(|b| !ok(*b)).map_or(bytes.len(), |n| from + n)
}

fn find(text: &str) -> Vec<Found> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut prefixed = |prefix: &str, min: usize, what: &str, charset: fn(u8) -> bool| {
        for (at, _) in text.match_indices(prefix) {
            if at > 0 && token_char(bytes[at - 1]) {
                continue;
            }
            let end = run(bytes, at + prefix.len(), charset);
            if end - at - prefix.len() >= min {
                found.push(Found { start: at, end, what: what.to_string(), keep: prefix.len() });
            }
        }
    };
    prefixed("sb_secret_", 8, "a Supabase secret key", token_char);
    prefixed("sk_live_", 10, "a Stripe live secret key", |b| b.is_ascii_alphanumeric());
    prefixed("rk_live_", 10, "a Stripe live restricted key", |b| b.is_ascii_alphanumeric());
    prefixed("ghp_", 30, "a GitHub token", |b| b.is_ascii_alphanumeric());
    prefixed("github_pat_", 20, "a GitHub token", |b| b.is_ascii_alphanumeric() || b == b'_');
    prefixed("AKIA", 16, "an AWS access key id", |b| b.is_ascii_uppercase() || b.is_ascii_digit());
    jwts(text, &mut found);
    passwords(text, &mut found);
    role_passwords(text, &mut found);
    private_keys(text, &mut found);
    found.sort_by_key(|f| f.start);
    found
}

/// `eyJ….eyJ….sig`: a JWT; the anon key's role is public by design.
fn jwts(text: &str, found: &mut Vec<Found>) {
    let bytes = text.as_bytes();
    for (at, _) in text.match_indices("eyJ") {
        if at > 0 && token_char(bytes[at - 1]) {
            continue;
        }
        let header_end = run(bytes, at, token_char);
        if bytes.get(header_end) != Some(&b'.') {
            continue;
        }
        let payload_end = run(bytes, header_end + 1, token_char);
        if bytes.get(payload_end) != Some(&b'.') {
            continue;
        }
        let end = run(bytes, payload_end + 1, token_char);
        if header_end - at < 10 || payload_end - header_end < 10 || end - payload_end < 10 {
            continue;
        }
        let payload = base64url(&text[header_end + 1..payload_end]).unwrap_or_default();
        let payload: String = payload.chars().filter(|c| !c.is_whitespace()).collect();
        let role = payload.split("\"role\":\"").nth(1).and_then(|r| r.split('"').next()).map(String::from);
        // The anon key is public by design; the Supabase CLI's demo keys
        // (`"iss":"supabase-demo"`) are the same published keys on every
        // local stack and work nowhere else.
        if role.as_deref() == Some("anon") || payload.contains("\"iss\":\"supabase-demo\"") {
            continue;
        }
        let what = match role {
            Some(r) if r == "service_role" => "a service_role key (it bypasses row level security)".to_string(),
            Some(r) => format!("a JWT (role {r})"),
            None => "a JWT".to_string(),
        };
        found.push(Found { start: at, end, what, keep: 3 });
    }
}

fn base64url(s: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Passwords that documentation writes, not people.
const PLACEHOLDERS: &[&str] =
    &["password", "pass", "pwd", "secret", "yourpassword", "your-password", "your_password", "changeme"];

/// `scheme://user:password@host`: the password (placeholders are not secrets).
fn passwords(text: &str, found: &mut Vec<Found>) {
    let bytes = text.as_bytes();
    for (at, _) in text.match_indices("://") {
        let scheme_start = bytes[..at]
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-')))
            .map_or(0, |p| p + 1);
        if at - scheme_start < 2 {
            continue;
        }
        let rest = &text[at + 3..];
        let stop = rest.find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '/' | '`')).unwrap_or(rest.len());
        let Some(userinfo_end) = rest[..stop].rfind('@') else { continue };
        let Some(colon) = rest[..userinfo_end].find(':') else { continue };
        let password = &rest[colon + 1..userinfo_end];
        if is_placeholder(password) {
            continue;
        }
        let start = at + 3 + colon + 1;
        found.push(Found {
            start,
            end: start + password.len(),
            what: "a password in a connection URL".into(),
            keep: 0,
        });
    }
}

fn is_placeholder(password: &str) -> bool {
    password.is_empty()
        || password.starts_with(['$', '{', '<', '[', '%', ':'])
        || password.chars().all(|c| c == '*' || c == 'x' || c == 'X')
        || PLACEHOLDERS.contains(&password.to_ascii_lowercase().as_str())
}

/// Byte offsets of `word` in `text`, whatever its case, not inside a longer word.
fn words_at<'a>(text: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    let bytes = text.as_bytes();
    let first = word.as_bytes()[0];
    let n = word.len();
    // The first letter's places, found a machine word at a time: every text
    // shown is searched (a `status` of 300 migrations is 20 kB).
    let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    memchr::memchr2_iter(lower, upper, bytes).filter(move |&at| {
        bytes.get(at..at + n).is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()))
            && (at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_'))
            && bytes.get(at + n).is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
    })
}

/// `PASSWORD '…'` (`CREATE ROLE/USER … [ENCRYPTED] PASSWORD`, `ALTER ROLE …
/// PASSWORD`): the literal's text. One cut short (an excerpt, a line) is
/// masked to the end of its line.
fn role_passwords(text: &str, found: &mut Vec<Found>) {
    let bytes = text.as_bytes();
    for at in words_at(text, "password") {
        let mut open = at + "password".len();
        // A space at least: `'password'` is a literal's text, not the keyword.
        if !bytes.get(open).is_some_and(|b| b.is_ascii_whitespace()) {
            continue;
        }
        while bytes.get(open).is_some_and(|b| *b == b' ' || *b == b'\t' || *b == b'\n' || *b == b'\r') {
            open += 1;
        }
        if bytes.get(open).is_some_and(|b| *b == b'e' || *b == b'E') && bytes.get(open + 1) == Some(&b'\'') {
            open += 1;
        }
        if bytes.get(open) != Some(&b'\'') {
            continue;
        }
        let start = open + 1;
        let mut end = start;
        loop {
            match bytes.get(end) {
                None | Some(b'\n') => break,
                Some(b'\'') if bytes.get(end + 1) == Some(&b'\'') => end += 2,
                Some(b'\'') => break,
                Some(_) => end += 1,
            }
        }
        let end = end.min(bytes.len());
        if is_placeholder(&text[start..end]) {
            continue;
        }
        found.push(Found { start, end, what: "a role's password".into(), keep: 0 });
    }
}

/// `text` with the passwords it holds (role passwords in SQL, connection
/// URLs' passwords) masked: for any text shown to the user, where a SQL line
/// or a server message may quote them.
pub fn mask_passwords(text: &str) -> std::borrow::Cow<'_, str> {
    let mut found = Vec::new();
    if text.contains("://") {
        passwords(text, &mut found);
    }
    role_passwords(text, &mut found);
    if found.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    found.sort_by_key(|f| f.start);
    std::borrow::Cow::Owned(masked(text, found))
}

fn private_keys(text: &str, found: &mut Vec<Found>) {
    for (at, _) in text.match_indices("-----BEGIN ") {
        let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
        let head = &text[at..line_end];
        if !head.contains("PRIVATE KEY-----") {
            continue;
        }
        let end = match text[at..].find("-----END ") {
            Some(n) => text[at + n..].find("KEY-----").map_or(line_end, |k| at + n + k + "KEY-----".len()),
            None => line_end,
        };
        let keep = head.find("KEY-----").map_or(0, |k| k + "KEY-----".len());
        found.push(Found { start: at, end, what: "a private key".into(), keep });
    }
}

/// `text` with every secret in it cut to a harmless prefix and `****`.
pub fn mask(text: &str) -> String {
    let found = find(text);
    if found.is_empty() {
        return text.to_string();
    }
    masked(text, found)
}

/// `text` with each of `found` (in order) cut to its prefix and `****`.
fn masked(text: &str, found: Vec<Found>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for f in found {
        if f.start < last {
            continue;
        }
        out.push_str(&text[last..f.start]);
        out.push_str(&text[f.start..f.start + f.keep]);
        out.push_str("****");
        last = f.end;
    }
    out.push_str(&text[last..]);
    out
}

pub fn check(parsed: &Parsed, side: Side, hits: &mut Vec<Hit>) {
    for f in find(parsed.text) {
        hits.push(Hit {
            rule: super::SECRET,
            side,
            start: f.start,
            end: f.end,
            message: format!("{} is written into this file", f.what),
            fix: None,
        });
    }
    // vault.create_secret('value', …) / vault.update_secret(id, 'value', …).
    for call in parsed.root.descendants().filter(|n| n.kind() == SyntaxKind::CALL_EXPR) {
        let Some(name) = syntax::called(&call) else { continue };
        let position = match name.as_str() {
            "vault.create_secret" => 0,
            "vault.update_secret" => 1,
            _ => continue,
        };
        let Some(args) = call.children().find(|c| c.kind() == SyntaxKind::ARG_LIST) else { continue };
        let Some(arg) = args.children().nth(position) else { continue };
        let literal = syntax::tokens(&arg).next().filter(|t| syntax::string_value(t).is_some());
        if let Some(token) = literal {
            let (start, end) = (usize::from(token.text_range().start()), usize::from(token.text_range().end()));
            hits.push(Hit {
                rule: super::SECRET,
                side,
                start,
                end,
                message: format!("{name}() is given the secret as a literal, so the migration holds it"),
                fix: Some(
                    "create the secret outside migrations (Supabase dashboard, or a script reading it from the environment); a migration may only refer to it by name"
                        .into(),
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{rules_of, up};
    use super::*;

    fn jwt(payload: &str) -> String {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let enc = |s: &str| {
            let b = s.as_bytes();
            let mut out = String::new();
            for chunk in b.chunks(3) {
                let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &c)| acc | (c as u32) << (16 - 8 * i));
                for i in 0..=chunk.len() {
                    out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        };
        format!("{}.{}.{}", enc("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"), enc(payload), "c2lnbmF0dXJlLXNpZ25hdHVyZQ")
    }

    #[test]
    fn finds_keys_passwords_and_private_keys() {
        let service = jwt("{\"iss\":\"supabase\",\"role\":\"service_role\"}");
        let sql = format!("INSERT INTO config VALUES ('{service}');");
        assert_eq!(up(&sql), ["hardcoded_secret"]);
        for secret in [
            "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz",
            "postgres://postgres.abcdefgh:S3cr3t-pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
            "AKIAIOSFODNN7EXAMPLE",
        ] {
            assert_eq!(up(&format!("SELECT '{secret}';")), ["hardcoded_secret"], "{secret}");
        }
        assert_eq!(up("SELECT vault.create_secret('hunter2-value', 'stripe_key');"), ["hardcoded_secret"]);
        assert_eq!(
            rules_of("SELECT 1;", Some("-- sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz\nSELECT 1;"), true),
            ["hardcoded_secret"]
        );
    }

    #[test]
    fn public_keys_placeholders_and_references_are_fine() {
        let anon = jwt("{\"iss\":\"supabase\",\"role\":\"anon\"}");
        // The Supabase CLI's published local demo key (chatbot-ui writes it into a migration).
        let demo = jwt("{\"iss\":\"supabase-demo\",\"role\":\"service_role\",\"exp\":1983812996}");
        for sql in [
            format!("-- anon key: {anon}\nSELECT 1;"),
            format!("SELECT '{demo}';"),
            "-- sb_publishable_abcdefghijklmnop\nSELECT 1;".to_string(),
            "-- postgres://postgres:[YOUR-PASSWORD]@db.x.supabase.co:5432/postgres\nSELECT 1;".into(),
            "-- postgres://user:$PASSWORD@host/db and postgres://user@host/db and https://example.com/a:b@c\nSELECT 1;"
                .into(),
            "COMMENT ON TABLE t IS 'connect with postgres://user:password@host/db';".into(),
            "SELECT vault.create_secret(current_setting('app.key'), 'k');".into(),
            "SELECT id FROM vault.decrypted_secrets WHERE name = 'stripe_key';".into(),
        ] {
            assert!(up(&sql).is_empty(), "{sql}");
        }
    }

    #[test]
    fn role_passwords_are_secrets() {
        for sql in [
            "CREATE ROLE svc LOGIN PASSWORD 'R0leSecretPw' VALID UNTIL '2030-01-01';",
            "create user app with encrypted password 'it''s-S3cret';",
            "ALTER ROLE svc WITH PASSWORD\n  E'R0leSecretPw';",
            "ALTER USER svc PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a:b';",
        ] {
            assert_eq!(up(sql), ["hardcoded_secret"], "{sql}");
            let masked = mask(sql);
            assert!(
                !masked.contains("S3cret") && !masked.contains("SecretPw") && !masked.contains("c2FsdA"),
                "{masked}"
            );
            assert!(mask_passwords(sql).contains("PASSWORD") || mask_passwords(sql).contains("password"));
        }
        for sql in [
            "ALTER ROLE svc PASSWORD NULL;",
            "ALTER ROLE svc SET password_encryption = 'scram-sha-256';",
            "UPDATE users SET password = 'x' WHERE false;",
            "CREATE ROLE svc PASSWORD 'password';",
            "SELECT 'password' AS password;",
        ] {
            assert!(up(sql).is_empty(), "{sql}: {:?}", up(sql));
        }
        assert_eq!(
            mask_passwords("LINE 1: CREATE ROLE svc LOGIN PASSWORD 'R0leSecretPw' VALID UNTIL 'garbage'"),
            "LINE 1: CREATE ROLE svc LOGIN PASSWORD '****' VALID UNTIL 'garbage'"
        );
        assert_eq!(mask_passwords("cut: PASSWORD 'R0leSec…\nnext"), "cut: PASSWORD '****\nnext");
        assert_eq!(
            mask_passwords("at postgres://admin:VeryS3cretPw@db.example.com/app"),
            "at postgres://admin:****@db.example.com/app"
        );
        assert!(matches!(mask_passwords("no secret here"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn secrets_are_masked_in_what_is_shown() {
        let sql = "SELECT 'sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz' AS k; -- postgres://u:pa55word@h/db";
        let masked = mask(sql);
        assert!(!masked.contains("N7UND0") && !masked.contains("pa55word"), "{masked}");
        assert_eq!(masked, "SELECT 'sb_secret_****' AS k; -- postgres://u:****@h/db");
    }
}
