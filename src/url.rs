//! Connection strings, handled without connecting: parsing `postgres://` URLs
//! and libpq key/value strings into [`DbUrl`], masking the password for
//! display, and listing every form the password can be printed in, so the
//! free-text safety net can catch what structural masking cannot see. Only
//! `std`, so the module can be tested on its own:
//! `rustc --edition 2021 --test src/url.rs`.
//!
//! The grammar is libpq's (diesel hands the string to libpq), not RFC 3986's:
//! the user-info ends at the first `@` that comes before any `/`, so `:`, `?`
//! and `#` in a password work unencoded, and there is no `#fragment`. When the
//! writer meant something else (an unencoded `@` or `/` in the password) an
//! `@` turns up after the user-info. That stray `@` is how a garbled password
//! is told from a typo, and it is why no error here quotes any text: the text
//! we could not place may be half a password.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

/// What a password is replaced by.
const MASK: &str = "****";

const ENCODE_RULE: &str = "special characters in the password must be percent-encoded \
     (@ → %40, : → %3A, / → %2F, # → %23, ? → %3F, % → %25, space → %20)";

/// DATABASE_URL wins over the Supabase variables, so building the URL from the
/// plain password only happens when DATABASE_URL is left unset.
const BUILD_HINT: &str = "`cargo migrate database-url` builds a correctly encoded URL from SUPABASE_DB_PASSWORD: \
     leave DATABASE_URL unset, put the plain password in SUPABASE_DB_PASSWORD and the project URL in \
     VITE_SUPABASE_URL (`--write-env` stores the result)";

/// Query parameters whose values may hold an `@` of their own (user names like
/// `me@corp`, file paths, abstract sockets `@name`). An `@` anywhere else after
/// the user-info means the password was not encoded.
const AT_IN_VALUE: &[&str] = &[
    "user",
    "password",
    "options",
    "application_name",
    "fallback_application_name",
    "dbname",
    "host",
    "service",
    "passfile",
    "sslpassword",
    "sslcert",
    "sslkey",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
];

/// Why a database URL was refused. No variant carries text from the URL but
/// the scheme: anything after `://` may be part of a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// Nothing but whitespace.
    Empty,
    /// A URL with spaces or a newline around it: libpq would not see a URL
    /// (leading) or would read them into the last part (trailing).
    Whitespace,
    /// `scheme://…` with a scheme other than `postgres`/`postgresql`.
    WrongScheme { scheme: String },
    /// Neither a `postgres://` URL nor a `key=value` string.
    NotAUrl,
    /// An `@` after the user-info: a special character in the password (or
    /// user name) was not percent-encoded, so we cannot tell where it ends.
    SpecialCharacter,
    /// A `%` without two hex digits after it, or `%00`; libpq refuses both.
    BadPercentEncoding,
    /// Unbalanced `[…]`, an empty `[]`, or whitespace in a host.
    BadHost,
    /// A port that is not 1-65535 written in digits.
    BadPort,
    /// A query parameter that is not exactly one `key=value`.
    BadParam,
    /// A key/value string libpq would not parse (missing `=`, unterminated
    /// quote, a keyword that is not a word).
    BadKeyValue,
}

