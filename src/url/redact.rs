//! Secrets found in a connection string: the string with its password
//! masked for display, and every form the password can be printed in, so the
//! free-text safety net can catch what structural masking cannot see.

use std::ops::Range;

use super::grammar::{
    is_space, parse_any, percent_decode, percent_encode, scan_kv, scan_url, shape, unescape, Shape, UrlShape,
};
use super::MASK;

/// `user@host:port/db` for any connection string (masked as a whole when it
/// cannot be parsed): what a command says it is about to write to.
pub fn target_of(s: &str) -> String {
    parse_any(s).map(|u| u.target()).unwrap_or_else(|_| mask(s))
}

/// The string with only its password replaced by `****`: the user-info
/// password and `password=` parameters of a URL, the `password` value of a
/// key/value string whatever its quoting. Scheme, user, host, port and
/// database stay as written. A URL whose user-info cannot be placed is masked
/// from the first `:` after `://` to the last `@`; a broken key/value string
/// from its `password` value to the end; anything unrecognisable entirely.
pub fn mask(s: &str) -> String {
    match password_spans(s) {
        Spans::Whole => MASK.to_string(),
        Spans::Found(found) => {
            let mut ranges: Vec<Range<usize>> = found.into_iter().map(|f| f.range).collect();
            ranges.sort_by_key(|r| r.start);
            let mut out = String::with_capacity(s.len());
            let mut at = 0;
            for r in ranges {
                // Overlapping spans (a conservative guess and a parameter
                // inside it) are masked once.
                if r.end <= at {
                    continue;
                }
                let start = r.start.max(at);
                out.push_str(&s[at..start]);
                out.push_str(MASK);
                at = r.end;
            }
            out.push_str(&s[at..]);
            out
        }
    }
}

/// The password in every form it can be printed in: as written (which may
/// encode differently from us, e.g. `%2b`), decoded, and re-encoded by
/// [`percent_encode`]; from the user-info, `password=` parameters and
/// key/value settings, or from the conservative guess when the string cannot
/// be parsed. Empty when there is no password. Filter with
/// [`worth_redacting`] before handing them to a free-text filter.
pub fn secrets(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |v: String| {
        if !v.is_empty() && !out.contains(&v) {
            out.push(v);
        }
    };
    match password_spans(s) {
        Spans::Whole => add(s.trim().to_string()),
        Spans::Found(found) => {
            for f in found {
                let raw = &s[f.inner];
                let decoded = if f.percent { percent_decode(raw) } else { unescape(raw) };
                add(raw.to_string());
                add(percent_encode(&decoded));
                add(decoded);
            }
        }
    }
    out
}

/// Whether a secret is distinctive enough to be replaced wherever it appears
/// in output. The free-text net replaces every occurrence, so a password that
/// is also an ordinary word garbles everything: Supabase's local password is
/// `postgres`, and registering it would turn the scheme, user and database of
/// `postgres://postgres:…@…/postgres` into `****` too. So: at least 8
/// characters, and either 16 or more or at least two character classes of
/// lowercase, uppercase, digit and other. A capital first letter does not
/// count as a class, so `Password` and `Postgres` stay ordinary words;
/// all-digit strings (migration versions, timestamps) stay out below 16. The
/// structural [`mask`] still hides such passwords where they sit in a URL;
/// this only limits the blind search.
pub fn worth_redacting(secret: &str) -> bool {
    let n = secret.chars().count();
    if n < 8 {
        return false;
    }
    if n >= 16 {
        return true;
    }
    let (mut lower, mut upper, mut digit, mut other) = (false, false, false, false);
    for (i, c) in secret.chars().enumerate() {
        if c.is_lowercase() {
            lower = true;
        } else if c.is_uppercase() {
            upper |= i > 0;
        } else if c.is_ascii_digit() {
            digit = true;
        } else {
            other = true;
        }
    }
    [lower, upper, digit, other].iter().filter(|&&c| c).count() >= 2
}

/// A password's place in the string.
struct Found {
    /// What masking replaces (quotes included).
    range: Range<usize>,
    /// The password as written (quotes excluded).
    inner: Range<usize>,
    /// Percent-encoded (URL) rather than backslash-escaped (key/value).
    percent: bool,
}

enum Spans {
    Found(Vec<Found>),
    /// Not recognisably a connection string: all of it may be secret.
    Whole,
}