impl UrlError {
    #[cfg(test)]
    /// The error kind the crate's `Error` uses for all of these.
    pub fn kind(&self) -> &'static str {
        "bad_database_url"
    }

    pub fn message(&self) -> String {
        match self {
            UrlError::Empty => "the database URL is empty".into(),
            UrlError::Whitespace => {
                "the database URL starts or ends with whitespace: libpq would not take it for a URL, or would read \
                 the whitespace into its last part"
                    .into()
            }
            UrlError::WrongScheme { scheme }
                if scheme.eq_ignore_ascii_case("postgres") || scheme.eq_ignore_ascii_case("postgresql") =>
            {
                format!(
                    "the database URL's scheme `{scheme}://` must be lowercase: libpq only recognises `postgres://` \
                     and `postgresql://`"
                )
            }
            UrlError::WrongScheme { scheme } => {
                format!("the database URL has scheme `{scheme}://`; cargo-migrate speaks PostgreSQL only")
            }
            UrlError::NotAUrl => {
                "the database URL is neither a postgres:// URL nor a key/value connection string (host=… dbname=…)"
                    .into()
            }
            UrlError::SpecialCharacter => format!(
                "the database URL has an `@` after its user name and password, so where the password ends cannot be \
                 told: {ENCODE_RULE}"
            ),
            UrlError::BadPercentEncoding => format!(
                "the database URL has a `%` that is not followed by two hex digits (or encodes a NUL byte): \
                 {ENCODE_RULE}"
            ),
            UrlError::BadHost => {
                "the database URL's host is not valid (an IPv6 address goes in brackets, `[::1]`; no spaces)".into()
            }
            UrlError::BadPort => "the part after the host is not a port number (1-65535)".into(),
            UrlError::BadParam => "a query parameter of the database URL is not a single `key=value` (an `&` or `=` \
                                   inside a value must be written %26 or %3D)"
                .into(),
            UrlError::BadKeyValue => "the connection string is not a valid key/value string: each setting is \
                                      `key=value`, and a value with spaces, quotes or backslashes is single-quoted \
                                      with \\' and \\\\ inside"
                .into(),
        }
    }

    pub fn hint(&self) -> String {
        match self {
            UrlError::Empty => format!("set DATABASE_URL=postgres://user:password@host:5432/dbname, or: {BUILD_HINT}"),
            UrlError::Whitespace => "remove the spaces or newline around the URL (check the quotes in .env)".into(),
            UrlError::WrongScheme { .. } | UrlError::NotAUrl => {
                "use a postgres://user:password@host:5432/dbname URL".into()
            }
            UrlError::SpecialCharacter | UrlError::BadPercentEncoding => BUILD_HINT.into(),
            UrlError::BadHost | UrlError::BadPort => format!(
                "write postgres://user:password@host:5432/dbname, with any @ : / # ? % in the password \
                 percent-encoded; {BUILD_HINT}"
            ),
            UrlError::BadParam => "write parameters as ?key=value&key=value, percent-encoding the values".into(),
            UrlError::BadKeyValue => {
                "e.g. host=localhost port=5432 user=me password='a b\\'c' dbname=app, or use a postgres:// URL".into()
            }
        }
    }
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for UrlError {}

/// The parts of a connection string we check and show. For a URL `params`
/// are its decoded query parameters; for a key/value string, every setting.
/// Either way in order, as written.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct DbUrl {
    pub user: Option<String>,
    pub password: Option<String>,
    /// The first host (only the first matters for our checks); a socket
    /// directory starts with `/`; empty means libpq's default socket.
    pub host: String,
    pub port: Option<u16>,
    pub dbname: Option<String>,
    pub params: Vec<(String, String)>,
}

/// Hand-written so that `{:?}` (a test failure, a stray `dbg!`) never prints
/// the password.
impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: Vec<(&str, &str)> =
            self.params.iter().map(|(k, v)| (k.as_str(), if k == "password" { MASK } else { v.as_str() })).collect();
        f.debug_struct("DbUrl")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| MASK))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.dbname)
            .field("params", &params)
            .finish()
    }
}

impl DbUrl {
    #[cfg(test)]
    /// Parse a `postgres://` URL. Key/value strings are accepted by libpq
    /// too; for those this answers None (use [`parse_any`] to read them).
    pub fn parse(url: &str) -> Result<Option<DbUrl>, UrlError> {
        match shape(url) {
            Shape::Url(u) => parse_url(url, &u).map(Some),
            Shape::KeyValue => Ok(None),
            Shape::Empty => Err(UrlError::Empty),
            Shape::NotAUrl => Err(UrlError::NotAUrl),
        }
    }

    /// Parse a libpq key/value string (`host=h port=5432 password='a b'`).
    pub fn parse_key_value(s: &str) -> Result<DbUrl, UrlError> {
        let scan = scan_kv(s);
        if scan.failed {
            return Err(UrlError::BadKeyValue);
        }
        let mut url = DbUrl::default();
        let mut hostaddr = None;
        for pair in &scan.pairs {
            let key = &s[pair.key.clone()];
            if !is_keyword(key) {
                return Err(UrlError::BadKeyValue);
            }
            apply(&mut url, &mut hostaddr, key, &pair.value)?;
            url.params.push((key.to_string(), pair.value.clone()));
        }
        Ok(with_hostaddr(url, hostaddr))
    }

    /// `user@host:port/db`, for messages; never the password.
    pub fn target(&self) -> String {
        let host = if self.host.is_empty() {
            "localhost".to_string()
        } else if self.host.contains(':') && !self.host.starts_with('/') {
            // Brackets, or `::1:5432` could not be read back.
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!(
            "{}@{}:{}/{}",
            self.user.as_deref().unwrap_or("(default user)"),
            host,
            self.port.unwrap_or(5432),
            self.dbname.as_deref().unwrap_or("(default database)")
        )
    }

    /// Whether the server is on this machine: localhost, 127.0.0.0/8, ::1,
    /// libpq's default socket (empty host), a socket directory (`/…`) or an
    /// abstract socket (`@…`).
    pub fn is_local(&self) -> bool {
        let h = self.host.as_str();
        h.is_empty()
            || h.starts_with('/')
            || h.starts_with('@')
            || h.eq_ignore_ascii_case("localhost")
            || h.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback())
            || h.parse::<Ipv6Addr>()
                .is_ok_and(|a| a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()))
    }

    #[cfg(test)]
    /// The value of a parameter; the last one wins, as in libpq.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// `user@host:port/db` for any connection string (masked as a whole when it
/// cannot be parsed): what a command says it is about to write to.
pub fn target_of(s: &str) -> String {
    parse_any(s).map(|u| u.target()).unwrap_or_else(|_| mask(s))
}

/// Parse either form libpq accepts: a `postgres://` URL or a key/value string.
pub fn parse_any(s: &str) -> Result<DbUrl, UrlError> {
    match shape(s) {
        Shape::Url(u) => parse_url(s, &u),
        Shape::KeyValue => DbUrl::parse_key_value(s),
        Shape::Empty => Err(UrlError::Empty),
        Shape::NotAUrl => Err(UrlError::NotAUrl),
    }
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

/// Decode `%XX` escapes as bytes, then read the bytes as UTF-8 (lossily). A
/// `%` without two hex digits stays as it is: this is for showing and
/// redacting; parsing refuses such escapes, as libpq does.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (hex_at(b, i + 1), hex_at(b, i + 2)) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encode everything but RFC 3986's unreserved characters, so the
/// result is safe in any part of a URL.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Add parameters (`connect_timeout`, `application_name`) to a connection
/// string, skipping keys it already has, so the user's own settings win. A
/// URL gets `?k=v`/`&k=v`, percent-encoded, after its real query (found the
/// way libpq finds it, so a `?` in the password does not count); a key/value
/// string gets ` k='v'`, quoted.
pub fn with_params(url: &str, params: &[(&str, &str)]) -> String {
    if let Shape::Url(u) = shape(url) {
        let scan = scan_url(url, u.body, u.end);
        let mut present: Vec<String> = scan.params.iter().map(|p| percent_decode(&url[p.key.clone()])).collect();
        let mut out = url[..u.end].to_string();
        let mut has_query = scan.query.is_some();
        for (k, v) in params {
            if present.iter().any(|p| p == k) {
                continue;
            }
            if !has_query {
                out.push('?');
            } else if !out.ends_with('?') && !out.ends_with('&') {
                out.push('&');
            }
            out.push_str(&percent_encode(k));
            out.push('=');
            out.push_str(&percent_encode(v));
            has_query = true;
            present.push(k.to_string());
        }
        // Trailing whitespace stays where it was rather than inside the query.
        out.push_str(&url[u.end..]);
        return out;
    }
    let scan = scan_kv(url);
    let mut present: Vec<&str> = scan.pairs.iter().map(|p| &url[p.key.clone()]).collect();
    let mut added = Vec::new();
    for (k, v) in params {
        if present.contains(k) {
            continue;
        }
        added.push(format!("{k}='{}'", v.replace('\\', "\\\\").replace('\'', "\\'")));
        present.push(k);
    }
    if added.is_empty() {
        return url.to_string();
    }
    let added = added.join(" ");
    if url.trim().is_empty() {
        added
    } else if url.trim_end().ends_with('\\') {
        // A trailing backslash would escape the space we put before our
        // settings and swallow them into the last value; in front is safe.
        format!("{added} {url}")
    } else {
        format!("{url} {added}")
    }
}

/// What kind of connection string this is, told mostly as libpq tells it: a
/// URL by its `scheme://` prefix, the rest key/value. Unlike libpq we take a
/// `scheme:` start (`localhost:5432`, `postgres:/x`) for a broken URL rather
/// than a key/value string, so it is refused and masked whole.
enum Shape {
    Empty,
    Url(UrlShape),
    KeyValue,
    NotAUrl,
}

/// Byte positions in the original string, so masking can splice into it.
struct UrlShape {
    scheme: Range<usize>,
    /// Just after `://`.
    body: usize,
    /// Before any trailing whitespace.
    end: usize,
    /// Whitespace before or after.
    padded: bool,
}

fn shape(s: &str) -> Shape {
    let start = s.len() - s.trim_start().len();
    let end = s.trim_end().len();
    if start >= end {
        return Shape::Empty;
    }
    let t = &s.as_bytes()[start..end];
    // A scheme is a letter, then letters, digits, `+`, `-` or `.`. A key/value
    // string cannot start like that and then have `:` before any `=`: its
    // first keyword is a word followed by `=` or a space.
    let mut i = 0;
    if t[0].is_ascii_alphabetic() {
        while i < t.len() && (t[i].is_ascii_alphanumeric() || matches!(t[i], b'+' | b'-' | b'.')) {
            i += 1;
        }
    }
    if i > 0 && i < t.len() && t[i] == b':' {
        if t[i + 1..].starts_with(b"//") {
            return Shape::Url(UrlShape {
                scheme: start..start + i,
                body: start + i + 3,
                end,
                padded: start > 0 || end < s.len(),
            });
        }
        // `localhost:5432`, `postgres:/x`: meant as a URL, so not a
        // key/value string even if a `=` follows.
        return Shape::NotAUrl;
    }
    if t.contains(&b'=') {
        Shape::KeyValue
    } else {
        Shape::NotAUrl
    }
}

struct Creds {
    user: Range<usize>,
    password: Option<Range<usize>>,
    /// The `@` that ends the user-info.
    at: usize,
}

struct HostSpec {
    host: Range<usize>,
    port: Option<Range<usize>>,
    bad: bool,
}

struct Param {
    key: Range<usize>,
    value: Option<Range<usize>>,
    extra_eq: bool,
}

/// Where the parts of a URL are. Scanning never fails, so masking and
/// [`with_params`] can use the structure of a URL that does not validate.
struct UrlScan {
    creds: Option<Creds>,
    hosts: Vec<HostSpec>,
    dbname: Option<Range<usize>>,
    /// The `?` that starts the query.
    query: Option<usize>,
    params: Vec<Param>,
    /// An `@` after the user-info, outside values that may hold one: the
    /// user-info is not where the writer meant it to be.
    stray_at: bool,
}

/// Split `s[body..end]` as libpq's `conninfo_uri_parse_options` does.
fn scan_url(s: &str, body: usize, end: usize) -> UrlScan {
    let b = s.as_bytes();
    let is = |p: usize, set: &[u8]| p < end && set.contains(&b[p]);
    let mut scan =
        UrlScan { creds: None, hosts: Vec::new(), dbname: None, query: None, params: Vec::new(), stray_at: false };
    let mut p = body;

    let mut q = p;
    while q < end && b[q] != b'@' && b[q] != b'/' {
        q += 1;
    }
    if is(q, b"@") {
        let colon = s[p..q].find(':').map(|i| p + i);
        scan.creds = Some(Creds { user: p..colon.unwrap_or(q), password: colon.map(|c| c + 1..q), at: q });
        p = q + 1;
    }

    loop {
        let mut spec = HostSpec { host: p..p, port: None, bad: false };
        if is(p, b"[") {
            let start = p + 1;
            match s[start..end].find(']') {
                Some(i) => {
                    spec.host = start..start + i;
                    spec.bad = i == 0;
                    p = start + i + 1;
                    if p < end && !is(p, b":/?,") {
                        spec.bad = true;
                        while p < end && !is(p, b":/?,") {
                            p += 1;
                        }
                    }
                }
                None => {
                    spec.host = start..end;
                    spec.bad = true;
                    p = end;
                }
            }
        } else {
            let start = p;
            while p < end && !is(p, b":/?,") {
                p += 1;
            }
            spec.host = start..p;
        }
        if is(p, b":") {
            p += 1;
            let start = p;
            while p < end && !is(p, b"/?,") {
                p += 1;
            }
            spec.port = Some(start..p);
        }
        scan.hosts.push(spec);
        if is(p, b",") {
            p += 1;
            continue;
        }
        break;
    }

    if is(p, b"/") {
        p += 1;
        let start = p;
        while p < end && b[p] != b'?' {
            p += 1;
        }
        scan.dbname = Some(start..p);
    }

    if is(p, b"?") {
        scan.query = Some(p);
        p += 1;
        while p < end {
            let start = p;
            let (mut eq, mut extra_eq) = (None, false);
            while p < end && b[p] != b'&' {
                if b[p] == b'=' {
                    extra_eq |= eq.is_some();
                    eq.get_or_insert(p);
                }
                p += 1;
            }
            scan.params.push(Param { key: start..eq.unwrap_or(p), value: eq.map(|e| e + 1..p), extra_eq });
            p += 1;
        }
    }

    let after = scan.creds.as_ref().map_or(body, |c| c.at + 1);
    scan.stray_at = s[after..end].match_indices('@').any(|(i, _)| {
        let i = after + i;
        !scan.params.iter().any(|p| {
            p.value.as_ref().is_some_and(|v| v.contains(&i))
                && AT_IN_VALUE.contains(&percent_decode(&s[p.key.clone()]).as_str())
        })
    });
    scan
}

fn parse_url(s: &str, shape: &UrlShape) -> Result<DbUrl, UrlError> {
    let scheme = &s[shape.scheme.clone()];
    if !matches!(scheme, "postgres" | "postgresql") {
        return Err(UrlError::WrongScheme { scheme: scheme.to_string() });
    }
    let scan = scan_url(s, shape.body, shape.end);
    if scan.stray_at {
        return Err(UrlError::SpecialCharacter);
    }
    if shape.padded {
        return Err(UrlError::Whitespace);
    }
    let mut url = DbUrl::default();
    if let Some(c) = &scan.creds {
        url.user = non_empty(decode_strict(&s[c.user.clone()])?);
        if let Some(pw) = &c.password {
            url.password = non_empty(decode_strict(&s[pw.clone()])?);
        }
    }
    for (i, spec) in scan.hosts.iter().enumerate() {
        if spec.bad {
            return Err(UrlError::BadHost);
        }
        let host = decode_strict(&s[spec.host.clone()])?;
        check_host(&host)?;
        let port = match &spec.port {
            Some(r) => parse_port(&decode_strict(&s[r.clone()])?)?,
            None => None,
        };
        if i == 0 {
            url.host = host;
            url.port = port;
        }
    }
    if let Some(r) = &scan.dbname {
        url.dbname = non_empty(decode_strict(&s[r.clone()])?);
    }
    let mut hostaddr = None;
    for p in &scan.params {
        let Some(v) = &p.value else { return Err(UrlError::BadParam) };
        if p.extra_eq {
            return Err(UrlError::BadParam);
        }
        let key = decode_strict(&s[p.key.clone()])?;
        if !is_keyword(&key) {
            return Err(UrlError::BadParam);
        }
        let value = decode_strict(&s[v.clone()])?;
        // Query parameters override the authority, as libpq stores them last.
        apply(&mut url, &mut hostaddr, &key, &value)?;
        url.params.push((key, value));
    }
    Ok(with_hostaddr(url, hostaddr))
}

/// One setting, from a query parameter or a key/value pair.
fn apply(url: &mut DbUrl, hostaddr: &mut Option<String>, key: &str, value: &str) -> Result<(), UrlError> {
    match key {
        "host" => url.host = first_host(value)?,
        "hostaddr" => *hostaddr = Some(first_host(value)?),
        "port" => {
            let mut first = None;
            for (i, p) in value.split(',').enumerate() {
                let port = parse_port(p)?;
                if i == 0 {
                    first = port;
                }
            }
            url.port = first;
        }
        "user" => url.user = non_empty(value.to_string()),
        "password" => url.password = non_empty(value.to_string()),
        "dbname" => url.dbname = non_empty(value.to_string()),
        _ => {}
    }
    Ok(())
}

/// Without a host, libpq connects to `hostaddr`; that is the one to judge.
fn with_hostaddr(mut url: DbUrl, hostaddr: Option<String>) -> DbUrl {
    if let (true, Some(a)) = (url.host.is_empty(), hostaddr) {
        url.host = a;
    }
    url
}

fn first_host(list: &str) -> Result<String, UrlError> {
    for h in list.split(',') {
        check_host(h)?;
    }
    Ok(list.split(',').next().unwrap_or("").to_string())
}

fn check_host(h: &str) -> Result<(), UrlError> {
    if h.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(UrlError::BadHost)
    } else {
        Ok(())
    }
}