fn password_spans(s: &str) -> Spans {
    let mut found = match shape(s) {
        Shape::Empty => Vec::new(),
        Shape::NotAUrl => return Spans::Whole,
        Shape::Url(u) => url_spans(s, &u),
        Shape::KeyValue => kv_spans(s),
    };
    found.retain(|f| !f.range.is_empty());
    Spans::Found(found)
}

fn url_spans(s: &str, u: &UrlShape) -> Vec<Found> {
    let scan = scan_url(s, u.body, u.end);
    let url_found = |r: Range<usize>| Found { range: r.clone(), inner: r, percent: true };
    let mut found = Vec::new();
    if !scan.stray_at {
        // The user-info is where libpq will read it, whatever else is wrong.
        if let Some(pw) = scan.creds.and_then(|c| c.password) {
            found.push(url_found(pw));
        }
        for p in &scan.params {
            if let (Some(v), "password") = (&p.value, percent_decode(&s[p.key.clone()]).as_str()) {
                found.push(url_found(v.clone()));
            }
        }
        return found;
    }
    // The password swallowed a delimiter, so the `@` that ends it is the last
    // one, and it starts after the first `:` (user names rarely have one).
    let rest = &s[u.body..u.end];
    if let Some(at) = rest.rfind('@') {
        if let Some(colon) = rest[..at].find(':') {
            found.push(url_found(u.body + colon + 1..u.body + at));
        }
    }
    // And any `password=` parameter, without trusting where the query starts.
    let b = s.as_bytes();
    for (i, _) in s[u.body..u.end].match_indices("password=") {
        let i = u.body + i;
        if matches!(b[i - 1], b'?' | b'&') {
            let start = i + "password=".len();
            let end = s[start..u.end].find('&').map_or(u.end, |e| start + e);
            found.push(url_found(start..end));
        }
    }
    found
}