/// Digits only: `u16::from_str` would also take `+5432`.
fn parse_port(p: &str) -> Result<Option<u16>, UrlError> {
    let p = p.trim_matches(' ');
    if p.is_empty() {
        return Ok(None);
    }
    match p.parse::<u16>() {
        Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
        _ => Err(UrlError::BadPort),
    }
}

/// libpq's option names are lowercase words; anything else is a typo or a
/// piece of something else (a password) that libpq would refuse, quoting it.
fn is_keyword(k: &str) -> bool {
    !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Percent-decode, refusing what libpq refuses (`%` without two hex digits,
/// `%00`) before libpq does so with the whole part, password included, in
/// its message.
fn decode_strict(s: &str) -> Result<String, UrlError> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            match (hex_at(b, i + 1), hex_at(b, i + 2)) {
                (Some(h), Some(l)) if h != 0 || l != 0 => i += 3,
                _ => return Err(UrlError::BadPercentEncoding),
            }
        } else {
            i += 1;
        }
    }
    Ok(percent_decode(s))
}

fn hex_at(b: &[u8], i: usize) -> Option<u8> {
    b.get(i).and_then(|&c| (c as char).to_digit(16)).map(|d| d as u8)
}

struct KvPair {
    key: Range<usize>,
    /// The value as written, quotes included: what masking replaces.
    token: Range<usize>,
    /// The value without its quotes, escapes still in.
    inner: Range<usize>,
    value: String,
}

struct KvScan {
    pairs: Vec<KvPair>,
    /// Stopped early: a keyword without `=`, or an unterminated quote.
    failed: bool,
}

/// C's `isspace`, which libpq uses to separate settings.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Split a key/value string as libpq's `conninfo_parse` does: spaces are
/// allowed around `=`, a value is bare (to the next space) or single-quoted,
/// and a backslash escapes the next character in both.
fn scan_kv(s: &str) -> KvScan {
    let b = s.as_bytes();
    let mut pairs = Vec::new();
    let mut i = 0;
    let failed = loop {
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            break false;
        }
        let key_start = i;
        while i < b.len() && b[i] != b'=' && !is_space(b[i]) {
            i += 1;
        }
        let key = key_start..i;
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i >= b.len() || b[i] != b'=' {
            break true;
        }
        i += 1;
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        let token_start = i;
        let quoted = i < b.len() && b[i] == b'\'';
        if quoted {
            i += 1;
        }
        let inner_start = i;
        let mut value = Vec::new();
        let mut closed = false;
        while i < b.len() {
            match b[i] {
                b'\\' => {
                    i += 1;
                    if i < b.len() {
                        value.push(b[i]);
                        i += 1;
                    }
                }
                b'\'' if quoted => {
                    closed = true;
                    break;
                }
                c if !quoted && is_space(c) => break,
                c => {
                    value.push(c);
                    i += 1;
                }
            }
        }
        if quoted && !closed {
            break true;
        }
        let inner = inner_start..i;
        if quoted {
            i += 1;
        }
        pairs.push(KvPair { key, token: token_start..i, inner, value: String::from_utf8_lossy(&value).into_owned() });
    };
    KvScan { pairs, failed }
}