fn kv_spans(s: &str) -> Vec<Found> {
    let scan = scan_kv(s);
    if !scan.failed {
        return scan
            .pairs
            .into_iter()
            .filter(|p| &s[p.key.clone()] == "password")
            .map(|p| Found { range: p.token, inner: p.inner, percent: false })
            .collect();
    }
    // libpq would refuse this string, and where the value ends is a guess: an
    // unquoted value with a space in it looks like a value and then junk. So
    // from the first `password` value to the end.
    let b = s.as_bytes();
    let end = s.trim_end().len();
    for (i, _) in s.match_indices("password") {
        if i > 0 && !is_space(b[i - 1]) && b[i - 1] != b'\'' {
            continue;
        }
        let mut j = i + "password".len();
        while j < b.len() && is_space(b[j]) {
            j += 1;
        }
        if j >= b.len() || b[j] != b'=' {
            continue;
        }
        j += 1;
        while j < end && is_space(b[j]) {
            j += 1;
        }
        if j < end {
            return vec![Found { range: j..end, inner: j..end, percent: false }];
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::grammar::{percent_decode, with_params, DbUrl};

    #[test]
    fn errors_never_quote_the_password() {
        // `|`-separated; no password here contains one.
        let passwords: Vec<&str> = "Xq7:Zk9|Xq7@Zk9|Xq7/Zk9|Xq7#Zk9|Xq7?Zk9|Xq7 Zk9|Xq7%Zk9|Xq7%zzZk9|Xq7@:/#? Zk9|\
             12/Xq7Zk9|Xq7/Zk9@|@Xq7Zk9|/Xq7Zk9|Xq7//Zk9|[Xq7Zk9|Xq7]Zk9|Xq7,Zk9|Xq7&Zk9=|Xq7:99/Zk9|Xq7'Zk9|\
             Xq7\\Zk9|Xq7%00Zk9|Xq7\nZk9|Xq7 /@ Zk9"
            .split('|')
            .collect();
        let templates = [
            "postgres://u:{}@host/db",
            "postgres://u:{}@host:5432/db?sslmode=require",
            "postgresql://u:{}@[::1]:5433/db",
            "postgres://u:{}@h1:5432,h2:5433/db",
            "postgres://u:{}@host:abc/db",
            "postgres://u:{}@host/db?x",
            "postgres://u:{}",
            "postgres://u:{}@",
            "mysql://u:{}@h/db",
            " postgres://u:{}@host/db",
            "postgres://{}@host/db",
            "postgres://host/db?password={}&port=x",
            "host=h password={} port=abc",
            "host=h password='{}' port=x",
            "password={}",
            "password = {} host",
        ];
        let mut refused = 0;
        for t in templates {
            for &pw in &passwords {
                let s = t.replace("{}", pw);
                if let Err(e) = parse_any(&s) {
                    refused += 1;
                    let text = e.message();
                    assert!(!text.contains("Xq7") && !text.contains("Zk9"), "{s:?}: {text}");
                }
                if let Err(e) = DbUrl::parse(&s) {
                    assert!(!e.message().contains("Xq7") && !e.message().contains("Zk9"), "{s:?}");
                }
                // `{}` as the user name is not a password, and `postgres://u:{}`
                // has no `@`: nothing says it is one. An `&` in a `password=`
                // query value ends it for libpq as for us; what follows reads
                // as a parameter of its own, and nothing marks it as secret.
                let amp_in_query = t.contains("?password=") && pw.contains('&');
                if !t.starts_with("postgres://{}") && t != "postgres://u:{}" && !amp_in_query {
                    let m = mask(&s);
                    assert!(!m.contains("Xq7") && !m.contains("Zk9"), "{s:?} masked to {m:?}");
                    let found = secrets(&s);
                    assert!(found.iter().any(|f| f.contains("Xq7")), "{s:?}: {found:?}");
                }
            }
        }
        assert!(refused > 100, "{refused}");
    }

    #[test]
    fn masks_only_the_password() {
        let cases = [
            ("postgres://me:secret@h:5432/db", "postgres://me:****@h:5432/db"),
            (
                "postgres://postgres:postgres@127.0.0.1:54322/postgres",
                "postgres://postgres:****@127.0.0.1:54322/postgres",
            ),
            ("postgresql://me@h/db", "postgresql://me@h/db"),
            ("postgres://h/db?sslmode=require", "postgres://h/db?sslmode=require"),
            ("postgres://u:@h/db", "postgres://u:@h/db"),
            ("postgres://h/db?user=me&password=secret&x=1", "postgres://h/db?user=me&password=****&x=1"),
            ("postgres://h/db?xpassword=abc&password=def", "postgres://h/db?xpassword=abc&password=****"),
            ("postgres://h/db?pass%77ord=abc", "postgres://h/db?pass%77ord=****"),
            ("postgres://u:a@h/db?password=b", "postgres://u:****@h/db?password=****"),
            ("postgres://u:a?b#c@h/db?sslmode=require", "postgres://u:****@h/db?sslmode=require"),
            ("postgres://u:p%40ss@[::1]:5433/db", "postgres://u:****@[::1]:5433/db"),
            ("host=h password=secret user=me", "host=h password=**** user=me"),
            ("host=h password = secret user=me", "host=h password = **** user=me"),
            (r"password='with spaces \' and quote' user=me", "password=**** user=me"),
            ("xpassword=abc password=def", "xpassword=abc password=****"),
            ("host=h user=me", "host=h user=me"),
            // Unparseable: from the first `:` after `://` to the last `@`.
            ("postgres://me:p@ss@h/db", "postgres://me:****@h/db"),
            ("postgres://me:p/ss@h/db", "postgres://me:****@h/db"),
            ("postgres://me:p@s/s#x@h:5432/db?password=y", "postgres://me:****@h:5432/db?password=****"),
            ("mysql://me:pw@h/db", "mysql://me:****@h/db"),
            ("postgres://u:100%sure@h/db", "postgres://u:****@h/db"),
            ("host=h password=pass word", "host=h password=****"),
            ("host=h password='unterminated user=me", "host=h password=****"),
            ("hunter2hunter2", "****"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(mask(input), want, "{input}");
        }
    }

    #[test]
    fn lists_every_printable_form_of_the_password() {
        let s = secrets("postgres://u:p%2bss%3Aw@h/db");
        for want in ["p%2bss%3Aw", "p+ss:w", "p%2Bss%3Aw"] {
            assert!(s.iter().any(|x| x == want), "{want}: {s:?}");
        }
        let s = secrets("postgres://h/db?password=a%20b");
        assert!(s.contains(&"a%20b".to_string()) && s.contains(&"a b".to_string()), "{s:?}");
        let s = secrets(r"host=h password='a b\'c'");
        assert_eq!(s, vec![r"a b\'c".to_string(), percent_encode("a b'c"), "a b'c".to_string()]);
        assert!(secrets("postgres://u:p@ss@h/db").contains(&"p@ss".to_string()));
        assert!(secrets("postgres://u@h/db").is_empty());
        assert!(secrets("host=h").is_empty());
        assert!(secrets("").is_empty());
        assert_eq!(secrets("postgres://u:plain@h/db"), vec!["plain".to_string()]);
    }

    #[test]
    fn redacts_only_distinctive_secrets() {
        for word in ["postgres", "password", "secret", "admin", "Password", "Postgres", "PASSWORD", "12345678", "abc1"]
        {
            assert!(!worth_redacting(word), "{word}");
        }
        for secret in
            ["Sup3r-S3cret_pw", "p@ss:w/rd#?%&+ é", "hunter2hunter2", "correcthorsebatterystaple", "PostgreSQL"]
        {
            assert!(worth_redacting(secret), "{secret}");
        }
    }

    /// A tiny xorshift PRNG: deterministic, and no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.next() % items.len() as u64) as usize]
        }
    }

    #[test]
    fn never_panics_and_never_shows_a_parsed_password() {
        // `|`-separated: one piece a line would fill a screen.
        let pieces: Vec<&str> = "postgres://|postgresql://|mysql://|postgres:|host=|password=|password = |user=|'|\\|\
             @|:|/|?|#|&|=|%|%4|%41|%00|%zz|[|]|,| |\t|\n|é|€|u|pw|h|5432|99999|db|x|127.0.0.1|::1|S3cretPass|port="
            .split('|')
            .collect();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut parsed_with_password = 0;
        for _ in 0..20_000 {
            let n = rng.next() % 14;
            let s: String = (0..n).map(|_| rng.pick(&pieces)).collect();
            let m = mask(&s);
            let found = secrets(&s);
            let _ = with_params(&s, &[("connect_timeout", "5"), ("application_name", "a b")]);
            let _ = DbUrl::parse(&s);
            for f in &found {
                let _ = worth_redacting(f);
            }
            if let Ok(u) = parse_any(&s) {
                let _ = (u.target(), u.is_local(), format!("{u:?}"));
                let Some(pw) = u.password else { continue };
                parsed_with_password += 1;
                // Whatever else the string holds, the password's own places
                // are masked: cut them out, and what remains is all that may
                // still show.
                let Spans::Found(spans) = password_spans(&s) else { panic!("{s:?}") };
                let mut rest = s.clone();
                let mut spans: Vec<_> = spans.into_iter().map(|f| f.range).collect();
                spans.sort_by_key(|r| std::cmp::Reverse(r.start));
                for r in spans {
                    rest.replace_range(r, "\u{1}");
                }
                if !rest.contains(&pw) && !pw.contains('*') {
                    assert!(!m.contains(&pw), "{s:?} masked to {m:?} shows {pw:?}");
                }
                assert!(found.contains(&pw), "{s:?}: {found:?} lacks {pw:?}");
            }
        }
        assert!(parsed_with_password > 100, "{parsed_with_password}");
    }

    #[test]
    fn garbled_passwords_never_show() {
        // Passwords of special characters around a marker that appears
        // nowhere else, in URLs and key/value strings, parseable or not. `=`
        // is left out: with it, a password like `1/d?user=Z` makes a valid URL
        // meaning host `user`, port 1, database `d` and a user `Z@host`, which
        // no parser can tell from what the writer meant.
        let chars =
            ["Z", "Z", "@", ":", "/", "#", "?", "%", "%4", "%41", " ", "&", "'", "\"", "\\", "+", "é", "[", "]", ","];
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        for _ in 0..20_000 {
            let n = 1 + rng.next() % 10;
            let mut pw: String = (0..n).map(|_| rng.pick(&chars)).collect();
            if !pw.contains('Z') {
                pw.push('Z');
            }
            let tail =
                rng.pick(&["", "/db", ":5432/db", ":5432/db?sslmode=require", "?sslmode=require", ",h2:5433/db"]);
            let host = rng.pick(&["host", "127.0.0.1", "[::1]", ""]);
            let url = format!("postgres://user:{pw}@{host}{tail}");
            let quoted = format!("host=h password='{}' user=u", pw.replace('\\', "\\\\").replace('\'', "\\'"));
            let bare = format!("host=h password={pw} user=u");
            for s in [&url, &quoted, &bare] {
                let m = mask(s);
                assert!(!m.contains('Z'), "{s:?} masked to {m:?}");
                if let Err(e) = parse_any(s) {
                    assert!(!e.message().contains('Z'), "{s:?}");
                }
                assert!(secrets(s).iter().any(|x| x.contains('Z')), "{s:?}");
            }
            if let Ok(u) = parse_any(&url) {
                assert_eq!(
                    u.password.as_deref(),
                    Some(percent_decode(&pw).as_str()).filter(|p| !p.is_empty()),
                    "{url:?}"
                );
            }
            assert_eq!(parse_any(&quoted).map(|u| u.password), Ok(Some(pw.clone())), "{quoted:?}");
        }
    }
}