/// Undo key/value escapes: `\x` is `x`.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
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

    fn parsed(s: &str) -> DbUrl {
        parse_any(s).unwrap_or_else(|e| panic!("{s}: {}", e.message()))
    }

    fn err(s: &str) -> UrlError {
        match parse_any(s) {
            Ok(u) => panic!("{s} parsed: {u:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn parses_urls() {
        let u = parsed("postgres://me:p%40ss@db.example.com:6543/app?sslmode=require");
        assert_eq!(u.user.as_deref(), Some("me"));
        assert_eq!(u.password.as_deref(), Some("p@ss"));
        assert_eq!(u.host, "db.example.com");
        assert_eq!(u.port, Some(6543));
        assert_eq!(u.dbname.as_deref(), Some("app"));
        assert_eq!(u.params, vec![("sslmode".to_string(), "require".to_string())]);
        assert_eq!(DbUrl::parse("host=x user=y"), Ok(None));
        assert!(DbUrl::parse("postgres://u:p@h/db").unwrap().is_some());

        let v6 = parsed("postgresql://[::1]:5433/db");
        assert_eq!((v6.host.as_str(), v6.port), ("::1", Some(5433)));
        let multi = parsed("postgres://u@h1:5432,h2:5433/db");
        assert_eq!((multi.host.as_str(), multi.port), ("h1", Some(5432)));
        let multi = parsed("postgres://h1,[::1]:5433/db");
        assert_eq!((multi.host.as_str(), multi.port), ("h1", None));

        let sock = parsed("postgres://%2Fvar%2Frun%2Fpostgresql/db");
        assert_eq!(sock.host, "/var/run/postgresql");
        let sock = parsed("postgres:///db?host=/var/run/postgresql&port=5433");
        assert_eq!(
            (sock.host.as_str(), sock.port, sock.dbname.as_deref()),
            ("/var/run/postgresql", Some(5433), Some("db"))
        );
        let bare = parsed("postgres://");
        assert_eq!(
            (bare.user, bare.password, bare.host.as_str(), bare.port, bare.dbname),
            (None, None, "", None, None)
        );
        assert_eq!(parsed("postgres:///db?hostaddr=127.0.0.1").host, "127.0.0.1");
        assert_eq!(parsed("postgres://h/db?hostaddr=10.0.0.1").host, "h");

        // libpq reads the user-info to the first `@` before any `/`, so these
        // work unencoded, and we read them the same way.
        assert_eq!(parsed("postgres://u:TOP:SECRET99@host/db").password.as_deref(), Some("TOP:SECRET99"));
        assert_eq!(parsed("postgres://u:a?b#c d@host:5432/db").password.as_deref(), Some("a?b#c d"));
        assert_eq!(parsed("postgres://u:a?b@host").host, "host");

        let p = parsed("postgres://h/db?application_name=a%20b&options=-c%20x%3Dy&ssl=true");
        assert_eq!(
            p.params.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["application_name", "options", "ssl"]
        );
        assert_eq!(p.param("application_name"), Some("a b"));
        assert_eq!(p.param("options"), Some("-c x=y"));
        assert_eq!(p.param("nope"), None);

        let o = parsed("postgres://u:p@h/db?user=v&dbname=e&password=q");
        assert_eq!((o.user.as_deref(), o.dbname.as_deref(), o.password.as_deref()), (Some("v"), Some("e"), Some("q")));
        assert_eq!(parsed("postgres://h:5432/db?user=me@corp").user.as_deref(), Some("me@corp"));
        assert_eq!(parsed("postgres://u:@h/db").password, None);
    }

    #[test]
    fn knows_local_hosts() {
        for s in [
            "postgres://localhost/db",
            "postgres://LocalHost:5432/db",
            "postgres://127.0.0.1:54322/postgres",
            "postgres://127.1.2.3/db",
            "postgres://[::1]/db",
            "postgres://[::ffff:127.0.0.1]/db",
            "postgres:///db",
            "postgres://u@/db",
            "postgres://%2Ftmp/db",
            "postgres:///db?host=/var/run/postgresql",
            "postgres:///db?host=%40abstract",
            "host=/tmp dbname=x",
            "dbname=x",
            "hostaddr=127.0.0.1",
        ] {
            assert!(parsed(s).is_local(), "{s}");
        }
        for s in [
            "postgres://db.example.com/db",
            "postgres://10.0.0.1/db",
            "postgres://127.evil.com/db",
            "postgres://[::2]/db",
            "postgres:///db?hostaddr=10.0.0.1",
            "host=db.example.com",
        ] {
            assert!(!parsed(s).is_local(), "{s}");
        }
    }

    #[test]
    fn parses_key_value_strings() {
        let u = parsed(r"host=localhost port=5432 user=me password='a b\'c' dbname=x");
        assert_eq!(u.host, "localhost");
        assert_eq!(u.port, Some(5432));
        assert_eq!(u.user.as_deref(), Some("me"));
        assert_eq!(u.password.as_deref(), Some("a b'c"));
        assert_eq!(u.dbname.as_deref(), Some("x"));
        assert_eq!(u.params.len(), 5);
        assert_eq!(u.params[3], ("password".to_string(), "a b'c".to_string()));

        let u = parsed("  host = h\tport= 5433  password =secret dbname=x  ");
        assert_eq!((u.host.as_str(), u.port, u.password.as_deref()), ("h", Some(5433), Some("secret")));
        let u = parsed(r"password='back\\slash' user=u\ v");
        assert_eq!((u.password.as_deref(), u.user.as_deref()), (Some(r"back\slash"), Some("u v")));
        let u = parsed("host=h1,h2 port=5432,5433 password='' dbname=''");
        assert_eq!((u.host.as_str(), u.port, u.password, u.dbname), ("h1", Some(5432), None, None));
        // A `://` inside a value does not make it a URL (nor its start a scheme).
        assert_eq!(parsed("host=h password=ab://cd").password.as_deref(), Some("ab://cd"));
        assert_eq!(DbUrl::parse_key_value("user=a").unwrap().user.as_deref(), Some("a"));

        assert_eq!(err("host=h password=a b"), UrlError::BadKeyValue);
        assert_eq!(err("host=h password='abc"), UrlError::BadKeyValue);
        assert_eq!(err("ho-st=h"), UrlError::BadKeyValue);
        assert_eq!(err("host=h port=abc"), UrlError::BadPort);
        assert_eq!(err("host=h port=5432,x"), UrlError::BadPort);
        assert_eq!(err("host='a b'"), UrlError::BadHost);
    }

    #[test]
    fn refuses_what_libpq_would_refuse() {
        assert_eq!(err("mysql://u:p@h/db"), UrlError::WrongScheme { scheme: "mysql".into() });
        assert!(err("mysql://u:p@h/db").message().contains("`mysql://`"));
        assert!(err("POSTGRES://h/db").message().contains("lowercase"));
        assert_eq!(err(""), UrlError::Empty);
        assert_eq!(err(" \n"), UrlError::Empty);
        assert_eq!(err("localhost:5432"), UrlError::NotAUrl);
        assert_eq!(err("postgres:/u:p@h/db?sslmode=require"), UrlError::NotAUrl);
        assert_eq!(err("just words"), UrlError::NotAUrl);
        assert_eq!(err(" postgres://h/db"), UrlError::Whitespace);
        assert_eq!(err("postgres://h/db\n"), UrlError::Whitespace);
        for s in ["postgres://h:abc/db", "postgres://h:99999/db", "postgres://h:+5/db", "postgres://h:0/db"] {
            assert_eq!(err(s), UrlError::BadPort, "{s}");
        }
        assert_eq!(err("postgres://h/db?port=x"), UrlError::BadPort);
        for s in ["postgres://[::1/db", "postgres://[]/db", "postgres://[::1]x/db", "postgres://h%20x/db"] {
            assert_eq!(err(s), UrlError::BadHost, "{s}");
        }
        for s in
            ["postgres://h/db?sslmode", "postgres://h/db?a=b=c", "postgres://h/db?a=1&&b=2", "postgres://h/db?a-b=1"]
        {
            assert_eq!(err(s), UrlError::BadParam, "{s}");
        }
        assert!(parse_any("postgres://h/db?a=1&").is_ok());
        for s in ["postgres://u:100%sure@h/db", "postgres://u:p%00@h/db", "postgres://h/d%4"] {
            assert_eq!(err(s), UrlError::BadPercentEncoding, "{s}");
        }
        for s in ["postgres://u:p@ss@h/db", "postgres://u:p/ss@h/db", "postgres://u:12/ss@h/db", "postgres://u:x@h/d@b"]
        {
            assert_eq!(err(s), UrlError::SpecialCharacter, "{s}");
        }
        let e = err("postgres://u:p@ss@h/db");
        assert!(e.message().contains("must be percent-encoded") && e.message().contains("%40"), "{}", e.message());
        assert!(e.hint().contains("cargo migrate database-url") && e.hint().contains("SUPABASE_DB_PASSWORD"));
        assert_eq!(e.kind(), "bad_database_url");
        assert_eq!(e.to_string(), e.message());
    }

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
                    for text in [e.message(), e.hint()] {
                        assert!(!text.contains("Xq7") && !text.contains("Zk9"), "{s:?}: {text}");
                    }
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

    #[test]
    fn percent_encoding_round_trips() {
        let nasty = "p@ss:w/rd#?%&+ é[]=;'\"";
        let enc = percent_encode(nasty);
        assert!(enc.bytes().all(|b| b.is_ascii_alphanumeric() || b"%-._~".contains(&b)), "{enc}");
        assert_eq!(percent_decode(&enc), nasty);
        assert_eq!(percent_encode("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%41%c3%A9"), "Aé");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }

    #[test]
    fn names_the_target_without_the_password() {
        assert_eq!(parsed("postgres://me:pw@h:6543/app").target(), "me@h:6543/app");
        assert_eq!(parsed("postgres://").target(), "(default user)@localhost:5432/(default database)");
        assert_eq!(parsed("postgres://[::1]:5433/db").target(), "(default user)@[::1]:5433/db");
        assert_eq!(parsed("host=/tmp user=u password=pw").target(), "u@/tmp:5432/(default database)");
        let debug = format!("{:?}", parsed("postgres://u:Xq7Zk9@h/db?password=Zk9Xq7"));
        assert!(!debug.contains("Xq7") && debug.contains("****"), "{debug}");
    }

    #[test]
    fn adds_params_once() {
        let app = "cargo-migrate run (me@box pid 1)";
        let both = [("connect_timeout", "5"), ("application_name", app)];
        let s = with_params("postgres://h/db", &both);
        assert_eq!(
            s,
            "postgres://h/db?connect_timeout=5&application_name=cargo-migrate%20run%20%28me%40box%20pid%201%29"
        );
        assert_eq!(parsed(&s).param("application_name"), Some(app));
        let s = with_params("postgres://h/db?connect_timeout=1", &both);
        assert_eq!(s.matches("connect_timeout").count(), 1);
        assert!(s.starts_with("postgres://h/db?connect_timeout=1&application_name="), "{s}");
        assert_eq!(with_params("postgres://h/db?", &both[..1]), "postgres://h/db?connect_timeout=5");
        assert_eq!(with_params("postgres://h/db?a=1&", &both[..1]), "postgres://h/db?a=1&connect_timeout=5");
        // A `?` or the key's name in the password is not the query.
        let s = with_params("postgres://u:a?connect_timeout=9@h/db", &both[..1]);
        assert_eq!(s, "postgres://u:a?connect_timeout=9@h/db?connect_timeout=5");
        assert_eq!(parsed(&s).password.as_deref(), Some("a?connect_timeout=9"));
        assert_eq!(with_params("postgres://h/db ", &both[..1]), "postgres://h/db?connect_timeout=5 ");

        let s = with_params("host=h", &[("connect_timeout", "5"), ("application_name", "it's a \\ test")]);
        assert_eq!(s, r"host=h connect_timeout='5' application_name='it\'s a \\ test'");
        assert_eq!(parsed(&s).param("application_name"), Some("it's a \\ test"));
        assert_eq!(with_params("host=h connect_timeout=1", &both[..1]), "host=h connect_timeout=1");
        let s = with_params(r"password=abc\", &both[..1]);
        let u = parsed(&s);
        assert_eq!((u.password.as_deref(), u.param("connect_timeout")), (Some("abc"), Some("5")), "{s}");
        assert_eq!(with_params("", &both[..1]), "connect_timeout='5'");
        assert_eq!(with_params("host=h", &[("a", "1"), ("a", "2")]), "host=h a='1'");
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
                    assert!(!e.message().contains('Z') && !e.hint().contains('Z'), "{s:?}");
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
